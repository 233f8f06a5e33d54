package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"runtime"
	"slices"

	sdkmath "cosmossdk.io/math"
	"github.com/cosmos/evm/crypto/ethsecp256k1"
	evmhd "github.com/cosmos/evm/crypto/hd"
	evmtypes "github.com/cosmos/evm/x/vm/types"
	"github.com/cosmos/gogoproto/proto"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	ethtypes "github.com/ethereum/go-ethereum/core/types"

	abci "github.com/cometbft/cometbft/abci/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/opengpu/ogpu/app"
	ogpuclient "github.com/opengpu/ogpu/client"
	"github.com/opengpu/ogpu/x/compute/precompile"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// PrecompileResult is what the precompile benchmark (`ogpud bench precompile`) measures: one
// seeded gemm task created through ICompute's createTask in an EVM tx, against the same task
// created by a Cosmos MsgCreateTask tx, on the app driven in this process.
type PrecompileResult struct {
	Accounts    int `json:"accounts"`
	TxsPerBlock int `json:"txs_per_block"`
	// Blocks is the blocks measured of each kind.
	Blocks int `json:"blocks"`
	// Gemm is the task's m = n = k.
	Gemm       uint32         `json:"gemm"`
	Precompile CreateTaskKind `json:"precompile"`
	Cosmos     CreateTaskKind `json:"cosmos"`
	// GasRatio is the precompile tx's gas over the Cosmos tx's.
	GasRatio float64 `json:"gas_ratio"`
	// TxPerSecRatio is the precompile txs' tx/s over the Cosmos txs'.
	TxPerSecRatio float64 `json:"tx_per_sec_ratio"`
	NumCPU        int     `json:"num_cpu"`
}

// CreateTaskKind is one way of creating the task, over the measured blocks.
type CreateTaskKind struct {
	// GasUsed is the median gas a tx used (the EVM tx's receipt gas, the Cosmos tx's gas
	// meter, its signature and size included); GasMin and GasMax bound it.
	GasUsed uint64 `json:"gas_used"`
	GasMin  uint64 `json:"gas_min"`
	GasMax  uint64 `json:"gas_max"`
	// GasLimit is what each tx asked for.
	GasLimit uint64 `json:"gas_limit"`
	// Committed is the txs committed, every one of which created its task.
	Committed    int       `json:"committed"`
	BlockSeconds []float64 `json:"block_seconds"`
	// TxPerSec is the median over blocks of the block's txs over its FinalizeBlock and Commit.
	TxPerSec float64 `json:"tx_per_sec"`
}

const (
	// precompileGemm is the task's m = n = k, a seeded product as in the timers benchmark.
	precompileGemm = 8
	// cosmosCreateGas is the Cosmos tx's gas limit; a gemm MsgCreateTask uses well under it.
	cosmosCreateGas = 400_000
	// evmGasMargin is what a precompile tx asks for over the estimate, in percent, as a wallet
	// adds; under 100 so the fee market's minimum (half the limit) is below the gas used.
	evmGasMargin = 10
)

// benchSigner is an account that sends both kinds of tx, with the nonce (its sequence) it
// signs at next.
type benchSigner struct {
	name string
	addr sdk.AccAddress
	eth  common.Address
	key  *ethsecp256k1.PrivKey
	num  uint64
	seq  uint64
}

