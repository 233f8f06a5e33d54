package keeper_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
	abci "github.com/cometbft/cometbft/abci/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	"github.com/cosmos/evm/crypto/ethsecp256k1"

	"github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
	sgkeeper "github.com/opengpu/ogpu/x/staking-gpu/keeper"
	sgtypes "github.com/opengpu/ogpu/x/staking-gpu/types"
)

func dec(n int64, prec int) math.Int { return math.NewIntWithDecimal(n, prec) }

func TestOpenStreamLocksEscrow(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	before := sf.balance(sf.client)
	id := sf.open()
	require.EqualValues(t, 1, id, "streams have their own id space")
	s := sf.stream(id)
	require.Equal(t, types.STREAM_STATE_OPEN, s.State)
	require.Equal(t, ogpu(100), s.Budget)
	require.Equal(t, ogpu(2), s.CommitteeFee, "2% of the deposit")
	require.Equal(t, ogpu(10), s.SecurityDeposit, "10% of the deposit")
	require.Equal(t, ogpu(112), s.Escrow)
	require.Equal(t, ogpu(50), s.SlotShare())
	require.Equal(t, before.Sub(ogpu(112)), sf.balance(sf.client))
	require.Equal(t, ogpu(112), sf.balance(escrowAddr))
	require.Equal(t, s.CreatedHeight+3, s.SubscribeEnd)
	sf.requireStreamInvariants()
}

func TestOpenStreamRules(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	poorKey, err := ethsecp256k1.GenerateKey()
	require.NoError(t, err)
	poor := sdk.AccAddress(poorKey.PubKey().Address())
	sf.accounts[string(poor)] = authtypes.NewBaseAccount(poor, poorKey.PubKey(), 0, 0)
	sf.bank.Set(poor, denom, ogpu(111))
	// an account that never signed a Cosmos transaction (or a contract) has no key on chain
	keyless := sf.addr("keyless", 0)
	sf.bank.Set(keyless, denom, ogpu(1_000))
	tests := []struct {
		name   string
		edit   func(m *types.MsgOpenStream)
		err    *errorsmod.Error
		detail string
	}{
		{"no replicas", func(m *types.MsgOpenStream) { m.Replicas = 0 }, types.ErrInvalidStream, "replicas 0"},
		{"too many replicas", func(m *types.MsgOpenStream) { m.Replicas = 17 }, types.ErrInvalidStream, "max_replicas = 16"},
		{"shorter than a period", func(m *types.MsgOpenStream) { m.Duration = 9 }, types.ErrInvalidDeadline, "receipt_period = 10"},
		{"too long", func(m *types.MsgOpenStream) { m.Duration = 100_001 }, types.ErrInvalidDeadline, "max_stream_blocks"},
		{"deposit in another denom", func(m *types.MsgOpenStream) {
			m.Deposit = sdk.NewCoin("uatom", ogpu(100))
			m.MaxPricePerRequest = sdk.NewCoin("uatom", ogpu(1))
		}, types.ErrInvalidPrice, "must be in aogpu"},
		{"too many rows", func(m *types.MsgOpenStream) {
			m.Workload.Params.(*types.Workload_InferMlpInt8).InferMlpInt8.Rows = 2000
		}, types.ErrInvalidWorkload, "max_request_rows = 1024"},
		{"model of other widths", func(m *types.MsgOpenStream) { m.Model.Size_ = 7 }, types.ErrInvalidWorkload, "inputs[0] (model) size 7"},
		{"not a stream workload", func(m *types.MsgOpenStream) { m.Workload.Name = "gemm-int8/v1" }, types.ErrInvalidStream, "streams serve"},
		{"deposit pays no period", func(m *types.MsgOpenStream) { m.Deposit = sdk.NewCoin(denom, ogpu(3)) }, types.ErrInvalidPrice, "stream_samples × max_price_per_request"},
		{"insufficient funds", func(m *types.MsgOpenStream) { m.Creator = poor.String() }, nil, "insufficient funds"},
		{"a creator without a key on chain", func(m *types.MsgOpenStream) { m.Creator = keyless.String() }, types.ErrMissingPubKey,
			"creator: account " + keyless.String() + " has no public key on chain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := sf.openMsg()
			tc.edit(msg)
			before := sf.snapshot()
			_, err := sf.msgs.OpenStream(sf.ctx, msg)
			require.Error(t, err)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
			}
			require.ErrorContains(t, err, tc.detail)
			require.Equal(t, before, sf.snapshot())
		})
	}
}

func TestSubscribeAndSelect(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	id := sf.open()
	half := dec(50, 16)
	sf.refused(types.ErrStreamNotFound, "stream 9", func() error { return sf.subscribe(0, 9, half) })
	sf.refused(types.ErrInvalidPrice, "max_price_per_request", func() error { return sf.subscribe(0, id, ogpu(2)) })
	sf.refused(types.ErrNotEligible, "workload infer-mlp-int8/v1 not supported", func() error {
		_, err := sf.msgs.Subscribe(sf.ctx, &types.MsgSubscribe{Provider: sf.providers[0].String(), StreamId: id, Price: half, Endpoint: "https://p.example"})
		return err
	})
	for i, p := range []int64{50, 60, 70} {
		require.NoError(t, sf.subscribe(i, id, dec(p, 16)))
	}
	sf.refused(types.ErrDuplicateSubscribe, "", func() error { return sf.subscribe(0, id, half) })
	sf.untilHeight(sf.stream(id).SubscribeEnd + 1)
	s := sf.stream(id)
	require.Equal(t, types.STREAM_STATE_LIVE, s.State)
	require.Equal(t, s.SubscribeEnd+1, s.LiveHeight)
	require.Equal(t, s.LiveHeight+29, s.EndHeight)
	require.Len(t, s.Serving, 2)
	require.Equal(t, sf.replicas[0].String(), s.Serving[0].Provider, "the lowest price first")
	require.EqualValues(t, 0, s.Serving[0].Slot)
	require.Equal(t, sf.replicas[1].String(), s.Serving[1].Provider)
	require.EqualValues(t, 1, s.Serving[1].Slot)
	require.Len(t, s.Standbys, 1)
	require.Equal(t, sf.replicas[2].String(), s.Standbys[0].Provider)
	require.Equal(t, ogpu(100), s.Serving[0].Collateral, "collateral_ratio 2 × the slot's share of 50")
	p, err := sf.sg.GetProvider(sf.ctx, sf.replicas[0])
	require.NoError(t, err)
	require.Equal(t, ogpu(100), p.Locked)
	busy, err := sf.k.HasOpenWork(sf.ctx, sf.replicas[0])
	require.NoError(t, err)
	require.True(t, busy, "a replica may not leave while it serves")
	sf.refused(types.ErrStreamState, "only while OPEN", func() error { return sf.subscribe(2, id, half) })
	sf.requireStreamInvariants()

	// the queries find it by state, creator and provider
	res, err := sf.queries.Streams(sf.ctx, &types.QueryStreamsRequest{State: types.STREAM_STATE_LIVE})
	require.NoError(t, err)
	require.Len(t, res.Streams, 1)
	res, err = sf.queries.Streams(sf.ctx, &types.QueryStreamsRequest{Creator: sf.client.String()})
	require.NoError(t, err)
	require.Len(t, res.Streams, 1)
	res, err = sf.queries.Streams(sf.ctx, &types.QueryStreamsRequest{Provider: sf.replicas[1].String()})
	require.NoError(t, err)
	require.Len(t, res.Streams, 1)
	res, err = sf.queries.Streams(sf.ctx, &types.QueryStreamsRequest{Provider: sf.replicas[2].String()})
	require.NoError(t, err)
	require.Empty(t, res.Streams, "a standby serves nothing")
	one, err := sf.queries.Stream(sf.ctx, &types.QueryStreamRequest{StreamId: id})
	require.NoError(t, err)
	require.Equal(t, s, one.Stream)
	live, err := sf.k.LiveStreams(sf.ctx)
	require.NoError(t, err)
	require.Len(t, live, 1)
}

