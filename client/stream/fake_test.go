package stream

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"cosmossdk.io/math"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/cosmos/evm/crypto/ethsecp256k1"
	evmhd "github.com/cosmos/evm/crypto/hd"
	evmencoding "github.com/cosmos/evm/encoding"

	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/client"
	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/gpu/mlp"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
)

const testChainID = "ogpu-test-1"

var testWidths = []int{16, 8, 4}

// fakeChain answers the stream query with a stream the test changes as the chain would.
type fakeChain struct {
	mu          sync.Mutex
	stream      computetypes.Stream
	commitments []computetypes.ReceiptCommitment
	queries     int
}

func (f *fakeChain) Invoke(_ context.Context, method string, _, reply any, _ ...grpc.CallOption) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if method != "/ogpu.compute.v1.Query/Stream" {
		return fmt.Errorf("fake chain: no %s", method)
	}
	f.queries++
	// over the wire, as a node answers: the client shares no memory with the chain
	bz, err := (&computetypes.QueryStreamResponse{Stream: f.stream, Commitments: f.commitments}).Marshal()
	if err != nil {
		return err
	}
	return reply.(*computetypes.QueryStreamResponse).Unmarshal(bz)
}

func (f *fakeChain) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, fmt.Errorf("fake chain: no streams")
}

func (f *fakeChain) update(fn func(s *computetypes.Stream)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.stream)
}

// fakeReplica serves a stream by the rules of docs/streams.md, checking the client's
// signatures with the real sign bytes.
type fakeReplica struct {
	t        testing.TB
	priv     *ethsecp256k1.PrivKey
	provider string
	streamID uint64
	creator  string
	price    math.Int
	limit    math.Int
	model    *mlp.Model
	srv      *httptest.Server

	// misbehaviours
	signWith *ethsecp256k1.PrivKey // signs receipts with another key
	corrupt  bool                  // changes an accumulator of the result it returns
	// echo adds the last accepted voucher and its signature to a 402 or 409
	echo bool
	// hold, when set, keeps every request until it is closed
	hold chan struct{}
	// drop closes the connection of a request once its voucher is taken, answering nothing
	drop atomic.Bool
	// loading answers 503 to this many requests first, as a replica that has not loaded the model yet
	loading atomic.Int32
	// omitWrong leaves the receipts of the answers it corrupted out of its commitments
	omitWrong bool

	mu        sync.Mutex
	lastTotal math.Int
	lastNonce uint64
	last      *computetypes.Voucher
	lastSig   []byte
	seq       uint64
	accepted  []computetypes.Voucher
	refusals  map[int]int
	// issued are the receipts signed so far; wrong the sequences of corrupted answers;
	// periods the receipts committed in each period, and committed their count in all
	issued      []computetypes.Receipt
	wrong       map[uint64]bool
	periods     [][]computetypes.Receipt
	uncommitted int
	committed   uint64
}

func newFakeReplica(t testing.TB, id uint64, creator string, price, limit math.Int, model *mlp.Model) *fakeReplica {
	priv, err := ethsecp256k1.GenerateKey()
	require.NoError(t, err)
	r := &fakeReplica{
		t: t, priv: priv, provider: sdk.AccAddress(priv.PubKey().Address()).String(), streamID: id, creator: creator,
		price: price, limit: limit, model: model, lastTotal: math.ZeroInt(), refusals: map[int]int{}, wrong: map[uint64]bool{},
	}
	r.srv = httptest.NewServer(r)
	t.Cleanup(r.srv.Close)
	return r
}

func (r *fakeReplica) replica(slot uint32) computetypes.Replica {
	return computetypes.Replica{Provider: r.provider, Price: r.price, Endpoint: r.srv.URL, Slot: slot, Collateral: math.ZeroInt(), Claimed: math.ZeroInt()}
}

func (r *fakeReplica) vouchers() []computetypes.Voucher {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]computetypes.Voucher(nil), r.accepted...)
}

