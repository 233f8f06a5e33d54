package bench

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cryptoenc "github.com/cometbft/cometbft/crypto/encoding"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

	dbm "github.com/cosmos/cosmos-db"
	evmhd "github.com/cosmos/evm/crypto/hd"
	srvflags "github.com/cosmos/evm/server/flags"
	"github.com/cosmos/gogoproto/proto"

	"cosmossdk.io/log/v2"
	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/client/flags"
	clienttx "github.com/cosmos/cosmos-sdk/client/tx"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	sdkserver "github.com/cosmos/cosmos-sdk/server"
	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
	genutiltypes "github.com/cosmos/cosmos-sdk/x/genutil/types"

	"github.com/opengpu/ogpu/app"
	ogpuclient "github.com/opengpu/ogpu/client"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
	stakinggputypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

// TimersResult is what the timers benchmark (`ogpud bench timers`) measures.
type TimersResult struct {
	Tasks             int     `json:"tasks"`
	MaxTimersPerBlock uint32  `json:"max_timers_per_block"`
	BidWindow         uint64  `json:"bid_window"`
	EmptyBlocks       int     `json:"empty_blocks"`
	EmptyBlockSeconds float64 `json:"empty_block_seconds"` // median
	// BlocksWanted is ⌈tasks / max_timers_per_block⌉, the blocks the timers must take.
	BlocksWanted int           `json:"blocks_wanted"`
	Expired      TimersVariant `json:"expired"`
	Matched      TimersVariant `json:"matched"`
	NumCPU       int           `json:"num_cpu"`
}

// TimersVariant is one way the timers end (expired without a bid, or matched), over rounds.
type TimersVariant struct {
	Rounds []TimersRound `json:"rounds"`
	// SlowestBlockSeconds is the median over rounds of each round's slowest block.
	SlowestBlockSeconds float64 `json:"slowest_block_seconds"`
	// MedianBlockSeconds is the median of every block that processed timers, in all rounds.
	MedianBlockSeconds float64 `json:"median_block_seconds"`
	// Blocks is the most blocks a round took to process all its timers.
	Blocks int     `json:"blocks"`
	Ratio  float64 `json:"slowest_over_empty"`
}

// TimersRound is one batch of tasks: the block that created them and the blocks that ended
// their bid windows.
type TimersRound struct {
	CreatedHeight       int64         `json:"created_height"`
	CreateBlockSeconds  float64       `json:"create_block_seconds"`
	DueHeight           int64         `json:"due_height"`
	Blocks              []TimersBlock `json:"blocks"`
	SlowestBlockSeconds float64       `json:"slowest_block_seconds"`
}

// TimersBlock is one block of a round: its time (FinalizeBlock and Commit; FinalizeBlock
// alone) and the timers it processed.
type TimersBlock struct {
	Height          int64   `json:"height"`
	Seconds         float64 `json:"seconds"`
	FinalizeSeconds float64 `json:"finalize_seconds"`
	Processed       int     `json:"processed"`
}

