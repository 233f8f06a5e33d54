package sidecar

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"

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
	committed, revealed bool
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

// judge is the verdict, the digest of z = A·(B·r) for this member's challenge r, and, in an
// escalation round, the first-round members whose revealed digests are wrong (bit i: prior[i]).
//   - an input-unavailable report: INPUT_UNAVAILABLE if the inputs cannot be fetched, else VALID
//     (the report was false);
//   - a result: UNAVAILABLE when it (or the inputs) cannot be fetched with its size and hash,
//     INVALID when it fails the check, VALID when it passes.
func (s *Sidecar) judge(ctx context.Context, t computetypes.Task, c committeetypes.Committee, member []byte) (committeetypes.AttestedVerdict, []byte, uint64) {
	if s.cfg.LazyVerifier {
		junk := make([]byte, 32)
		_, _ = rand.Read(junk)
		return committeetypes.ATTESTED_VALID, junk, 0
	}
	shape, a, b, err := matrices(ctx, t, nil, s.signer)
	switch {
	case errors.Is(err, errInputUnavailable) && t.InputUnavailable && c.Round == 1:
		return committeetypes.ATTESTED_INPUT_UNAVAILABLE, nil, 0
	case err != nil:
		// without the inputs nothing can be said about the result
		return committeetypes.ATTESTED_UNAVAILABLE, nil, 0
	}
	seed := committeetypes.ChallengeSeed(c.Seed, member)
	x := gemm.Challenge(seed, shape.N)
	if t.InputUnavailable && c.Round == 1 {
		d := gemm.Digest(shape, a, b, x)
		return committeetypes.ATTESTED_VALID, d[:], 0
	}
	var wrong uint64
	for i, m := range c.Prior {
		if i >= 64 || len(m.Digest) == 0 {
			continue
		}
		prior, err := sdk.ValAddressFromBech32(m.Validator)
		if err != nil {
			continue
		}
		want := gemm.Digest(shape, a, b, gemm.Challenge(committeetypes.ChallengeSeed(c.PriorSeed, prior), shape.N))
		if !bytes.Equal(want[:], m.Digest) {
			wrong |= 1 << uint(i)
		}
	}
	body, err := fetch(ctx, t.Result, t.Id, s.signer)
	if err != nil {
		d := gemm.Digest(shape, a, b, x)
		return committeetypes.ATTESTED_UNAVAILABLE, d[:], wrong
	}
	d, err := gemm.Check(bytes.NewReader(body), shape, a, b, x)
	if err != nil {
		return committeetypes.ATTESTED_INVALID, d[:], wrong
	}
	return committeetypes.ATTESTED_VALID, d[:], wrong
}
