package sidecar

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/gpu/gemm"
	committeetypes "github.com/opengpu/ogpu/x/committee/types"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// check is this validator's finding on one round of a task, and its commitment to it.
type check struct {
	round      uint32
	drawn      int64
	verdict    committeetypes.AttestedVerdict
	digest     []byte
	wrong      uint64
	salt       []byte
	commitment []byte
}

// roundView is what the chain has recorded of a round this validator sits on.
type roundView struct {
	round               uint32
	drawn, reveal       int64
	commitEnd           int64 // the last height that takes commitments (0: drawn + commit_blocks)
	committed, revealed bool
}

// lastCommit is the last height that records a commitment of the round.
func (v roundView) lastCommit(commitBlocks int64) int64 {
	if v.commitEnd != 0 {
		return v.commitEnd
	}
	return v.drawn + commitBlocks
}

// check verifies a task for committee c and commits to the finding. Its Freivalds challenge
// comes from the committee's seed and this validator's address, so its digest is its own.
func (s *Sidecar) check(ctx context.Context, t computetypes.Task, c committeetypes.Committee) check {
	member, err := sdk.ValAddressFromBech32(s.valoper)
	if err != nil {
		member = nil
	}
	ch := check{round: c.Round, drawn: c.DrawnHeight, salt: make([]byte, committeetypes.SaltSize)}
	if _, err := rand.Read(ch.salt); err != nil {
		s.logger.Error("salt", "err", err)
	}
	ch.verdict, ch.digest, ch.wrong = s.judge(ctx, t, c, member)
	var result []byte
	if !t.InputUnavailable {
		result, _ = hex.DecodeString(t.Result.Sha256)
	}
	ch.commitment = committeetypes.Commitment(t.Id, c.Round, result, ch.verdict, ch.digest, ch.wrong, ch.salt, member)
	return ch
}

// verification is a check waiting for a slot: the task and the draw it is for.
type verification struct {
	task      computetypes.Task
	committee committeetypes.Committee
}

// settledForMember says why this member has nothing left to check in a round, or "" when it
// has: its reveal or its commitment is on chain (a check made now could not open a commitment
// made before a restart, whose salt is gone), or commitments have closed without it.
func settledForMember(v roundView, height, commitBlocks int64) string {
	switch {
	case v.revealed:
		return "revealed"
	case v.committed:
		return "commitment recorded"
	case v.reveal != 0:
		return "commitments closed"
	case (v.commitEnd != 0 || commitBlocks > 0) && height >= v.lastCommit(commitBlocks):
		// a commitment voted now is recorded after commit_blocks
		return "commitments closed"
	}
	return ""
}

// viewOf is what the chain has recorded of this member in the committee res.
func (s *Sidecar) viewOf(res *committeetypes.QueryCommitteeResponse) roundView {
	c := res.Committee
	v := roundView{round: c.Round, drawn: c.DrawnHeight, reveal: c.RevealHeight, commitEnd: c.CommitEnd}
	for _, a := range res.Attestations {
		if a.Validator == s.valoper {
			v.committed, v.revealed = len(a.Commitment) > 0, a.Height != 0
		}
	}
	return v
}

// verify is a verification worker's job: it reads the round from the chain once more, drops
// the job if the round has moved on or this member's part of it is recorded, and otherwise
// checks the result and keeps the finding for Attestations.
func (s *Sidecar) verify(ctx context.Context, v verification) {
	if why := s.dropReason(ctx, v); why != "" {
		s.metrics.verificationsDropped.Inc()
		s.logger.Debug("verification dropped", "task", v.task.Id, "round", v.committee.Round, "why", why)
		return
	}
	ch := s.check(ctx, v.task, v.committee)
	s.mu.Lock()
	s.checks[v.task.Id] = ch
	s.mu.Unlock()
	s.metrics.verifications.WithLabelValues(ch.verdict.String()).Inc()
	s.logger.Info("result checked", "task", v.task.Id, "round", v.committee.Round, "verdict", ch.verdict)
}

// dropReason says why a queued verification is no longer wanted, or "" when it is (also when
// the chain cannot be asked: checking costs less than missing a verdict).
func (s *Sidecar) dropReason(ctx context.Context, v verification) string {
	res, err := s.chain.committee(ctx, v.task.Id)
	if status.Code(err) == codes.NotFound {
		return "the task is no longer being verified"
	}
	if err != nil {
		return ""
	}
	if res.Committee.Round != v.committee.Round || res.Committee.DrawnHeight != v.committee.DrawnHeight {
		return "a new draw replaced this one"
	}
	s.mu.Lock()
	commitBlocks := s.commitBlocks
	s.mu.Unlock()
	return settledForMember(s.viewOf(res), s.pace.latest(), commitBlocks)
}