// Precompile writes a dev chain into home and, in this process, creates gemm tasks in blocks
// of txsPerBlock txs from accounts accounts, blocks blocks of each kind alternating: through
// ICompute's createTask (an EVM tx) and by MsgCreateTask (a Cosmos tx). Every tx must succeed
// and create its task.
func Precompile(ctx context.Context, env Env, home string, accounts, txsPerBlock, blocks int) (PrecompileResult, error) {
	if accounts < 1 || txsPerBlock < 1 || blocks < 1 {
		return PrecompileResult{}, fmt.Errorf("accounts %d, txs per block %d, blocks %d: each must be at least 1", accounts, txsPerBlock, blocks)
	}
	dev, err := env.WriteDevHome(home)
	if err != nil {
		return PrecompileResult{}, err
	}
	c, err := newInProcessChain(env, home)
	if err != nil {
		return PrecompileResult{}, err
	}
	defer c.close()
	var alice sdk.AccAddress
	for _, a := range dev {
		if a.Name == "alice" {
			if alice, err = sdk.AccAddressFromBech32(a.Address); err != nil {
				return PrecompileResult{}, err
			}
		}
	}
	if alice == nil {
		return PrecompileResult{}, errors.New("the dev home has no alice")
	}
	// a few blocks first: the first blocks of a fresh node measure its caches filling
	for range 5 {
		if _, _, err := c.block(ctx); err != nil {
			return PrecompileResult{}, err
		}
	}
	signers, err := c.fundSigners(ctx, "alice", alice, accounts, sdkmath.NewInt(1_000).Mul(oneOGPU))
	if err != nil {
		return PrecompileResult{}, err
	}
	params, err := c.app.ComputeKeeper.Params.Get(c.app.NewContext(true))
	if err != nil {
		return PrecompileResult{}, err
	}
	call, err := gemmCreateTaskCall(params.Denom)
	if err != nil {
		return PrecompileResult{}, err
	}
	estimate, err := c.estimateGas(signers[0].eth, call.data)
	if err != nil {
		return PrecompileResult{}, fmt.Errorf("estimate createTask: %w", err)
	}
	evmGas := estimate + estimate*evmGasMargin/100

	res := PrecompileResult{
		Accounts: accounts, TxsPerBlock: txsPerBlock, Blocks: blocks, Gemm: precompileGemm, NumCPU: runtime.NumCPU(),
		Precompile: CreateTaskKind{GasLimit: evmGas}, Cosmos: CreateTaskKind{GasLimit: cosmosCreateGas},
	}
	var evmGasUsed, cosmosGasUsed []uint64
	// a block's tasks expire at its bid window's end: the blocks between leave those timers
	// out of the measured blocks
	settle := int(params.BidWindow) + txsPerBlock/int(max(params.MaxTimersPerBlock, 1)) + 2
	for b := range blocks {
		kinds := []bool{true, false}
		if b%2 == 1 { // alternate which kind goes first, so drift hits both alike
			slices.Reverse(kinds)
		}
		for _, viaEVM := range kinds {
			txs := make([][]byte, txsPerBlock)
			for i := range txs {
				s := signers[i%len(signers)]
				if viaEVM {
					txs[i], err = c.signEVMCall(s, call.to, call.data, evmGas)
				} else {
					txs[i], err = c.signAt(s.name, s.num, s.seq, cosmosCreateGas, call.msg(s.addr))
				}
				if err != nil {
					return res, err
				}
				s.seq++
			}
			t, fin, err := c.timedBlock(ctx, txs...)
			if err != nil {
				return res, err
			}
			kind, used := &res.Cosmos, &cosmosGasUsed
			if viaEVM {
				kind, used = &res.Precompile, &evmGasUsed
			}
			for i, r := range fin.TxResults {
				gas, err := createdTask(r, viaEVM)
				if err != nil {
					return res, fmt.Errorf("block %d, tx %d: %w", c.height, i, err)
				}
				*used = append(*used, gas)
			}
			kind.Committed += len(fin.TxResults)
			kind.BlockSeconds = append(kind.BlockSeconds, t.total.Seconds())
			for range settle {
				if _, _, err := c.block(ctx); err != nil {
					return res, err
				}
			}
		}
	}
	for _, k := range []struct {
		kind *CreateTaskKind
		gas  []uint64
	}{{&res.Precompile, evmGasUsed}, {&res.Cosmos, cosmosGasUsed}} {
		slices.Sort(k.gas)
		k.kind.GasUsed, k.kind.GasMin, k.kind.GasMax = k.gas[(len(k.gas)-1)/2], k.gas[0], k.gas[len(k.gas)-1]
		perSec := make([]float64, len(k.kind.BlockSeconds))
		for i, s := range k.kind.BlockSeconds {
			perSec[i] = float64(txsPerBlock) / s
		}
		k.kind.TxPerSec = median(perSec)
	}
	res.GasRatio = float64(res.Precompile.GasUsed) / float64(res.Cosmos.GasUsed)
	res.TxPerSecRatio = res.Precompile.TxPerSec / res.Cosmos.TxPerSec
	return res, nil
}

// createTaskCall is one gemm task as ICompute's createTask calldata and as the Cosmos message
// the precompile turns it into.
type createTaskCall struct {
	to   common.Address
	data []byte
	msg  func(creator sdk.AccAddress) *computetypes.MsgCreateTask
}