// Timers writes a dev chain into home and measures, in this process, the blocks where the
// bid-window timers of that many tasks fall due at once, against empty blocks.
func Timers(ctx context.Context, env Env, home string, tasks, rounds, empty int) (TimersResult, error) {
	accounts, err := env.WriteDevHome(home)
	if err != nil {
		return TimersResult{}, err
	}
	c, err := newInProcessChain(env, home)
	if err != nil {
		return TimersResult{}, err
	}
	defer c.close()
	addr := map[string]sdk.AccAddress{}
	for _, a := range accounts {
		if addr[a.Name], err = sdk.AccAddressFromBech32(a.Address); err != nil {
			return TimersResult{}, err
		}
	}
	// a few blocks first: the first blocks of a fresh node measure its caches filling
	for range 5 {
		if _, _, err := c.block(ctx); err != nil {
			return TimersResult{}, err
		}
	}
	params, err := c.app.ComputeKeeper.Params.Get(c.app.NewContext(true))
	if err != nil {
		return TimersResult{}, err
	}
	res := TimersResult{
		Tasks: tasks, MaxTimersPerBlock: params.MaxTimersPerBlock, BidWindow: params.BidWindow,
		BlocksWanted: (tasks + int(params.MaxTimersPerBlock) - 1) / int(params.MaxTimersPerBlock), NumCPU: runtime.NumCPU(),
	}
	var emptyTimes []float64
	measureEmpty := func(n int) error {
		for range n {
			d, _, err := c.block(ctx)
			if err != nil {
				return err
			}
			emptyTimes = append(emptyTimes, d.Seconds())
		}
		return nil
	}
	if err := measureEmpty(empty); err != nil {
		return res, err
	}

	unmatchable := stakinggputypes.Requirements{Workload: workload.GemmInt8V1, GpuModel: "B200"}
	anyone := stakinggputypes.Requirements{Workload: workload.GemmInt8V1}
	for _, v := range []struct {
		variant *TimersVariant
		reqs    stakinggputypes.Requirements
		event   proto.Message
		bidder  string
	}{
		{&res.Expired, unmatchable, &computetypes.EventTaskExpired{}, ""},
		{&res.Matched, anyone, &computetypes.EventTaskAssigned{}, "provider"},
	} {
		for range rounds {
			r, err := c.timersRound(ctx, addr, tasks, v.reqs, v.bidder, proto.MessageName(v.event))
			if err != nil {
				return res, err
			}
			v.variant.Rounds = append(v.variant.Rounds, r)
			// empty blocks between rounds too, so drift on a shared machine hits both alike
			if err := measureEmpty(max(empty/rounds, 1)); err != nil {
				return res, err
			}
		}
	}
	res.EmptyBlocks, res.EmptyBlockSeconds = len(emptyTimes), median(emptyTimes)
	for _, v := range []*TimersVariant{&res.Expired, &res.Matched} {
		var slowest, all []float64
		for _, r := range v.Rounds {
			slowest = append(slowest, r.SlowestBlockSeconds)
			v.Blocks = max(v.Blocks, len(r.Blocks))
			for _, b := range r.Blocks {
				all = append(all, b.Seconds)
			}
		}
		v.SlowestBlockSeconds, v.MedianBlockSeconds = median(slowest), median(all)
		v.Ratio = v.SlowestBlockSeconds / res.EmptyBlockSeconds
	}
	return res, nil
}

// timersRound creates n tasks with reqs in one block (alice's tx), lets bidder (if any) bid on
// every one in the next, and runs blocks until the n timers that fall due at their bid
// windows' end are processed, counting each block's events of type done.
func (c *inProcessChain) timersRound(ctx context.Context, addr map[string]sdk.AccAddress, n int, reqs stakinggputypes.Requirements, bidder, done string) (TimersRound, error) {
	creator := addr["alice"]
	msgs := make([]sdk.Msg, n)
	for i := range msgs {
		msgs[i] = &computetypes.MsgCreateTask{
			Creator: creator.String(),
			Workload: computetypes.Workload{Name: workload.GemmInt8V1, Params: &computetypes.Workload_GemmInt8{
				GemmInt8: &computetypes.GemmInt8Params{M: 8, N: 8, K: 8, SeedA: 1, SeedB: 2},
			}},
			Requirements: reqs,
			MaxPrice:     sdk.NewCoin(app.BaseDenom, sdkmath.NewInt(1_000)),
			Deadline:     10_000, // no assignment deadline falls in the run
			Payment:      computetypes.PaymentFunction{Kind: computetypes.PAYMENT_KIND_FIXED, MinFraction: sdkmath.LegacyZeroDec()},
		}
	}
	create, err := c.sign("alice", creator, uint64(n)*100_000, msgs...)
	if err != nil {
		return TimersRound{}, err
	}
	d, fin, err := c.block(ctx, create)
	if err != nil {
		return TimersRound{}, err
	}
	r := TimersRound{CreatedHeight: c.height, CreateBlockSeconds: d.Seconds()}
	if created := countEvents(fin.TxResults[0].Events, proto.MessageName(&computetypes.EventTaskCreated{})); created != n {
		return r, fmt.Errorf("%d tasks created in block %d, want %d", created, c.height, n)
	}
	next, err := c.app.ComputeKeeper.TaskSeq.Peek(c.app.NewContext(true))
	if err != nil {
		return r, err
	}
	first := next - uint64(n)
	task, err := c.app.ComputeKeeper.GetTask(c.app.NewContext(true), first)
	if err != nil {
		return r, err
	}
	r.DueHeight = task.BidWindowEnd
	if bidder != "" {
		bids := make([]sdk.Msg, n)
		for i := range bids {
			bids[i] = &computetypes.MsgBid{Provider: addr[bidder].String(), TaskId: first + uint64(i), Price: sdkmath.NewInt(500)}
		}
		tx, err := c.sign(bidder, addr[bidder], uint64(n)*100_000, bids...)
		if err != nil {
			return r, err
		}
		if _, _, err := c.block(ctx, tx); err != nil {
			return r, err
		}
	}
	for c.height+1 < r.DueHeight {
		if _, _, err := c.block(ctx); err != nil {
			return r, err
		}
	}
	processed := 0
	for processed < n {
		if c.height >= r.DueHeight+int64(n) {
			return r, fmt.Errorf("%d of %d timers processed by height %d", processed, n, c.height)
		}
		t, fin, err := c.timedBlock(ctx)
		if err != nil {
			return r, err
		}
		b := TimersBlock{Height: c.height, Seconds: t.total.Seconds(), FinalizeSeconds: t.finalize.Seconds(), Processed: countEvents(fin.Events, done)}
		processed += b.Processed
		r.Blocks = append(r.Blocks, b)
		r.SlowestBlockSeconds = max(r.SlowestBlockSeconds, b.Seconds)
	}
	return r, nil
}

