package sidecar

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/log/v2"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/gpu/gemm"
	committeetypes "github.com/opengpu/ogpu/x/committee/types"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// testSidecar is a verifier over a fake chain whose fetches may reach 127.0.0.1, where httptest
// serves.
func testSidecar(cfg Config) *Sidecar {
	cfg.AllowPrivateFetch = true
	s := newSidecar(cfg, log.NewNopLogger(), newFakeChain(), nil, gemm.CPU{})
	s.valoper = sdk.ValAddress("member-validator----").String()
	s.commitBlocks = 5
	return s
}

// servedTask is a seeded gemm task whose result (right, or with one element off) is served.
func servedTask(t *testing.T, corrupt bool) computetypes.Task {
	s := gemm.Shape{M: 12, N: 10, K: 14}
	task := computetypes.Task{
		Id: 9,
		Workload: computetypes.Workload{Name: "gemm-int8/v1", Params: &computetypes.Workload_GemmInt8{
			GemmInt8: &computetypes.GemmInt8Params{M: uint32(s.M), N: uint32(s.N), K: uint32(s.K), SeedA: 3, SeedB: 4},
		}},
		InputNonce: []byte("assignment randomness"),
	}
	a, b := seededInputs(task)
	c := make([]int32, s.M*s.N)
	require.NoError(t, gemm.CPU{}.GemmInt8(s, a, b, c))
	if corrupt {
		c[7]++
	}
	body := gemm.Encode(s, c)
	sum := sha256.Sum256(body)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }))
	t.Cleanup(srv.Close)
	task.Result = computetypes.Blob{Uri: srv.URL + "/v1/blobs/x", Sha256: hex.EncodeToString(sum[:]), Size_: uint64(len(body))}
	return task
}

// seededInputs are a seeded gemm task's A and B, generated from its seeds mixed with its nonce.
func seededInputs(t computetypes.Task) ([]int8, []int8) {
	g := t.Workload.GetGemmInt8()
	seedA, seedB, _ := t.GemmInputSeeds()
	return gemm.Generate(seedA, int(g.M), int(g.K)), gemm.Generate(seedB, int(g.K), int(g.N))
}

// TestCheckCommitsToItsOwnDigest: the verdict, the digest of this member's own challenge, and
// a commitment the chain's rule opens.
func TestCheckCommitsToItsOwnDigest(t *testing.T) {
	s := testSidecar(Config{})
	member, err := sdk.ValAddressFromBech32(s.valoper)
	require.NoError(t, err)
	c := committeetypes.Committee{TaskId: 9, Round: 1, Seed: []byte("draw seed")}
	for _, tc := range []struct {
		corrupt bool
		want    committeetypes.AttestedVerdict
	}{{false, committeetypes.ATTESTED_VALID}, {true, committeetypes.ATTESTED_INVALID}} {
		task := servedTask(t, tc.corrupt)
		ch := s.check(context.Background(), task, c)
		require.Equal(t, tc.want, ch.verdict)
		g := task.Workload.GetGemmInt8()
		shape := gemm.Shape{M: int(g.M), N: int(g.N), K: int(g.K)}
		a, b := seededInputs(task)
		want := gemm.Digest(shape, a, b, gemm.Challenge(committeetypes.ChallengeSeed(c.Seed, member), shape.N))
		require.Equal(t, want[:], ch.digest)
		sha, _ := hex.DecodeString(task.Result.Sha256)
		require.Equal(t, committeetypes.Commitment(9, 1, sha, ch.verdict, ch.digest, 0, ch.salt, member), ch.commitment)
	}

	// an unreachable result is UNAVAILABLE, not INVALID
	task := servedTask(t, false)
	task.Result.Uri = "http://127.0.0.1:1/v1/blobs/x"
	require.Equal(t, committeetypes.ATTESTED_UNAVAILABLE, s.check(context.Background(), task, c).verdict)

	// a lazy verifier says VALID with a digest that is not its challenge's
	lazy := testSidecar(Config{LazyVerifier: true})
	ch := lazy.check(context.Background(), servedTask(t, true), c)
	require.Equal(t, committeetypes.ATTESTED_VALID, ch.verdict)
	honest := s.check(context.Background(), servedTask(t, true), c)
	require.NotEqual(t, honest.digest, ch.digest)
}

// TestEscalationFlagsWrongDigests: an escalation member recomputes each first-round member's
// digest from the first round's seed and flags the ones that do not match.
func TestEscalationFlagsWrongDigests(t *testing.T) {
	s := testSidecar(Config{})
	task := servedTask(t, false)
	g := task.Workload.GetGemmInt8()
	shape := gemm.Shape{M: int(g.M), N: int(g.N), K: int(g.K)}
	a, b := seededInputs(task)
	first := []byte("first seed")
	honest, lazy := sdk.ValAddress("honest-validator----"), sdk.ValAddress("lazy-validator------")
	d := gemm.Digest(shape, a, b, gemm.Challenge(committeetypes.ChallengeSeed(first, honest), shape.N))
	c := committeetypes.Committee{TaskId: 9, Round: 2, Seed: []byte("second seed"), PriorSeed: first, Prior: []committeetypes.Member{
		{Validator: honest.String(), Verdict: committeetypes.ATTESTED_VALID, Digest: d[:]},
		{Validator: lazy.String(), Verdict: committeetypes.ATTESTED_VALID, Digest: make([]byte, 32)},
		{Validator: lazy.String()}, // did not reveal: nothing to check
	}}
	ch := s.check(context.Background(), task, c)
	require.Equal(t, committeetypes.ATTESTED_VALID, ch.verdict)
	require.Equal(t, uint64(1<<1), ch.wrong)
}

// TestAttestationsCommitThenReveal: the commitment while commitments are open and none is on
// chain; the reveal only once reveals open and the commitment is recorded; nothing after.
func TestAttestationsCommitThenReveal(t *testing.T) {
	s := testSidecar(Config{})
	s.checks[9] = check{round: 1, drawn: 100, verdict: committeetypes.ATTESTED_VALID, digest: make([]byte, 32), salt: make([]byte, 16), commitment: []byte("c")}
	s.rounds[9] = roundView{round: 1, drawn: 100}
	got := s.Attestations(101)
	require.Len(t, got, 1)
	require.True(t, got[0].IsCommit())

	s.rounds[9] = roundView{round: 1, drawn: 100, committed: true}
	require.Empty(t, s.Attestations(101), "committed, reveals not open: nothing (no early reveal)")
	s.rounds[9] = roundView{round: 1, drawn: 100, committed: true, reveal: 103}
	require.Empty(t, s.Attestations(101))
	got = s.Attestations(102) // recorded at 103
	require.Len(t, got, 1)
	require.False(t, got[0].IsCommit())
	require.Equal(t, committeetypes.ATTESTED_VALID, got[0].Verdict)

	s.rounds[9] = roundView{round: 1, drawn: 100}
	require.Empty(t, s.Attestations(105), "commitments closed after commit_blocks without ours: nothing to reveal")
	s.rounds[9] = roundView{round: 1, drawn: 100, committed: true, reveal: 103, revealed: true}
	require.Empty(t, s.Attestations(110), "revealed: done")
	s.rounds[9] = roundView{round: 2, drawn: 120}
	require.Empty(t, s.Attestations(121), "a check of round 1 is not sent for round 2")
	s.rounds[9] = roundView{round: 1, drawn: 130}
	require.Empty(t, s.Attestations(131), "nor for a new draw of round 1 after a reassignment")
}
