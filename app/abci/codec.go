package abci

import (
	"bytes"
	"errors"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"

	committeetypes "github.com/opengpu/ogpu/x/committee/types"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// injectedPrefix marks the extended commit info the proposer puts first in a block, so it can
// never be mistaken for (or decoded as) a user transaction.
var injectedPrefix = []byte("ogpu/extended-commit-info/v1:")

// EncodeInjected is the bytes of the injected tx carrying the extended commit info.
func EncodeInjected(eci abci.ExtendedCommitInfo) ([]byte, error) {
	bz, err := eci.Marshal()
	if err != nil {
		return nil, err
	}
	return append(append([]byte(nil), injectedPrefix...), bz...), nil
}

// IsInjected reports whether tx carries the injected prefix.
func IsInjected(tx []byte) bool { return bytes.HasPrefix(tx, injectedPrefix) }

// DecodeInjected decodes an injected tx of at most maxBytes.
func DecodeInjected(tx []byte, maxBytes int) (abci.ExtendedCommitInfo, error) {
	var eci abci.ExtendedCommitInfo
	if len(tx) > maxBytes {
		return eci, fmt.Errorf("injected tx of %d bytes: above the %d allowed", len(tx), maxBytes)
	}
	if !IsInjected(tx) {
		return eci, errors.New("first tx is not the injected extended commit info")
	}
	if err := eci.Unmarshal(tx[len(injectedPrefix):]); err != nil {
		return eci, fmt.Errorf("decode extended commit info: %w", err)
	}
	return eci, nil
}

// MaxProbesPerVote caps the probe reports in one vote extension: one per replica probed, and
// a validator probes every replica of every live stream.
const MaxProbesPerVote = 256

// maxProviderLen bounds a probe report's provider (a bech32 account is about 45 characters).
const maxProviderLen = 128

// EncodeExtension encodes as many of atts as fit in maxCount entries and maxBytes bytes; see
// EncodeVoteExtension.
func EncodeExtension(atts []committeetypes.Attestation, maxCount, maxBytes int) ([]byte, error) {
	return EncodeVoteExtension(committeetypes.VoteExtension{Attestations: atts}, maxCount, maxBytes)
}

// EncodeVoteExtension encodes as much of ve as fits: at most maxCount attestations and
// MaxProbesPerVote probe reports, in maxBytes bytes; probe reports are dropped before any
// attestation. An entry DecodeExtension would refuse is left out (of probe reports on the same
// replica, the first is kept), so a faulty sidecar cannot get this validator's extension, and
// with it its vote, rejected by the others.
func EncodeVoteExtension(ve committeetypes.VoteExtension, maxCount, maxBytes int) ([]byte, error) {
	atts := make([]committeetypes.Attestation, 0, len(ve.Attestations))
	for _, a := range ve.Attestations {
		if checkAttestation(a) == nil {
			atts = append(atts, a)
		}
	}
	if len(atts) > maxCount {
		atts = atts[:maxCount]
	}
	probes := make([]computetypes.ProbeReport, 0, len(ve.Probes))
	seen := make(map[probeReplica]bool, len(ve.Probes))
	for _, p := range ve.Probes {
		if checkProbe(p) != nil || seen[replicaOf(p)] {
			continue
		}
		seen[replicaOf(p)] = true
		probes = append(probes, p)
	}
	if len(probes) > MaxProbesPerVote {
		probes = probes[:MaxProbesPerVote]
	}
	for {
		out := committeetypes.VoteExtension{Attestations: atts, Probes: probes}
		bz, err := out.Marshal()
		if err != nil {
			return nil, err
		}
		if len(bz) <= maxBytes || (len(atts) == 0 && len(probes) == 0) {
			return bz, nil
		}
		// drop the overflow, probes first: each entry costs at least its size in the encoding
		over := len(bz) - maxBytes
		if len(probes) > 0 {
			drop := max(1, over*len(probes)/max(1, probesSize(probes)))
			probes = probes[:max(0, len(probes)-drop)]
			continue
		}
		drop := max(1, over*len(atts)/len(bz))
		atts = atts[:max(0, len(atts)-drop)]
	}
}

// probesSize is the encoded size of probes alone.
func probesSize(probes []computetypes.ProbeReport) int {
	return (&committeetypes.VoteExtension{Probes: probes}).Size()
}

// DecodeExtension decodes and checks a vote extension: at most maxBytes, at most maxCount
// attestations, each a well-formed commit or reveal, and at most MaxProbesPerVote probe
// reports, each well-formed and no two on the same replica.
func DecodeExtension(bz []byte, maxCount, maxBytes int) (committeetypes.VoteExtension, error) {
	var ve committeetypes.VoteExtension
	if len(bz) > maxBytes {
		return ve, fmt.Errorf("vote extension of %d bytes: above max_vote_extension_bytes %d", len(bz), maxBytes)
	}
	if err := ve.Unmarshal(bz); err != nil {
		return ve, fmt.Errorf("decode vote extension: %w", err)
	}
	if len(ve.Attestations) > maxCount {
		return ve, fmt.Errorf("vote extension with %d attestations: above max_attestations_per_vote %d", len(ve.Attestations), maxCount)
	}
	for i, a := range ve.Attestations {
		if err := checkAttestation(a); err != nil {
			return ve, fmt.Errorf("attestations[%d]: %w", i, err)
		}
	}
	if len(ve.Probes) > MaxProbesPerVote {
		return ve, fmt.Errorf("vote extension with %d probe reports: above the %d allowed", len(ve.Probes), MaxProbesPerVote)
	}
	seen := make(map[probeReplica]bool, len(ve.Probes))
	for i, p := range ve.Probes {
		if err := checkProbe(p); err != nil {
			return ve, fmt.Errorf("probes[%d]: %w", i, err)
		}
		if seen[replicaOf(p)] {
			return ve, fmt.Errorf("probes[%d]: a second report on stream %d, provider %s", i, p.StreamId, p.Provider)
		}
		seen[replicaOf(p)] = true
	}
	return ve, nil
}

// probeReplica is the replica a probe report is about.
type probeReplica struct {
	stream   uint64
	provider string
}

func replicaOf(p computetypes.ProbeReport) probeReplica {
	return probeReplica{stream: p.StreamId, provider: p.Provider}
}

// checkProbe is what every probe report in an extension must satisfy: a provider of a sensible
// length. Whether the provider serves the stream is for the state to say.
func checkProbe(p computetypes.ProbeReport) error {
	if n := len(p.Provider); n == 0 || n > maxProviderLen {
		return fmt.Errorf("provider of %d characters: must be 1..%d", n, maxProviderLen)
	}
	return nil
}

// checkAttestation is what every attestation in an extension must satisfy: a commit carries a
// 32-byte commitment and nothing else; a reveal a known verdict, a digest that is empty or 32
// bytes, and a salt of SaltSize bytes.
func checkAttestation(a committeetypes.Attestation) error {
	if a.IsCommit() {
		if len(a.Commitment) != 32 {
			return fmt.Errorf("commitment of %d bytes, want 32", len(a.Commitment))
		}
		if a.Verdict != committeetypes.ATTESTED_UNSPECIFIED || len(a.Digest) != 0 || len(a.Salt) != 0 || a.WrongDigests != 0 {
			return errors.New("a commit carries only its commitment")
		}
		return nil
	}
	if !a.Verdict.Valid() {
		return fmt.Errorf("unknown verdict %d", a.Verdict)
	}
	if n := len(a.Digest); n != 0 && n != 32 {
		return fmt.Errorf("digest of %d bytes, want 32", n)
	}
	if len(a.Salt) != committeetypes.SaltSize {
		return fmt.Errorf("salt of %d bytes, want %d", len(a.Salt), committeetypes.SaltSize)
	}
	return nil
}