func TestNoSubscriberRefundsEverything(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	before := sf.balance(sf.client)
	id := sf.open()
	sf.untilHeight(sf.stream(id).SubscribeEnd + 1)
	s := sf.stream(id)
	require.Equal(t, types.STREAM_STATE_CLOSED, s.State)
	require.True(t, s.Settled)
	require.Equal(t, before, sf.balance(sf.client))
	require.True(t, sf.balance(escrowAddr).IsZero())
	sf.requireStreamInvariants()
}

func TestCloseOpenStream(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	before := sf.balance(sf.client)
	id := sf.open()
	sf.refused(types.ErrNotCreator, "opened by", func() error {
		_, err := sf.msgs.CloseStream(sf.ctx, &types.MsgCloseStream{Creator: sf.replicas[0].String(), StreamId: id})
		return err
	})
	_, err := sf.msgs.CloseStream(sf.ctx, &types.MsgCloseStream{Creator: sf.client.String(), StreamId: id})
	require.NoError(t, err)
	require.True(t, sf.stream(id).Settled)
	require.Equal(t, before, sf.balance(sf.client))
	sf.refused(types.ErrStreamState, "already CLOSED", func() error {
		_, err := sf.msgs.CloseStream(sf.ctx, &types.MsgCloseStream{Creator: sf.client.String(), StreamId: id})
		return err
	})
	sf.refused(types.ErrStreamState, "CLOSED", func() error {
		_, err := sf.msgs.FundStream(sf.ctx, &types.MsgFundStream{Creator: sf.client.String(), StreamId: id, Amount: sdk.NewCoin(denom, ogpu(1))})
		return err
	})
	sf.requireStreamInvariants()
}

func TestClaimStream(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	id := sf.live()
	v, sig := sf.voucher(id, 0, ogpu(10), 1)
	before := sf.balance(sf.replicas[0])
	paid, err := sf.claim(0, v, sig)
	require.NoError(t, err)
	require.Equal(t, ogpu(10), paid)
	require.Equal(t, before.Add(dec(95, 17)), sf.balance(sf.replicas[0]), "10 OGPU less the 5% protocol fee")
	s := sf.stream(id)
	require.Equal(t, ogpu(10), s.Claimed)
	require.Equal(t, ogpu(102), s.Escrow)
	require.Equal(t, ogpu(10), s.Serving[0].Claimed)
	require.EqualValues(t, 1, s.Serving[0].VoucherNonce)
	require.Equal(t, ogpu(10), sf.commitment(id, 0, 0).ClaimedInPeriod)
	sf.requireStreamInvariants()

	// a second stream that replicas 0 and 1 serve too
	id2 := sf.live()
	other, _ := sf.voucher(id2, 2, ogpu(1), 1)
	sf.refused(types.ErrInvalidVoucher, "nonce 1: must be above the last redeemed, 1", func() error { _, err := sf.claim(0, v, sig); return err })
	lower, lowerSig := sf.voucher(id, 0, ogpu(20), 0)
	sf.refused(types.ErrInvalidVoucher, "nonce 0", func() error { _, err := sf.claim(0, lower, lowerSig); return err })
	same, sameSig := sf.voucher(id, 0, ogpu(10), 2)
	sf.refused(types.ErrInvalidVoucher, "must exceed what was redeemed", func() error { _, err := sf.claim(0, same, sameSig); return err })
	over, overSig := sf.voucher(id, 0, dec(5001, 16), 2)
	sf.refused(types.ErrInvalidVoucher, "at most its share", func() error { _, err := sf.claim(0, over, overSig); return err })
	moved := v
	moved.StreamId, moved.Nonce, moved.Total = id2, 1, ogpu(10)
	sf.refused(types.ErrInvalidVoucher, "not a signature", func() error {
		_, movedSig := sf.voucher(id, 0, ogpu(10), 1) // signed for the first stream
		_, err := sf.claim(0, moved, movedSig)
		return err
	})
	forged := types.Voucher{StreamId: id, Provider: sf.replicas[0].String(), Total: ogpu(20), Nonce: 2}
	forgedSig, err := sf.keys[0].Sign(types.VoucherSignBytes(chainID, forged))
	require.NoError(t, err)
	sf.refused(types.ErrInvalidVoucher, "vouchers are signed by the stream's creator", func() error { _, err := sf.claim(0, forged, forgedSig); return err })
	next, nextSig := sf.voucher(id, 0, ogpu(20), 2)
	sf.refused(types.ErrInvalidVoucher, "must be the claiming provider", func() error { _, err := sf.claim(1, next, nextSig); return err })
	standby, standbySig := sf.voucher(id, 2, ogpu(1), 1)
	sf.refused(types.ErrNotReplica, "never held a slot", func() error { _, err := sf.claim(2, standby, standbySig); return err })
	sf.refused(types.ErrNotReplica, "never held a slot", func() error { _, err := sf.claim(2, other, sig); return err })
	unknown := next
	unknown.StreamId = 77
	sf.refused(types.ErrStreamNotFound, "", func() error { _, err := sf.claim(0, unknown, nextSig); return err })
	// without the creator's public key on chain nothing can be verified
	acc := sf.accounts[string(sf.client)]
	delete(sf.accounts, string(sf.client))
	sf.refused(types.ErrInvalidVoucher, "no public key on chain", func() error { _, err := sf.claim(0, next, nextSig); return err })
	sf.accounts[string(sf.client)] = acc
	for _, garbage := range [][]byte{{1}, make([]byte, 65), make([]byte, 128)} {
		sf.refused(types.ErrInvalidVoucher, "not a signature", func() error { _, err := sf.claim(0, next, garbage); return err })
	}

	paid, err = sf.claim(0, next, nextSig)
	require.NoError(t, err)
	require.Equal(t, ogpu(10), paid, "total − what was redeemed before")
	full, fullSig := sf.voucher(id, 0, ogpu(50), 3)
	_, err = sf.claim(0, full, fullSig)
	require.NoError(t, err, "up to the slot's whole share")
	sf.requireStreamInvariants()
}

