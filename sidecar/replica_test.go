package sidecar

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/privval"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"cosmossdk.io/log/v2"
	"cosmossdk.io/math"
	"github.com/cosmos/evm/crypto/ethsecp256k1"

	cryptotypes "github.com/cosmos/cosmos-sdk/crypto/types"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/gpu/mlp"
	"github.com/opengpu/ogpu/sidecar/blobauth"
	"github.com/opengpu/ogpu/sidecar/server"
	"github.com/opengpu/ogpu/sidecar/store"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
)

// fakeStreams is a streamLedger in memory.
type fakeStreams struct {
	mu         sync.Mutex
	byID       map[uint64]*computetypes.QueryStreamResponse
	params     computetypes.StreamParams
	validators map[string]bool // bonded operator accounts
	lookups    int             // validator queries
}

func (f *fakeStreams) set(st computetypes.Stream, commitments ...computetypes.ReceiptCommitment) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byID[st.Id] = &computetypes.QueryStreamResponse{Stream: st, Commitments: commitments}
}

func (f *fakeStreams) stream(_ context.Context, id uint64) (*computetypes.QueryStreamResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	res, ok := f.byID[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "stream %d", id)
	}
	cp := *res
	return &cp, nil
}

func (f *fakeStreams) streams(_ context.Context, req *computetypes.QueryStreamsRequest) ([]computetypes.Stream, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []computetypes.Stream
	for _, res := range f.byID {
		st := res.Stream
		if _, i := st.ReplicaOf(req.Provider); (req.State == 0 || st.State == req.State) && (req.Provider == "" || i >= 0) {
			out = append(out, st)
		}
	}
	return out, nil
}

func (f *fakeStreams) streamParams(context.Context) (computetypes.StreamParams, error) {
	return f.params, nil
}

func (f *fakeStreams) bondedOperator(_ context.Context, acc sdk.AccAddress) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	return f.validators[acc.String()], nil
}

type keySigner struct{ key *ethsecp256k1.PrivKey }

func (k keySigner) sign(msg []byte) ([]byte, cryptotypes.PubKey, error) {
	sig, err := k.key.Sign(msg)
	return sig, k.key.PubKey(), err
}

const replicaChainID = "ogpu-test"

// replicaFixture is a provider serving stream 7 (live at 100, 4 rows a request of a 16-8-4
// model, price 10, share 500) over a fake chain.
type replicaFixture struct {
	s       *Sidecar
	chain   *fakeChain
	streams *fakeStreams
	creator *ethsecp256k1.PrivKey
	me      string
	model   *mlp.Model
	stream  computetypes.Stream
	url     string
}

func newEthKey(t *testing.T) *ethsecp256k1.PrivKey {
	k, err := ethsecp256k1.GenerateKey()
	require.NoError(t, err)
	return k
}

func accOf(k *ethsecp256k1.PrivKey) string { return sdk.AccAddress(k.PubKey().Address()).String() }

func newReplicaFixture(t *testing.T) *replicaFixture { return newJournaledReplica(t, "") }

// newJournaledReplica is newReplicaFixture keeping its journal in journals ("" for none).
func newJournaledReplica(t *testing.T, journals string) *replicaFixture {
	st, err := store.Open(t.TempDir())
	require.NoError(t, err)
	providerKey, creator := newEthKey(t), newEthKey(t)
	cfg := Config{
		ChainID: replicaChainID, PublicURL: "http://replica.test", AllowPrivateFetch: true,
		PricePerGMAC: math.NewInt(1000), MinPrice: math.NewInt(5), MaxConcurrent: 1, StreamConcurrency: 2,
	}
	fc := newFakeChain()
	s := newSidecar(cfg, log.NewNopLogger(), fc, st, gemm.CPU{})
	s.provider = sdk.AccAddress(providerKey.PubKey().Address())
	fs := &fakeStreams{byID: map[uint64]*computetypes.QueryStreamResponse{}, validators: map[string]bool{}, params: computetypes.DefaultStreamParams()}
	s.replicas.ledger, s.replicas.signer, s.replicas.journals = fs, keySigner{providerKey}, journals
	m := mlp.RandomModel(3, []int{16, 8, 4})
	model := newBlobs(t).serve("/model", m.Encode())
	stream := computetypes.Stream{
		Id: 7, Creator: accOf(creator), Model: model,
		Workload: computetypes.Workload{Name: workload.InferMlpInt8V1, Params: &computetypes.Workload_InferMlpInt8{
			InferMlpInt8: &computetypes.InferMlpInt8Params{Widths: []uint32{16, 8, 4}, Rows: 4},
		}},
		MaxPricePerRequest: math.NewInt(20), Replicas: 2, State: computetypes.STREAM_STATE_LIVE,
		Budget: math.NewInt(1000), LiveHeight: 100, EndHeight: 1000, Duration: 900,
		Serving: []computetypes.Replica{
			{Provider: s.provider.String(), Price: math.NewInt(10), Slot: 0, SinceHeight: 100, Claimed: math.ZeroInt(), Collateral: math.ZeroInt()},
		},
		SlotClaimed: []math.Int{math.ZeroInt(), math.ZeroInt()},
	}
	fs.set(stream)
	f := &replicaFixture{s: s, chain: fc, streams: fs, creator: creator, me: s.provider.String(), model: m, stream: stream}
	f.start(t, 105)
	return f
}