func gemmCreateTaskCall(denom string) (createTaskCall, error) {
	u32, err := abi.NewType("uint32", "", nil)
	if err != nil {
		return createTaskCall{}, err
	}
	u64, err := abi.NewType("uint64", "", nil)
	if err != nil {
		return createTaskCall{}, err
	}
	params, err := abi.Arguments{{Type: u32}, {Type: u32}, {Type: u32}, {Type: u64}, {Type: u64}}.
		Pack(uint32(precompileGemm), uint32(precompileGemm), uint32(precompileGemm), uint64(1), uint64(2))
	if err != nil {
		return createTaskCall{}, err
	}
	a := precompile.CreateTaskArgs{
		Workload: workload.GemmInt8V1, Params: params, Inputs: []precompile.BlobArg{},
		MaxPrice: big.NewInt(1_000), Deadline: 10_000, // no assignment deadline falls in the run
		PaymentFunction: precompile.PaymentFunctionArg{Kind: uint8(computetypes.PAYMENT_KIND_FIXED)},
	}
	data, err := precompile.ABI.Pack(precompile.CreateTaskMethod, a.Workload, a.Params, a.Inputs, a.MaxPrice, a.Deadline, a.PaymentFunction)
	if err != nil {
		return createTaskCall{}, err
	}
	return createTaskCall{
		to: common.HexToAddress(precompile.Address), data: data,
		// what the precompile builds from the call (see toMsgCreateTask)
		msg: func(creator sdk.AccAddress) *computetypes.MsgCreateTask {
			return &computetypes.MsgCreateTask{
				Creator: creator.String(),
				Workload: computetypes.Workload{Name: workload.GemmInt8V1, Params: &computetypes.Workload_GemmInt8{
					GemmInt8: &computetypes.GemmInt8Params{M: precompileGemm, N: precompileGemm, K: precompileGemm, SeedA: 1, SeedB: 2},
				}},
				Requirements: stakinggputypes.Requirements{Workload: workload.GemmInt8V1},
				MaxPrice:     sdk.NewCoin(denom, sdkmath.NewIntFromBigInt(a.MaxPrice)),
				Deadline:     a.Deadline,
				Payment:      computetypes.PaymentFunction{Kind: computetypes.PAYMENT_KIND_FIXED, MinFraction: sdkmath.LegacyZeroDec()},
			}
		},
	}, nil
}

// fundSigners adds n eth_secp256k1 keys (seeded, so every run has the same accounts) to the
// keyring and funds each with amount from the key from in one block.
func (c *inProcessChain) fundSigners(ctx context.Context, from string, fromAddr sdk.AccAddress, n int, amount sdkmath.Int) ([]*benchSigner, error) {
	signers := make([]*benchSigner, n)
	msgs := make([]sdk.Msg, n)
	for i := range signers {
		seed := sha256.Sum256(fmt.Appendf(nil, "ogpu/bench/precompile/%d", i))
		key := &ethsecp256k1.PrivKey{Key: seed[:]}
		name := fmt.Sprintf("precompile-%d", i)
		if err := c.kr.ImportPrivKeyHex(name, hex.EncodeToString(key.Key), string(evmhd.EthSecp256k1Type)); err != nil {
			return nil, fmt.Errorf("import key %s: %w", name, err)
		}
		addr := sdk.AccAddress(key.PubKey().Address())
		signers[i] = &benchSigner{name: name, addr: addr, eth: common.BytesToAddress(addr), key: key}
		msgs[i] = banktypes.NewMsgSend(fromAddr, addr, sdk.NewCoins(sdk.NewCoin(app.BaseDenom, amount)))
	}
	tx, err := c.sign(from, fromAddr, uint64(n)*50_000+100_000, msgs...)
	if err != nil {
		return nil, err
	}
	if _, _, err := c.block(ctx, tx); err != nil {
		return nil, fmt.Errorf("fund %d accounts: %w", n, err)
	}
	for _, s := range signers {
		acc := c.app.AccountKeeper.GetAccount(c.app.NewContext(true), s.addr)
		if acc == nil {
			return nil, fmt.Errorf("account %s (%s) not created", s.name, s.addr)
		}
		s.num, s.seq = acc.GetAccountNumber(), acc.GetSequence()
	}
	return signers, nil
}

// estimateGas is eth_estimateGas of a call from from to ICompute with data, on the last
// committed block.
func (c *inProcessChain) estimateGas(from common.Address, data []byte) (uint64, error) {
	to, input := common.HexToAddress(precompile.Address), hexutil.Bytes(data)
	args, err := json.Marshal(evmtypes.TransactionArgs{From: &from, To: &to, Input: &input})
	if err != nil {
		return 0, err
	}
	res, err := c.app.EVMKeeper.EstimateGas(c.app.NewContext(true), &evmtypes.EthCallRequest{
		Args: args, GasCap: 25_000_000, ChainId: evmtypes.GetEthChainConfig().ChainID.Int64(),
	})
	if err != nil {
		return 0, err
	}
	if res.VmError != "" {
		return 0, errors.New(res.VmError)
	}
	return res.Gas, nil
}

