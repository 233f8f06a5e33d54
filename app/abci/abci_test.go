package abci_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtsecp256k1 "github.com/cometbft/cometbft/crypto/secp256k1"
	"github.com/cometbft/cometbft/libs/protoio"
	cmtprotocrypto "github.com/cometbft/cometbft/proto/tendermint/crypto"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"cosmossdk.io/core/header"
	"cosmossdk.io/log/v2"
	"github.com/cosmos/cosmos-sdk/baseapp"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	"github.com/cosmos/cosmos-sdk/testutil"
	sdk "github.com/cosmos/cosmos-sdk/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	ogpuabci "github.com/opengpu/ogpu/app/abci"
	committeetypes "github.com/opengpu/ogpu/x/committee/types"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

const chainID = "ogpu-test-1"

type validator struct {
	priv  cmtsecp256k1.PrivKey
	addr  sdk.ConsAddress
	pk    cmtprotocrypto.PublicKey
	power int64
}

// network is four validators with 40, 30, 20 and 10 of the power, and their key store.
type network struct {
	vals []validator
	t    *testing.T
}

func newNetwork(t *testing.T) *network {
	n := &network{t: t}
	for _, p := range []int64{40, 30, 20, 10} {
		priv := cmtsecp256k1.GenPrivKey()
		n.vals = append(n.vals, validator{
			priv: priv, addr: sdk.ConsAddress(priv.PubKey().Address()), power: p,
			pk: cmtprotocrypto.PublicKey{Sum: &cmtprotocrypto.PublicKey_Secp256K1{Secp256K1: priv.PubKey().Bytes()}},
		})
	}
	// CometBFT orders votes by power, then address
	sort.SliceStable(n.vals, func(i, j int) bool {
		if n.vals[i].power != n.vals[j].power {
			return n.vals[i].power > n.vals[j].power
		}
		return bytes.Compare(n.vals[i].addr, n.vals[j].addr) < 0
	})
	return n
}

// GetPubKeyByConsAddr implements baseapp.ValidatorStore.
func (n *network) GetPubKeyByConsAddr(_ context.Context, addr sdk.ConsAddress) (cmtprotocrypto.PublicKey, error) {
	for _, v := range n.vals {
		if v.addr.Equals(addr) {
			return v.pk, nil
		}
	}
	return cmtprotocrypto.PublicKey{}, errors.New("not a validator")
}

// GetValidatorByConsAddr gives validator i the operator address "operator-i".
func (n *network) GetValidatorByConsAddr(_ context.Context, addr sdk.ConsAddress) (stakingtypes.Validator, error) {
	for i, v := range n.vals {
		if v.addr.Equals(addr) {
			return stakingtypes.Validator{OperatorAddress: fmt.Sprintf("operator-%d", i)}, nil
		}
	}
	return stakingtypes.Validator{}, stakingtypes.ErrNoValidatorFound
}

// sign signs ext as validator v's extension for the vote at height.
func (n *network) sign(v validator, ext []byte, height int64) []byte {
	var buf bytes.Buffer
	_, err := protoio.NewDelimitedWriter(&buf).WriteMsg(&cmtproto.CanonicalVoteExtension{
		Extension: ext, Height: height, Round: 0, ChainId: chainID,
	})
	require.NoError(n.t, err)
	sig, err := v.priv.Sign(buf.Bytes())
	require.NoError(n.t, err)
	return sig
}

// commit is the extended commit of the votes for height, every validator voting with exts[i]
// (nil: absent).
func (n *network) commit(height int64, exts [][]byte) abci.ExtendedCommitInfo {
	eci := abci.ExtendedCommitInfo{}
	for i, v := range n.vals {
		vote := abci.ExtendedVoteInfo{Validator: abci.Validator{Address: v.addr, Power: v.power}, BlockIdFlag: cmtproto.BlockIDFlagAbsent}
		if exts[i] != nil {
			vote.BlockIdFlag = cmtproto.BlockIDFlagCommit
			vote.VoteExtension = exts[i]
			vote.ExtensionSignature = n.sign(v, exts[i], height)
		}
		eci.Votes = append(eci.Votes, vote)
	}
	return eci
}

