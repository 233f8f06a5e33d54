package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/testutil/network"
)

// computePrecompile is ICompute's fixed address (contracts/ICompute.sol).
var computePrecompile = common.HexToAddress("0x000000000000000000000000000000000000c0DE")

// ICompute's task states the test waits for.
const (
	taskCompleted = 4
	taskFailed    = 5
	taskCancelled = 6
	taskExpired   = 7
	taskVerified  = 8
)

// artifact is a compiled contract as `make contracts` commits it in contracts/artifacts.
type artifact struct {
	ABI      abi.ABI
	Bytecode []byte
}

func loadArtifact(t *testing.T, name string) artifact {
	t.Helper()
	bz, err := os.ReadFile(filepath.Join("..", "..", "contracts", "artifacts", name+".json"))
	require.NoError(t, err)
	var raw struct {
		ABI      json.RawMessage `json:"abi"`
		Bytecode string          `json:"bytecode"`
	}
	require.NoError(t, json.Unmarshal(bz, &raw), name)
	parsed, err := abi.JSON(bytes.NewReader(raw.ABI))
	require.NoError(t, err, name)
	return artifact{ABI: parsed, Bytecode: common.FromHex(raw.Bytecode)}
}

// taskInfo is ICompute's TaskInfo as the ABI decoder returns it.
type taskInfo struct {
	Id             uint64 //nolint:revive // the decoder names it after the Solidity field id
	Creator        common.Address
	Workload       string
	State          uint8
	Provider       common.Address
	MaxPrice       *big.Int
	Price          *big.Int
	Escrow         *big.Int
	ResultSha256   string
	ResultUri      string //nolint:revive // the decoder names it after the Solidity field resultUri
	CreatedHeight  uint64
	DeadlineHeight uint64
	FinalHeight    uint64
}

// evmAccount sends transactions from one key through JSON-RPC.
type evmAccount struct {
	t      *testing.T
	ctx    context.Context
	client *ethclient.Client
	opts   *bind.TransactOpts
}

// send signs data to `to` (nil: a deployment) with value and a gas limit half again the
// estimate, waits for its receipt and requires it to succeed.
func (a evmAccount) send(to *common.Address, value *big.Int, data []byte) *types.Receipt {
	a.t.Helper()
	gas, err := a.client.EstimateGas(a.ctx, ethereum.CallMsg{From: a.opts.From, To: to, Value: value, Data: data})
	require.NoError(a.t, err, "estimate gas")
	opts := *a.opts
	opts.Value, opts.GasLimit = value, gas*3/2
	var tx *types.Transaction
	if to == nil {
		_, tx, err = bind.DeployContract(&opts, data, a.client, nil)
	} else {
		tx, err = bind.NewBoundContract(*to, abi.ABI{}, a.client, a.client, a.client).RawTransact(&opts, data)
	}
	require.NoError(a.t, err)
	receipt, err := bind.WaitMined(a.ctx, a.client, tx.Hash())
	require.NoError(a.t, err)
	require.Equal(a.t, types.ReceiptStatusSuccessful, receipt.Status, "tx %s", tx.Hash())
	return receipt
}

