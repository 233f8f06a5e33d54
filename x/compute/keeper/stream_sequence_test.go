package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/collections"

	"github.com/opengpu/ogpu/x/compute/types"
)

// A replica that leaves the receipts of its wrong answers out of its commitment must either
// say where its receipts start (first_sequence), leaving a gap a client's inclusion check
// reports, or pretend they run on from its earlier commitments: its reveal then shows receipts
// whose sequences do not match their indices, and is refused (and punished as withheld).
func TestRevealRefusesAReceiptLeftOut(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	id := sf.live()
	s := sf.stream(id)
	sf.untilHeight(s.PeriodEnd(0, 10) + 1)
	// receipt 0 was left out: the period commits receipts 1..4, claiming they start at 0
	rs := sf.receiptsFrom(id, 0, 1, 4, s.LiveHeight+1)
	require.NoError(t, sf.commitFrom(0, id, 0, 0, rs))
	require.NoError(t, sf.commit(1, id, 0, nil))
	sf.nextBlock()
	sf.nextBlock()
	c := sf.commitment(id, 0, 0)
	require.Zero(t, c.FirstSequence)
	require.Len(t, c.Samples, 2)
	sf.refused(types.ErrInvalidSample, "receipt.sequence", func() error {
		_, err := sf.reveal(0, id, 0, sf.samples(c, rs))
		return err
	})
}

// Commitments may leave gaps in a replica's sequence (a receipt dated in a period the chain never
// required of it), never overlap: a receipt is in at most one commitment.
func TestCommitmentsMayLeaveGapsNotOverlap(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	id := sf.live()
	s := sf.stream(id)
	sf.untilHeight(s.PeriodEnd(0, 10) + 1)
	rs := sf.receiptsFrom(id, 0, 1, 4, s.LiveHeight+1)
	require.NoError(t, sf.commit(0, id, 0, rs), "receipt 0 is a gap: the client that holds it finds it not included")
	require.EqualValues(t, 1, sf.commitment(id, 0, 0).FirstSequence)
	require.NoError(t, sf.commit(1, id, 0, nil))
	sf.nextBlock()
	sf.nextBlock()
	_, err := sf.reveal(0, id, 0, sf.samples(sf.commitment(id, 0, 0), rs))
	require.NoError(t, err, "a gap does not stop the reveal: its receipts match their indices")
	sf.untilHeight(s.PeriodEnd(1, 10) + 1)
	overlap := sf.receiptsFrom(id, 0, 4, 2, s.PeriodEnd(1, 10))
	sf.refused(types.ErrInvalidCommitment, "first_sequence 4", func() error { return sf.commit(0, id, 1, overlap) })
	require.NoError(t, sf.commit(0, id, 1, sf.receiptsFrom(id, 0, 5, 2, s.PeriodEnd(1, 10))))
}

func TestFirstSequenceFollowsEarlierCommitments(t *testing.T) {
	sf := newStreamFixture(newFixture(t))
	id := sf.live()
	s := sf.stream(id)
	sf.untilHeight(s.PeriodEnd(0, 10) + 1)
	rs0 := sf.receipts(id, 0, 3, s.LiveHeight+1)
	rsB := sf.receipts(id, 1, 2, s.LiveHeight+1)
	require.NoError(t, sf.commit(0, id, 0, rs0))
	require.NoError(t, sf.commit(1, id, 0, rsB))
	sf.nextBlock()
	sf.nextBlock()
	_, err := sf.reveal(0, id, 0, sf.samples(sf.commitment(id, 0, 0), rs0))
	require.NoError(t, err)
	_, err = sf.reveal(1, id, 0, sf.samples(sf.commitment(id, 1, 0), rsB))
	require.NoError(t, err)

	sf.untilHeight(s.PeriodEnd(1, 10) + 1)
	rs1 := sf.receiptsFrom(id, 0, 3, 3, s.PeriodEnd(1, 10))
	require.NoError(t, sf.commit(0, id, 1, rs1))
	renumbered := sf.receipts(id, 1, 2, s.PeriodEnd(1, 10)) // numbered from 0 again
	sf.refused(types.ErrInvalidCommitment, "first_sequence 0", func() error { return sf.commit(1, id, 1, renumbered) })
	require.NoError(t, sf.commitFrom(1, id, 1, 2, renumbered), "claiming they run on from period 0")
	c := sf.commitment(id, 0, 1)
	require.EqualValues(t, 3, c.FirstSequence, "the 3 receipts of period 0 came first")
	require.EqualValues(t, 2, sf.commitment(id, 1, 1).FirstSequence)
	claim, err := sf.k.StreamClaims.Get(sf.ctx, collections.Join(id, sf.replicas[0]))
	require.NoError(t, err)
	require.EqualValues(t, 6, claim.ReceiptsCommitted)
	sf.nextBlock()
	sf.nextBlock()
	c = sf.commitment(id, 0, 1)
	sf.refused(types.ErrInvalidSample, "receipt.sequence", func() error {
		_, err := sf.reveal(1, id, 1, sf.samples(sf.commitment(id, 1, 1), renumbered))
		return err
	})
	_, err = sf.reveal(0, id, 1, sf.samples(c, rs1))
	require.NoError(t, err)

	// the running count and the commitments' first sequences survive an export and import
	gs, err := sf.k.ExportGenesis(sf.ctx)
	require.NoError(t, err)
	sgGen, err := sf.sg.ExportGenesis(sf.ctx)
	require.NoError(t, err)
	g := newFixtureFrom(t, sf.bank, sgGen, gs, sf.ctx.BlockHeight())
	claim, err = g.k.StreamClaims.Get(g.ctx, collections.Join(id, sf.replicas[0]))
	require.NoError(t, err)
	require.EqualValues(t, 6, claim.ReceiptsCommitted)
	again, err := g.k.Commitments.Get(g.ctx, collections.Join3(id, sf.replicas[0], uint64(1)))
	require.NoError(t, err)
	require.EqualValues(t, 3, again.FirstSequence)
}

// With a reveal window as long as a period, two periods can be due at once: the later is
// refused until the earlier is committed, so first_sequence counts every earlier receipt.
func TestCommitmentsComeInPeriodOrder(t *testing.T) {
	f := newFixture(t)
	params, err := f.k.Params.Get(f.ctx)
	require.NoError(t, err)
	params.Stream.RevealWindow = 15
	require.NoError(t, f.k.Params.Set(f.ctx, params))
	sf := newStreamFixture(f)
	id := sf.live()
	s := sf.stream(id)
	sf.untilHeight(s.PeriodEnd(1, 10) + 1)
	rs1 := sf.receiptsFrom(id, 0, 2, 1, s.PeriodEnd(1, 10))
	sf.refused(types.ErrInvalidCommitment, "period 0", func() error { return sf.commit(0, id, 1, rs1) })
	require.NoError(t, sf.commit(0, id, 0, sf.receipts(id, 0, 2, s.LiveHeight)))
	require.NoError(t, sf.commit(0, id, 1, rs1))
	require.EqualValues(t, 2, sf.commitment(id, 0, 1).FirstSequence)
}