// ctx is the context of the block at height whose last commit is eci, as CometBFT gives it.
func (n *network) ctx(height int64, eci abci.ExtendedCommitInfo) sdk.Context {
	last := abci.CommitInfo{Round: eci.Round}
	for _, v := range eci.Votes {
		last.Votes = append(last.Votes, abci.VoteInfo{Validator: v.Validator, BlockIdFlag: v.BlockIdFlag})
	}
	return sdk.Context{}.
		WithConsensusParams(cmtproto.ConsensusParams{
			Abci:  &cmtproto.ABCIParams{VoteExtensionsEnableHeight: 2},
			Block: &cmtproto.BlockParams{MaxBytes: 1 << 20},
		}).
		WithBlockHeader(cmtproto.Header{ChainID: chainID, Height: height}).
		WithHeaderInfo(header.Info{ChainID: chainID, Height: height}).
		WithCometInfo(baseapp.NewBlockInfo(nil, nil, nil, last)).
		WithLogger(log.NewNopLogger()).
		WithEventManager(sdk.NewEventManager())
}

func limits(sdk.Context) (int, int) { return 4, 512 }

// attestation is a reveal of verdict v on task.
func attestation(task uint64, v committeetypes.AttestedVerdict) committeetypes.Attestation {
	digest := bytes.Repeat([]byte{byte(task)}, 32)
	return committeetypes.Attestation{TaskId: task, Verdict: v, Digest: digest, Salt: digest[:committeetypes.SaltSize]}
}

// commitment is a commit on task.
func commitment(task uint64) committeetypes.Attestation {
	return committeetypes.Attestation{TaskId: task, Commitment: bytes.Repeat([]byte{byte(task)}, 32)}
}

// rawExtension encodes atts as a peer might, without the checks EncodeExtension applies.
func rawExtension(t *testing.T, atts ...committeetypes.Attestation) []byte {
	bz, err := (&committeetypes.VoteExtension{Attestations: atts}).Marshal()
	require.NoError(t, err)
	return bz
}

func extension(t *testing.T, atts ...committeetypes.Attestation) []byte {
	bz, err := ogpuabci.EncodeExtension(atts, 100, 1<<20)
	require.NoError(t, err)
	return bz
}

// fakeAttestor answers with atts and probes, an error, a delay or a panic.
type fakeAttestor struct {
	atts   []committeetypes.Attestation
	probes []computetypes.ProbeReport
	err    error
	delay  time.Duration
	panic  bool
}

func (a fakeAttestor) Attestations(ctx context.Context, _ int64) (committeetypes.VoteExtension, error) {
	if a.panic {
		panic("sidecar bug")
	}
	if a.delay > 0 {
		select {
		case <-time.After(a.delay):
		case <-ctx.Done():
			return committeetypes.VoteExtension{}, ctx.Err()
		}
	}
	return committeetypes.VoteExtension{Attestations: a.atts, Probes: a.probes}, a.err
}

