package stream

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"cosmossdk.io/math"
	"github.com/stretchr/testify/require"

	"github.com/cosmos/evm/crypto/ethsecp256k1"

	"github.com/cosmos/cosmos-sdk/types/tx/signing"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/gpu/mlp"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

var bigShare = math.NewInt(1_000_000)

func TestInferReturnsTheModelsAnswerWithACheckedReceipt(t *testing.T) {
	n := newTestNet(t, 1, bigShare)
	s := n.open(t)
	rows := testRows(1, 3)
	res, err := s.Infer(context.Background(), rows)
	require.NoError(t, err)

	var x []int8
	for _, r := range rows {
		x = append(x, r...)
	}
	_, logits, argmax, err := mlp.Forward(gemm.CPU{Workers: 1}, n.model, x, len(rows))
	require.NoError(t, err)
	require.Equal(t, argmax, res.Argmax)
	require.Equal(t, [][]int32{logits[0:4], logits[4:8], logits[8:12]}, res.Logits)

	rep := n.replicas[0]
	require.Equal(t, rep.provider, res.Replica)
	require.Equal(t, uint64(0), res.Receipt.Receipt.Sequence)
	require.Equal(t, uint64(testStreamID), res.Receipt.Receipt.StreamId)
	pk := &ethsecp256k1.PubKey{Key: res.Receipt.PubKey}
	require.True(t, pk.VerifySignature(computetypes.ReceiptSignBytes(testChainID, res.Receipt.Receipt), res.Receipt.Signature))
	require.Equal(t, computetypes.Voucher{StreamId: testStreamID, Provider: rep.provider, Total: math.NewInt(10), Nonce: 1}, res.Voucher)
	require.Equal(t, 1, res.Tries)
	require.Equal(t, []SignedReceipt{res.Receipt}, s.Receipts())

	res2, err := s.Infer(context.Background(), testRows(2, 1))
	require.NoError(t, err)
	require.Equal(t, uint64(1), res2.Receipt.Receipt.Sequence)
	require.Equal(t, math.NewInt(20), res2.Voucher.Total)
}