// inProcessChain is the application of a dev home driven in this process: no CometBFT, no
// network, blocks made by calling FinalizeBlock and Commit.
type inProcessChain struct {
	app      *app.App
	kr       keyring.Keyring
	chainID  string
	start    time.Time
	height   int64
	proposer abci.Validator
}

// newInProcessChain opens the application of the dev home as `ogpud start` would (its
// database, chain id and EVM chain id; invariants off and no sidecar, as on a production node)
// and runs InitChain from the home's genesis.
func newInProcessChain(env Env, home string) (*inProcessChain, error) {
	gen, err := genutiltypes.AppGenesisFromFile(filepath.Join(home, "config", "genesis.json"))
	if err != nil {
		return nil, err
	}
	db, err := dbm.NewDB("application", dbm.GoLevelDBBackend, filepath.Join(home, "data"))
	if err != nil {
		return nil, err
	}
	opts := simtestutil.AppOptionsMap{
		flags.FlagHome:                home,
		srvflags.EVMChainID:           app.DevEVMChainID,
		sdkserver.FlagInterBlockCache: true,
		sdkserver.FlagIAVLCacheSize:   781_250, // app.toml's default
		sdkserver.FlagMinGasPrices:    "0" + app.BaseDenom,
		sdkserver.FlagPruning:         "default",
		app.FlagCheckInvariants:       false,
		app.FlagSidecarAddress:        "",
	}
	a, ok := env.NewApp(log.NewNopLogger(), db, opts).(*app.App)
	if !ok {
		return nil, errors.New("NewApp: not an *app.App")
	}
	c := &inProcessChain{app: a, chainID: gen.ChainID, start: gen.GenesisTime, height: gen.InitialHeight - 1}
	if c.kr, err = keyring.New(app.Name, keyring.BackendTest, home, nil, a.AppCodec(), evmhd.EthSecp256k1Option()); err != nil {
		c.close()
		return nil, err
	}
	cp := gen.Consensus.Params.ToProto()
	res, err := a.InitChain(&abci.RequestInitChain{
		Time: gen.GenesisTime, ChainId: gen.ChainID, InitialHeight: gen.InitialHeight,
		ConsensusParams: &cp, AppStateBytes: gen.AppState,
	})
	if err != nil {
		c.close()
		return nil, fmt.Errorf("init chain: %w", err)
	}
	if len(res.Validators) != 1 {
		c.close()
		return nil, fmt.Errorf("init chain: %d validators, want the dev chain's one", len(res.Validators))
	}
	pk, err := cryptoenc.PubKeyFromProto(res.Validators[0].PubKey)
	if err != nil {
		c.close()
		return nil, err
	}
	c.proposer = abci.Validator{Address: pk.Address(), Power: res.Validators[0].Power}
	return c, nil
}