func TestExtendVote(t *testing.T) {
	atts := []committeetypes.Attestation{attestation(1, committeetypes.ATTESTED_VALID), attestation(2, committeetypes.ATTESTED_INVALID)}
	many := make([]committeetypes.Attestation, 10)
	for i := range many {
		many[i] = attestation(uint64(i+1), committeetypes.ATTESTED_VALID)
	}
	// a faulty sidecar: an unknown verdict, a short digest and a commit that carries a verdict
	// among good ones
	badVerdict, shortHash, loudCommit := attestation(3, committeetypes.ATTESTED_VALID), attestation(4, committeetypes.ATTESTED_VALID), commitment(5)
	badVerdict.Verdict = 99
	shortHash.Digest = shortHash.Digest[:5]
	loudCommit.Verdict = committeetypes.ATTESTED_VALID
	mixed := []committeetypes.Attestation{atts[0], badVerdict, shortHash, loudCommit, atts[1]}
	tests := []struct {
		name     string
		attestor ogpuabci.Attestor
		want     int // attestations in the extension
	}{
		{"attestations", fakeAttestor{atts: atts}, 2},
		{"capped at max_attestations_per_vote", fakeAttestor{atts: many}, 4},
		{"what peers would refuse is left out", fakeAttestor{atts: mixed}, 2},
		{"no sidecar", nil, 0},
		{"sidecar error", fakeAttestor{err: errors.New("connection refused")}, 0},
		{"sidecar too slow", fakeAttestor{atts: atts, delay: 2 * time.Second}, 0},
		{"sidecar panics", fakeAttestor{panic: true}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := ogpuabci.NewVoteExtensionHandler(tc.attestor, limits, log.NewNopLogger())
			start := time.Now()
			res, err := h.ExtendVote()(sdk.Context{}.WithContext(context.Background()), &abci.RequestExtendVote{Height: 5})
			require.NoError(t, err)
			require.Less(t, time.Since(start), time.Second, "never waits past the timeout")
			ve, err := ogpuabci.DecodeExtension(res.VoteExtension, 4, 512)
			require.NoError(t, err)
			require.Len(t, ve.Attestations, tc.want)
		})
	}
	// the byte cap holds too: 4 reveals of ~60 bytes do not fit in 100 bytes
	h := ogpuabci.NewVoteExtensionHandler(fakeAttestor{atts: many}, func(sdk.Context) (int, int) { return 100, 100 }, log.NewNopLogger())
	res, err := h.ExtendVote()(sdk.Context{}.WithContext(context.Background()), &abci.RequestExtendVote{Height: 5})
	require.NoError(t, err)
	require.LessOrEqual(t, len(res.VoteExtension), 100)
	require.NotEmpty(t, res.VoteExtension)
}

func TestVerifyVoteExtension(t *testing.T) {
	h := ogpuabci.NewVoteExtensionHandler(nil, limits, log.NewNopLogger())
	bigSha := attestation(1, committeetypes.ATTESTED_VALID)
	bigSha.Digest = make([]byte, 33)
	noSalt := attestation(1, committeetypes.ATTESTED_VALID)
	noSalt.Salt = nil
	shortCommit := commitment(1)
	shortCommit.Commitment = shortCommit.Commitment[:31]
	commitWithDigest := commitment(1)
	commitWithDigest.Digest = make([]byte, 32)
	tests := []struct {
		name   string
		ext    []byte
		accept bool
	}{
		{"empty", nil, true},
		{"valid", extension(t, attestation(1, committeetypes.ATTESTED_VALID)), true},
		{"input unavailable without digest", extension(t, committeetypes.Attestation{TaskId: 1, Verdict: committeetypes.ATTESTED_INPUT_UNAVAILABLE, Salt: make([]byte, committeetypes.SaltSize)}), true},
		{"commit", extension(t, commitment(1), attestation(2, committeetypes.ATTESTED_INVALID)), true},
		{"reveal without salt", rawExtension(t, noSalt), false},
		{"commitment of 31 bytes", rawExtension(t, shortCommit), false},
		{"commit carrying a digest", rawExtension(t, commitWithDigest), false},
		{"too large", bytes.Repeat([]byte{0x0a, 0x00}, 300), false},
		{"undecodable", []byte{0xff, 0xff, 0xff}, false},
		{"too many attestations", extension(t, attestation(1, 1), attestation(2, 1), attestation(3, 1), attestation(4, 1), attestation(5, 1)), false},
		{"unknown verdict", rawExtension(t, attestation(1, 9)), false},
		{"digest of the wrong size", rawExtension(t, bigSha), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := h.VerifyVoteExtension()(sdk.Context{}, &abci.RequestVerifyVoteExtension{Height: 5, VoteExtension: tc.ext})
			require.NoError(t, err)
			want := abci.ResponseVerifyVoteExtension_REJECT
			if tc.accept {
				want = abci.ResponseVerifyVoteExtension_ACCEPT
			}
			require.Equal(t, want, res.Status)
		})
	}
}