func TestVouchersGrowByThePriceUnderConcurrentCalls(t *testing.T) {
	n := newTestNet(t, 2, bigShare)
	s := n.open(t)
	const goroutines, each = 8, 12
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				if _, err := s.Infer(context.Background(), testRows(uint64(g*each+i), 1)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	served := 0
	for _, r := range n.replicas {
		vs := r.vouchers()
		served += len(vs)
		for i, v := range vs {
			require.Equal(t, uint64(i+1), v.Nonce, "replica %s: nonces in order, none skipped", r.provider)
			require.Equal(t, math.NewInt(int64(10*(i+1))), v.Total, "replica %s: the total grows by the price", r.provider)
		}
		require.Empty(t, r.refusals, "no voucher refused")
	}
	require.Equal(t, goroutines*each, served)
	require.Len(t, s.Receipts(), goroutines*each)
}

func TestAReplicaThatDiesIsFailedOverWithNoErrorAndAStandbyTakesItsSlot(t *testing.T) {
	n := newTestNet(t, 2, bigShare)
	s := n.open(t, WithRefreshInterval(time.Hour), WithRequestTimeout(2*time.Second))
	a, b := n.replicas[0], n.replicas[1]
	ctx := context.Background()
	for i := range 4 {
		_, err := s.Infer(ctx, testRows(uint64(i), 1))
		require.NoError(t, err)
	}
	require.NotEmpty(t, a.vouchers(), "both replicas served")
	require.NotEmpty(t, b.vouchers())

	a.srv.CloseClientConnections()
	a.srv.Close()
	s.mu.Lock()
	s.replicas[a.provider].ewma, s.replicas[b.provider].ewma = time.Nanosecond, time.Second // the dead one looks fastest
	s.mu.Unlock()
	failedOver := false
	for i := range 6 {
		res, err := s.Infer(ctx, testRows(uint64(10+i), 1))
		require.NoError(t, err)
		require.Equal(t, b.provider, res.Replica)
		failedOver = failedOver || res.Tries == 2
	}
	require.True(t, failedOver, "one request went to the dead replica first")

	// the chain replaces the dead replica with a standby; the client finds it on its next read
	c := newFakeReplica(t, testStreamID, n.creator, math.NewInt(10), bigShare, n.model)
	n.chain.update(func(st *computetypes.Stream) { st.Serving[0] = c.replica(0) })
	require.NoError(t, s.Refresh(ctx))
	for i := range 6 {
		_, err := s.Infer(ctx, testRows(uint64(20+i), 1))
		require.NoError(t, err)
	}
	require.NotEmpty(t, c.vouchers(), "the promoted standby serves")
	require.Equal(t, uint64(1), c.vouchers()[0].Nonce)
}

func TestAReceiptNotSignedByTheReplicaIsAFailure(t *testing.T) {
	n := newTestNet(t, 2, bigShare)
	other, err := ethsecp256k1.GenerateKey()
	require.NoError(t, err)
	bad, good := n.replicas[0], n.replicas[1]
	bad.signWith = other
	s := n.open(t)
	res, err := s.Infer(context.Background(), testRows(1, 2))
	require.NoError(t, err)
	require.Equal(t, good.provider, res.Replica)
	require.Equal(t, 2, res.Tries, "the bad replica was asked first (the chain's order) and failed")
	require.Len(t, bad.vouchers(), 1)
	for i := range 5 {
		res, err := s.Infer(context.Background(), testRows(uint64(2+i), 2))
		require.NoError(t, err)
		require.Equal(t, good.provider, res.Replica, "the bad replica is in its back-off")
	}
	require.Len(t, s.Receipts(), 6, "no receipt of the bad replica is kept")
}

func TestACorruptedResultWithAnHonestReceiptPassesWithoutASpotCheck(t *testing.T) {
	n := newTestNet(t, 1, bigShare)
	n.replicas[0].corrupt = true
	s := n.open(t, WithMaxTries(1))
	// the receipt checks prove who answered what, not that the answer is right
	res, err := s.Infer(context.Background(), testRows(1, 1))
	require.NoError(t, err)
	require.False(t, res.SpotChecked)
}

func TestASpotCheckCatchesAWrongResponse(t *testing.T) {
	n := newTestNet(t, 1, bigShare)
	n.replicas[0].corrupt = true
	s := n.open(t, WithModel(n.model.Encode()), WithSpotCheck(1))
	res, err := s.Infer(context.Background(), testRows(1, 2))
	require.ErrorIs(t, err, ErrWrongResponse)
	var wrong *WrongResponseError
	require.ErrorAs(t, err, &wrong)
	require.Equal(t, res.Receipt, wrong.Response.Receipt)
	require.Equal(t, n.replicas[0].provider, wrong.Response.Receipt.Receipt.Provider)
	require.NotEqual(t, wrong.Want, wrong.Response.Result)
	require.True(t, res.SpotChecked)

	// an honest replica passes every spot-check
	n = newTestNet(t, 1, bigShare)
	s = n.open(t, WithModel(n.model.Encode()), WithSpotCheck(1))
	res, err = s.Infer(context.Background(), testRows(2, 2))
	require.NoError(t, err)
	require.True(t, res.SpotChecked)
}

func TestAModelThatIsNotTheStreamsIsRefused(t *testing.T) {
	n := newTestNet(t, 1, bigShare)
	_, err := New(context.Background(), n.client, n.kr, "alice", testStreamID, WithModel([]byte("not the model")), WithSpotCheck(0.5))
	require.ErrorContains(t, err, "sha256")
}

func TestVouchersNeverExceedTheSlotsShareLessEarlierClaims(t *testing.T) {
	// share 55, an earlier replica of the slot claimed 20: 35 is left, three requests at 10
	n := newTestNet(t, 1, math.NewInt(55))
	n.chain.update(func(st *computetypes.Stream) { st.SlotClaimed[0] = math.NewInt(20) })
	n.replicas[0].limit = math.NewInt(35)
	s := n.open(t)
	for i := range 3 {
		_, err := s.Infer(context.Background(), testRows(uint64(i), 1))
		require.NoError(t, err)
	}
	_, err := s.Infer(context.Background(), testRows(9, 1))
	require.ErrorIs(t, err, ErrBudgetSpent)
	vs := n.replicas[0].vouchers()
	require.Len(t, vs, 3)
	require.Equal(t, math.NewInt(30), vs[2].Total)
	require.Empty(t, n.replicas[0].refusals, "no voucher beyond the share was sent")
	state := s.Replicas()
	require.Len(t, state, 1)
	require.Equal(t, math.NewInt(30), state[0].Voucher.Total)
	require.Equal(t, math.NewInt(35), state[0].Limit)

	// funding raises the share: a spent budget makes the client read the chain again
	n.chain.update(func(st *computetypes.Stream) { st.Budget = math.NewInt(75) })
	n.replicas[0].limit = math.NewInt(55)
	_, err = s.Infer(context.Background(), testRows(10, 1))
	require.NoError(t, err)
}

// A replica replaced before it redeemed may still redeem what this client signed it: the
// slot's next replica gets only the rest of the share, so the client never signs the slot more
// than its share (the chain would refuse whichever replica redeemed last).
func TestAReplacedReplicasUnredeemedVouchersCountAgainstTheSlot(t *testing.T) {
	n := newTestNet(t, 1, math.NewInt(50))
	s := n.open(t, WithRefreshInterval(time.Hour))
	for i := range 3 {
		_, err := s.Infer(context.Background(), testRows(uint64(i), 1))
		require.NoError(t, err)
	}
	// the chain replaces the replica; it redeemed nothing yet (SlotClaimed 0)
	c := newFakeReplica(t, testStreamID, n.creator, math.NewInt(10), math.NewInt(50), n.model)
	n.chain.update(func(st *computetypes.Stream) { st.Serving[0] = c.replica(0) })
	require.NoError(t, s.Refresh(context.Background()))
	for i := range 2 {
		_, err := s.Infer(context.Background(), testRows(uint64(10+i), 1))
		require.NoError(t, err)
	}
	_, err := s.Infer(context.Background(), testRows(20, 1))
	require.ErrorIs(t, err, ErrBudgetSpent, "30 signed to the replaced replica, 20 to its successor: the share of 50 is spent")
	require.Len(t, c.vouchers(), 2)
}

func TestARefusedVoucherResyncsFromTheChainAndTriesOnce(t *testing.T) {
	n := newTestNet(t, 1, bigShare)
	rep := n.replicas[0]
	// the replica took vouchers up to nonce 5 (total 50) from an earlier run of the client and
	// redeemed them: the chain knows
	rep.lastNonce, rep.lastTotal = 5, math.NewInt(50)
	s := n.open(t)
	n.chain.update(func(st *computetypes.Stream) {
		st.Serving[0].Claimed, st.Serving[0].VoucherNonce = math.NewInt(50), 5
	})
	res, err := s.Infer(context.Background(), testRows(1, 1))
	require.NoError(t, err)
	require.Equal(t, uint64(6), res.Voucher.Nonce)
	require.Equal(t, math.NewInt(60), res.Voucher.Total)
	require.Equal(t, 1, res.Tries)
	require.Equal(t, 1, rep.refusals[409], "refused once, then resynced")
}

func TestRowsOfTheWrongShapeAreRefusedBeforeAnyRequest(t *testing.T) {
	n := newTestNet(t, 1, bigShare)
	s := n.open(t)
	_, err := s.Infer(context.Background(), [][]int8{make([]int8, 5)})
	require.ErrorContains(t, err, "the model takes")
	_, err = s.Infer(context.Background(), testRows(1, 5))
	require.ErrorContains(t, err, "at most 4 per request")
	require.Empty(t, n.replicas[0].vouchers())
}

func TestAStreamNotLiveIsRefused(t *testing.T) {
	n := newTestNet(t, 1, bigShare)
	s := n.open(t)
	n.chain.update(func(st *computetypes.Stream) { st.State = computetypes.STREAM_STATE_PAUSED })
	require.NoError(t, s.Refresh(context.Background()))
	_, err := s.Infer(context.Background(), testRows(1, 1))
	require.ErrorContains(t, err, "STREAM_STATE_PAUSED")
}

func TestReceiptsAreBounded(t *testing.T) {
	n := newTestNet(t, 1, bigShare)
	s := n.open(t, WithReceiptLimit(3))
	var seqs []uint64
	for i := range 5 {
		res, err := s.Infer(context.Background(), testRows(uint64(i), 1))
		require.NoError(t, err)
		seqs = append(seqs, res.Receipt.Receipt.Sequence)
	}
	var kept []uint64
	for _, r := range s.Receipts() {
		kept = append(kept, r.Receipt.Sequence)
	}
	require.Equal(t, seqs[2:], kept, "the last three, oldest first")
}

func TestContextEndStopsWithoutTryingOthers(t *testing.T) {
	n := newTestNet(t, 2, bigShare)
	s := n.open(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Infer(ctx, testRows(1, 1))
	require.True(t, errors.Is(err, context.Canceled), "got %v", err)
}

func TestAFileStoreCarriesVouchersToTheNextClient(t *testing.T) {
	n := newTestNet(t, 1, bigShare)
	path := t.TempDir() + "/vouchers.json"
	s := n.open(t, WithVoucherStore(NewFileStore(path)))
	for i := range 3 {
		_, err := s.Infer(context.Background(), testRows(uint64(i), 1))
		require.NoError(t, err)
	}
	// a new run of the client: the chain knows nothing of these vouchers, the file does
	s = n.open(t, WithVoucherStore(NewFileStore(path)))
	res, err := s.Infer(context.Background(), testRows(9, 1))
	require.NoError(t, err)
	require.Equal(t, uint64(4), res.Voucher.Nonce)
	require.Equal(t, math.NewInt(40), res.Voucher.Total)
	require.Empty(t, n.replicas[0].refusals)
}

func TestALastVoucherTheReplicaEchoesIsTakenOnlyWithOurSignature(t *testing.T) {
	for _, own := range []bool{true, false} {
		n := newTestNet(t, 1, bigShare)
		rep := n.replicas[0]
		rep.echo = true
		// the replica took vouchers up to nonce 5 (total 50) that neither the chain nor this
		// client knows of
		v := computetypes.Voucher{StreamId: testStreamID, Provider: rep.provider, Total: math.NewInt(50), Nonce: 5}
		var sig []byte
		if own {
			var err error
			sig, _, err = n.kr.Sign("alice", computetypes.VoucherSignBytes(testChainID, v), signing.SignMode_SIGN_MODE_DIRECT)
			require.NoError(t, err)
		} else {
			forger, err := ethsecp256k1.GenerateKey()
			require.NoError(t, err)
			sig, err = forger.Sign(computetypes.VoucherSignBytes(testChainID, v))
			require.NoError(t, err)
		}
		rep.lastNonce, rep.lastTotal, rep.last, rep.lastSig = 5, math.NewInt(50), &v, sig
		s := n.open(t)
		res, err := s.Infer(context.Background(), testRows(1, 1))
		if !own {
			require.Error(t, err, "a voucher we did not sign is not taken")
			s.mu.Lock()
			require.Equal(t, uint64(0), s.replicas[rep.provider].nonce)
			s.mu.Unlock()
			continue
		}
		require.NoError(t, err)
		require.Equal(t, uint64(6), res.Voucher.Nonce)
		require.Equal(t, math.NewInt(60), res.Voucher.Total)
		require.Equal(t, 1, rep.refusals[409])
	}
}

func TestAStandbyPromotedAfterTheOnlyReplicaDiedServesTheSameCall(t *testing.T) {
	n := newTestNet(t, 1, bigShare)
	s := n.open(t, WithRefreshInterval(time.Hour))
	ctx := context.Background()
	_, err := s.Infer(ctx, testRows(1, 1))
	require.NoError(t, err)

	a := n.replicas[0]
	a.srv.Close()
	c := newFakeReplica(t, testStreamID, n.creator, math.NewInt(10), bigShare, n.model)
	n.chain.update(func(st *computetypes.Stream) { st.Serving[0] = c.replica(0) })
	res, err := s.Infer(ctx, testRows(2, 1))
	require.NoError(t, err, "the failure makes the client read the chain, which names the standby")
	require.Equal(t, c.provider, res.Replica)
	require.Equal(t, 2, res.Tries)
}

func TestTheReplicasAreReadAgainEveryInterval(t *testing.T) {
	n := newTestNet(t, 1, bigShare)
	s := n.open(t, WithRefreshInterval(10*time.Millisecond))
	ctx := context.Background()
	c := newFakeReplica(t, testStreamID, n.creator, math.NewInt(10), bigShare, n.model)
	n.chain.update(func(st *computetypes.Stream) {
		st.Serving = append(st.Serving, c.replica(1))
		st.Replicas, st.Budget = 2, bigShare.MulRaw(2)
		st.SlotClaimed = append(st.SlotClaimed, math.ZeroInt())
	})
	require.Eventually(t, func() bool {
		_, err := s.Infer(ctx, testRows(3, 1))
		require.NoError(t, err)
		return len(c.vouchers()) > 0
	}, 5*time.Second, 20*time.Millisecond, "the new replica is found without a failure")
}

func TestACallerWaitingForABusyReplicaStopsWhenItsContextEnds(t *testing.T) {
	n := newTestNet(t, 1, bigShare)
	n.replicas[0].hold = make(chan struct{})
	s := n.open(t)
	first := make(chan error)
	go func() {
		_, err := s.Infer(context.Background(), testRows(1, 1))
		first <- err
	}()
	require.Eventually(t, func() bool { return len(n.replicas[0].vouchers()) == 1 }, 5*time.Second, time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Infer(ctx, testRows(2, 1))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 2*time.Second, "it did not wait for the request ahead of it")

	close(n.replicas[0].hold)
	require.NoError(t, <-first)
	res, err := s.Infer(context.Background(), testRows(3, 1))
	require.NoError(t, err)
	require.Equal(t, uint64(2), res.Voucher.Nonce, "the abandoned call used no voucher")
}

func TestCallersQueuedOnAReplicaThatTimesOutGoElsewhereWithoutWaitingTheirOwnTimeout(t *testing.T) {
	n := newTestNet(t, 2, bigShare)
	hung, good := n.replicas[0], n.replicas[1]
	hung.hold = make(chan struct{})
	defer close(hung.hold)
	const timeout = 500 * time.Millisecond
	s := n.open(t, WithRequestTimeout(timeout))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var slowest time.Duration
	for i := range 8 {
		wg.Go(func() {
			start := time.Now()
			res, err := s.Infer(context.Background(), testRows(uint64(i), 1))
			took := time.Since(start)
			require.NoError(t, err)
			require.Equal(t, good.provider, res.Replica)
			mu.Lock()
			slowest = max(slowest, took)
			mu.Unlock()
		})
	}
	wg.Wait()
	require.Less(t, slowest, 3*timeout, "one timeout at most, not one per caller queued on the hung replica")
	require.Len(t, good.vouchers(), 8)
}

func TestAReplicaThatDropsARequestAfterTakingItsVoucherIsFailedOverAndKeepsItsNonces(t *testing.T) {
	n := newTestNet(t, 2, bigShare)
	flaky, steady := n.replicas[0], n.replicas[1]
	flaky.drop.Store(true)
	s := n.open(t, WithBackoff(time.Millisecond))
	res, err := s.Infer(context.Background(), testRows(1, 1))
	require.NoError(t, err, "the caller sees no error")
	require.Equal(t, steady.provider, res.Replica)
	require.Equal(t, 2, res.Tries)
	require.Len(t, flaky.vouchers(), 1, "the dropped request's voucher was taken")

	// the replica comes back: the client's next voucher to it is above the one it took
	flaky.drop.Store(false)
	time.Sleep(5 * time.Millisecond) // past its back-off
	s.mu.Lock()
	s.replicas[steady.provider].ewma = time.Second // make the flaky one the fastest
	s.mu.Unlock()
	res, err = s.Infer(context.Background(), testRows(2, 1))
	require.NoError(t, err)
	require.Equal(t, flaky.provider, res.Replica)
	require.Equal(t, uint64(2), res.Voucher.Nonce)
	require.Empty(t, flaky.refusals)
}

func TestAReplicaNotServingYetIsWaitedForWithoutAFailure(t *testing.T) {
	n := newTestNet(t, 1, bigShare)
	s := n.open(t, WithRefreshInterval(time.Hour))
	rep := n.replicas[0]
	rep.loading.Store(6) // a stream just LIVE: the replica loads the model for a second or two
	res, err := s.Infer(context.Background(), testRows(1, 1))
	require.NoError(t, err)
	require.Equal(t, rep.provider, res.Replica)
	require.Equal(t, 6, rep.refusals[503])
	require.Equal(t, uint64(1), rep.vouchers()[0].Nonce, "no voucher was spent on the refusals")
	s.mu.Lock()
	defer s.mu.Unlock()
	require.Zero(t, s.replicas[rep.provider].failures, "a replica loading its model is not failing")
}
