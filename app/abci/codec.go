package abci

import (
	"bytes"
	"errors"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"

	committeetypes "github.com/opengpu/ogpu/x/committee/types"
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

// EncodeExtension encodes as many of atts as fit in maxCount entries and maxBytes bytes. An
// attestation DecodeExtension would refuse is left out, so a faulty sidecar cannot get this
// validator's extension, and with it its vote, rejected by the others.
func EncodeExtension(atts []committeetypes.Attestation, maxCount, maxBytes int) ([]byte, error) {
	valid := make([]committeetypes.Attestation, 0, len(atts))
	for _, a := range atts {
		if checkAttestation(a) == nil {
			valid = append(valid, a)
		}
	}
	atts = valid
	if len(atts) > maxCount {
		atts = atts[:maxCount]
	}
	for {
		ve := committeetypes.VoteExtension{Attestations: atts}
		bz, err := ve.Marshal()
		if err != nil {
			return nil, err
		}
		if len(bz) <= maxBytes || len(atts) == 0 {
			return bz, nil
		}
		// drop the overflow: each entry costs at least its size in the encoding
		over := len(bz) - maxBytes
		drop := max(1, over*len(atts)/len(bz))
		atts = atts[:max(0, len(atts)-drop)]
	}
}

// DecodeExtension decodes and checks a vote extension: at most maxBytes, at most maxCount
// attestations, each a well-formed commit or reveal.
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
	return ve, nil
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