func TestCommitRevealAndValidCheck(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	start := sf.balance(sf.client)
	id := sf.live()
	s := sf.stream(id)
	rs := sf.receipts(id, 0, 5, s.LiveHeight+1)
	sf.refused(types.ErrInvalidCommitment, "is not due", func() error { return sf.commit(0, id, 0, rs) })
	sf.untilHeight(s.PeriodEnd(0, 10) + 1)
	sf.refused(types.ErrNotReplica, "does not serve", func() error { return sf.commit(2, id, 0, rs) })
	require.NoError(t, sf.commit(0, id, 0, rs))
	sf.refused(types.ErrInvalidCommitment, "was committed at height", func() error { return sf.commit(0, id, 0, rs) })
	require.NoError(t, sf.commit(1, id, 0, nil), "a period without requests commits a count of 0")
	c := sf.commitment(id, 0, 0)
	require.EqualValues(t, 5, c.Count)
	sf.nextBlock()
	require.Empty(t, sf.commitment(id, 0, 0).Samples, "drawn at the end of the next block")
	sf.nextBlock()
	c = sf.commitment(id, 0, 0)
	require.Len(t, c.Samples, 2)
	require.Equal(t, c.CommittedHeight+1, c.SampledHeight)
	require.Empty(t, sf.commitment(id, 1, 0).Samples)

	samples := sf.samples(c, rs)
	sf.refused(types.ErrInvalidSample, "1 given, 2 drawn", func() error { _, err := sf.reveal(0, id, 0, samples[:1]); return err })
	swapped := []types.SampleProof{samples[1], samples[0]}
	sf.refused(types.ErrInvalidSample, "was drawn there", func() error { _, err := sf.reveal(0, id, 0, swapped); return err })
	badProof := append([]types.SampleProof{}, samples...)
	badProof[0].Receipt.Sequence = 99
	sf.refused(types.ErrInvalidSample, "not under the committed root", func() error { _, err := sf.reveal(0, id, 0, badProof); return err })
	sf.refused(types.ErrInvalidSample, "no samples drawn", func() error { _, err := sf.reveal(1, id, 0, nil); return err })

	feeBefore := sf.stream(id).CommitteeFee
	tasks, err := sf.reveal(0, id, 0, samples)
	require.NoError(t, err)
	require.Len(t, tasks, 2)
	perCheck := ogpu(2).QuoRaw(12) // 2 OGPU over 2 replicas × 3 periods × 2 samples
	require.Equal(t, feeBefore.Sub(perCheck.MulRaw(2)), sf.stream(id).CommitteeFee)
	task := sf.task(tasks[0])
	require.Equal(t, types.TASK_STATE_SUBMITTED, task.State)
	require.Equal(t, id, task.StreamId)
	require.Equal(t, sf.replicas[0].String(), task.Provider)
	require.Equal(t, perCheck, task.Escrow)
	require.Len(t, task.Inputs, 2)
	require.Equal(t, sf.stream(id).Model, task.Inputs[0])
	require.Equal(t, "https://r.example/v1/blobs/"+samples[0].Receipt.InputSha256, task.Inputs[1].Uri)
	sf.refused(types.ErrInvalidSample, "revealed already", func() error { _, err := sf.reveal(0, id, 0, samples); return err })
	sf.requireStreamInvariants()

	sf.nextBlock()
	sf.nextBlock()
	require.NotEmpty(t, sf.task(tasks[0]).Committee)
	v0, v1 := sf.addr("validator", 0), sf.addr("validator", 1)
	replicaBefore, clientBefore := sf.balance(sf.replicas[0]), sf.balance(sf.client)
	require.NoError(t, sf.k.ApplyVerdict(sf.ctx, tasks[0], verdict(types.VERDICT_VALID, v0, v1)))
	require.Equal(t, types.TASK_STATE_COMPLETED, sf.task(tasks[0]).State)
	share := perCheck.QuoRaw(2)
	require.Equal(t, share, sf.balance(v0))
	require.Equal(t, replicaBefore, sf.balance(sf.replicas[0]), "a check never pays the replica")
	require.Equal(t, clientBefore.Add(perCheck.Sub(share.MulRaw(2))), sf.balance(sf.client), "the rounding rest goes back to the client")
	sf.requireStreamInvariants()

	// the replicas stop committing and are dropped (the standby takes one slot); the stream
	// closes at its end and settles: the client paid exactly the committee
	require.NoError(t, sf.k.ApplyVerdict(sf.ctx, tasks[1], verdict(types.VERDICT_VALID, v0, v1)))
	sf.untilHeight(sf.stream(id).EndHeight + 20)
	s = sf.stream(id)
	require.Equal(t, types.STREAM_STATE_CLOSED, s.State)
	require.True(t, s.Settled)
	require.Equal(t, "duration ended", s.Outcome)
	committee := sf.balance(v0).Add(sf.balance(v1)).Add(sf.balance(sf.addr("validator", 2)))
	require.Equal(t, share.MulRaw(4), committee)
	require.Equal(t, start.Sub(committee), sf.balance(sf.client))
	require.True(t, sf.balance(escrowAddr).IsZero())
	sf.requireStreamInvariants()
}

func TestMissedCommitmentReplacesReplica(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	id := sf.live()
	s := sf.stream(id)
	sf.untilHeight(s.PeriodEnd(0, 10) + 1)
	require.NoError(t, sf.commit(0, id, 0, sf.receipts(id, 0, 1, s.LiveHeight)))
	bonded := func(a sdk.AccAddress) math.Int {
		p, err := sf.sg.GetProvider(sf.ctx, a)
		require.NoError(t, err)
		return p.Bonded
	}
	before := bonded(sf.replicas[1])
	sf.untilHeight(s.PeriodEnd(0, 10) + 5 + 1) // the commitment deadline passed
	s = sf.stream(id)
	require.Equal(t, types.STREAM_STATE_LIVE, s.State)
	require.Equal(t, before.Sub(ogpu(100)), bonded(sf.replicas[1]), "a miss: timeout_slash_fraction 1%")
	_, i := s.ReplicaOf(sf.replicas[1].String())
	require.Equal(t, -1, i)
	r, i := s.ReplicaOf(sf.replicas[2].String())
	require.GreaterOrEqual(t, i, 0, "the standby took the slot")
	require.EqualValues(t, 1, r.Slot)
	require.Empty(t, s.Standbys)
	require.Contains(t, s.FailedProviders, sf.replicas[1].String())
	p, err := sf.sg.GetProvider(sf.ctx, sf.replicas[1])
	require.NoError(t, err)
	require.True(t, p.Locked.IsZero(), "its collateral was released")
	require.False(t, p.Jailed)
	sf.refused(types.ErrNotReplica, "does not serve", func() error { return sf.commit(1, id, 0, nil) })
	// replaced without fraud, it still redeems what it earned
	v, sig := sf.voucher(id, 1, ogpu(5), 1)
	_, err = sf.claim(1, v, sig)
	require.NoError(t, err)
	require.Equal(t, ogpu(5), sf.stream(id).SlotClaimed[1])
	sf.requireStreamInvariants()
}

func TestInvalidCheckSlashesRefundsAndPromotes(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	id := sf.live()
	s := sf.stream(id)
	v, sig := sf.voucher(id, 0, ogpu(5), 1)
	_, err := sf.claim(0, v, sig)
	require.NoError(t, err)
	sf.untilHeight(s.PeriodEnd(0, 10) + 1)
	rs := sf.receipts(id, 0, 3, s.LiveHeight+2)
	require.NoError(t, sf.commit(0, id, 0, rs))
	require.NoError(t, sf.commit(1, id, 0, nil))
	sf.nextBlock()
	sf.nextBlock()
	tasks, err := sf.reveal(0, id, 0, sf.samples(sf.commitment(id, 0, 0), rs))
	require.NoError(t, err)
	sf.nextBlock()
	sf.nextBlock()

	v0, v1 := sf.addr("validator", 0), sf.addr("validator", 1)
	clientBefore := sf.balance(sf.client)
	perCheck := sf.task(tasks[0]).Escrow
	require.NoError(t, sf.k.ApplyVerdict(sf.ctx, tasks[0], verdict(types.VERDICT_INVALID, v0, v1)))
	require.Equal(t, types.TASK_STATE_FAILED, sf.task(tasks[0]).State)
	p, err := sf.sg.GetProvider(sf.ctx, sf.replicas[0])
	require.NoError(t, err)
	require.True(t, p.Jailed)
	require.Equal(t, ogpu(9_000), p.Bonded, "fraud_slash_fraction 10%")
	require.True(t, p.Locked.IsZero())
	require.Equal(t, perCheck.QuoRaw(2), sf.balance(v0), "the committee is paid out of the slash")
	require.Equal(t, clientBefore.Add(ogpu(5)).Add(perCheck), sf.balance(sf.client), "the period's claims refunded from the slash, the check's fee from its escrow")
	s = sf.stream(id)
	r, i := s.ReplicaOf(sf.replicas[2].String())
	require.GreaterOrEqual(t, i, 0)
	require.EqualValues(t, 0, r.Slot, "the standby took slot 0")
	require.Equal(t, ogpu(5), s.SlotClaimed[0])
	later, laterSig := sf.voucher(id, 0, ogpu(6), 2)
	sf.refused(types.ErrNotReplica, "for fraud", func() error { _, err := sf.claim(0, later, laterSig); return err })
	sf.requireStreamInvariants()
}

