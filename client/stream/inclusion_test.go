package stream

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCheckInclusionProvesCommittedReceipts(t *testing.T) {
	n := newTestNet(t, 1, bigShare)
	s := n.open(t)
	ctx := context.Background()
	var held []SignedReceipt
	for i := range 3 {
		res, err := s.Infer(ctx, testRows(uint64(i), 1))
		require.NoError(t, err)
		held = append(held, res.Receipt)
	}
	require.ErrorIs(t, s.CheckInclusion(ctx, held[0]), ErrNotCommitted, "the period is not committed yet")
	n.replicas[0].commitPeriod(n.chain)
	for _, r := range held {
		require.NoError(t, s.CheckInclusion(ctx, r))
	}
	res, err := s.Infer(ctx, testRows(9, 1))
	require.NoError(t, err)
	require.ErrorIs(t, s.CheckInclusion(ctx, res.Receipt), ErrNotCommitted)
	c := n.replicas[0].commitPeriod(n.chain)
	require.EqualValues(t, 3, c.FirstSequence)
	require.NoError(t, s.CheckInclusion(ctx, res.Receipt))

	// a receipt the replica never signed that way is not the one it proves
	forged := held[1]
	forged.Receipt.OutputSha256 = held[2].Receipt.OutputSha256
	require.ErrorIs(t, s.CheckInclusion(ctx, forged), ErrNotIncluded)
}

// A replica that leaves its wrong answers out of its commitments: the client that does not
// recompute finds the omitted receipt unproved, and the receipts after it out of sequence.
func TestCheckInclusionCatchesAnOmittedReceipt(t *testing.T) {
	n := newTestNet(t, 1, bigShare)
	rep := n.replicas[0]
	rep.omitWrong = true
	s := n.open(t)
	ctx := context.Background()
	var held []SignedReceipt
	for i := range 4 {
		rep.setCorrupt(i == 1)
		res, err := s.Infer(ctx, testRows(uint64(i), 1))
		require.NoError(t, err, "no spot-check: the wrong answer goes unnoticed")
		held = append(held, res.Receipt)
	}
	c := rep.commitPeriod(n.chain)
	require.EqualValues(t, 3, c.Count, "receipt 1 left out")
	require.NoError(t, s.CheckInclusion(ctx, held[0]))
	for _, i := range []int{1, 2, 3} {
		err := s.CheckInclusion(ctx, held[i])
		require.ErrorIs(t, err, ErrNotIncluded, "receipt %d", i)
		var ni *NotIncludedError
		require.ErrorAs(t, err, &ni)
		require.Equal(t, held[i], ni.Receipt, "the evidence for Challenge")
	}
}

func TestInclusionChecksReportInTheBackground(t *testing.T) {
	n := newTestNet(t, 1, bigShare)
	rep := n.replicas[0]
	rep.omitWrong = true
	s := n.open(t, WithInclusionChecks(1), WithRefreshInterval(5*time.Millisecond))
	ctx := context.Background()
	var held []SignedReceipt
	for i := range 3 {
		rep.setCorrupt(i == 1)
		res, err := s.Infer(ctx, testRows(uint64(i), 1))
		require.NoError(t, err)
		held = append(held, res.Receipt)
	}
	select {
	case ni := <-s.NotIncluded():
		t.Fatalf("reported before the period was committed: %v", ni)
	case <-time.After(50 * time.Millisecond):
	}
	rep.commitPeriod(n.chain)
	got := map[uint64]bool{}
	for len(got) < 2 {
		select {
		case ni := <-s.NotIncluded():
			require.True(t, errors.Is(ni, ErrNotIncluded))
			got[ni.Receipt.Receipt.Sequence] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("reports of receipts 1 and 2: got %v", got)
		}
	}
	require.Equal(t, map[uint64]bool{1: true, 2: true}, got, "receipt 0 is proved")
	_, err := New(ctx, n.client, n.kr, "alice", testStreamID, WithInclusionChecks(1.5))
	require.ErrorContains(t, err, "inclusion-check fraction")
}