// innerPrepare stands in for the mempool's proposal builder.
func innerPrepare(seen *int64) sdk.PrepareProposalHandler {
	return func(_ sdk.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
		*seen = req.MaxTxBytes
		return &abci.ResponsePrepareProposal{Txs: [][]byte{[]byte("tx-1"), []byte("tx-2")}}, nil
	}
}

func acceptAll(sdk.Context, *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
}

func TestPrepareProposal(t *testing.T) {
	n := newNetwork(t)
	ext := extension(t, attestation(1, committeetypes.ATTESTED_VALID))
	eci := n.commit(2, [][]byte{ext, ext, ext, {}})
	var seen int64
	h := ogpuabci.NewProposalHandler(innerPrepare(&seen), acceptAll, n, limits, log.NewNopLogger())

	res, err := h.PrepareProposal()(n.ctx(3, eci), &abci.RequestPrepareProposal{Height: 3, MaxTxBytes: 10_000, LocalLastCommit: eci})
	require.NoError(t, err)
	require.Len(t, res.Txs, 3)
	injected, err := ogpuabci.DecodeInjected(res.Txs[0], 1<<20)
	require.NoError(t, err)
	want, err := eci.Marshal()
	require.NoError(t, err)
	got, err := injected.Marshal()
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.Equal(t, 10_000-protoSize(res.Txs[:1]), seen, "the injected tx's encoded size is reserved")
	require.Equal(t, []byte("tx-1"), res.Txs[1])

	// before extensions are enabled nothing is injected
	res, err = h.PrepareProposal()(n.ctx(2, abci.ExtendedCommitInfo{}), &abci.RequestPrepareProposal{Height: 2, MaxTxBytes: 10_000})
	require.NoError(t, err)
	require.Len(t, res.Txs, 2)

	// an altered extension in the local commit is refused rather than proposed
	bad := n.commit(2, [][]byte{ext, ext, ext, ext})
	bad.Votes[1].VoteExtension = extension(t, attestation(1, committeetypes.ATTESTED_INVALID))
	_, err = h.PrepareProposal()(n.ctx(3, bad), &abci.RequestPrepareProposal{Height: 3, MaxTxBytes: 10_000, LocalLastCommit: bad})
	require.ErrorContains(t, err, "signature")

	// no room for the commit info
	_, err = h.PrepareProposal()(n.ctx(3, eci), &abci.RequestPrepareProposal{Height: 3, MaxTxBytes: 10, LocalLastCommit: eci})
	require.ErrorContains(t, err, "does not fit")
}

// protoSize is the size of txs in a block's data, as CometBFT counts it against MaxTxBytes.
func protoSize(txs [][]byte) int64 {
	ctxs := make([]cmttypes.Tx, len(txs))
	for i, tx := range txs {
		ctxs[i] = tx
	}
	return cmttypes.ComputeProtoSizeForTxs(ctxs)
}

// poolPrepare stands in for the mempool's proposal builder: it offers pool, in order, to the
// SDK's default tx selector, which counts each tx's encoded size against MaxTxBytes.
func poolPrepare(pool [][]byte) sdk.PrepareProposalHandler {
	return func(ctx sdk.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
		sel := baseapp.NewDefaultTxSelector()
		for _, tx := range pool {
			if sel.SelectTxForProposal(ctx, uint64(req.MaxTxBytes), 0, nil, tx) {
				break
			}
		}
		return &abci.ResponsePrepareProposal{Txs: sel.SelectedTxs(ctx)}, nil
	}
}

