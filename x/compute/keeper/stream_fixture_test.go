package keeper_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/collections"
	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	"github.com/cosmos/evm/crypto/ethsecp256k1"

	"github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
	sgkeeper "github.com/opengpu/ogpu/x/staking-gpu/keeper"
	sgtypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

const chainID = "ogpu-test-1"

var streamWidths = []uint32{4, 3, 2}

// streamFixture is the fixture with a keyed client and three keyed providers that serve
// infer-mlp-int8/v1, each bonded with 10,000 OGPU, their public keys on chain.
type streamFixture struct {
	*fixture
	clientKey *ethsecp256k1.PrivKey
	client    sdk.AccAddress
	keys      []*ethsecp256k1.PrivKey
	replicas  []sdk.AccAddress
}

func newStreamFixture(f *fixture) *streamFixture {
	f.t.Helper()
	f.ctx = f.ctx.WithChainID(chainID)
	sf := &streamFixture{fixture: f}
	newKey := func() (*ethsecp256k1.PrivKey, sdk.AccAddress) {
		k, err := ethsecp256k1.GenerateKey()
		require.NoError(f.t, err)
		addr := sdk.AccAddress(k.PubKey().Address())
		f.accounts[string(addr)] = authtypes.NewBaseAccount(addr, k.PubKey(), 0, 0)
		return k, addr
	}
	sf.clientKey, sf.client = newKey()
	f.bank.Set(sf.client, denom, ogpu(1_000_000))
	sgMsgs := sgkeeper.NewMsgServer(f.sg)
	for i := 0; i < 3; i++ {
		k, p := newKey()
		sf.keys = append(sf.keys, k)
		sf.replicas = append(sf.replicas, p)
		f.bank.Set(p, denom, ogpu(20_000))
		_, err := sgMsgs.RegisterProvider(f.ctx, &sgtypes.MsgRegisterProvider{
			Operator: p.String(), Moniker: fmt.Sprintf("r%d", i), Endpoint: "https://r.example",
			Gpus:      []sgtypes.GPU{{Uuid: fmt.Sprintf("GPU-R%d", i), Model: "NVIDIA H100 80GB HBM3", VramMib: 81920, ComputeCapability: "9.0"}},
			Workloads: []string{workload.InferMlpInt8V1},
		})
		require.NoError(f.t, err)
		_, err = sgMsgs.Bond(f.ctx, &sgtypes.MsgBond{Operator: p.String(), Amount: sdk.NewCoin(denom, ogpu(10_000))})
		require.NoError(f.t, err)
	}
	return sf
}

func hexOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// openMsg is a 2-replica stream of 30 blocks with a 100 OGPU deposit, at most 1 OGPU a request.
func (sf *streamFixture) openMsg() *types.MsgOpenStream {
	return &types.MsgOpenStream{
		Creator: sf.client.String(),
		Workload: types.Workload{Name: workload.InferMlpInt8V1, Params: &types.Workload_InferMlpInt8{
			InferMlpInt8: &types.InferMlpInt8Params{Widths: streamWidths, Rows: 8},
		}},
		Model:              types.Blob{Uri: "https://client.example/model", Sha256: hexOf("model"), Size_: workload.MlpModelSize(streamWidths)},
		Requirements:       sgtypes.Requirements{Workload: workload.InferMlpInt8V1},
		Replicas:           2,
		MaxPricePerRequest: sdk.NewCoin(denom, ogpu(1)),
		Duration:           30,
		Deposit:            sdk.NewCoin(denom, ogpu(100)),
	}
}

func (sf *streamFixture) open() uint64 {
	sf.t.Helper()
	res, err := sf.msgs.OpenStream(sf.ctx, sf.openMsg())
	require.NoError(sf.t, err)
	return res.StreamId
}

func (sf *streamFixture) subscribe(i int, id uint64, price math.Int) error {
	_, err := sf.msgs.Subscribe(sf.ctx, &types.MsgSubscribe{
		Provider: sf.replicas[i].String(), StreamId: id, Price: price, Endpoint: fmt.Sprintf("https://r%d.example", i),
	})
	return err
}

// live opens the default stream, has the three providers subscribe at 0.5, 0.6 and 0.7 OGPU and
// runs it LIVE: providers 0 and 1 serve, 2 stands by.
func (sf *streamFixture) live() uint64 {
	sf.t.Helper()
	id := sf.open()
	for i, p := range []int64{50, 60, 70} {
		require.NoError(sf.t, sf.subscribe(i, id, math.NewIntWithDecimal(p, 16)))
	}
	sf.untilHeight(sf.stream(id).SubscribeEnd + 1)
	require.Equal(sf.t, types.STREAM_STATE_LIVE, sf.stream(id).State)
	sf.requireStreamInvariants()
	return id
}

