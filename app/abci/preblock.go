package abci

import (
	"context"
	"slices"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

	"cosmossdk.io/core/address"
	"cosmossdk.io/log/v2"
	sdk "github.com/cosmos/cosmos-sdk/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	committeetypes "github.com/opengpu/ogpu/x/committee/types"
)

// Committee is what the PreBlocker needs from x/committee.
type Committee interface {
	RecordAttestation(ctx context.Context, val sdk.ValAddress, a committeetypes.Attestation) (bool, error)
	Tally(ctx context.Context, taskID uint64) error
}

// ValidatorByConsAddr finds the validator that signed a vote.
type ValidatorByConsAddr interface {
	GetValidatorByConsAddr(ctx context.Context, consAddr sdk.ConsAddress) (stakingtypes.Validator, error)
}

// AttestationRecorder is the PreBlocker step that reads the block's injected extended commit
// info and records each committee member's attestations, then tallies the tasks they touched;
// with a probe sink it also decides the probe rounds the validators reported on.
type AttestationRecorder struct {
	committee  Committee
	validators ValidatorByConsAddr
	valCodec   interface{ StringToBytes(string) ([]byte, error) }
	limits     Limits
	logger     log.Logger

	probes   ProbeSink // nil: probe reports are ignored
	accounts address.Codec
	quorum   Quorum
}

// NewAttestationRecorder returns the recorder; limits are the caps the block's extensions were
// voted under, as ProcessProposal applies them.
func NewAttestationRecorder(committee Committee, validators ValidatorByConsAddr, valCodec interface{ StringToBytes(string) ([]byte, error) }, limits Limits, logger log.Logger) *AttestationRecorder {
	return &AttestationRecorder{committee: committee, validators: validators, valCodec: valCodec, limits: limits, logger: logger}
}

// WithProbes has the recorder decide probe rounds: sink is x/compute, accounts its address codec
// (a report names the provider's account), quorum the share of the extended commit's power a
// verdict needs.
func (r *AttestationRecorder) WithProbes(sink ProbeSink, accounts address.Codec, quorum Quorum) *AttestationRecorder {
	r.probes, r.accounts, r.quorum = sink, accounts, quorum
	return r
}

// PreBlock records the attestations of the block's extended commit info. It never fails the
// block on what the extensions contain: undecodable extensions, unknown validators, non-members,
// duplicates and attestations of another result are skipped. Each tally runs in its own cache so
// that one task that cannot be settled does not stop the others.
//
// Probe reports count the power of the validators whose extensions decode (those ProcessProposal
// checked), never that of a validator on its own account as a provider. A round that validators
// holding at least the quorum of the extended commit's power (voting or not) report failed is
// failed; else one they report ok is ok; else nothing is decided. Each verdict is applied in its
// own cache, in (stream, provider, round) order.
func (r *AttestationRecorder) PreBlock(ctx sdk.Context, req *abci.RequestFinalizeBlock) {
	if !ExtensionsEnabled(ctx, req.Height) || len(req.Txs) == 0 || !IsInjected(req.Txs[0]) {
		return
	}
	eci, err := DecodeInjected(req.Txs[0], int(maxInjectedBytes(ctx)))
	if err != nil {
		r.logger.Error("undecodable extended commit info in a committed block", "height", req.Height, "err", err)
		return
	}
	maxCount, maxBytes := r.limits(ctx)
	var touched []uint64
	var probes *probeTally
	var total int64
	if r.probes != nil {
		probes = newProbeTally(r.accounts)
		for _, vote := range eci.Votes {
			total += vote.Validator.Power
		}
	}
	for _, vote := range eci.Votes {
		if vote.BlockIdFlag != cmtproto.BlockIDFlagCommit || len(vote.VoteExtension) == 0 {
			continue
		}
		ve, err := DecodeExtension(vote.VoteExtension, maxCount, maxBytes)
		if err != nil {
			continue
		}
		v, err := r.validators.GetValidatorByConsAddr(ctx, sdk.ConsAddress(vote.Validator.Address))
		if err != nil {
			continue
		}
		val, err := r.valCodec.StringToBytes(v.GetOperator())
		if err != nil {
			continue
		}
		if probes != nil {
			probes.add(val, vote.Validator.Power, ve.Probes)
		}
		for _, a := range ve.Attestations {
			ok, err := r.committee.RecordAttestation(ctx, val, a)
			if err != nil {
				r.logger.Error("record attestation", "task", a.TaskId, "err", err)
				continue
			}
			if ok && !slices.Contains(touched, a.TaskId) {
				touched = append(touched, a.TaskId)
			}
		}
	}
	slices.Sort(touched)
	for _, id := range touched {
		cacheCtx, write := ctx.CacheContext()
		if err := r.committee.Tally(cacheCtx, id); err != nil {
			r.logger.Error("tally task", "task", id, "err", err)
			continue
		}
		write()
	}
	if probes == nil {
		return
	}
	for _, v := range probes.verdicts(r.quorum(ctx), total) {
		cacheCtx, write := ctx.CacheContext()
		if err := r.probes.ApplyProbeRound(cacheCtx, v.stream, v.provider, v.round, v.ok); err != nil {
			r.logger.Error("apply probe round", "stream", v.stream, "provider", v.provider, "round", v.round, "ok", v.ok, "err", err)
			continue
		}
		write()
	}
}
