package sidecar

import (
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// periodReceipts are a replica's receipts of one period, in sequence order, and where the
// period's settlement stands: committed (root and count sent), revealed (samples sent).
type periodReceipts struct {
	receipts  []computetypes.Receipt
	committed bool
	// commitTries and revealTries bound the sends of a commitment or reveal; the heights they
	// were last sent at let one that no block took be sent again.
	commitTries, revealTries   int
	commitSentAt, revealSentAt int64
	revealed                   bool
}

// receiptBook is a replica's receipts by period, kept until the period is settled. A receipt
// is a few hundred bytes; the bodies it names are in the blob store.
type receiptBook struct {
	periods map[uint64]*periodReceipts
}

func newReceiptBook() *receiptBook {
	return &receiptBook{periods: map[uint64]*periodReceipts{}}
}

// period is p's record, made if absent.
func (b *receiptBook) period(p uint64) *periodReceipts {
	pr, ok := b.periods[p]
	if !ok {
		pr = &periodReceipts{}
		b.periods[p] = pr
	}
	return pr
}

// add files r under period p; receipts are added in sequence order.
func (b *receiptBook) add(p uint64, r computetypes.Receipt) {
	pr := b.period(p)
	pr.receipts = append(pr.receipts, r)
}

// drop forgets period p.
func (b *receiptBook) drop(p uint64) { delete(b.periods, p) }

// commitment is the root and count of a period's receipts: CometBFT's simple Merkle tree over
// their sign bytes, in sequence order (an empty period commits the empty tree's root).
func commitment(chainID string, receipts []computetypes.Receipt) ([]byte, uint64) {
	return computetypes.ReceiptRoot(chainID, receipts), uint64(len(receipts))
}

// sampleProofs are the receipts at indices with their Merkle proofs under the period's root;
// ok is false when an index is out of range (the commitment was not of these receipts).
func sampleProofs(chainID string, receipts []computetypes.Receipt, indices []uint64) ([]computetypes.SampleProof, bool) {
	_, proofs := computetypes.ReceiptProofs(chainID, receipts)
	out := make([]computetypes.SampleProof, 0, len(indices))
	for _, i := range indices {
		if i >= uint64(len(receipts)) {
			return nil, false
		}
		out = append(out, computetypes.SampleProof{Receipt: receipts[i], Index: i, Aunts: proofs[i].Aunts})
	}
	return out, true
}