// fill is txs whose encoded sizes add up to exactly budget (at least 2) bytes: each costs its
// length plus 2 (a tag and a one-byte length), so all are at most 127 bytes long.
func fill(budget int64) [][]byte {
	var txs [][]byte
	for budget > 0 {
		size := budget // the last one takes what is left
		if budget > 129 {
			size = 102 // and leaves at least 28 for it
		}
		txs = append(txs, bytes.Repeat([]byte{byte(len(txs) + 1)}, int(size-2)))
		budget -= size
	}
	return txs
}

func TestPrepareProposalFillsMaxTxBytes(t *testing.T) {
	n := newNetwork(t)
	ext := extension(t, attestation(1, committeetypes.ATTESTED_VALID), commitment(2))
	eci := n.commit(2, [][]byte{ext, ext, ext, ext})
	injected, err := ogpuabci.EncodeInjected(eci)
	require.NoError(t, err)
	reserved := protoSize([][]byte{injected})
	require.Greater(t, reserved, int64(len(injected)), "the encoding adds a tag and a length")
	const maxTxBytes = 8_000
	tests := []struct {
		name string
		pool [][]byte
		all  bool // every tx of the pool fits
	}{
		// the pool fills exactly what is left after the injected tx: all of it goes in and the
		// block's data is exactly MaxTxBytes
		{"pool fills the rest exactly", fill(maxTxBytes - reserved), true},
		// the pool fills what would be left if only the injected tx's raw length were reserved:
		// its last tx must stay out
		{"pool counted against the raw length", fill(maxTxBytes - int64(len(injected))), false},
		{"pool larger than the block", fill(2 * maxTxBytes), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := ogpuabci.NewProposalHandler(poolPrepare(tc.pool), acceptAll, n, limits, log.NewNopLogger())
			res, err := h.PrepareProposal()(n.ctx(3, eci), &abci.RequestPrepareProposal{Height: 3, MaxTxBytes: maxTxBytes, LocalLastCommit: eci})
			require.NoError(t, err)
			require.Equal(t, injected, res.Txs[0])
			require.LessOrEqual(t, protoSize(res.Txs), int64(maxTxBytes), "the block's txs fit in MaxTxBytes as CometBFT counts them")
			if tc.all {
				require.Len(t, res.Txs, len(tc.pool)+1)
				require.Equal(t, int64(maxTxBytes), protoSize(res.Txs))
			} else {
				require.Less(t, len(res.Txs), len(tc.pool)+1)
			}
		})
	}

	// the injected tx alone: it fits only if its encoded size does
	for _, maxTxBytes := range []int64{reserved - 1, reserved} {
		h := ogpuabci.NewProposalHandler(poolPrepare(nil), acceptAll, n, limits, log.NewNopLogger())
		res, err := h.PrepareProposal()(n.ctx(3, eci), &abci.RequestPrepareProposal{Height: 3, MaxTxBytes: maxTxBytes, LocalLastCommit: eci})
		if maxTxBytes < reserved {
			require.ErrorContains(t, err, "does not fit")
			continue
		}
		require.NoError(t, err)
		require.Equal(t, [][]byte{injected}, res.Txs)
	}
}

