package sidecar

import (
	"slices"
	"sort"

	"github.com/cometbft/cometbft/crypto/merkle"

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
	// onChain is set once the chain holds the period's commitment: its receipts' inclusion
	// proofs are served from then on.
	onChain bool
	// root and proofs are the period's Merkle tree, made at the first proof asked of it.
	root   []byte
	proofs []*merkle.Proof
}

// proofPeriods is how many periods a settled period's receipts are kept after it, for
// inclusion proofs: the chain's Stream query returns a replica's commitments of at least the
// last 3 periods (the keeper's recentPeriods), so a client can check a proof against them.
const proofPeriods = 3

// receiptBook is a replica's receipts by period, kept until the period is settled; the
// settled periods' receipts are kept proofPeriods periods longer in proved. A receipt is a few
// hundred bytes; the bodies it names are in the blob store.
type receiptBook struct {
	periods map[uint64]*periodReceipts
	proved  map[uint64]*periodReceipts
}

func newReceiptBook() *receiptBook {
	return &receiptBook{periods: map[uint64]*periodReceipts{}, proved: map[uint64]*periodReceipts{}}
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

// firstSequence is the sequence period p's commitment starts at: its first receipt's, or for a
// period of none, the first receipt of a later period (next when there is none), so that no
// later commitment starts below it.
func (b *receiptBook) firstSequence(p, next uint64) uint64 {
	if pr := b.periods[p]; pr != nil && len(pr.receipts) > 0 {
		return pr.receipts[0].Sequence
	}
	first := next
	for q, pr := range b.periods {
		if q > p && len(pr.receipts) > 0 {
			first = min(first, pr.receipts[0].Sequence)
		}
	}
	return first
}

// add files r under period p; receipts are added in sequence order.
func (b *receiptBook) add(p uint64, r computetypes.Receipt) {
	pr := b.period(p)
	pr.receipts = append(pr.receipts, r)
}

// drop forgets period p.
func (b *receiptBook) drop(p uint64) { delete(b.periods, p) }

// settle moves period p, settled on chain, to the periods kept for inclusion proofs.
func (b *receiptBook) settle(p uint64) {
	if pr, ok := b.periods[p]; ok {
		pr.onChain = true
		b.proved[p] = pr
		delete(b.periods, p)
	}
}

// expire forgets the proved periods more than proofPeriods before period current.
func (b *receiptBook) expire(current uint64) bool {
	expired := false
	for p := range b.proved {
		if p+proofPeriods <= current {
			delete(b.proved, p)
			expired = true
		}
	}
	return expired
}

// receiptProof is a receipt's Merkle proof under its period's commitment, as the replica serves
// it: receipt index of count under root.
type receiptProof struct {
	Period uint64   `json:"period"`
	Index  uint64   `json:"index"`
	Count  uint64   `json:"count"`
	Root   []byte   `json:"root"`
	Aunts  [][]byte `json:"aunts"`
	// Receipt is the protobuf Receipt.
	Receipt []byte `json:"receipt"`
}

// proofStatus says why a receipt's proof is not served.
type proofStatus int

const (
	proofServed proofStatus = iota
	proofUncommitted
	proofNotHeld
)

// proof is the inclusion proof of the receipt numbered seq, once its period's commitment is on
// chain.
func (b *receiptBook) proof(chainID string, seq uint64) (receiptProof, uint64, proofStatus) {
	periods := make([]uint64, 0, len(b.periods)+len(b.proved))
	for p := range b.periods {
		periods = append(periods, p)
	}
	for p := range b.proved {
		periods = append(periods, p)
	}
	slices.Sort(periods)
	for _, p := range periods {
		pr := b.proved[p]
		if pr == nil {
			pr = b.periods[p]
		}
		rs := pr.receipts
		i := sort.Search(len(rs), func(i int) bool { return rs[i].Sequence >= seq })
		if i == len(rs) || rs[i].Sequence != seq {
			continue
		}
		if !pr.onChain {
			return receiptProof{}, p, proofUncommitted
		}
		if pr.root == nil {
			pr.root, pr.proofs = computetypes.ReceiptProofs(chainID, rs)
		}
		enc, err := rs[i].Marshal()
		if err != nil {
			return receiptProof{}, p, proofNotHeld
		}
		return receiptProof{
			Period: p, Index: uint64(i), Count: uint64(len(rs)), Root: pr.root, Aunts: pr.proofs[i].Aunts, Receipt: enc,
		}, p, proofServed
	}
	return receiptProof{}, 0, proofNotHeld
}

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