// A client whose second sample of the same period is also found wrong must not be refunded
// the replica's pay twice, nor the replica slashed twice: one conviction per replica and stream.
func TestASecondWrongCheckDoesNotPunishOrRefundAgain(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	id := sf.live()
	s := sf.stream(id)
	v, sig := sf.voucher(id, 0, ogpu(5), 1)
	_, err := sf.claim(0, v, sig)
	require.NoError(t, err)
	sf.untilHeight(s.PeriodEnd(0, 10) + 1)
	rs := sf.receipts(id, 0, 3, s.LiveHeight+2)
	require.NoError(t, sf.commit(0, id, 0, rs))
	require.NoError(t, sf.commit(1, id, 0, nil))
	sf.nextBlock()
	sf.nextBlock()
	tasks, err := sf.reveal(0, id, 0, sf.samples(sf.commitment(id, 0, 0), rs))
	require.NoError(t, err)
	require.Len(t, tasks, 2)
	v0 := sf.addr("validator", 0)
	require.NoError(t, sf.k.ApplyVerdict(sf.ctx, tasks[0], verdict(types.VERDICT_INVALID, v0)))
	p, err := sf.sg.GetProvider(sf.ctx, sf.replicas[0])
	require.NoError(t, err)
	bonded, clientBefore, memberBefore := p.Bonded, sf.balance(sf.client), sf.balance(v0)
	fee := sf.task(tasks[1]).Escrow

	require.NoError(t, sf.k.ApplyVerdict(sf.ctx, tasks[1], verdict(types.VERDICT_INVALID, v0)))
	p, err = sf.sg.GetProvider(sf.ctx, sf.replicas[0])
	require.NoError(t, err)
	require.Equal(t, bonded, p.Bonded, "not slashed a second time")
	require.Equal(t, memberBefore.Add(fee), sf.balance(v0), "the member is paid from the check's fee")
	require.Equal(t, clientBefore, sf.balance(sf.client), "the replica's pay is not refunded twice")
	require.Equal(t, types.TASK_STATE_COMPLETED, sf.task(tasks[1]).State, sf.task(tasks[1]).Outcome)
	sf.requireStreamInvariants()
}

// A client cannot get a replica slashed by challenging with URIs that do not answer: the
// challenge's bodies are the client's to serve.
func TestAChallengeWhoseBodiesCannotBeFetchedDoesNotPunishTheReplica(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	id := sf.live()
	sf.nextBlock()
	s := sf.stream(id)
	r := sf.receipts(id, 0, 1, s.LiveHeight+1)[0]
	sig, err := sf.keys[0].Sign(types.ReceiptSignBytes(chainID, r))
	require.NoError(t, err)
	res, err := sf.msgs.ChallengeResponse(sf.ctx, &types.MsgChallengeResponse{
		Creator: sf.client.String(), Receipt: r, Signature: sig,
		InputUri: "https://client.example/gone", OutputUri: "https://client.example/gone-too",
	})
	require.NoError(t, err)
	p, err := sf.sg.GetProvider(sf.ctx, sf.replicas[0])
	require.NoError(t, err)
	bonded := p.Bonded
	sf.nextBlock()
	sf.nextBlock()
	require.NoError(t, sf.k.ApplyVerdict(sf.ctx, res.CheckTask, verdict(types.VERDICT_RESULT_UNAVAILABLE, sf.addr("validator", 0))))
	p, err = sf.sg.GetProvider(sf.ctx, sf.replicas[0])
	require.NoError(t, err)
	require.Equal(t, bonded, p.Bonded)
	require.False(t, p.Jailed)
	_, i := sf.stream(id).ReplicaOf(sf.replicas[0].String())
	require.GreaterOrEqual(t, i, 0, "still serving")
	sf.requireStreamInvariants()
}

func TestChallengeResponse(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	id := sf.live()
	sf.nextBlock()
	s := sf.stream(id)
	r := sf.receipts(id, 0, 1, s.LiveHeight+1)[0]
	sig, err := sf.keys[0].Sign(types.ReceiptSignBytes(chainID, r))
	require.NoError(t, err)
	msg := func(r types.Receipt, sig []byte, creator sdk.AccAddress) *types.MsgChallengeResponse {
		return &types.MsgChallengeResponse{
			Creator: creator.String(), Receipt: r, Signature: sig,
			InputUri: "https://client.example/in", OutputUri: "https://client.example/out",
		}
	}
	wrongSig, err := sf.keys[1].Sign(types.ReceiptSignBytes(chainID, r))
	require.NoError(t, err)
	sf.refused(types.ErrInvalidReceipt, "receipts are signed by the replica", func() error {
		_, err := sf.msgs.ChallengeResponse(sf.ctx, msg(r, wrongSig, sf.client))
		return err
	})
	sf.refused(types.ErrNotCreator, "", func() error {
		_, err := sf.msgs.ChallengeResponse(sf.ctx, msg(r, sig, sf.replicas[1]))
		return err
	})
	late := r
	late.Height = sf.ctx.BlockHeight() + 1
	lateSig, err := sf.keys[0].Sign(types.ReceiptSignBytes(chainID, late))
	require.NoError(t, err)
	sf.refused(types.ErrInvalidReceipt, "receipt.height", func() error {
		_, err := sf.msgs.ChallengeResponse(sf.ctx, msg(late, lateSig, sf.client))
		return err
	})
	odd := r
	odd.InputSize = 5
	oddSig, err := sf.keys[0].Sign(types.ReceiptSignBytes(chainID, odd))
	require.NoError(t, err)
	sf.refused(types.ErrInvalidReceipt, "receipt.input_size 5", func() error {
		_, err := sf.msgs.ChallengeResponse(sf.ctx, msg(odd, oddSig, sf.client))
		return err
	})
	before := sf.balance(sf.client)
	res, err := sf.msgs.ChallengeResponse(sf.ctx, msg(r, sig, sf.client))
	require.NoError(t, err)
	task := sf.task(res.CheckTask)
	require.True(t, task.Challenged)
	require.Equal(t, id, task.StreamId)
	require.EqualValues(t, 0, task.StreamPeriod)
	require.Equal(t, before.Sub(task.Escrow), sf.balance(sf.client), "the client pays the check's committee fee")
	require.True(t, task.Escrow.IsPositive())
	sf.requireStreamInvariants()
}