// TestProcessProposalExtensionCaps is a proposer that injects extensions VerifyVoteExtension
// would have refused, each signed by the validator it names (its own, or one colluding).
func TestProcessProposalExtensionCaps(t *testing.T) {
	n := newNetwork(t)
	ok := extension(t, attestation(1, committeetypes.ATTESTED_VALID))
	four := rawExtension(t, attestation(1, 1), attestation(2, 1), attestation(3, 1), attestation(4, 1))
	five := rawExtension(t, attestation(1, 1), attestation(2, 1), attestation(3, 1), attestation(4, 1), attestation(5, 1))
	noSalt := attestation(1, committeetypes.ATTESTED_VALID)
	noSalt.Salt = nil
	tight := func(sdk.Context) (int, int) { return 100, 200 }
	tests := []struct {
		name   string
		limits ogpuabci.Limits
		eci    func() abci.ExtendedCommitInfo
		accept bool
	}{
		{"within the caps", limits, func() abci.ExtendedCommitInfo { return n.commit(2, [][]byte{ok, four, {}, ok}) }, true},
		{"too many attestations", limits, func() abci.ExtendedCommitInfo { return n.commit(2, [][]byte{ok, five, ok, ok}) }, false},
		{"too many bytes", tight, func() abci.ExtendedCommitInfo {
			require.Greater(t, len(four), 200)
			return n.commit(2, [][]byte{ok, ok, four, ok})
		}, false},
		{"far too many bytes", limits, func() abci.ExtendedCommitInfo {
			return n.commit(2, [][]byte{ok, ok, ok, bytes.Repeat([]byte{0x0a, 0x00}, 100_000)})
		}, false},
		{"malformed attestation", limits, func() abci.ExtendedCommitInfo { return n.commit(2, [][]byte{ok, rawExtension(t, noSalt), ok, ok}) }, false},
		{"two probe reports on a replica", limits, func() abci.ExtendedCommitInfo {
			return n.commit(2, [][]byte{ok, rawProbes(probe(1, "a", 3, true), probe(1, "a", 3, false)), ok, ok})
		}, false},
		{"probe reports", limits, func() abci.ExtendedCommitInfo {
			return n.commit(2, [][]byte{ok, rawProbes(probe(1, "a", 3, true), probe(1, "b", 3, false)), ok, ok})
		}, true},
		{"undecodable extension", limits, func() abci.ExtendedCommitInfo { return n.commit(2, [][]byte{[]byte{0xff, 0xff, 0xff}, ok, ok, ok}) }, false},
		{"absent vote carrying an extension", limits, func() abci.ExtendedCommitInfo {
			eci := n.commit(2, [][]byte{ok, ok, ok, nil})
			eci.Votes[3].VoteExtension = ok // unsigned: ValidateVoteExtensions skips votes that are not commits
			return eci
		}, false},
		{"absent vote carrying a signature", limits, func() abci.ExtendedCommitInfo {
			eci := n.commit(2, [][]byte{ok, ok, ok, nil})
			eci.Votes[3].ExtensionSignature = bytes.Repeat([]byte{1}, 64)
			return eci
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eci := tc.eci()
			injected, err := ogpuabci.EncodeInjected(eci)
			require.NoError(t, err)
			h := ogpuabci.NewProposalHandler(nil, acceptAll, n, tc.limits, log.NewNopLogger())
			res, err := h.ProcessProposal()(n.ctx(3, eci), &abci.RequestProcessProposal{Height: 3, Txs: [][]byte{injected, []byte("tx")}})
			require.NoError(t, err)
			want := abci.ResponseProcessProposal_REJECT
			if tc.accept {
				want = abci.ResponseProcessProposal_ACCEPT
			}
			require.Equal(t, want, res.Status)
		})
	}
}