// start makes h the latest height, follows the chain once, waits for the model and serves.
func (f *replicaFixture) start(t *testing.T, h int64) {
	f.at(h)
	f.s.replicaPass(t.Context())
	require.Eventually(t, func() bool {
		r := f.s.replicas.get(7)
		_, ok := r.view()
		return ok
	}, 5*time.Second, 5*time.Millisecond, "the model loads and the replica serves")
	srv := httptest.NewServer(server.Handler(f.s.store, prometheus.NewRegistry(), nil, nil, f.s.replicaRoutes()...))
	t.Cleanup(srv.Close)
	f.url = srv.URL
}

// restart replaces the sidecar by a new one over the same chain, store, key and journals.
func (f *replicaFixture) restart(t *testing.T, h int64) {
	old := f.s
	f.s = newSidecar(old.cfg, log.NewNopLogger(), f.chain, old.store, gemm.CPU{})
	f.s.provider = old.provider
	f.s.replicas.ledger, f.s.replicas.signer, f.s.replicas.journals = old.replicas.ledger, old.replicas.signer, old.replicas.journals
	f.start(t, h)
}

// records makes cs the chain's receipt commitments of stream 7 (this provider's unless named).
func (f *replicaFixture) records(cs ...computetypes.ReceiptCommitment) {
	for i := range cs {
		cs[i].StreamId, cs[i].Required = 7, true
		if cs[i].Provider == "" {
			cs[i].Provider = f.me
		}
	}
	f.streams.set(f.stream, cs...)
}

// at makes h the latest height the sidecar knows.
func (f *replicaFixture) at(h int64) { f.s.pace.observeBlock(h, time.Unix(h, 0)) }

// rows are n rows of the model's input width.
func testRows(n int) []int8 {
	x := gemm.Generate(uint64(n)+11, n, 16)
	return x
}

// paid is a stream request signed by the creator with a voucher of total and nonce.
type paid struct {
	x            []int8
	rows         int
	total        int64
	nonce        uint64
	signer       *ethsecp256k1.PrivKey // nil: the creator
	voucherBy    *ethsecp256k1.PrivKey // nil: signer
	stream       uint64                // 0: 7
	asJSON       bool
	badSignature bool
}

