package types

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"

	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
	"github.com/cometbft/cometbft/crypto/merkle"

	"github.com/opengpu/ogpu/x/compute/workload"
)

// Stream errors, one per rule.
var (
	ErrStreamNotFound     = errorsmod.Register(ModuleName, 40, "stream not found")
	ErrStreamState        = errorsmod.Register(ModuleName, 41, "stream is not in the state this needs")
	ErrInvalidStream      = errorsmod.Register(ModuleName, 42, "invalid stream")
	ErrSubscribeClosed    = errorsmod.Register(ModuleName, 43, "subscription window closed")
	ErrDuplicateSubscribe = errorsmod.Register(ModuleName, 44, "provider already subscribed to this stream")
	ErrInvalidVoucher     = errorsmod.Register(ModuleName, 45, "invalid voucher")
	ErrNotReplica         = errorsmod.Register(ModuleName, 46, "not a replica of the stream")
	ErrInvalidCommitment  = errorsmod.Register(ModuleName, 47, "invalid receipt commitment")
	ErrInvalidSample      = errorsmod.Register(ModuleName, 48, "invalid sample")
	ErrInvalidReceipt     = errorsmod.Register(ModuleName, 49, "invalid receipt")
	ErrTooManySubscribers = errorsmod.Register(ModuleName, 50, "stream has the most subscriptions allowed")
	ErrMissingPubKey      = errorsmod.Register(ModuleName, 51, "account has no public key on chain")
)

// StreamWorkloads are the workloads a stream may serve.
var StreamWorkloads = []string{workload.InferMlpInt8V1}

const (
	maxStreamWindow  = 10_000
	maxReplicasLimit = 64
	maxStreamLimit   = 10_000_000
	maxSamplesLimit  = 64
	maxRowsLimit     = 1 << 16
	// MaxEndpointLength bounds a subscription's endpoint.
	MaxEndpointLength = 256
	// MaxSamplesPerReveal bounds a MsgRevealSamples, whatever the params say.
	MaxSamplesPerReveal = maxSamplesLimit
	// MaxMerkleDepth bounds a sample's proof: 2^40 receipts in one period is more than any
	// replica serves.
	MaxMerkleDepth = 40
)

// DefaultStreamParams are the stream parameters of DESIGN §9.
func DefaultStreamParams() StreamParams {
	return StreamParams{
		SubscribeWindow:   3,
		ReceiptPeriod:     10,
		StreamSamples:     2,
		RevealWindow:      5,
		ProbePeriod:       5,
		MaxProbeFailures:  2,
		MaxProbeLatencyMs: 2000,
		StreamGraceBlocks: 20,
		MaxReplicas:       16,
		MaxStandbys:       16,
		MaxStreamBlocks:   100_000,
		MaxRequestRows:    1024,
	}
}

// Validate checks every stream parameter against its allowed range.
func (p StreamParams) Validate() error {
	windows := []struct {
		name string
		v    uint64
	}{
		{"stream.subscribe_window", p.SubscribeWindow},
		{"stream.receipt_period", p.ReceiptPeriod},
		{"stream.reveal_window", p.RevealWindow},
		{"stream.probe_period", p.ProbePeriod},
		{"stream.stream_grace_blocks", p.StreamGraceBlocks},
	}
	for _, w := range windows {
		if w.v < 1 || w.v > maxStreamWindow {
			return errorsmod.Wrapf(ErrInvalidParams, "%s %d: must be in [1, %d] blocks", w.name, w.v, maxStreamWindow)
		}
	}
	if p.StreamSamples < 1 || p.StreamSamples > maxSamplesLimit {
		return errorsmod.Wrapf(ErrInvalidParams, "stream.stream_samples %d: must be in [1, %d]", p.StreamSamples, maxSamplesLimit)
	}
	if p.MaxProbeFailures < 1 || p.MaxProbeFailures > 1000 {
		return errorsmod.Wrapf(ErrInvalidParams, "stream.max_probe_failures %d: must be in [1, 1000]", p.MaxProbeFailures)
	}
	if p.MaxProbeLatencyMs < 1 || p.MaxProbeLatencyMs > 60_000 {
		return errorsmod.Wrapf(ErrInvalidParams, "stream.max_probe_latency_ms %d: must be in [1, 60000]", p.MaxProbeLatencyMs)
	}
	if p.MaxReplicas < 1 || p.MaxReplicas > maxReplicasLimit {
		return errorsmod.Wrapf(ErrInvalidParams, "stream.max_replicas %d: must be in [1, %d]", p.MaxReplicas, maxReplicasLimit)
	}
	if p.MaxStandbys > maxReplicasLimit {
		return errorsmod.Wrapf(ErrInvalidParams, "stream.max_standbys %d: must be at most %d", p.MaxStandbys, maxReplicasLimit)
	}
	if p.MaxStreamBlocks < p.ReceiptPeriod || p.MaxStreamBlocks > maxStreamLimit {
		return errorsmod.Wrapf(ErrInvalidParams, "stream.max_stream_blocks %d: must be in [receipt_period = %d, %d]", p.MaxStreamBlocks, p.ReceiptPeriod, maxStreamLimit)
	}
	if p.MaxRequestRows < 1 || p.MaxRequestRows > maxRowsLimit {
		return errorsmod.Wrapf(ErrInvalidParams, "stream.max_request_rows %d: must be in [1, %d]", p.MaxRequestRows, maxRowsLimit)
	}
	return nil
}

