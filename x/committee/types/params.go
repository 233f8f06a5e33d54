package types

import (
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
)

// Limits on what governance may set.
const (
	maxCommitteeSize = 100
	maxAttestations  = 4096
	maxExtensionSize = 1 << 20
)

// DefaultParams are the parameters of DESIGN §9.
func DefaultParams() Params {
	return Params{
		CommitteeSize:          5,
		Quorum:                 math.LegacyNewDec(2).QuoInt64(3),
		MaxAttestationsPerVote: 256,
		MaxVoteExtensionBytes:  16 * 1024,
		BenchBlocks:            1_000,
		MaxMissed:              5,
	}
}

// Validate checks every parameter against its allowed range.
func (p Params) Validate() error {
	if p.CommitteeSize < 1 || p.CommitteeSize > maxCommitteeSize {
		return errorsmod.Wrapf(ErrInvalidParams, "committee_size %d: must be in [1, %d]", p.CommitteeSize, maxCommitteeSize)
	}
	if p.Quorum.IsNil() || p.Quorum.LTE(math.LegacyNewDecWithPrec(5, 1)) || p.Quorum.GT(math.LegacyOneDec()) {
		return errorsmod.Wrapf(ErrInvalidParams, "quorum %v: must be in (0.5, 1]", p.Quorum)
	}
	if p.MaxAttestationsPerVote < 1 || p.MaxAttestationsPerVote > maxAttestations {
		return errorsmod.Wrapf(ErrInvalidParams, "max_attestations_per_vote %d: must be in [1, %d]", p.MaxAttestationsPerVote, maxAttestations)
	}
	if p.MaxVoteExtensionBytes < 64 || p.MaxVoteExtensionBytes > maxExtensionSize {
		return errorsmod.Wrapf(ErrInvalidParams, "max_vote_extension_bytes %d: must be in [64, %d]", p.MaxVoteExtensionBytes, maxExtensionSize)
	}
	if p.BenchBlocks > 10_000_000 {
		return errorsmod.Wrapf(ErrInvalidParams, "bench_blocks %d: must be at most 10000000", p.BenchBlocks)
	}
	if p.MaxMissed < 1 {
		return errorsmod.Wrap(ErrInvalidParams, "max_missed 0: must be at least 1")
	}
	return nil
}
