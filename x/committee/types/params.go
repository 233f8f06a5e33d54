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
		VerifierSlashFraction:  math.LegacyNewDecWithPrec(5, 2),
		MinVerifierStake:       math.NewIntWithDecimal(10_000, 18),
		MaxMemberFee:           math.NewIntWithDecimal(10, 18),
		AuditProbability:       math.LegacyNewDecWithPrec(5, 2),
		CommitBlocks:           5,
		CommitBlocksPerMib:     math.LegacyNewDecWithPrec(1, 2),
	}
}

// LazinessMargin is how many times the expected loss of a lazy VALID must exceed the most a
// member can earn from one task (docs/verification.md).
var LazinessMargin = math.LegacyNewDec(2)

// Quorum is how many of n members (one member, one vote) a verdict needs: ⌈quorum · n⌉.
func (p Params) QuorumOf(n int) int {
	return int(p.Quorum.MulInt64(int64(n)).Ceil().TruncateInt64())
}

// EscalationSize is the size of an audit or dispute committee: twice the first, plus one.
func (p Params) EscalationSize() int { return 2*int(p.CommitteeSize) + 1 }

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
	if p.VerifierSlashFraction.IsNil() || !p.VerifierSlashFraction.IsPositive() || p.VerifierSlashFraction.GT(math.LegacyOneDec()) {
		return errorsmod.Wrapf(ErrInvalidParams, "verifier_slash_fraction %v: must be in (0, 1]", p.VerifierSlashFraction)
	}
	if p.AuditProbability.IsNil() || !p.AuditProbability.IsPositive() || p.AuditProbability.GT(math.LegacyOneDec()) {
		return errorsmod.Wrapf(ErrInvalidParams, "audit_probability %v: must be in (0, 1]", p.AuditProbability)
	}
	if p.MinVerifierStake.IsNil() || !p.MinVerifierStake.IsPositive() {
		return errorsmod.Wrapf(ErrInvalidParams, "min_verifier_stake %v: must be positive", p.MinVerifierStake)
	}
	if p.MaxMemberFee.IsNil() || p.MaxMemberFee.IsNegative() {
		return errorsmod.Wrapf(ErrInvalidParams, "max_member_fee %v: must not be negative", p.MaxMemberFee)
	}
	if p.CommitBlocks < 1 || p.CommitBlocks > 10_000 {
		return errorsmod.Wrapf(ErrInvalidParams, "commit_blocks %d: must be in [1, 10000]", p.CommitBlocks)
	}
	if p.CommitBlocksPerMib.IsNil() || p.CommitBlocksPerMib.IsNegative() || p.CommitBlocksPerMib.GT(math.LegacyNewDec(10_000)) {
		return errorsmod.Wrapf(ErrInvalidParams, "commit_blocks_per_mib %v: must be in [0, 10000]", p.CommitBlocksPerMib)
	}
	// a lazy VALID must lose more in expectation than the most it can earn: p · s > margin · f
	// stake first: products of two small decimals round to zero at 18 places
	risk := p.AuditProbability.MulInt(p.MinVerifierStake).Mul(p.VerifierSlashFraction)
	if need := LazinessMargin.MulInt(p.MaxMemberFee); !risk.GT(need) {
		return errorsmod.Wrapf(ErrInvalidParams,
			"audit_probability × verifier_slash_fraction × min_verifier_stake = %s: must exceed %s × max_member_fee = %s, or lazy attestation pays",
			risk.TruncateInt(), LazinessMargin, need.TruncateInt())
	}
	return nil
}

// CommitPhase is how many blocks after its draw a committee checking a result of size bytes
// takes commitments: commit_blocks plus commit_blocks_per_mib per MiB, rounded up, at most
// 10,000 more.
func (p Params) CommitPhase(size uint64) int64 {
	mib := math.LegacyNewDecFromInt(math.NewIntFromUint64(size)).QuoInt64(1 << 20)
	extra := p.CommitBlocksPerMib.Mul(mib).Ceil().TruncateInt64()
	return int64(p.CommitBlocks) + min(extra, 10_000)
}