// SlotShare is what each of a stream's slots may be paid on vouchers in all: budget / replicas,
// rounded down (the remainder goes back to the client at close).
func (s Stream) SlotShare() math.Int {
	if s.Replicas == 0 || s.Budget.IsNil() {
		return math.ZeroInt()
	}
	return s.Budget.QuoRaw(int64(s.Replicas))
}

// ReplicaOf is the serving replica of provider (bech32) and its index, or -1.
func (s Stream) ReplicaOf(provider string) (Replica, int) {
	for i, r := range s.Serving {
		if r.Provider == provider {
			return r, i
		}
	}
	return Replica{}, -1
}

// Period is the receipt period a height falls in, counted from the stream's live height.
func (s Stream) Period(h int64, receiptPeriod uint64) uint64 {
	if h < s.LiveHeight || receiptPeriod == 0 {
		return 0
	}
	return uint64(h-s.LiveHeight) / receiptPeriod
}

// PeriodEnd is the last height of period p.
func (s Stream) PeriodEnd(p, receiptPeriod uint64) int64 {
	return s.LiveHeight + int64((p+1)*receiptPeriod) - 1
}

// Domain-separated sign bytes: a signature over one kind of message can never be read as
// another, nor carried to another chain.
const (
	voucherDomain = "ogpu/stream-voucher/v1"
	receiptDomain = "ogpu/stream-receipt/v1"
	requestDomain = "ogpu/stream-request/v1"
	probeDomain   = "ogpu/stream-probe/v1"
)

func signBytes(domain, chainID string, body []byte) []byte {
	var b bytes.Buffer
	b.WriteString(domain)
	b.WriteByte(0)
	b.WriteString(chainID)
	b.WriteByte(0)
	b.Write(body)
	return b.Bytes()
}

// VoucherSignBytes are what the stream's creator signs for a voucher on chain chainID.
func VoucherSignBytes(chainID string, v Voucher) []byte {
	body, err := v.Marshal()
	if err != nil {
		panic(err) // a plain message always marshals
	}
	return signBytes(voucherDomain, chainID, body)
}

// ReceiptSignBytes are what a replica signs for a receipt; they are also the receipt's Merkle leaf.
func ReceiptSignBytes(chainID string, r Receipt) []byte {
	body, err := r.Marshal()
	if err != nil {
		panic(err)
	}
	return signBytes(receiptDomain, chainID, body)
}

// RequestSignBytes are what the client signs for one request: the stream, the replica, the
// sha256 of the request's rows and its voucher, so a replica cannot replay a request on another
// replica or attach another voucher to it.
func RequestSignBytes(chainID string, streamID uint64, provider string, inputSha256 string, v Voucher) []byte {
	vb, err := v.Marshal()
	if err != nil {
		panic(err)
	}
	body := fmt.Sprintf("%d\x00%s\x00%s\x00", streamID, provider, inputSha256)
	return signBytes(requestDomain, chainID, append([]byte(body), vb...))
}

// ProbeSignBytes are what a verifier signs for a probe request of a round.
func ProbeSignBytes(chainID string, streamID uint64, provider string, round uint64, inputSha256 string) []byte {
	return signBytes(probeDomain, chainID, []byte(fmt.Sprintf("%d\x00%s\x00%d\x00%s", streamID, provider, round, inputSha256)))
}