// judge is the verdict, the digest of z = A·(B·r) for this member's challenge r, and, in an
// escalation round, the first-round members whose revealed digests are wrong (bit i: prior[i]).
//   - an input-unavailable report: INPUT_UNAVAILABLE if the inputs cannot be fetched, else VALID
//     (the report was false);
//   - a result: UNAVAILABLE when it (or the inputs) cannot be fetched with its size and hash,
//     INVALID when it fails the check, VALID when it passes.
//
// Inputs and result are streamed: B's rows, then A's, then the result's go through the check
// a band at a time, for this member's challenge and every first-round member's at once, so a
// task of the largest shape is verified in a few MiB (see gemm.Freivalds).
func (s *Sidecar) judge(ctx context.Context, t computetypes.Task, c committeetypes.Committee, member []byte) (committeetypes.AttestedVerdict, []byte, uint64) {
	if s.cfg.LazyVerifier {
		junk := make([]byte, 32)
		_, _ = rand.Read(junk)
		return committeetypes.ATTESTED_VALID, junk, 0
	}
	switch t.Workload.Params.(type) {
	case *computetypes.Workload_InferMlpInt8:
		return s.judgeSeeded(ctx, t, c, member, s.judgeInfer)
	case *computetypes.Workload_TrainMlpInt8:
		return s.judgeSeeded(ctx, t, c, member, s.judgeTrain)
	}
	shape, err := gemmShape(t)
	if err != nil {
		return committeetypes.ATTESTED_UNAVAILABLE, nil, 0
	}
	seeds, priors := challengeSeeds(c, member)
	xs := make([][]uint64, len(seeds))
	for i, seed := range seeds {
		xs[i] = gemm.Challenge(seed, shape.N)
	}
	f, err := gemm.NewFreivalds(shape, xs...)
	if err != nil {
		return committeetypes.ATTESTED_UNAVAILABLE, nil, 0
	}
	err = s.streamInputs(ctx, t, shape, f, s.signer)
	switch {
	case errors.Is(err, errInputUnavailable) && t.InputUnavailable && c.Round == 1:
		return committeetypes.ATTESTED_INPUT_UNAVAILABLE, nil, 0
	case err != nil:
		// without the inputs nothing can be said about the result
		return committeetypes.ATTESTED_UNAVAILABLE, nil, 0
	}
	d, _ := f.Digest(0)
	if t.InputUnavailable && c.Round == 1 {
		return committeetypes.ATTESTED_VALID, d[:], 0
	}
	var wrong uint64
	for i, j := range priors {
		if want, _ := f.Digest(j); !bytes.Equal(want[:], c.Prior[i].Digest) {
			wrong |= 1 << uint(i)
		}
	}
	err = s.streamBlob(ctx, t.Result, t.Id, s.signer, uint64(shape.ResultSize()), func(r io.Reader) error { return f.Check(r, 0) })
	switch {
	case errors.Is(err, errBlobUnavailable):
		return committeetypes.ATTESTED_UNAVAILABLE, d[:], wrong
	case err != nil:
		return committeetypes.ATTESTED_INVALID, d[:], wrong
	}
	return committeetypes.ATTESTED_VALID, d[:], wrong
}

// seededCheck checks a task for each seed (this member's first, then the first-round members'
// in an escalation round): the digest for each, and an error for this member's check, wrapping
// errInputUnavailable or errBlobUnavailable when the inputs or the result cannot be had. With
// inputsOnly it only fetches the inputs (a report that they are unavailable).
type seededCheck func(ctx context.Context, t computetypes.Task, seeds [][32]byte, inputsOnly bool) ([][32]byte, error)

// judgeSeeded is judge for the workloads whose check takes seeds (infer-mlp-int8, train-mlp-int8):
// the same verdicts as for gemm, with each member's digest from its own challenge seed.
func (s *Sidecar) judgeSeeded(ctx context.Context, t computetypes.Task, c committeetypes.Committee, member []byte, check seededCheck) (committeetypes.AttestedVerdict, []byte, uint64) {
	seeds, priors := challengeSeeds(c, member)
	reported := t.InputUnavailable && c.Round == 1
	digests, err := check(ctx, t, seeds, reported)
	switch {
	case errors.Is(err, errInputUnavailable) && reported:
		return committeetypes.ATTESTED_INPUT_UNAVAILABLE, nil, 0
	case errors.Is(err, errInputUnavailable):
		return committeetypes.ATTESTED_UNAVAILABLE, nil, 0
	case reported && err == nil:
		return committeetypes.ATTESTED_VALID, digests[0][:], 0
	}
	var d []byte
	var wrong uint64
	if len(digests) == len(seeds) {
		d = digests[0][:]
		for i, j := range priors {
			if !bytes.Equal(digests[j][:], c.Prior[i].Digest) {
				wrong |= 1 << uint(i)
			}
		}
	}
	switch {
	case errors.Is(err, errBlobUnavailable):
		return committeetypes.ATTESTED_UNAVAILABLE, d, wrong
	case err != nil:
		return committeetypes.ATTESTED_INVALID, d, wrong
	}
	return committeetypes.ATTESTED_VALID, d, wrong
}

// challengeSeeds are the challenge seeds a member checks a round with: its own first, then, in
// an escalation round, each first-round member's that revealed a digest; priors maps a
// first-round member's index to its seed's.
func challengeSeeds(c committeetypes.Committee, member []byte) (seeds [][32]byte, priors map[int]int) {
	seeds = [][32]byte{committeetypes.ChallengeSeed(c.Seed, member)}
	priors = map[int]int{}
	for i, m := range c.Prior {
		if i >= 64 || len(m.Digest) == 0 {
			continue
		}
		prior, err := sdk.ValAddressFromBech32(m.Validator)
		if err != nil {
			continue
		}
		priors[i] = len(seeds)
		seeds = append(seeds, committeetypes.ChallengeSeed(c.PriorSeed, prior))
	}
	return seeds, priors
}