func TestPauseResumeAndCloseBalanceTheBooks(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	params, err := sf.k.Params.Get(sf.ctx)
	require.NoError(t, err)
	params.Stream.StreamGraceBlocks = 5
	require.NoError(t, sf.k.Params.Set(sf.ctx, params))
	start := sf.balance(sf.client)
	id := sf.live()
	s := sf.stream(id)
	claimed := math.ZeroInt()
	claim := func(i int, total math.Int, nonce uint64) {
		v, sig := sf.voucher(id, i, total, nonce)
		paid, err := sf.claim(i, v, sig)
		require.NoError(t, err)
		claimed = claimed.Add(paid)
	}
	claim(0, dec(495, 17), 1)
	claim(1, dec(495, 17), 1)
	sf.untilHeight(s.PeriodEnd(0, 10) + 1)
	s = sf.stream(id)
	require.Equal(t, types.STREAM_STATE_PAUSED, s.State, "1 OGPU left cannot pay 2 × (0.5 + 0.6)")
	sf.requireStreamInvariants()

	_, err = sf.msgs.FundStream(sf.ctx, &types.MsgFundStream{Creator: sf.client.String(), StreamId: id, Amount: sdk.NewCoin(denom, ogpu(10))})
	require.NoError(t, err)
	s = sf.stream(id)
	require.Equal(t, types.STREAM_STATE_LIVE, s.State)
	require.Equal(t, ogpu(110), s.Budget)
	require.Equal(t, ogpu(55), s.SlotShare())
	sf.requireStreamInvariants()

	// what was served before the pause is still committed
	require.NoError(t, sf.commit(0, id, 0, nil))
	require.NoError(t, sf.commit(1, id, 0, nil))
	sf.untilHeight(s.PeriodEnd(0, 10) + 5 + 1)
	require.Len(t, sf.stream(id).Serving, 2)

	claim(0, ogpu(55), 2)
	claim(1, ogpu(55), 2)
	sf.untilHeight(s.PeriodEnd(1, 10) + 1)
	s = sf.stream(id)
	require.Equal(t, types.STREAM_STATE_PAUSED, s.State)
	require.NoError(t, sf.commit(0, id, 1, nil))
	require.NoError(t, sf.commit(1, id, 1, nil))
	graceEnd := s.TimerHeight
	require.Equal(t, s.PausedHeight+5, graceEnd)
	sf.untilHeight(graceEnd + 1)
	s = sf.stream(id)
	require.Equal(t, types.STREAM_STATE_CLOSED, s.State)
	require.Equal(t, "not funded within stream_grace_blocks", s.Outcome)
	require.False(t, s.Settled, "the replicas keep reveal_window blocks")
	sf.requireStreamInvariants()
	sf.untilHeight(s.TimerHeight + 1)
	s = sf.stream(id)
	require.True(t, s.Settled)
	require.True(t, s.Escrow.IsZero())
	require.Equal(t, ogpu(110), s.Claimed)
	// the client paid exactly its claims (nothing was checked)
	require.Equal(t, start.Sub(ogpu(110)), sf.balance(sf.client))
	for i := 0; i < 2; i++ {
		p, err := sf.sg.GetProvider(sf.ctx, sf.replicas[i])
		require.NoError(t, err)
		require.True(t, p.Locked.IsZero())
		busy, err := sf.k.HasOpenWork(sf.ctx, sf.replicas[i])
		require.NoError(t, err)
		require.False(t, busy)
	}
	late, lateSig := sf.voucher(id, 0, ogpu(56), 3)
	sf.refused(types.ErrStreamState, "settled", func() error { _, err := sf.claim(0, late, lateSig); return err })
	require.True(t, sf.balance(escrowAddr).IsZero())
	sf.requireStreamInvariants()
}

func TestCloseByCreatorAfterDuration(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	start := sf.balance(sf.client)
	id := sf.live()
	s := sf.stream(id)
	v, sig := sf.voucher(id, 0, ogpu(3), 1)
	_, err := sf.claim(0, v, sig)
	require.NoError(t, err)
	_, err = sf.msgs.CloseStream(sf.ctx, &types.MsgCloseStream{Creator: sf.client.String(), StreamId: id})
	require.NoError(t, err)
	s = sf.stream(id)
	require.Equal(t, types.STREAM_STATE_CLOSED, s.State)
	// the period of the close is due: both replicas commit it
	require.True(t, sf.commitment(id, 0, 0).Required)
	require.NoError(t, sf.commit(0, id, 0, nil))
	require.NoError(t, sf.commit(1, id, 0, nil))
	// the last voucher may still be redeemed until the stream settles
	v, sig = sf.voucher(id, 0, ogpu(4), 2)
	_, err = sf.claim(0, v, sig)
	require.NoError(t, err)
	sf.untilHeight(s.TimerHeight + 1)
	s = sf.stream(id)
	require.True(t, s.Settled)
	require.Equal(t, start.Sub(ogpu(4)), sf.balance(sf.client))
	sf.requireStreamInvariants()
}

func TestProbeRounds(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	id := sf.live()
	s := sf.stream(id)
	r0 := sf.replicas[0].String()
	failures := func() uint32 {
		r, i := sf.stream(id).ReplicaOf(r0)
		require.GreaterOrEqual(t, i, 0)
		return r.ProbeFailures
	}
	require.NoError(t, sf.k.ApplyProbeRound(sf.ctx, id, r0, 0, false))
	require.EqualValues(t, 1, failures())
	before := sf.snapshot()
	require.NoError(t, sf.k.ApplyProbeRound(sf.ctx, id, r0, 0, false), "a round already counted")
	require.NoError(t, sf.k.ApplyProbeRound(sf.ctx, id, r0, 3, false), "a round not started")
	require.NoError(t, sf.k.ApplyProbeRound(sf.ctx, 42, r0, 1, false), "an unknown stream")
	require.NoError(t, sf.k.ApplyProbeRound(sf.ctx, id, sf.replicas[2].String(), 0, false), "a standby")
	require.Equal(t, before, sf.snapshot())

	sf.untilHeight(s.LiveHeight + 5)
	require.NoError(t, sf.k.ApplyProbeRound(sf.ctx, id, r0, 1, true))
	require.EqualValues(t, 0, failures(), "a passed round resets the count")
	sf.untilHeight(s.LiveHeight + 10)
	require.NoError(t, sf.k.ApplyProbeRound(sf.ctx, id, r0, 2, false))
	require.NoError(t, sf.commit(0, id, 0, nil))
	require.NoError(t, sf.commit(1, id, 0, nil))
	bondedBefore := func() math.Int {
		p, err := sf.sg.GetProvider(sf.ctx, sf.replicas[0])
		require.NoError(t, err)
		return p.Bonded
	}()
	sf.untilHeight(s.LiveHeight + 15)
	require.NoError(t, sf.k.ApplyProbeRound(sf.ctx, id, r0, 3, false))
	s = sf.stream(id)
	_, i := s.ReplicaOf(r0)
	require.Equal(t, -1, i, "max_probe_failures = 2 in a row")
	r, i := s.ReplicaOf(sf.replicas[2].String())
	require.GreaterOrEqual(t, i, 0)
	require.EqualValues(t, 0, r.Slot)
	p, err := sf.sg.GetProvider(sf.ctx, sf.replicas[0])
	require.NoError(t, err)
	require.Equal(t, bondedBefore, p.Bonded, "replaced without a slash")
	require.False(t, p.Jailed)
	require.EqualValues(t, 1, p.FailedTasks)
	sf.requireStreamInvariants()
}