// signEVMCall signs an EIP-1559 tx from s to to with data at s's nonce, paying the client's
// DefaultGasPrice per gas as the Cosmos txs do, and wraps it in a Cosmos tx as the JSON-RPC
// server does with a raw transaction.
func (c *inProcessChain) signEVMCall(s *benchSigner, to common.Address, data []byte, gas uint64) ([]byte, error) {
	price, err := sdk.ParseDecCoin(ogpuclient.DefaultGasPrice)
	if err != nil {
		return nil, err
	}
	cfg := evmtypes.GetEthChainConfig()
	tx := ethtypes.NewTx(&ethtypes.DynamicFeeTx{
		ChainID: cfg.ChainID, Nonce: s.seq, GasTipCap: price.Amount.TruncateInt().BigInt(), GasFeeCap: price.Amount.TruncateInt().BigInt(),
		Gas: gas, To: &to, Value: new(big.Int), Data: data,
	})
	key, err := s.key.ToECDSA()
	if err != nil {
		return nil, err
	}
	signed, err := ethtypes.SignTx(tx, ethtypes.LatestSignerForChainID(cfg.ChainID), key)
	if err != nil {
		return nil, err
	}
	msg := new(evmtypes.MsgEthereumTx)
	if err := msg.FromSignedEthereumTx(signed, ethtypes.LatestSignerForChainID(cfg.ChainID)); err != nil {
		return nil, err
	}
	cosmosTx, err := msg.BuildTx(c.app.TxConfig().NewTxBuilder(), evmtypes.GetEVMCoinDenom())
	if err != nil {
		return nil, err
	}
	return c.app.TxConfig().TxEncoder()(cosmosTx)
}

// createdTask checks that a committed tx created one task (an EVM tx: without a VM error) and
// returns its gas: the EVM receipt's for an EVM tx, the gas meter's for a Cosmos tx.
func createdTask(r *abci.ExecTxResult, viaEVM bool) (uint64, error) {
	if r.Code != 0 {
		return 0, fmt.Errorf("code %d: %s", r.Code, r.Log)
	}
	if n := countEvents(r.Events, proto.MessageName(&computetypes.EventTaskCreated{})); n != 1 {
		return 0, fmt.Errorf("%d tasks created, want 1", n)
	}
	if !viaEVM {
		return uint64(r.GasUsed), nil
	}
	var data sdk.TxMsgData
	if err := proto.Unmarshal(r.Data, &data); err != nil {
		return 0, err
	}
	if len(data.MsgResponses) != 1 {
		return 0, fmt.Errorf("%d message responses, want 1", len(data.MsgResponses))
	}
	var eth evmtypes.MsgEthereumTxResponse
	if err := proto.Unmarshal(data.MsgResponses[0].Value, &eth); err != nil {
		return 0, err
	}
	if eth.VmError != "" {
		return 0, fmt.Errorf("EVM: %s", eth.VmError)
	}
	return eth.GasUsed, nil
}

// rows are the report's rows of the precompile benchmark.
func (p *PrecompileResult) rows() []Row {
	return []Row{{
		ID: "precompile-gas",
		Figure: fmt.Sprintf("Gas of one seeded gemm createTask (%d³) through the ICompute precompile (an EVM tx; its limit the estimate + %d%%) against the same task by a Cosmos MsgCreateTask tx (signature and size included), median of %d each",
			p.Gemm, evmGasMargin, p.Precompile.Committed),
		Measured: fmt.Sprintf("%d gas (%d–%d)", p.Precompile.GasUsed, p.Precompile.GasMin, p.Precompile.GasMax),
		Baseline: fmt.Sprintf("%d gas (%d–%d)", p.Cosmos.GasUsed, p.Cosmos.GasMin, p.Cosmos.GasMax),
		Ratio:    p.GasRatio,
		// a write must never be cheaper through the EVM than as a Cosmos tx
		Target: "≥ 1", Met: met(p.GasRatio >= 1),
	}, {
		ID: "precompile-throughput",
		Figure: fmt.Sprintf("Committed createTask tx/s through the precompile against MsgCreateTask tx/s, blocks of %d txs from %d accounts (FinalizeBlock + Commit, in process), median of %d blocks each",
			p.TxsPerBlock, p.Accounts, p.Blocks),
		Measured: fmt.Sprintf("%.0f tx/s", p.Precompile.TxPerSec),
		Baseline: fmt.Sprintf("%.0f tx/s", p.Cosmos.TxPerSec),
		Ratio:    p.TxPerSecRatio,
	}}
}