func (f *replicaFixture) send(t *testing.T, p paid) *http.Response {
	if p.signer == nil {
		p.signer = f.creator
	}
	if p.voucherBy == nil {
		p.voucherBy = p.signer
	}
	if p.stream == 0 {
		p.stream = 7
	}
	blob := mlp.EncodeRows(p.x, p.rows, 16)
	sum := sha256.Sum256(blob)
	v := computetypes.Voucher{StreamId: p.stream, Provider: f.me, Total: math.NewInt(p.total), Nonce: p.nonce}
	vb, err := v.Marshal()
	require.NoError(t, err)
	vsig, err := p.voucherBy.Sign(computetypes.VoucherSignBytes(replicaChainID, v))
	require.NoError(t, err)
	signed := computetypes.RequestSignBytes(replicaChainID, p.stream, f.me, hex.EncodeToString(sum[:]), v)
	if p.badSignature {
		signed = append(signed, 0)
	}
	rsig, err := p.signer.Sign(signed)
	require.NoError(t, err)
	body, ct := blob, "application/octet-stream"
	if p.asJSON {
		rows := make([][]int8, p.rows)
		for i := range rows {
			rows[i] = p.x[i*16 : (i+1)*16]
		}
		body, err = json.Marshal(map[string]any{"rows": rows})
		require.NoError(t, err)
		ct = "application/json"
	}
	req, err := http.NewRequest(http.MethodPost, f.url+"/v1/streams/"+strconv.FormatUint(p.stream, 10)+"/infer", bytes.NewReader(body))
	require.NoError(t, err)
	enc := base64.StdEncoding
	req.Header.Set("Content-Type", ct)
	req.Header.Set(headerPubkey, enc.EncodeToString(p.signer.PubKey().Bytes()))
	req.Header.Set(headerVoucher, enc.EncodeToString(vb))
	req.Header.Set(headerVoucherSignature, enc.EncodeToString(vsig))
	req.Header.Set(headerSignature, enc.EncodeToString(rsig))
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// receiptOf reads and checks a response's receipt: its signature verifies under the replica's key.
func receiptOf(t *testing.T, res *http.Response) computetypes.Receipt {
	enc := base64.StdEncoding
	rb, err := enc.DecodeString(res.Header.Get(headerReceipt))
	require.NoError(t, err)
	sig, err := enc.DecodeString(res.Header.Get(headerReceiptSignature))
	require.NoError(t, err)
	pk, err := enc.DecodeString(res.Header.Get(headerReplicaPubkey))
	require.NoError(t, err)
	var rc computetypes.Receipt
	require.NoError(t, rc.Unmarshal(rb))
	pub := &ethsecp256k1.PubKey{Key: pk}
	require.Equal(t, rc.Provider, sdk.AccAddress(pub.Address()).String(), "the receipt is signed by its replica")
	require.True(t, pub.VerifySignature(computetypes.ReceiptSignBytes(replicaChainID, rc), sig), "the receipt's signature verifies")
	return rc
}

func inferBytes(t *testing.T, m *mlp.Model, x []int8, rows int) []byte {
	var want bytes.Buffer
	require.NoError(t, mlp.Infer(gemm.CPU{}, m, x, rows, &want))
	return want.Bytes()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestReplicaServesRequest: a paid request gets the infer-mlp-int8 result of its rows, as
// mlp.Infer computes it, with a signed receipt naming both bodies, which the blob store keeps;
// a JSON request gets the logits, argmax and the same result bytes.
func TestReplicaServesRequest(t *testing.T) {
	f := newReplicaFixture(t)
	x := testRows(3)
	res := f.send(t, paid{x: x, rows: 3, total: 10, nonce: 1})
	require.Equal(t, http.StatusOK, res.StatusCode)
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	want := inferBytes(t, f.model, x, 3)
	require.Equal(t, want, body)
	rc := receiptOf(t, res)
	blob := mlp.EncodeRows(x, 3, 16)
	require.Equal(t, computetypes.Receipt{
		StreamId: 7, Provider: f.me, Sequence: 0, InputSha256: sha(blob), OutputSha256: sha(want),
		InputSize: uint64(len(blob)), OutputSize: uint64(len(want)), Height: 105,
	}, rc)
	require.NoError(t, computetypes.ValidateReceipt(rc))
	require.True(t, f.s.store.Has(rc.InputSha256) && f.s.store.Has(rc.OutputSha256), "both bodies are kept for the committee")

	res = f.send(t, paid{x: x[:32], rows: 2, total: 20, nonce: 2, asJSON: true})
	require.Equal(t, http.StatusOK, res.StatusCode)
	var out streamResponse
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	_, logits, argmax, err := mlp.Forward(gemm.CPU{}, f.model, x[:32], 2)
	require.NoError(t, err)
	require.Equal(t, [][]int32{logits[:4], logits[4:]}, out.Logits)
	require.Equal(t, argmax, out.Argmax)
	result, err := base64.StdEncoding.DecodeString(out.Result)
	require.NoError(t, err)
	require.Equal(t, inferBytes(t, f.model, x[:32], 2), result)
	rc = receiptOf(t, res)
	require.Equal(t, uint64(1), rc.Sequence)
	require.Equal(t, sha(mlp.EncodeRows(x[:32], 2, 16)), rc.InputSha256, "a JSON request hashes as the rows blob it encodes")
	require.Equal(t, base64.StdEncoding.EncodeToString(mustMarshal(t, &rc)), out.Receipt)
}

func mustMarshal(t *testing.T, rc *computetypes.Receipt) []byte {
	b, err := rc.Marshal()
	require.NoError(t, err)
	return b
}

func errorOf(t *testing.T, res *http.Response) string {
	var e struct {
		Error string `json:"error"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&e))
	return e.Error
}

// TestReplicaRefusals: each rule of docs/streams.md refuses with its status and names its field.
func TestReplicaRefusals(t *testing.T) {
	f := newReplicaFixture(t)
	other := newEthKey(t)
	x := testRows(4)
	// one accepted request: nonce 1, total 10
	require.Equal(t, http.StatusOK, f.send(t, paid{x: x, rows: 4, total: 10, nonce: 1}).StatusCode)
	for _, tc := range []struct {
		name string
		p    paid
		code int
		says string
	}{
		{"bad signature", paid{x: x, rows: 4, total: 20, nonce: 2, badSignature: true}, http.StatusUnauthorized, headerSignature},
		{"voucher signed by another", paid{x: x, rows: 4, total: 20, nonce: 2, voucherBy: other}, http.StatusUnauthorized, headerVoucherSignature},
		{"not the creator's key", paid{x: x, rows: 4, total: 20, nonce: 2, signer: other}, http.StatusUnauthorized, "creator"},
		{"replayed nonce", paid{x: x, rows: 4, total: 20, nonce: 1}, http.StatusConflict, "nonce 1"},
		{"voucher short of the price", paid{x: x, rows: 4, total: 19, nonce: 2}, http.StatusPaymentRequired, "at least 20"},
		{"voucher over the share", paid{x: x, rows: 4, total: 501, nonce: 2}, http.StatusPaymentRequired, "share"},
		{"too many rows", paid{x: testRows(5), rows: 5, total: 20, nonce: 2}, http.StatusBadRequest, "too many rows"},
		{"not served", paid{x: x, rows: 4, total: 20, nonce: 2, stream: 8}, http.StatusServiceUnavailable, "stream 8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := f.send(t, tc.p)
			require.Equal(t, tc.code, res.StatusCode)
			require.Contains(t, errorOf(t, res), tc.says)
		})
	}
	// a 409 carries the last voucher accepted, for a client that lost its record
	res := f.send(t, paid{x: x, rows: 4, total: 20, nonce: 1})
	require.Equal(t, http.StatusConflict, res.StatusCode)
	var e struct {
		Voucher          []byte `json:"voucher"`
		VoucherSignature []byte `json:"voucher_signature"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&e))
	var last computetypes.Voucher
	require.NoError(t, last.Unmarshal(e.Voucher))
	require.Equal(t, uint64(1), last.Nonce)
	require.True(t, f.creator.PubKey().VerifySignature(computetypes.VoucherSignBytes(replicaChainID, last), e.VoucherSignature))

	// the refusals took nothing: the next voucher is the one after the first
	require.Equal(t, http.StatusOK, f.send(t, paid{x: x, rows: 4, total: 20, nonce: 2}).StatusCode)

	// what earlier replicas of the slot claimed comes off the share
	st := f.stream
	st.SlotClaimed = []math.Int{math.NewInt(470), math.ZeroInt()}
	f.streams.set(st)
	f.s.replicaPass(t.Context())
	res = f.send(t, paid{x: x, rows: 4, total: 40, nonce: 3})
	require.Equal(t, http.StatusPaymentRequired, res.StatusCode)
	require.Contains(t, errorOf(t, res), "over 30")

	// a paused stream is not served
	st.State = computetypes.STREAM_STATE_PAUSED
	f.streams.set(st)
	f.s.replicaPass(t.Context())
	res = f.send(t, paid{x: x, rows: 4, total: 30, nonce: 3})
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
}

// TestReplicaReceiptsCommittedAndRevealed: after each period the replica commits the root of
// its receipts of the period (zero included); the samples drawn are revealed with proofs that
// verify under that root; the latest voucher is redeemed once a period; the period is forgotten
// once revealed.
func TestReplicaReceiptsCommittedAndRevealed(t *testing.T) {
	f := newReplicaFixture(t)
	var receipts []computetypes.Receipt
	for i := range 3 {
		res := f.send(t, paid{x: testRows(i + 1), rows: i + 1, total: int64(10 * (i + 1)), nonce: uint64(i + 1)})
		require.Equal(t, http.StatusOK, res.StatusCode)
		receipts = append(receipts, receiptOf(t, res))
	}
	f.at(109) // the last block of period 0: the chain requires its commitment
	f.records(computetypes.ReceiptCommitment{Period: 0})
	f.s.replicaPass(t.Context())
	var commits []*computetypes.MsgCommitReceipts
	var claims []*computetypes.MsgClaimStream
	var reveals []*computetypes.MsgRevealSamples
	collect := func() {
		commits, claims, reveals = nil, nil, nil
		for _, m := range f.chain.msgs() {
			switch m := m.(type) {
			case *computetypes.MsgCommitReceipts:
				commits = append(commits, m)
			case *computetypes.MsgClaimStream:
				claims = append(claims, m)
			case *computetypes.MsgRevealSamples:
				reveals = append(reveals, m)
			}
		}
	}
	collect()
	root := computetypes.ReceiptRoot(replicaChainID, receipts)
	require.Equal(t, []*computetypes.MsgCommitReceipts{{Provider: f.me, StreamId: 7, Period: 0, Root: root, Count: 3}}, commits)

	// a request served now is dated in period 1: period 0 is sealed
	res := f.send(t, paid{x: testRows(1), rows: 1, total: 40, nonce: 4})
	require.Equal(t, http.StatusOK, res.StatusCode)
	late := receiptOf(t, res)
	require.Equal(t, int64(110), late.Height)

	// the samples are drawn; the replica reveals them
	f.at(111)
	f.records(computetypes.ReceiptCommitment{Period: 0, Root: root, Count: 3, CommittedHeight: 110, SampledHeight: 111, Samples: []uint64{2, 0}})
	f.s.replicaPass(t.Context())
	collect()
	require.Len(t, reveals, 1)
	require.Equal(t, f.s.cfg.PublicURL+"/v1/blobs/", reveals[0].UriPrefix)
	require.Len(t, reveals[0].Samples, 2)
	for i, want := range []uint64{2, 0} {
		sp := reveals[0].Samples[i]
		require.Equal(t, want, sp.Index)
		require.Equal(t, receipts[want], sp.Receipt)
		require.NoError(t, computetypes.VerifySample(replicaChainID, root, 3, sp))
	}
	// the voucher grew in period 0: redeemed once, in period 1
	require.Len(t, claims, 1)
	require.Equal(t, uint64(4), claims[0].Voucher.Nonce)
	require.True(t, f.creator.PubKey().VerifySignature(computetypes.VoucherSignBytes(replicaChainID, claims[0].Voucher), claims[0].Signature))

	// revealed on chain: the period is forgotten
	revealed := computetypes.ReceiptCommitment{Period: 0, Root: root, Count: 3, CommittedHeight: 110, SampledHeight: 111, Samples: []uint64{2, 0}, Revealed: true}
	f.records(revealed)
	f.at(112)
	f.s.replicaPass(t.Context())
	r := f.s.replicas.get(7)
	r.mu.Lock()
	_, kept := r.book.periods[0]
	r.mu.Unlock()
	require.False(t, kept)

	// period 1 holds the late receipt; period 2 none, committed all the same
	f.at(119)
	f.records(revealed, computetypes.ReceiptCommitment{Period: 1})
	f.s.replicaPass(t.Context())
	f.at(129)
	f.records(computetypes.ReceiptCommitment{Period: 1, CommittedHeight: 120, Count: 1}, computetypes.ReceiptCommitment{Period: 2})
	f.s.replicaPass(t.Context())
	collect()
	require.Len(t, commits, 3)
	require.Equal(t, computetypes.ReceiptRoot(replicaChainID, []computetypes.Receipt{late}), commits[1].Root)
	require.Equal(t, uint64(1), commits[1].Count)
	require.Equal(t, uint64(2), commits[2].Period)
	require.Equal(t, uint64(0), commits[2].Count)
	require.Equal(t, computetypes.ReceiptRoot(replicaChainID, nil), commits[2].Root)
	require.Len(t, claims, 1, "no voucher since the last redemption: nothing to claim")

	// the stream closes: no more serving, and nothing left to claim
	st := f.stream
	st.State, st.ClosedHeight = computetypes.STREAM_STATE_CLOSED, 130
	f.streams.set(st)
	f.at(130)
	f.s.replicaPass(t.Context())
	res = f.send(t, paid{x: testRows(1), rows: 1, total: 50, nonce: 5})
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
}

// TestReplicaClaimsAtClose: a voucher accepted since the last redemption is redeemed when the
// stream closes.
func TestReplicaClaimsAtClose(t *testing.T) {
	f := newReplicaFixture(t)
	require.Equal(t, http.StatusOK, f.send(t, paid{x: testRows(1), rows: 1, total: 10, nonce: 1}).StatusCode)
	st := f.stream
	st.State, st.ClosedHeight = computetypes.STREAM_STATE_CLOSED, 106
	f.streams.set(st)
	f.at(106)
	f.s.replicaPass(t.Context())
	var claims []*computetypes.MsgClaimStream
	for _, m := range f.chain.msgs() {
		if m, ok := m.(*computetypes.MsgClaimStream); ok {
			claims = append(claims, m)
		}
	}
	require.Len(t, claims, 1)
	require.Equal(t, math.NewInt(10), claims[0].Voucher.Total)
}

// TestReplicaProbes: a bonded validator's account probes once a round; a second probe in the
// round is refused (429), as is any other account (401); the chain is asked once per round.
func TestReplicaProbes(t *testing.T) {
	f := newReplicaFixture(t)
	val, stranger := newEthKey(t), newEthKey(t)
	f.streams.validators[accOf(val)] = true
	probe := func(k *ethsecp256k1.PrivKey, round uint64) *http.Response {
		blob := mlp.EncodeRows(testRows(1), 1, 16)
		sig, err := k.Sign(computetypes.ProbeSignBytes(replicaChainID, 7, f.me, round, sha(blob)))
		require.NoError(t, err)
		req, err := http.NewRequest(http.MethodPost, f.url+"/v1/streams/7/infer", bytes.NewReader(blob))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set(headerPubkey, base64.StdEncoding.EncodeToString(k.PubKey().Bytes()))
		req.Header.Set(headerProbe, strconv.FormatUint(round, 10))
		req.Header.Set(headerSignature, base64.StdEncoding.EncodeToString(sig))
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	// height 105, live 100, probe period 5: round 1; a probe does not wait for the paid
	// requests' slots, all taken here
	for range cap(f.s.replicas.slots) {
		f.s.replicas.slots <- struct{}{}
	}
	res := probe(val, 1)
	require.Equal(t, http.StatusOK, res.StatusCode)
	for range cap(f.s.replicas.slots) {
		f.s.replicas.release()
	}
	require.Equal(t, inferBytes(t, f.model, testRows(1), 1), must(io.ReadAll(res.Body)))
	receiptOf(t, res)
	require.Equal(t, http.StatusTooManyRequests, probe(val, 1).StatusCode)
	require.Equal(t, http.StatusUnauthorized, probe(stranger, 1).StatusCode)
	require.Equal(t, http.StatusBadRequest, probe(val, 9).StatusCode, "a round far from the current one")
	f.at(110)
	require.Equal(t, http.StatusOK, probe(val, 2).StatusCode, "a new round, a new probe")
	f.streams.mu.Lock()
	require.Equal(t, 3, f.streams.lookups, "the validator once in round 1 and once in round 2, the stranger once")
	f.streams.mu.Unlock()

	// keys made up to probe cost one lookup each until a round has seen maxProbeCache of them;
	// then a new key is refused without asking the node
	r := f.s.replicas.get(7)
	r.mu.Lock()
	for i := len(r.bonded[2]); i < maxProbeCache; i++ {
		r.bonded[2][strconv.Itoa(i)] = false
	}
	r.mu.Unlock()
	require.Equal(t, http.StatusTooManyRequests, probe(newEthKey(t), 2).StatusCode)
	f.streams.mu.Lock()
	defer f.streams.mu.Unlock()
	require.Equal(t, 3, f.streams.lookups, "no lookup for a key past the round's bound")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestReplicaSubscribes: an open stream the provider can serve at its price gets one
// MsgSubscribe with that price and its public URL; one whose maximum is below it gets none.
func TestReplicaSubscribes(t *testing.T) {
	f := newReplicaFixture(t)
	open := f.stream
	open.Id, open.State, open.Serving, open.SubscribeEnd, open.LiveHeight = 8, computetypes.STREAM_STATE_OPEN, nil, 110, 0
	cheap := open
	cheap.Id, cheap.MaxPricePerRequest = 9, math.NewInt(4)
	f.streams.set(open)
	f.streams.set(cheap)
	taken := open // subscribed to before a restart
	taken.Id = 10
	f.streams.set(taken)
	f.streams.byID[10].Subscriptions = []computetypes.Subscription{{Provider: f.me, Price: math.NewInt(5), Endpoint: "http://replica.test"}}
	f.s.replicaPass(t.Context())
	f.s.replicaPass(t.Context())
	var subs []*computetypes.MsgSubscribe
	for _, m := range f.chain.msgs() {
		if m, ok := m.(*computetypes.MsgSubscribe); ok {
			subs = append(subs, m)
		}
	}
	// 4 rows × (16·8 + 8·4) multiply-adds at 1000 per 10^9 is under the minimum price 5
	require.Equal(t, []*computetypes.MsgSubscribe{{Provider: f.me, StreamId: 8, Price: math.NewInt(5), Endpoint: "http://replica.test"}}, subs)
}

// TestStreamCheckServed: a stream's check task is served only when it checks this provider.
func TestStreamCheckServed(t *testing.T) {
	require.NoError(t, streamCheckServed(computetypes.Task{Id: 1}, "me"))
	require.NoError(t, streamCheckServed(computetypes.Task{Id: 1, StreamId: 7, Provider: "me"}, "me"))
	require.ErrorContains(t, streamCheckServed(computetypes.Task{Id: 1, StreamId: 7, Provider: "other"}, "me"), "not by this provider")
}

// TestReplicaBusy: past the requests it may hold, the replica refuses with 503.
func TestReplicaBusy(t *testing.T) {
	f := newReplicaFixture(t)
	f.s.replicas.maxAdmitted = 0
	res := f.send(t, paid{x: testRows(1), rows: 1, total: 10, nonce: 1})
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	require.Contains(t, errorOf(t, res), "busy")
}

// TestReplicaJournal: a restarted replica keeps its receipts, its sequence and its latest
// voucher, and commits the period as if it had not stopped.
func TestReplicaJournal(t *testing.T) {
	f := newJournaledReplica(t, t.TempDir())
	var receipts []computetypes.Receipt
	for i := range 2 {
		res := f.send(t, paid{x: testRows(1), rows: 1, total: int64(10 * (i + 1)), nonce: uint64(i + 1)})
		require.Equal(t, http.StatusOK, res.StatusCode)
		receipts = append(receipts, receiptOf(t, res))
	}
	f.restart(t, 106)
	res := f.send(t, paid{x: testRows(1), rows: 1, total: 30, nonce: 2})
	require.Equal(t, http.StatusConflict, res.StatusCode, "the voucher of nonce 2 was taken before the restart")
	res = f.send(t, paid{x: testRows(1), rows: 1, total: 30, nonce: 3})
	require.Equal(t, http.StatusOK, res.StatusCode)
	rc := receiptOf(t, res)
	require.Equal(t, uint64(2), rc.Sequence)
	receipts = append(receipts, rc)
	f.at(109)
	f.records(computetypes.ReceiptCommitment{Period: 0})
	f.s.replicaPass(t.Context())
	var commits []*computetypes.MsgCommitReceipts
	for _, m := range f.chain.msgs() {
		if m, ok := m.(*computetypes.MsgCommitReceipts); ok {
			commits = append(commits, m)
		}
	}
	require.Equal(t, []*computetypes.MsgCommitReceipts{{Provider: f.me, StreamId: 7, Period: 0, Root: computetypes.ReceiptRoot(replicaChainID, receipts), Count: 3}}, commits)
}

// TestReplicaResendsCommitment: a commitment no block took is sent again while its window is
// open, and not after.
func TestReplicaResendsCommitment(t *testing.T) {
	f := newReplicaFixture(t)
	count := func() int {
		n := 0
		for _, m := range f.chain.msgs() {
			if _, ok := m.(*computetypes.MsgCommitReceipts); ok {
				n++
			}
		}
		return n
	}
	f.records(computetypes.ReceiptCommitment{Period: 0})
	for _, step := range []struct {
		h    int64
		want int
	}{{109, 1}, {110, 1}, {112, 2}, {113, 2}, {115, 2}} {
		f.at(step.h)
		f.s.replicaPass(t.Context())
		require.Equal(t, step.want, count(), "at height %d", step.h)
	}
}

// checkAuthorizer is the chain's rule for a fixed check task, as chainAuthorizer applies it.
type checkAuthorizer struct {
	taskAuthorizer
	provider string
}

func (a checkAuthorizer) Authorize(ctx context.Context, r blobauth.Request) error {
	if err := streamCheckServed(*a.task, a.provider); err != nil {
		return err
	}
	return a.taskAuthorizer.Authorize(ctx, r)
}

// TestReplicaCheckTask: the check task of a sampled request (inputs: the stream's model and the
// request body; result: the response body, all at the revealed prefix) is fetched by its
// committee from the replica and judged valid by the batch verification; a check task of
// another provider reads nothing.
func TestReplicaCheckTask(t *testing.T) {
	f := newReplicaFixture(t)
	res := f.send(t, paid{x: testRows(3), rows: 3, total: 10, nonce: 1})
	require.Equal(t, http.StatusOK, res.StatusCode)
	rc := receiptOf(t, res)

	pv := privval.GenFilePV("", "")
	keyFile := filepath.Join(t.TempDir(), "priv_validator_key.json")
	bz, err := cmtjson.Marshal(pv.Key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(keyFile, bz, 0o600))
	member := sdk.ValAddress("member-validator----").String()
	memberSigner, err := loadConsensusSigner(keyFile, member)
	require.NoError(t, err)

	task := &computetypes.Task{
		Id: 40, Creator: f.stream.Creator, State: computetypes.TASK_STATE_SUBMITTED, Committee: []string{member},
		Workload: computetypes.Workload{Name: workload.InferMlpInt8V1, Params: &computetypes.Workload_InferMlpInt8{
			InferMlpInt8: &computetypes.InferMlpInt8Params{Widths: []uint32{16, 8, 4}, Rows: 3},
		}},
		StreamId: 7, Provider: f.me,
	}
	auth := checkAuthorizer{taskAuthorizer{task: task, keys: map[string][]byte{member: pv.Key.PubKey.Bytes()}}, f.me}
	srv := httptest.NewServer(server.Handler(f.s.store, prometheus.NewRegistry(), auth, nil))
	t.Cleanup(srv.Close)
	prefix := srv.URL + "/v1/blobs/"
	task.Inputs = []computetypes.Blob{f.stream.Model, {Uri: prefix + rc.InputSha256, Sha256: rc.InputSha256, Size_: rc.InputSize}}
	task.Result = computetypes.Blob{Uri: prefix + rc.OutputSha256, Sha256: rc.OutputSha256, Size_: rc.OutputSize}

	judge := newSidecar(Config{ChainID: replicaChainID, AllowPrivateFetch: true}, log.NewNopLogger(), newFakeChain(), nil, gemm.CPU{})
	judge.signer = memberSigner
	digests, err := judge.judgeInfer(t.Context(), *task, [][32]byte{{1}}, false)
	require.NoError(t, err, "the replica's response passes the committee's check")
	require.Len(t, digests, 1)

	for _, sha := range []string{rc.InputSha256, rc.OutputSha256} {
		res, err := blobauth.Get(t.Context(), http.DefaultClient, prefix+sha, 40, memberSigner)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode)
	}

	// a wrong response is found wrong
	f.s.cfg.CorruptResults = true
	res = f.send(t, paid{x: testRows(3), rows: 3, total: 20, nonce: 2})
	require.Equal(t, http.StatusOK, res.StatusCode)
	rc = receiptOf(t, res)
	task.Inputs[1] = computetypes.Blob{Uri: prefix + rc.InputSha256, Sha256: rc.InputSha256, Size_: rc.InputSize}
	task.Result = computetypes.Blob{Uri: prefix + rc.OutputSha256, Sha256: rc.OutputSha256, Size_: rc.OutputSize}
	_, err = judge.judgeInfer(t.Context(), *task, [][32]byte{{1}}, false)
	require.Error(t, err)
	require.NotErrorIs(t, err, errBlobUnavailable)
	require.NotErrorIs(t, err, errInputUnavailable)

	task.Provider = accOf(newEthKey(t))
	res, err = blobauth.Get(t.Context(), http.DefaultClient, prefix+rc.InputSha256, 40, memberSigner)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusForbidden, res.StatusCode, "another provider's check reads nothing here")
}

// TestReplicaRemoved: a replica that left its slot (a standby took it) stops serving, redeems
// its last voucher once, commits nothing more and is forgotten once its periods have expired.
func TestReplicaRemoved(t *testing.T) {
	f := newReplicaFixture(t)
	require.Equal(t, http.StatusOK, f.send(t, paid{x: testRows(1), rows: 1, total: 10, nonce: 1}).StatusCode)
	st := f.stream
	st.Serving = []computetypes.Replica{{Provider: accOf(newEthKey(t)), Price: math.NewInt(10), Slot: 0, SinceHeight: 106, Claimed: math.ZeroInt()}}
	f.streams.set(st)
	f.at(106)
	f.s.replicaPass(t.Context())
	res := f.send(t, paid{x: testRows(1), rows: 1, total: 20, nonce: 2})
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	for _, h := range []int64{107, 109, 115, 140} {
		f.at(h)
		f.s.replicaPass(t.Context())
	}
	var claims, commits int
	for _, m := range f.chain.msgs() {
		switch m.(type) {
		case *computetypes.MsgClaimStream:
			claims++
		case *computetypes.MsgCommitReceipts:
			commits++
		}
	}
	require.Equal(t, 1, claims)
	require.Equal(t, 0, commits)
	require.Nil(t, f.s.replicas.get(7), "forgotten")
}

// TestReplicaBodiesRetention: the bodies a replica keeps go with the blob retention after their
// last use, as a settled task's blobs do.
func TestReplicaBodiesRetention(t *testing.T) {
	f := newReplicaFixture(t)
	res := f.send(t, paid{x: testRows(1), rows: 1, total: 10, nonce: 1})
	require.Equal(t, http.StatusOK, res.StatusCode)
	rc := receiptOf(t, res)
	now := time.Now()
	f.s.collectBlobs(t.Context(), now)
	require.True(t, f.s.store.Has(rc.InputSha256) && f.s.store.Has(rc.OutputSha256))
	f.s.collectBlobs(t.Context(), now.Add(f.s.cfg.BlobRetention+time.Minute))
	require.False(t, f.s.store.Has(rc.InputSha256) || f.s.store.Has(rc.OutputSha256))
}

// Requests that read the height on either side of a period's end are dated in sequence order:
// a later sequence never lands in an earlier period, whose reveal would then be refused.
func TestReceiptsAreDatedInSequenceOrder(t *testing.T) {
	f := newReplicaFixture(t)
	r := f.s.replicas.get(7)
	a := r.issue(computetypes.Receipt{StreamId: 7}, 110) // period 1 (live at 100, 10 blocks a period)
	b := r.issue(computetypes.Receipt{StreamId: 7}, 109) // read the height before a's request did
	require.Equal(t, a.Sequence+1, b.Sequence)
	require.GreaterOrEqual(t, b.Height, a.Height)
	require.Equal(t, f.stream.Period(a.Height, 10), f.stream.Period(b.Height, 10))
}