// ReceiptRoot is the Merkle root over a period's receipts in sequence order (CometBFT's simple
// Merkle tree over their sign bytes).
func ReceiptRoot(chainID string, receipts []Receipt) []byte {
	leaves := make([][]byte, len(receipts))
	for i, r := range receipts {
		leaves[i] = ReceiptSignBytes(chainID, r)
	}
	return merkle.HashFromByteSlices(leaves)
}

// ReceiptProofs are the Merkle proofs of every receipt under ReceiptRoot.
func ReceiptProofs(chainID string, receipts []Receipt) ([]byte, []*merkle.Proof) {
	leaves := make([][]byte, len(receipts))
	for i, r := range receipts {
		leaves[i] = ReceiptSignBytes(chainID, r)
	}
	return merkle.ProofsFromByteSlices(leaves)
}

// VerifySample checks that sample is receipt number sample.Index of count under root.
func VerifySample(chainID string, root []byte, count uint64, sample SampleProof) error {
	if sample.Index >= count {
		return errorsmod.Wrapf(ErrInvalidSample, "index %d: the period has %d receipts", sample.Index, count)
	}
	if len(sample.Aunts) > MaxMerkleDepth {
		return errorsmod.Wrapf(ErrInvalidSample, "aunts: %d, at most %d", len(sample.Aunts), MaxMerkleDepth)
	}
	leaf := ReceiptSignBytes(chainID, sample.Receipt)
	proof := merkle.Proof{Total: int64(count), Index: int64(sample.Index), LeafHash: leafHash(leaf), Aunts: sample.Aunts}
	if err := proof.Verify(root, leaf); err != nil {
		return errorsmod.Wrapf(ErrInvalidSample, "receipt %d: not under the committed root: %v", sample.Index, err)
	}
	return nil
}

// leafHash is CometBFT's leaf hash: sha256(0x00 ‖ leaf).
func leafHash(leaf []byte) []byte {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(leaf)
	return h.Sum(nil)
}

// SampleIndices draws n distinct receipt indices of count from seed (all of them when count <=
// n), in drawn order.
func SampleIndices(seed []byte, count uint64, n uint32) []uint64 {
	if count == 0 {
		return nil
	}
	if count <= uint64(n) {
		out := make([]uint64, count)
		for i := range out {
			out[i] = uint64(i)
		}
		return out
	}
	out := make([]uint64, 0, n)
	seen := make(map[uint64]bool, n)
	for ctr := uint64(0); len(out) < int(n); ctr++ {
		h := sha256.Sum256(append(append([]byte{}, seed...), byte(ctr>>56), byte(ctr>>48), byte(ctr>>40), byte(ctr>>32), byte(ctr>>24), byte(ctr>>16), byte(ctr>>8), byte(ctr)))
		var x uint64
		for _, b := range h[:8] {
			x = x<<8 | uint64(b)
		}
		i := x % count
		if !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	return out
}

// ValidateReceipt checks a receipt's fields.
func ValidateReceipt(r Receipt) error {
	if err := validateAddress("receipt.provider", r.Provider); err != nil {
		return err
	}
	for _, h := range []struct{ name, v string }{{"receipt.input_sha256", r.InputSha256}, {"receipt.output_sha256", r.OutputSha256}} {
		if b, err := hex.DecodeString(h.v); err != nil || len(b) != sha256.Size || h.v != hex.EncodeToString(b) {
			return errorsmod.Wrapf(ErrInvalidReceipt, "%s %q: must be 64 lowercase hex digits", h.name, h.v)
		}
	}
	if r.InputSize == 0 || r.OutputSize == 0 {
		return errorsmod.Wrapf(ErrInvalidReceipt, "receipt sizes %d, %d: must be positive", r.InputSize, r.OutputSize)
	}
	return nil
}

// ValidateEndpoint checks a subscription's endpoint: an http or https base URL.
func ValidateEndpoint(field, s string) error {
	if len(s) == 0 || len(s) > MaxEndpointLength {
		return errorsmod.Wrapf(ErrInvalidStream, "%s: must be 1..%d bytes", field, MaxEndpointLength)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errorsmod.Wrapf(ErrInvalidStream, "%s %q: must be an http or https URL", field, s)
	}
	return nil
}