// testComputeConsumer drives the market from Solidity over JSON-RPC: alice deploys
// contracts/ComputeConsumer.sol and funds it; through it she asks for a seeded gemm, which the
// embedded sidecar runs and the committee verifies; she accepts it through the contract, which
// is the task's creator, and anyone records the result hash in the contract. The precompile's
// logs for the task and the contract's balance, in the bank and in the EVM, agree with it.
func testComputeConsumer(t *testing.T, net *network.Network) {
	const m, n, k, seedA, seedB, deadline = 64, 64, 64, 21, 22, 40
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	node, bin, home := net.Up(), net.Bin, net.Homes[0]
	client, err := ethclient.DialContext(ctx, node.JSONRPC())
	require.NoError(t, err)
	defer client.Close()
	chainID, err := client.ChainID(ctx)
	require.NoError(t, err)
	keyHex := strings.TrimSpace(string(network.Run(t, bin, "keys", "unsafe-export-eth-key", "alice", "--home", home, "--keyring-backend", "test")))
	key, err := crypto.HexToECDSA(strings.TrimPrefix(keyHex, "0x"))
	require.NoError(t, err)
	opts := bind.NewKeyedTransactor(key, chainID)
	opts.Context = ctx
	alice := evmAccount{t: t, ctx: ctx, client: client, opts: opts}

	consumerArt, computeArt := loadArtifact(t, "ComputeConsumer"), loadArtifact(t, "ICompute")
	pack := func(a artifact, method string, args ...any) []byte {
		t.Helper()
		data, err := a.ABI.Pack(method, args...)
		require.NoError(t, err, method)
		return data
	}
	call := func(to common.Address, a artifact, method string, args ...any) []any {
		t.Helper()
		out, err := client.CallContract(ctx, ethereum.CallMsg{To: &to, Data: pack(a, method, args...)}, nil)
		require.NoError(t, err, method)
		values, err := a.ABI.Unpack(method, out)
		require.NoError(t, err, method)
		return values
	}
	getTask := func(id uint64) taskInfo {
		t.Helper()
		return *abi.ConvertType(call(computePrecompile, computeArt, "getTask", id)[0], new(taskInfo)).(*taskInfo)
	}
	start := time.Now()

	// 1. deploy and fund
	receipt := alice.send(nil, nil, consumerArt.Bytecode)
	consumer := receipt.ContractAddress
	require.Equal(t, opts.From, call(consumer, consumerArt, "owner")[0])
	fund := ogpu(1_000).BigInt()
	alice.send(&consumer, fund, nil)
	funded, err := client.BalanceAt(ctx, consumer, nil)
	require.NoError(t, err)
	require.Equal(t, fund.String(), funded.String())
	t.Logf("deployed and funded %s in %s", consumer, time.Since(start).Round(time.Millisecond))

	// a dApp watching the precompile by polling a filter (eth_newFilter, eth_getFilterChanges)
	var watch string
	require.NoError(t, client.Client().CallContext(ctx, &watch, "eth_newFilter", map[string]any{"address": computePrecompile}))

	// 2. the owner asks for C = A·B through the contract, which pays the escrow
	maxPrice := ogpu(100).BigInt()
	created := alice.send(&consumer, nil, pack(consumerArt, "requestGemm", uint32(m), uint32(n), uint32(k), uint64(seedA), uint64(seedB), maxPrice, uint64(deadline)))
	requested := consumerArt.ABI.Events["GemmRequested"].ID
	i := slices.IndexFunc(created.Logs, func(l *types.Log) bool { return l.Address == consumer && l.Topics[0] == requested })
	require.GreaterOrEqual(t, i, 0, "GemmRequested in the receipt")
	id := created.Logs[i].Topics[1].Big().Uint64()
	task := getTask(id)
	require.Equal(t, consumer, task.Creator, "the contract is the task's creator")
	require.Equal(t, "gemm-int8/v1", task.Workload)
	require.Equal(t, maxPrice.String(), task.MaxPrice.String())
	afterCreate, err := client.BalanceAt(ctx, consumer, created.BlockNumber)
	require.NoError(t, err)
	require.Equal(t, new(big.Int).Sub(fund, task.Escrow).String(), afterCreate.String(), "the escrow came out of the contract")

	// only the owner may act for the contract
	bob := common.HexToAddress(net.DevAccounts()["bob"].EthAddr)
	_, err = client.EstimateGas(ctx, ethereum.CallMsg{From: bob, To: &consumer, Data: pack(consumerArt, "cancel", id)})
	require.ErrorContains(t, err, "execution reverted")

	// 3. the embedded sidecar runs it and the committee verifies it
	for task.State != taskVerified {
		require.NotContains(t, []uint8{taskCompleted, taskFailed, taskCancelled, taskExpired}, task.State, "task %d", id)
		require.NoError(t, ctx.Err(), "task %d still in state %d", id, task.State)
		time.Sleep(300 * time.Millisecond)
		task = getTask(id)
	}
	require.NotEqual(t, common.Address{}, task.Provider)
	require.Len(t, task.ResultSha256, 64)
	t.Logf("task %d VERIFIED %s after creation", id, time.Since(start).Round(time.Millisecond))

	// 4. the owner accepts it through the contract: the provider is paid at once
	alice.send(&consumer, nil, pack(consumerArt, "accept", id))
	task = getTask(id)
	require.Equal(t, uint8(taskCompleted), task.State)
	chainTask := net.Task(id)
	require.Equal(t, task.ResultSha256, chainTask.Result.Sha256)
	// the result is served to its creator, which is the contract, not alice
	file := filepath.Join(t.TempDir(), "c.bin")
	refused, err := network.TryRun(bin, "q", "compute", "result", strconv.FormatUint(id, 10), "--out", file, "--home", home, "--from", "alice")
	require.Error(t, err, "%s", refused)
	require.Contains(t, err.Error()+string(refused), fmt.Sprintf("neither the creator of task %d nor on its committee", id))
	// alice reads it for the contract: the provider asks the contract (ERC-1271) whether her
	// signature stands for it
	out, err := network.TryRun(bin, "q", "compute", "result", strconv.FormatUint(id, 10), "--out", file, "--home", home, "--from", "alice",
		"--for", consumer.Hex())
	require.NoError(t, err, "%s", out)
	bz, err := os.ReadFile(file)
	require.NoError(t, err)
	result := bytes.NewBuffer(bz)
	sum := sha256.Sum256(result.Bytes())
	require.Equal(t, task.ResultSha256, hex.EncodeToString(sum[:]))
	// the contract approves its owner only
	refused, err = network.TryRun(bin, "q", "compute", "result", strconv.FormatUint(id, 10), "--out", file, "--home", home, "--from", "bob",
		"--for", consumer.Hex())
	require.Error(t, err, "%s", refused)
	require.Contains(t, err.Error()+string(refused), "does not accept the signature")
	a, b, ok := chainTask.GemmInputSeeds()
	require.True(t, ok)
	shape := gemm.Shape{M: m, N: n, K: k}
	require.True(t, bytes.Equal(gemm.Encode(shape, gemm.Naive(shape, gemm.Generate(a, m, k), gemm.Generate(b, k, n))), result.Bytes()), "the result is A·B")

	// 5. anyone may record the verified result in the contract; once
	alice.send(&consumer, nil, pack(consumerArt, "recordResult", id))
	require.Equal(t, task.ResultSha256, call(consumer, consumerArt, "resultSha256", id)[0])
	_, err = client.EstimateGas(ctx, ethereum.CallMsg{From: bob, To: &consumer, Data: pack(consumerArt, "recordResult", id)})
	require.ErrorContains(t, err, "execution reverted")

	// 6. the precompile's logs of the task, by its id topic; the creator topic is the contract
	logs, err := client.FilterLogs(ctx, ethereum.FilterQuery{
		FromBlock: created.BlockNumber,
		Addresses: []common.Address{computePrecompile},
		Topics:    [][]common.Hash{nil, {common.BigToHash(new(big.Int).SetUint64(id))}},
	})
	require.NoError(t, err)
	var names []string
	for _, l := range logs {
		ev, err := computeArt.ABI.EventByID(l.Topics[0])
		require.NoError(t, err)
		names = append(names, ev.Name)
		require.Equal(t, consumer, common.BytesToAddress(l.Topics[2].Bytes()), "%s: the creator topic", ev.Name)
	}
	t.Logf("task %d: logs %v", id, names)
	require.Equal(t, "TaskCreated", names[0], "logs %v", names)
	require.Contains(t, names, "ResultAccepted", "logs %v", names)

	// 7. the bank and the EVM agree on the contract's balance
	evmBalance, err := client.BalanceAt(ctx, consumer, nil)
	require.NoError(t, err)
	require.Equal(t, balance(t, node, sdk.AccAddress(consumer.Bytes()).String()).String(), evmBalance.String())
	require.Equal(t, -1, evmBalance.Cmp(fund), "the contract paid for the task")
	t.Logf("task %d accepted and recorded %s after deployment", id, time.Since(start).Round(time.Millisecond))

	// the block's own logs of the task's transitions, found by the same filter
	require.Contains(t, names, "TaskAssigned", "logs %v", names)
	require.Contains(t, names, "TaskCompleted", "logs %v", names)
	completed := logs[slices.Index(names, "TaskCompleted")]
	values, err := computeArt.ABI.Unpack("TaskCompleted", completed.Data)
	require.NoError(t, err)
	require.Equal(t, []any{uint8(taskVerified), task.ResultSha256}, values)

	// the watching filter saw the same logs of the task, the block's own among them
	var changes []types.Log
	require.NoError(t, client.Client().CallContext(ctx, &changes, "eth_getFilterChanges", watch))
	var watched []string
	for _, l := range changes {
		if l.Topics[1] != common.BigToHash(new(big.Int).SetUint64(id)) {
			continue
		}
		ev, err := computeArt.ABI.EventByID(l.Topics[0])
		require.NoError(t, err)
		watched = append(watched, ev.Name)
	}
	require.ElementsMatch(t, names, watched, "eth_getFilterChanges %v, eth_getLogs %v", watched, names)
}