func TestStreamGenesisRoundTrip(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	id := sf.live()
	s := sf.stream(id)
	v, sig := sf.voucher(id, 0, ogpu(3), 1)
	_, err := sf.claim(0, v, sig)
	require.NoError(t, err)
	sf.untilHeight(s.PeriodEnd(0, 10) + 1)
	require.NoError(t, sf.commit(0, id, 0, sf.receipts(id, 0, 4, s.LiveHeight)))
	sf.open() // an OPEN stream with no subscription yet
	gs, err := sf.k.ExportGenesis(sf.ctx)
	require.NoError(t, err)
	require.Len(t, gs.Streams, 2)
	require.EqualValues(t, 3, gs.NextStreamId)
	require.NotEmpty(t, gs.Commitments)
	require.Len(t, gs.Claims, 2)
	sgGen, err := sf.sg.ExportGenesis(sf.ctx)
	require.NoError(t, err)
	g := newFixtureFrom(t, sf.bank, sgGen, gs, sf.ctx.BlockHeight())
	again, err := g.k.ExportGenesis(g.ctx)
	require.NoError(t, err)
	require.Equal(t, gs, again)
	require.NoError(t, g.k.StreamBooksInvariant(g.ctx))
	// the draw due at the end of the next block was rebuilt
	g.ctx = g.ctx.WithChainID(chainID)
	g.nextBlock()
	g.nextBlock()
	c, err := g.k.Commitments.Get(g.ctx, collections.Join3(id, sf.replicas[0], uint64(0)))
	require.NoError(t, err)
	require.Len(t, c.Samples, 2)
}

// committedPeriod0 has replica 0 commit three receipts of period 0 (replica 1 none) and runs
// until their samples are drawn; it returns the receipts.
func (sf *streamFixture) committedPeriod0(id uint64) []types.Receipt {
	sf.t.Helper()
	s := sf.stream(id)
	sf.untilHeight(s.PeriodEnd(0, 10) + 1)
	rs := sf.receipts(id, 0, 3, s.LiveHeight+2)
	require.NoError(sf.t, sf.commit(0, id, 0, rs))
	require.NoError(sf.t, sf.commit(1, id, 0, nil))
	sf.nextBlock()
	sf.nextBlock()
	return rs
}

func TestChecksAreSilentAndAWithheldResponseIsAFraud(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	id := sf.live()
	rs := sf.committedPeriod0(id)
	sf.ctx = sf.ctx.WithEventManager(sdk.NewEventManager())
	tasks, err := sf.reveal(0, id, 0, sf.samples(sf.commitment(id, 0, 0), rs))
	require.NoError(t, err)
	for _, e := range sf.ctx.EventManager().Events() {
		require.NotContains(t, []string{"ogpu.compute.v1.EventTaskCreated", "ogpu.compute.v1.EventTaskAssigned"}, e.Type,
			"provider sidecars must not run a check")
	}
	sf.nextBlock()
	sf.nextBlock()
	p, err := sf.sg.GetProvider(sf.ctx, sf.replicas[0])
	require.NoError(t, err)
	bonded := p.Bonded
	require.NoError(t, sf.k.ApplyVerdict(sf.ctx, tasks[0], verdict(types.VERDICT_RESULT_UNAVAILABLE)))
	require.Equal(t, types.TASK_STATE_FAILED, sf.task(tasks[0]).State)
	p, err = sf.sg.GetProvider(sf.ctx, sf.replicas[0])
	require.NoError(t, err)
	// a replica that withholds a sampled response from the committee would otherwise trade a
	// fraud's slash and jail for a miss's 1%
	require.Equal(t, bonded.Sub(math.LegacyNewDecWithPrec(10, 2).MulInt(bonded).TruncateInt()), p.Bonded, "as a wrong answer: fraud_slash_fraction 10%")
	require.True(t, p.Jailed)
	s := sf.stream(id)
	_, i := s.ReplicaOf(sf.replicas[0].String())
	require.Equal(t, -1, i)
	_, i = s.ReplicaOf(sf.replicas[2].String())
	require.GreaterOrEqual(t, i, 0)
	v, sig := sf.voucher(id, 0, ogpu(1), 1)
	sf.refused(types.ErrNotReplica, "for fraud", func() error { _, err := sf.claim(0, v, sig); return err })
	sf.requireStreamInvariants()
}

func TestMissedRevealReplacesReplica(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	id := sf.live()
	sf.committedPeriod0(id)
	c := sf.commitment(id, 0, 0)
	require.Len(t, c.Samples, 2)
	sf.untilHeight(c.SampledHeight + 5)
	require.Len(t, sf.stream(id).Serving, 2, "the reveal window's last block still takes a reveal")
	p, err := sf.sg.GetProvider(sf.ctx, sf.replicas[0])
	require.NoError(t, err)
	bonded := p.Bonded
	sf.nextBlock()
	s := sf.stream(id)
	_, i := s.ReplicaOf(sf.replicas[0].String())
	require.Equal(t, -1, i, "no reveal by the window's end")
	p, err = sf.sg.GetProvider(sf.ctx, sf.replicas[0])
	require.NoError(t, err)
	require.Equal(t, bonded.Sub(math.LegacyNewDecWithPrec(10, 2).MulInt(bonded).TruncateInt()), p.Bonded,
		"withholding the drawn samples is punished as the wrong answers they may hide: 10%, not a miss's 1%")
	require.True(t, p.Jailed)
	sf.refused(types.ErrInvalidSample, "no samples drawn", func() error {
		_, err := sf.reveal(0, id, 0, nil)
		return err
	})
	sf.requireStreamInvariants()
}

func TestLastReplicaGoneClosesAndStillRedeems(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	start := sf.balance(sf.client)
	msg := sf.openMsg()
	msg.Replicas = 1
	res, err := sf.msgs.OpenStream(sf.ctx, msg)
	require.NoError(t, err)
	id := res.StreamId
	require.NoError(t, sf.subscribe(0, id, dec(50, 16)))
	sf.untilHeight(sf.stream(id).SubscribeEnd + 1)
	s := sf.stream(id)
	require.Len(t, s.Serving, 1)
	r0 := sf.replicas[0].String()
	require.NoError(t, sf.k.ApplyProbeRound(sf.ctx, id, r0, 0, false))
	sf.untilHeight(s.LiveHeight + 5)
	require.NoError(t, sf.k.ApplyProbeRound(sf.ctx, id, r0, 1, false))
	s = sf.stream(id)
	require.Equal(t, types.STREAM_STATE_CLOSED, s.State)
	require.Contains(t, s.Outcome, "no replica left")
	require.False(t, s.Settled, "a replica replaced without fraud redeems until the settlement")
	v, sig := sf.voucher(id, 0, ogpu(2), 1)
	_, err = sf.claim(0, v, sig)
	require.NoError(t, err)
	sf.requireStreamInvariants()
	sf.untilHeight(s.TimerHeight + 1)
	require.True(t, sf.stream(id).Settled)
	require.Equal(t, start.Sub(ogpu(2)), sf.balance(sf.client))
	sf.requireStreamInvariants()
}