func TestProcessProposal(t *testing.T) {
	n := newNetwork(t)
	ext := extension(t, attestation(1, committeetypes.ATTESTED_VALID))
	good := n.commit(2, [][]byte{ext, ext, ext, ext})
	h := ogpuabci.NewProposalHandler(nil, acceptAll, n, limits, log.NewNopLogger())
	inject := func(eci abci.ExtendedCommitInfo) []byte {
		bz, err := ogpuabci.EncodeInjected(eci)
		require.NoError(t, err)
		return bz
	}
	// the commit CometBFT saw is `good`; each case proposes something against it
	tests := []struct {
		name   string
		height int64
		txs    func() [][]byte
		accept bool
	}{
		{"happy path", 3, func() [][]byte { return [][]byte{inject(good), []byte("tx")} }, true},
		{"a committed vote marked absent", 3, func() [][]byte {
			eci := n.commit(2, [][]byte{ext, ext, ext, nil})
			return [][]byte{inject(eci)}
		}, false}, // the last commit had all four: hiding one would drop its attestations
		{"missing injected tx", 3, func() [][]byte { return [][]byte{[]byte("tx")} }, false},
		{"no txs at all", 3, func() [][]byte { return nil }, false},
		{"undecodable injected tx", 3, func() [][]byte { return [][]byte{append(inject(good)[:40], 0xff, 0xff)} }, false},
		{"altered extension", 3, func() [][]byte {
			eci := n.commit(2, [][]byte{ext, ext, ext, ext})
			eci.Votes[2].VoteExtension = extension(t, attestation(1, committeetypes.ATTESTED_INVALID))
			return [][]byte{inject(eci)}
		}, false},
		{"extension from a non-validator", 3, func() [][]byte {
			eci := n.commit(2, [][]byte{ext, ext, ext, ext})
			stranger := cmtsecp256k1.GenPrivKey()
			eci.Votes[3].Validator.Address = stranger.PubKey().Address()
			return [][]byte{inject(eci)}
		}, false},
		{"reordered votes", 3, func() [][]byte {
			eci := n.commit(2, [][]byte{ext, ext, ext, ext})
			eci.Votes[0], eci.Votes[1] = eci.Votes[1], eci.Votes[0]
			return [][]byte{inject(eci)}
		}, false},
		{"duplicate vote", 3, func() [][]byte {
			eci := n.commit(2, [][]byte{ext, ext, ext, ext})
			eci.Votes[1] = eci.Votes[0]
			return [][]byte{inject(eci)}
		}, false},
		{"signed for another height", 3, func() [][]byte { return [][]byte{inject(n.commit(1, [][]byte{ext, ext, ext, ext}))} }, false},
		{"injected tx not first", 3, func() [][]byte { return [][]byte{[]byte("tx"), inject(good)} }, false},
		{"injected twice", 3, func() [][]byte { return [][]byte{inject(good), inject(good)} }, false},
		{"injected before extensions are enabled", 2, func() [][]byte { return [][]byte{inject(good)} }, false},
		{"nothing injected before extensions are enabled", 2, func() [][]byte { return [][]byte{[]byte("tx")} }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := h.ProcessProposal()(n.ctx(tc.height, good), &abci.RequestProcessProposal{Height: tc.height, Txs: tc.txs()})
			require.NoError(t, err)
			want := abci.ResponseProcessProposal_REJECT
			if tc.accept {
				want = abci.ResponseProcessProposal_ACCEPT
			}
			require.Equal(t, want, res.Status)
		})
	}

	// a validator that did not vote is absent in both: accepted
	partial := n.commit(2, [][]byte{ext, ext, ext, nil})
	res, err := h.ProcessProposal()(n.ctx(3, partial), &abci.RequestProcessProposal{Height: 3, Txs: [][]byte{inject(partial)}})
	require.NoError(t, err)
	require.Equal(t, abci.ResponseProcessProposal_ACCEPT, res.Status)

	// less than 2/3 of the power voted: 40 + 10 of 100 committed
	weak := n.commit(2, [][]byte{ext, nil, nil, ext})
	res, err = h.ProcessProposal()(n.ctx(3, weak), &abci.RequestProcessProposal{Height: 3, Txs: [][]byte{inject(weak)}})
	require.NoError(t, err)
	require.Equal(t, abci.ResponseProcessProposal_REJECT, res.Status)
}

// recorder is a committee that remembers what it was given.
type recorder struct {
	recorded []string
	tallied  []uint64
}

func (r *recorder) RecordAttestation(_ context.Context, val sdk.ValAddress, a committeetypes.Attestation) (bool, error) {
	r.recorded = append(r.recorded, fmt.Sprintf("%s:%d:%s", val, a.TaskId, a.Verdict))
	return a.TaskId != 99, nil // task 99 is one the committee ignores
}

func (r *recorder) Tally(_ context.Context, id uint64) error {
	r.tallied = append(r.tallied, id)
	return nil
}

type stringCodec struct{}

func (stringCodec) StringToBytes(s string) ([]byte, error) { return []byte(s), nil }