func (r *fakeReplica) refuse(w http.ResponseWriter, status int, format string, args ...any) {
	r.mu.Lock()
	r.refusals[status]++
	body := map[string]any{"error": fmt.Sprintf(format, args...)}
	if r.echo && r.last != nil && (status == http.StatusPaymentRequired || status == http.StatusConflict) {
		vb, err := r.last.Marshal()
		require.NoError(r.t, err)
		body["voucher"], body["voucher_signature"] = vb, r.lastSig
	}
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func header(h http.Header, name string) []byte {
	b, _ := base64.StdEncoding.DecodeString(h.Get(name))
	return b
}

func (r *fakeReplica) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if r.loading.Add(-1) >= 0 {
		r.refuse(w, http.StatusServiceUnavailable, "stream %d: this provider does not serve it yet", r.streamID)
		return
	}
	if req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, "/proof") {
		r.serveProof(w, req)
		return
	}
	if req.Method != http.MethodPost || req.URL.Path != InferPath(r.streamID) {
		r.refuse(w, http.StatusServiceUnavailable, "path %s: not a stream this replica serves", req.URL.Path)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		r.refuse(w, http.StatusBadRequest, "body: %v", err)
		return
	}
	x, rows, _, err := mlp.DecodeRows(body)
	if err != nil {
		r.refuse(w, http.StatusBadRequest, "body: %v", err)
		return
	}
	pk := &ethsecp256k1.PubKey{Key: header(req.Header, HeaderPubkey)}
	if len(pk.Key) != ethsecp256k1.PubKeySize || sdk.AccAddress(pk.Address()).String() != r.creator {
		r.refuse(w, http.StatusUnauthorized, "%s: not the creator's key", HeaderPubkey)
		return
	}
	var v computetypes.Voucher
	if err := v.Unmarshal(header(req.Header, HeaderVoucher)); err != nil || v.StreamId != r.streamID || v.Provider != r.provider || v.Total.IsNil() {
		r.refuse(w, http.StatusUnauthorized, "%s: not a voucher of this stream and replica", HeaderVoucher)
		return
	}
	if !pk.VerifySignature(computetypes.VoucherSignBytes(testChainID, v), header(req.Header, HeaderVoucherSignature)) {
		r.refuse(w, http.StatusUnauthorized, "%s: bad signature", HeaderVoucherSignature)
		return
	}
	sum := sha256.Sum256(body)
	inSha := hex.EncodeToString(sum[:])
	if !pk.VerifySignature(computetypes.RequestSignBytes(testChainID, r.streamID, r.provider, inSha, v), header(req.Header, HeaderSignature)) {
		r.refuse(w, http.StatusUnauthorized, "%s: bad signature", HeaderSignature)
		return
	}
	r.mu.Lock()
	switch {
	case v.Nonce <= r.lastNonce:
		r.mu.Unlock()
		r.refuse(w, http.StatusConflict, "voucher.nonce %d: must be above %d", v.Nonce, r.lastNonce)
		return
	case v.Total.LT(r.lastTotal.Add(r.price)):
		r.mu.Unlock()
		r.refuse(w, http.StatusPaymentRequired, "voucher.total %s: must be at least %s", v.Total, r.lastTotal.Add(r.price))
		return
	case v.Total.GT(r.limit):
		r.mu.Unlock()
		r.refuse(w, http.StatusPaymentRequired, "voucher.total %s: exceeds the slot's share %s", v.Total, r.limit)
		return
	}
	r.lastTotal, r.lastNonce, r.last, r.lastSig = v.Total, v.Nonce, &v, header(req.Header, HeaderVoucherSignature)
	r.accepted = append(r.accepted, v)
	seq := r.seq
	r.seq++
	corrupt := r.corrupt
	r.mu.Unlock()

	if r.hold != nil {
		<-r.hold
	}
	if r.drop.Load() {
		conn, _, err := http.NewResponseController(w).Hijack()
		require.NoError(r.t, err)
		_ = conn.Close()
		return
	}
	var out bytes.Buffer
	require.NoError(r.t, mlp.Infer(gemm.CPU{Workers: 1}, r.model, x, rows, &out))
	result := out.Bytes()
	if corrupt {
		result[len(result)/3] ^= 1
	}
	outSum := sha256.Sum256(result)
	rc := computetypes.Receipt{
		StreamId: r.streamID, Provider: r.provider, Sequence: seq, InputSha256: inSha, OutputSha256: hex.EncodeToString(outSum[:]),
		InputSize: uint64(len(body)), OutputSize: uint64(len(result)), Height: 100,
	}
	signer := r.priv
	if r.signWith != nil {
		signer = r.signWith
	}
	sig, err := signer.Sign(computetypes.ReceiptSignBytes(testChainID, rc))
	require.NoError(r.t, err)
	r.mu.Lock()
	r.issued = append(r.issued, rc)
	r.wrong[seq] = corrupt
	r.mu.Unlock()
	rb, err := rc.Marshal()
	require.NoError(r.t, err)
	b64 := base64.StdEncoding.EncodeToString
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set(HeaderReceipt, b64(rb))
	w.Header().Set(HeaderReceiptSignature, b64(sig))
	w.Header().Set(HeaderReplicaPubkey, b64(r.priv.PubKey().Bytes()))
	_, _ = w.Write(result)
}

// setCorrupt makes the replica corrupt the answers it serves from now on, or stop.
func (r *fakeReplica) setCorrupt(on bool) {
	r.mu.Lock()
	r.corrupt = on
	r.mu.Unlock()
}