// TestSquattersAreEvicted: a squatter that fills a stream's subscriptions at the maximum price
// does not keep a cheaper provider out: the better subscription evicts the worst, and a worse
// one is refused.
func TestSquattersAreEvicted(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	params, err := sf.k.Params.Get(sf.ctx)
	require.NoError(t, err)
	params.Stream.MaxStandbys = 0 // replicas + max_standbys = 2 subscriptions
	require.NoError(t, sf.k.Params.Set(sf.ctx, params))
	id := sf.open()
	require.NoError(t, sf.subscribe(0, id, ogpu(1)), "the squatter, at the maximum price")
	require.NoError(t, sf.subscribe(1, id, dec(90, 16)))

	sf.ctx = sf.ctx.WithEventManager(sdk.NewEventManager())
	require.NoError(t, sf.subscribe(2, id, dec(95, 16)), "a cheaper provider takes the squatter's place")
	var evicted *types.EventSubscriptionEvicted
	for _, e := range sf.ctx.EventManager().Events() {
		if e.Type == "ogpu.compute.v1.EventSubscriptionEvicted" {
			msg, err := sdk.ParseTypedEvent(abci.Event(e))
			require.NoError(t, err)
			evicted = msg.(*types.EventSubscriptionEvicted)
		}
	}
	require.NotNil(t, evicted)
	require.Equal(t, types.EventSubscriptionEvicted{StreamId: id, Provider: sf.replicas[0].String(), By: sf.replicas[2].String()}, *evicted)
	has, err := sf.k.Subscriptions.Has(sf.ctx, collections.Join(id, sf.replicas[0]))
	require.NoError(t, err)
	require.False(t, has)

	sf.refused(types.ErrTooManySubscribers, "must beat the worst", func() error { return sf.subscribe(0, id, ogpu(1)) })
	sf.untilHeight(sf.stream(id).SubscribeEnd + 1)
	s := sf.stream(id)
	require.Equal(t, sf.replicas[1].String(), s.Serving[0].Provider)
	require.Equal(t, sf.replicas[2].String(), s.Serving[1].Provider)
	sf.requireStreamInvariants()
}

// TestStreamClaimRecordsWork: a claim credits the replica's epoch work with the requests it paid
// (at the replica's price) × one request's work units, and the protocol fee it paid, which caps
// the replica's reward; it does not count as a completed task, so that many small claims cannot
// buy a better record for the matching rule.
func TestStreamClaimRecordsWork(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	id := sf.live()
	perRequest := workload.InferMlpInt8{Widths: streamWidths, Rows: 8}.WorkUnits()
	v, sig := sf.voucher(id, 0, dec(1025, 16), 1) // 20.5 requests at 0.5 OGPU: 20 paid in full
	_, err := sf.claim(0, v, sig)
	require.NoError(t, err)
	w, err := sf.sg.EpochWork.Get(sf.ctx, sf.replicas[0])
	require.NoError(t, err)
	require.Equal(t, math.LegacyNewDec(int64(20*perRequest)), w.Weight)
	require.Equal(t, dec(5125, 14), w.Fees, "5% of 10.25 OGPU")
	p, err := sf.sg.GetProvider(sf.ctx, sf.replicas[0])
	require.NoError(t, err)
	require.Zero(t, p.CompletedTasks)
	require.Equal(t, math.NewIntFromUint64(20*perRequest), p.WorkUnits)

	// a replica replaced without fraud is credited at its own price for what it redeems later
	v, sig = sf.voucher(id, 1, ogpu(6), 1)
	s := sf.stream(id)
	_, i := s.ReplicaOf(sf.replicas[1].String())
	require.NoError(t, sf.k.ApplyProbeRound(sf.ctx, id, sf.replicas[1].String(), 0, false))
	sf.untilHeight(s.LiveHeight + 5)
	require.NoError(t, sf.k.ApplyProbeRound(sf.ctx, id, sf.replicas[1].String(), 1, false))
	_, i = sf.stream(id).ReplicaOf(sf.replicas[1].String())
	require.Equal(t, -1, i)
	_, err = sf.claim(1, v, sig)
	require.NoError(t, err)
	w, err = sf.sg.EpochWork.Get(sf.ctx, sf.replicas[1])
	require.NoError(t, err)
	require.Equal(t, math.LegacyNewDec(int64(10*perRequest)), w.Weight, "6 OGPU at 0.6 OGPU a request")
	sf.requireStreamInvariants()
}

// TestFundingRaisesCollateral: a client that funds a live stream raises what each slot may be
// paid, so every replica's locked collateral is raised to collateral_ratio × the new share. A
// replica whose stake cannot cover it keeps its slot but may redeem only up to the share its
// collateral covers, until it bonds more.
func TestFundingRaisesCollateral(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	id := sf.live()
	sgMsgs := sgkeeper.NewMsgServer(sf.sg)
	_, err := sgMsgs.Bond(sf.ctx, &sgtypes.MsgBond{Operator: sf.replicas[0].String(), Amount: sdk.NewCoin(denom, ogpu(5_000))})
	require.NoError(t, err)
	_, err = sf.msgs.FundStream(sf.ctx, &types.MsgFundStream{Creator: sf.client.String(), StreamId: id, Amount: sdk.NewCoin(denom, ogpu(12_000))})
	require.NoError(t, err)
	s := sf.stream(id)
	require.Equal(t, ogpu(6_050), s.SlotShare())
	locked := func(i int) math.Int {
		p, err := sf.sg.GetProvider(sf.ctx, sf.replicas[i])
		require.NoError(t, err)
		return p.Locked
	}
	r0, _ := s.ReplicaOf(sf.replicas[0].String())
	require.Equal(t, ogpu(12_100), r0.Collateral, "collateral_ratio 2 × the new share")
	require.Equal(t, ogpu(12_100), locked(0))
	r1, _ := s.ReplicaOf(sf.replicas[1].String())
	require.Equal(t, ogpu(100), r1.Collateral, "10,000 bonded cannot cover 12,100")
	require.Equal(t, ogpu(100), locked(1))
	sf.requireStreamInvariants()

	over, overSig := sf.voucher(id, 1, ogpu(51), 1)
	sf.refused(types.ErrInvalidVoucher, "collateral covers 50", func() error { _, err := sf.claim(1, over, overSig); return err })
	v, sig := sf.voucher(id, 1, ogpu(50), 1)
	_, err = sf.claim(1, v, sig)
	require.NoError(t, err, "up to the share its collateral covers")

	// bonded enough, its next claim raises its collateral and is redeemed
	_, err = sgMsgs.Bond(sf.ctx, &sgtypes.MsgBond{Operator: sf.replicas[1].String(), Amount: sdk.NewCoin(denom, ogpu(5_000))})
	require.NoError(t, err)
	over, overSig = sf.voucher(id, 1, ogpu(51), 2)
	_, err = sf.claim(1, over, overSig)
	require.NoError(t, err)
	r1, _ = sf.stream(id).ReplicaOf(sf.replicas[1].String())
	require.Equal(t, ogpu(12_100), r1.Collateral)
	require.Equal(t, ogpu(12_100), locked(1))
	sf.requireStreamInvariants()

	// the settlement releases what was raised
	_, err = sf.msgs.CloseStream(sf.ctx, &types.MsgCloseStream{Creator: sf.client.String(), StreamId: id})
	require.NoError(t, err)
	sf.untilHeight(sf.stream(id).TimerHeight + 1)
	require.True(t, sf.stream(id).Settled)
	require.True(t, locked(0).IsZero())
	require.True(t, locked(1).IsZero())
	sf.requireStreamInvariants()
}