func (sf *streamFixture) stream(id uint64) types.Stream {
	sf.t.Helper()
	s, err := sf.k.GetStream(sf.ctx, id)
	require.NoError(sf.t, err)
	return s
}

func (sf *streamFixture) requireStreamInvariants() {
	sf.t.Helper()
	sf.requireInvariants()
	require.NoError(sf.t, sf.k.StreamBooksInvariant(sf.ctx))
}

func (sf *streamFixture) voucher(id uint64, i int, total math.Int, nonce uint64) (types.Voucher, []byte) {
	sf.t.Helper()
	v := types.Voucher{StreamId: id, Provider: sf.replicas[i].String(), Total: total, Nonce: nonce}
	sig, err := sf.clientKey.Sign(types.VoucherSignBytes(chainID, v))
	require.NoError(sf.t, err)
	return v, sig
}

func (sf *streamFixture) claim(i int, v types.Voucher, sig []byte) (math.Int, error) {
	res, err := sf.msgs.ClaimStream(sf.ctx, &types.MsgClaimStream{Provider: sf.replicas[i].String(), Voucher: v, Signature: sig})
	if err != nil {
		return math.Int{}, err
	}
	return res.Paid, nil
}

// receipts are n receipts of replica i at height h, each a request of 2 rows, numbered from 0.
func (sf *streamFixture) receipts(id uint64, i int, n int, h int64) []types.Receipt {
	return sf.receiptsFrom(id, i, 0, n, h)
}

// receiptsFrom are n receipts of replica i at height h numbered from first.
func (sf *streamFixture) receiptsFrom(id uint64, i int, first uint64, n int, h int64) []types.Receipt {
	out := make([]types.Receipt, n)
	for j := range out {
		out[j] = types.Receipt{
			StreamId: id, Provider: sf.replicas[i].String(), Sequence: first + uint64(j),
			InputSha256: hexOf(fmt.Sprintf("in-%d-%d", i, j)), OutputSha256: hexOf(fmt.Sprintf("out-%d-%d", i, j)),
			InputSize: workload.MlpRowsSize(2, streamWidths[0]), OutputSize: workload.MlpInferResultSize(streamWidths, 2),
			Height: h,
		}
	}
	return out
}

// commit commits rs as replica i's receipts of period, from the first one's sequence (or, for
// none, from where the replica's earlier commitments reach).
func (sf *streamFixture) commit(i int, id uint64, period uint64, rs []types.Receipt) error {
	var first uint64
	if len(rs) > 0 {
		first = rs[0].Sequence
	} else if c, err := sf.k.StreamClaims.Get(sf.ctx, collections.Join(id, sf.replicas[i])); err == nil {
		first = c.ReceiptsCommitted
	}
	return sf.commitFrom(i, id, period, first, rs)
}

func (sf *streamFixture) commitFrom(i int, id uint64, period, first uint64, rs []types.Receipt) error {
	_, err := sf.msgs.CommitReceipts(sf.ctx, &types.MsgCommitReceipts{
		Provider: sf.replicas[i].String(), StreamId: id, Period: period, Root: types.ReceiptRoot(chainID, rs), Count: uint64(len(rs)),
		FirstSequence: first,
	})
	return err
}

func (sf *streamFixture) commitment(id uint64, i int, period uint64) types.ReceiptCommitment {
	sf.t.Helper()
	c, err := sf.k.Commitments.Get(sf.ctx, collections.Join3(id, sf.replicas[i], period))
	require.NoError(sf.t, err)
	return c
}

// samples are the proofs of the drawn receipts of rs.
func (sf *streamFixture) samples(c types.ReceiptCommitment, rs []types.Receipt) []types.SampleProof {
	_, proofs := types.ReceiptProofs(chainID, rs)
	out := make([]types.SampleProof, len(c.Samples))
	for j, idx := range c.Samples {
		out[j] = types.SampleProof{Receipt: rs[idx], Index: idx, Aunts: proofs[idx].Aunts}
	}
	return out
}

func (sf *streamFixture) reveal(i int, id uint64, period uint64, samples []types.SampleProof) ([]uint64, error) {
	res, err := sf.msgs.RevealSamples(sf.ctx, &types.MsgRevealSamples{
		Provider: sf.replicas[i].String(), StreamId: id, Period: period, Samples: samples, UriPrefix: "https://r.example/v1/blobs/",
	})
	if err != nil {
		return nil, err
	}
	return res.CheckTasks, nil
}

// refused runs fn, requires it to fail with want, and requires that it changed nothing.
func (sf *streamFixture) refused(want error, detail string, fn func() error) {
	sf.t.Helper()
	before := sf.snapshot()
	err := fn()
	require.ErrorIs(sf.t, err, want)
	if detail != "" {
		require.ErrorContains(sf.t, err, detail)
	}
	require.Equal(sf.t, before, sf.snapshot())
}