func TestPreBlockRecordsAttestations(t *testing.T) {
	n := newNetwork(t)
	e0 := extension(t, attestation(7, committeetypes.ATTESTED_VALID), attestation(3, committeetypes.ATTESTED_VALID))
	e1 := extension(t, attestation(7, committeetypes.ATTESTED_INVALID), attestation(99, committeetypes.ATTESTED_VALID))
	eci := n.commit(2, [][]byte{e0, e1, []byte{0xff, 0xff}, nil})
	injected, err := ogpuabci.EncodeInjected(eci)
	require.NoError(t, err)
	r := &recorder{}
	pre := ogpuabci.NewAttestationRecorder(r, n, stringCodec{}, limits, log.NewNopLogger())
	key := storetypes.NewKVStoreKey("test")
	ctx := n.ctx(3, eci).WithMultiStore(testutil.DefaultContext(key, storetypes.NewTransientStoreKey("t")).MultiStore())
	pre.PreBlock(ctx, &abci.RequestFinalizeBlock{Height: 3, Txs: [][]byte{injected, []byte("tx")}})
	require.Equal(t, []string{
		sdk.ValAddress("operator-0").String() + ":7:ATTESTED_VALID",
		sdk.ValAddress("operator-0").String() + ":3:ATTESTED_VALID",
		sdk.ValAddress("operator-1").String() + ":7:ATTESTED_INVALID",
		sdk.ValAddress("operator-1").String() + ":99:ATTESTED_VALID",
	}, r.recorded, "the undecodable extension and the absent vote are skipped")
	require.Equal(t, []uint64{3, 7}, r.tallied, "each touched task once, in order")

	r = &recorder{}
	pre = ogpuabci.NewAttestationRecorder(r, n, stringCodec{}, limits, log.NewNopLogger())
	pre.PreBlock(ctx, &abci.RequestFinalizeBlock{Height: 3, Txs: [][]byte{[]byte("a user tx")}})
	require.Empty(t, r.recorded, "a block without the commit info records nothing")
}

func FuzzDecodeExtension(f *testing.F) {
	f.Add([]byte{})
	bz, _ := ogpuabci.EncodeExtension([]committeetypes.Attestation{attestation(1, 1)}, 10, 1000)
	f.Add(bz)
	bz, _ = ogpuabci.EncodeExtension([]committeetypes.Attestation{commitment(1), attestation(2, 2)}, 10, 1000)
	f.Add(bz)
	bz, _ = ogpuabci.EncodeVoteExtension(committeetypes.VoteExtension{
		Attestations: []committeetypes.Attestation{commitment(1)},
		Probes:       []computetypes.ProbeReport{probe(1, "a", 2, true), probe(1, "b", 2, false), probe(3, "a", 7, false)},
	}, 10, 1000)
	f.Add(bz)
	f.Add(rawProbes(probe(1, "a", 2, true), probe(1, "a", 3, false)))
	f.Fuzz(func(t *testing.T, bz []byte) {
		ve, err := ogpuabci.DecodeExtension(bz, 256, 16384)
		if err == nil {
			require.LessOrEqual(t, len(ve.Attestations), 256)
			require.LessOrEqual(t, len(ve.Probes), ogpuabci.MaxProbesPerVote)
			seen := map[string]bool{}
			for _, p := range ve.Probes {
				key := fmt.Sprintf("%d/%s", p.StreamId, p.Provider)
				require.False(t, seen[key], "one report per replica")
				seen[key] = true
			}
		}
	})
}

func FuzzDecodeInjected(f *testing.F) {
	eci := abci.ExtendedCommitInfo{Votes: []abci.ExtendedVoteInfo{{Validator: abci.Validator{Address: []byte{1}, Power: 1}, VoteExtension: []byte{1}}}}
	bz, _ := ogpuabci.EncodeInjected(eci)
	f.Add(bz)
	f.Add([]byte("ogpu/extended-commit-info/v1:"))
	f.Fuzz(func(t *testing.T, bz []byte) {
		_, _ = ogpuabci.DecodeInjected(bz, 1<<20)
	})
}