// TestStreamRecordsArePruned: a long stream does not grow the state without bound. A replica's
// commitment is deleted once its period is settled and older than the periods the Stream query
// returns, except while a check of it is pending (its verdict refunds what was claimed in the
// period); once the stream settles, none of its commitments, claims or subscriptions is left.
func TestStreamRecordsArePruned(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	params, err := sf.k.Params.Get(sf.ctx)
	require.NoError(t, err)
	params.VerifyWindow = 100 // the checks of period 0 stay pending for the whole stream
	require.NoError(t, sf.k.Params.Set(sf.ctx, params))
	msg := sf.openMsg()
	msg.Duration = 60
	res, err := sf.msgs.OpenStream(sf.ctx, msg)
	require.NoError(t, err)
	id := res.StreamId
	for i, p := range []int64{50, 60, 70} {
		require.NoError(t, sf.subscribe(i, id, dec(p, 16)))
	}
	sf.untilHeight(sf.stream(id).SubscribeEnd + 1)
	s := sf.stream(id)
	v, sig := sf.voucher(id, 0, ogpu(5), 1)
	_, err = sf.claim(0, v, sig)
	require.NoError(t, err)

	has := func(i int, period uint64) bool {
		ok, err := sf.k.Commitments.Has(sf.ctx, collections.Join3(id, sf.replicas[i], period))
		require.NoError(t, err)
		return ok
	}
	commitDue := func(period uint64) {
		for i := range sf.replicas {
			c, err := sf.k.Commitments.Get(sf.ctx, collections.Join3(id, sf.replicas[i], period))
			if err == nil && c.Required && c.CommittedHeight == 0 {
				require.NoError(t, sf.commit(i, id, period, nil))
			}
		}
	}
	sf.untilHeight(s.PeriodEnd(0, 10) + 1)
	rs := sf.receipts(id, 0, 3, s.LiveHeight+2)
	require.NoError(t, sf.commit(0, id, 0, rs))
	commitDue(0)
	sf.nextBlock()
	sf.nextBlock()
	tasks, err := sf.reveal(0, id, 0, sf.samples(sf.commitment(id, 0, 0), rs))
	require.NoError(t, err)
	for p := uint64(1); p <= 4; p++ {
		sf.untilHeight(s.PeriodEnd(p, 10) + 1)
		commitDue(p)
	}
	require.False(t, has(0, 1), "period 1 is settled and older than the last 3 periods")
	require.False(t, has(1, 1))
	require.False(t, has(1, 0), "nothing to reveal")
	require.True(t, has(0, 0), "its checks are pending")
	for p := uint64(2); p <= 4; p++ {
		require.True(t, has(0, p))
		require.True(t, has(1, p))
	}
	q, err := sf.queries.Stream(sf.ctx, &types.QueryStreamRequest{StreamId: id})
	require.NoError(t, err)
	require.Len(t, q.Commitments, 4, "the last 3 periods are 3 to 5: those of 3 and 4 of both replicas")

	// the pending check still refunds what replica 0 claimed in period 0
	clientBefore := sf.balance(sf.client)
	perCheck := sf.task(tasks[0]).Escrow
	require.NoError(t, sf.k.ApplyVerdict(sf.ctx, tasks[0], verdict(types.VERDICT_INVALID, sf.addr("validator", 0))))
	require.Equal(t, clientBefore.Add(ogpu(5)).Add(perCheck), sf.balance(sf.client))
	require.NoError(t, sf.k.ApplyVerdict(sf.ctx, tasks[1], verdict(types.VERDICT_VALID, sf.addr("validator", 0))))
	sf.requireStreamInvariants()

	sf.untilHeight(s.PeriodEnd(5, 10) + 1)
	commitDue(5)
	sf.untilHeight(sf.stream(id).TimerHeight + 1)
	require.True(t, sf.stream(id).Settled)
	var left []string
	require.NoError(t, sf.k.Commitments.Walk(sf.ctx, collections.NewPrefixedTripleRange[uint64, sdk.AccAddress, uint64](id),
		func(key collections.Triple[uint64, sdk.AccAddress, uint64], _ types.ReceiptCommitment) (bool, error) {
			left = append(left, fmt.Sprintf("%s period %d", key.K2(), key.K3()))
			return false, nil
		}))
	require.Empty(t, left)
	require.NoError(t, sf.k.StreamClaims.Walk(sf.ctx, collections.NewPrefixedPairRange[uint64, sdk.AccAddress](id),
		func(key collections.Pair[uint64, sdk.AccAddress], _ types.StreamClaim) (bool, error) {
			left = append(left, key.K2().String())
			return false, nil
		}))
	require.Empty(t, left)
	require.NoError(t, sf.k.Subscriptions.Walk(sf.ctx, collections.NewPrefixedPairRange[uint64, sdk.AccAddress](id),
		func(key collections.Pair[uint64, sdk.AccAddress], _ types.Subscription) (bool, error) {
			left = append(left, key.K2().String())
			return false, nil
		}))
	require.Empty(t, left)
	sf.requireStreamInvariants()
}

// TestSettledStreamKeepsWhatPendingChecksNeed: a check still pending when its stream settles
// keeps its period's commitment, so that an INVALID verdict after the settlement still refunds
// the client what the replica claimed in the period; the commitment goes once the checks end.
func TestSettledStreamKeepsWhatPendingChecksNeed(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	params, err := sf.k.Params.Get(sf.ctx)
	require.NoError(t, err)
	params.VerifyWindow = 100
	require.NoError(t, sf.k.Params.Set(sf.ctx, params))
	id := sf.live()
	v, sig := sf.voucher(id, 0, ogpu(3), 1)
	_, err = sf.claim(0, v, sig)
	require.NoError(t, err)
	rs := sf.committedPeriod0(id)
	tasks, err := sf.reveal(0, id, 0, sf.samples(sf.commitment(id, 0, 0), rs))
	require.NoError(t, err)
	_, err = sf.msgs.CloseStream(sf.ctx, &types.MsgCloseStream{Creator: sf.client.String(), StreamId: id})
	require.NoError(t, err)
	sf.untilHeight(sf.stream(id).TimerHeight + 1)
	s := sf.stream(id)
	require.True(t, s.Settled)
	require.Equal(t, ogpu(3), sf.commitment(id, 0, 0).ClaimedInPeriod, "kept for its pending checks")
	has, err := sf.k.Commitments.Has(sf.ctx, collections.Join3(id, sf.replicas[1], uint64(0)))
	require.NoError(t, err)
	require.False(t, has)
	v2, sig2 := sf.voucher(id, 0, ogpu(4), 2)
	sf.refused(types.ErrStreamState, "settled", func() error { _, err := sf.claim(0, v2, sig2); return err })

	clientBefore := sf.balance(sf.client)
	perCheck := sf.task(tasks[0]).Escrow
	require.NoError(t, sf.k.ApplyVerdict(sf.ctx, tasks[0], verdict(types.VERDICT_INVALID, sf.addr("validator", 0))))
	require.Equal(t, clientBefore.Add(ogpu(3)).Add(perCheck), sf.balance(sf.client))
	require.NoError(t, sf.k.ApplyVerdict(sf.ctx, tasks[1], verdict(types.VERDICT_VALID, sf.addr("validator", 0))))
	sf.untilHeight(s.TimerHeight + 1)
	has, err = sf.k.Commitments.Has(sf.ctx, collections.Join3(id, sf.replicas[0], uint64(0)))
	require.NoError(t, err)
	require.False(t, has, "pruned once its checks ended")
	has, err = sf.k.StreamClaims.Has(sf.ctx, collections.Join(id, sf.replicas[0]))
	require.NoError(t, err)
	require.False(t, has, "and the claims with it")
	require.Zero(t, sf.stream(id).TimerHeight)
	sf.requireStreamInvariants()
}