// commitPeriod commits the receipts issued since the last commitment as the next period, as
// the chain records it (first_sequence the count of the earlier commitments), and returns the
// commitment. In omitWrong mode the receipts of corrupted answers are left out.
func (r *fakeReplica) commitPeriod(chain *fakeChain) computetypes.ReceiptCommitment {
	r.mu.Lock()
	var rs []computetypes.Receipt
	for _, rc := range r.issued[r.uncommitted:] {
		if !r.omitWrong || !r.wrong[rc.Sequence] {
			rs = append(rs, rc)
		}
	}
	r.uncommitted = len(r.issued)
	r.periods = append(r.periods, rs)
	c := computetypes.ReceiptCommitment{
		StreamId: r.streamID, Provider: r.provider, Period: uint64(len(r.periods) - 1),
		Root: computetypes.ReceiptRoot(testChainID, rs), Count: uint64(len(rs)), FirstSequence: r.committed,
		CommittedHeight: 110 + 10*int64(len(r.periods)), Required: true,
	}
	r.committed += uint64(len(rs))
	r.mu.Unlock()
	chain.mu.Lock()
	chain.commitments = append(chain.commitments, c)
	chain.mu.Unlock()
	return c
}

// serveProof serves GET /v1/streams/{id}/receipts/{sequence}/proof from the committed periods.
func (r *fakeReplica) serveProof(w http.ResponseWriter, req *http.Request) {
	var id, seq uint64
	if _, err := fmt.Sscanf(req.URL.Path, "/v1/streams/%d/receipts/%d/proof", &id, &seq); err != nil || id != r.streamID {
		r.refuse(w, http.StatusBadRequest, "path %s: not a receipt of this stream", req.URL.Path)
		return
	}
	r.mu.Lock()
	for p, rs := range r.periods {
		for i, rc := range rs {
			if rc.Sequence != seq {
				continue
			}
			root, proofs := computetypes.ReceiptProofs(testChainID, rs)
			rb, err := rc.Marshal()
			require.NoError(r.t, err)
			r.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{
				"period": p, "index": i, "count": len(rs), "root": root, "aunts": proofs[i].Aunts, "receipt": rb,
			})
			return
		}
	}
	r.mu.Unlock()
	r.refuse(w, http.StatusNotFound, "receipt %d of stream %d: not held", seq, id)
}

// testNet is a chain with a stream of creator alice and its replicas.
type testNet struct {
	chain    *fakeChain
	client   *client.Client
	kr       keyring.Keyring
	creator  string
	model    *mlp.Model
	replicas []*fakeReplica
}

const testStreamID = 7

// newTestNet is a LIVE stream of k replicas at price 10, budget k·share.
func newTestNet(t testing.TB, k int, share math.Int) *testNet {
	enc := evmencoding.MakeConfig(1337)
	computetypes.RegisterInterfaces(enc.InterfaceRegistry)
	kr := keyring.NewInMemory(enc.Codec, evmhd.EthSecp256k1Option())
	rec, _, err := kr.NewMnemonic("alice", keyring.English, sdk.FullFundraiserPath, "", evmhd.EthSecp256k1)
	require.NoError(t, err)
	addr, err := rec.GetAddress()
	require.NoError(t, err)
	model := mlp.RandomModel(1, testWidths)
	modelBytes := model.Encode()
	sum := sha256.Sum256(modelBytes)
	n := &testNet{chain: &fakeChain{}, kr: kr, creator: addr.String(), model: model}
	n.client = client.New(n.chain, enc.TxConfig, client.WithChainID(testChainID))
	st := computetypes.Stream{
		Id: testStreamID, Creator: n.creator, State: computetypes.STREAM_STATE_LIVE, Replicas: uint32(k),
		Workload: computetypes.Workload{Name: workload.InferMlpInt8V1, Params: &computetypes.Workload_InferMlpInt8{
			InferMlpInt8: &computetypes.InferMlpInt8Params{Widths: []uint32{16, 8, 4}, Rows: 4},
		}},
		Model:              computetypes.Blob{Uri: "http://models.example/m", Sha256: hex.EncodeToString(sum[:]), Size_: uint64(len(modelBytes))},
		MaxPricePerRequest: math.NewInt(10), Budget: share.MulRaw(int64(k)),
	}
	for i := range k {
		r := newFakeReplica(t, testStreamID, n.creator, math.NewInt(10), share, model)
		n.replicas = append(n.replicas, r)
		st.Serving = append(st.Serving, r.replica(uint32(i)))
		st.SlotClaimed = append(st.SlotClaimed, math.ZeroInt())
	}
	n.chain.stream = st
	return n
}

func (n *testNet) open(t testing.TB, opts ...Option) *Stream {
	s, err := New(context.Background(), n.client, n.kr, "alice", testStreamID, opts...)
	require.NoError(t, err)
	return s
}

// testRows are rows of the model's input width, drawn from seed.
func testRows(seed uint64, rows int) [][]int8 {
	out := make([][]int8, rows)
	for i := range out {
		out[i] = make([]int8, testWidths[0])
		for j := range out[i] {
			out[i][j] = int8(gemm.SplitMix64(seed, uint64(i*testWidths[0]+j)))
		}
	}
	return out
}