func (c *inProcessChain) close() { _ = c.app.Close() }

// block finalizes and commits the next block with txs and returns the time the two calls took.
func (c *inProcessChain) block(ctx context.Context, txs ...[]byte) (time.Duration, *abci.ResponseFinalizeBlock, error) {
	t, res, err := c.timedBlock(ctx, txs...)
	return t.total, res, err
}

// blockTimes are the times of a block's FinalizeBlock, and of it and Commit together.
type blockTimes struct{ finalize, total time.Duration }

// timedBlock finalizes and commits the next block with txs, one second after the one before,
// with the validator proposing and every block before signed by it. A tx that fails fails the
// block.
func (c *inProcessChain) timedBlock(ctx context.Context, txs ...[]byte) (blockTimes, *abci.ResponseFinalizeBlock, error) {
	if err := ctx.Err(); err != nil {
		return blockTimes{}, nil, err
	}
	c.height++
	hash := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("ogpu/bench/block"), uint64(c.height)))
	req := &abci.RequestFinalizeBlock{
		Txs: txs, Hash: hash[:], Height: c.height, Time: c.start.Add(time.Duration(c.height) * time.Second),
		ProposerAddress: c.proposer.Address,
	}
	if c.height > 1 {
		req.DecidedLastCommit = abci.CommitInfo{Votes: []abci.VoteInfo{{Validator: c.proposer, BlockIdFlag: cmtproto.BlockIDFlagCommit}}}
	}
	start := time.Now()
	res, err := c.app.FinalizeBlock(req)
	if err != nil {
		return blockTimes{}, nil, fmt.Errorf("finalize block %d: %w", c.height, err)
	}
	t := blockTimes{finalize: time.Since(start)}
	if _, err := c.app.Commit(); err != nil {
		return blockTimes{}, nil, fmt.Errorf("commit block %d: %w", c.height, err)
	}
	t.total = time.Since(start)
	for i, r := range res.TxResults {
		if r.Code != 0 {
			return t, res, fmt.Errorf("block %d, tx %d: code %d: %s", c.height, i, r.Code, r.Log)
		}
	}
	return t, res, nil
}

// sign builds and signs a tx of msgs from the key name (address addr) at its next sequence,
// paying for gas at the client's DefaultGasPrice.
func (c *inProcessChain) sign(name string, addr sdk.AccAddress, gas uint64, msgs ...sdk.Msg) ([]byte, error) {
	acc := c.app.AccountKeeper.GetAccount(c.app.NewContext(true), addr)
	if acc == nil {
		return nil, fmt.Errorf("account %s (%s) not found", name, addr)
	}
	return c.signAt(name, acc.GetAccountNumber(), acc.GetSequence(), gas, msgs...)
}

// signAt is sign at a given account number and sequence, for several txs of one account in
// a block.
func (c *inProcessChain) signAt(name string, accNum, seq, gas uint64, msgs ...sdk.Msg) ([]byte, error) {
	f := clienttx.Factory{}.
		WithTxConfig(c.app.TxConfig()).WithKeybase(c.kr).WithChainID(c.chainID).WithFromName(name).
		WithAccountNumber(accNum).WithSequence(seq).
		WithGas(gas).WithGasPrices(ogpuclient.DefaultGasPrice).WithSignMode(signing.SignMode_SIGN_MODE_DIRECT)
	builder, err := f.BuildUnsignedTx(msgs...)
	if err != nil {
		return nil, err
	}
	if err := clienttx.Sign(context.Background(), f, name, builder, true); err != nil {
		return nil, err
	}
	return c.app.TxConfig().TxEncoder()(builder.GetTx())
}

// countEvents is how many of events are of type typ.
func countEvents(events []abci.Event, typ string) int {
	n := 0
	for _, ev := range events {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

// median is the nearest-rank median of v.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	return percentile(slices.Sorted(slices.Values(v)), 50)
}
