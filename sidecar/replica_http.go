package sidecar

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"cosmossdk.io/math"
	"github.com/cosmos/evm/crypto/ethsecp256k1"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/gpu/mlp"
	"github.com/opengpu/ogpu/sidecar/server"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// The headers of a stream request and its response (docs/streams.md).
const (
	headerPubkey           = "X-Ogpu-Pubkey"
	headerVoucher          = "X-Ogpu-Voucher"
	headerVoucherSignature = "X-Ogpu-Voucher-Signature"
	headerSignature        = "X-Ogpu-Signature"
	headerProbe            = "X-Ogpu-Probe"
	headerReceipt          = "X-Ogpu-Receipt"
	headerReceiptSignature = "X-Ogpu-Receipt-Signature"
	headerReplicaPubkey    = "X-Ogpu-Replica-Pubkey"
)

// replicaInferPattern is the route of a replica's stream requests.
const replicaInferPattern = "POST /v1/streams/{id}/infer"

// requestReadTimeout bounds the reading of a request's body.
const requestReadTimeout = 30 * time.Second

// maxJSONRowBytes bounds the JSON text of one value of a request's rows ("-128," and room for
// spaces), so a JSON body is read with a cap.
const maxJSONRowBytes = 8

// replicaRoutes are the blob server's further routes for the provider's streams.
func (s *Sidecar) replicaRoutes() []server.Route {
	return []server.Route{
		{Pattern: replicaInferPattern, Handler: http.HandlerFunc(s.serveStreamInfer)},
		{Pattern: receiptProofPattern, Handler: http.HandlerFunc(s.serveReceiptProof)},
	}
}

// receiptProofPattern is the route of a receipt's inclusion proof.
const receiptProofPattern = "GET /v1/streams/{id}/receipts/{sequence}/proof"

// serveReceiptProof serves GET /v1/streams/{id}/receipts/{sequence}/proof: the Merkle proof of
// the receipt numbered sequence under the root of its period's commitment, once the chain holds
// that commitment, for as long as the replica keeps the period (proofPeriods after it settles).
func (s *Sidecar) serveReceiptProof(w http.ResponseWriter, req *http.Request) {
	id, err := strconv.ParseUint(req.PathValue("id"), 10, 64)
	if err != nil {
		writeRefusal(w, refuse(http.StatusBadRequest, "stream id %q: must be a decimal number", req.PathValue("id")))
		return
	}
	seq, err := strconv.ParseUint(req.PathValue("sequence"), 10, 64)
	if err != nil {
		writeRefusal(w, refuse(http.StatusBadRequest, "sequence %q: must be a decimal number", req.PathValue("sequence")))
		return
	}
	r := s.replicas.get(id)
	if r == nil {
		writeRefusal(w, refuse(http.StatusNotFound, "stream %d: this provider holds no receipts of it", id))
		return
	}
	r.mu.Lock()
	proof, period, status := r.book.proof(s.cfg.ChainID, seq)
	r.mu.Unlock()
	switch status {
	case proofUncommitted:
		writeRefusal(w, refuse(http.StatusNotFound, "receipt %d of stream %d: its period %d is not committed on chain yet", seq, id, period))
		return
	case proofNotHeld:
		writeRefusal(w, refuse(http.StatusNotFound, "receipt %d of stream %d: not held (never issued, or its period is past the %d periods kept)", seq, id, proofPeriods))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(proof)
}

// streamRefusal is a request refused with an HTTP status and a message naming the field and the rule.
type streamRefusal struct {
	code int
	msg  string
	// voucher and voucherSig are the last voucher accepted, with a 402 or 409: a client that
	// lost its own record goes on from there
	voucher, voucherSig []byte
}

func (r *streamRefusal) Error() string { return r.msg }

func refuse(code int, format string, args ...any) *streamRefusal {
	return &streamRefusal{code: code, msg: fmt.Sprintf(format, args...)}
}

func writeRefusal(w http.ResponseWriter, r *streamRefusal) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(r.code)
	_ = json.NewEncoder(w).Encode(struct {
		Error            string `json:"error"`
		Voucher          []byte `json:"voucher,omitempty"`
		VoucherSignature []byte `json:"voucher_signature,omitempty"`
	}{r.msg, r.voucher, r.voucherSig})
}

// replicaView is what one request is served by, read from the replica at once.
type replicaView struct {
	model    *mlp.Model
	maxRows  int
	cols     int
	creator  string
	price    math.Int
	live     int64
	probeLen uint64
}

// streamRequest is a request's rows, decoded and encoded as the rows blob they hash as.
type streamRequest struct {
	blob []byte
	x    []int8
	rows int
	json bool
}

// serveStreamInfer serves POST /v1/streams/{id}/infer: it checks the stream, the body, the
// caller's signatures and its voucher or probe, runs the rows through the model on the
// executor, keeps the request and response bodies in the blob store and answers with the result
// and a signed receipt.
func (s *Sidecar) serveStreamInfer(w http.ResponseWriter, req *http.Request) {
	if ref := s.streamInfer(w, req); ref != nil {
		writeRefusal(w, ref)
	}
}

func (s *Sidecar) streamInfer(w http.ResponseWriter, req *http.Request) *streamRefusal {
	if !s.replicas.admit() {
		return refuse(http.StatusServiceUnavailable, "busy: %d requests in hand; try again", s.replicas.maxAdmitted)
	}
	defer s.replicas.leave()
	// a slow sender holds its place for a bounded time only
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(requestReadTimeout))
	id, err := strconv.ParseUint(req.PathValue("id"), 10, 64)
	if err != nil {
		return refuse(http.StatusBadRequest, "stream id %q: must be a decimal number", req.PathValue("id"))
	}
	r := s.replicas.get(id)
	if r == nil {
		return refuse(http.StatusServiceUnavailable, "stream %d: this provider does not serve it", id)
	}
	view, ok := r.view()
	if !ok {
		return refuse(http.StatusServiceUnavailable, "stream %d: not served now (it must be LIVE with this provider among its replicas and its model loaded)", id)
	}
	in, ref := readStreamRequest(req, view)
	if ref != nil {
		return ref
	}
	sum := sha256.Sum256(in.blob)
	inSha := hex.EncodeToString(sum[:])
	pub, ref := callerKey(req)
	if ref != nil {
		return ref
	}
	caller := sdk.AccAddress(pub.Address()).String()
	me := s.provider.String()
	var accept func() *streamRefusal
	round, probe, ref := readProbeRound(req)
	if ref != nil {
		return ref
	}
	if probe {
		if !verifyHeaderSig(req, headerSignature, pub, computetypes.ProbeSignBytes(s.cfg.ChainID, id, me, round, inSha)) {
			return refuse(http.StatusUnauthorized, "%s: not the signature of %s over the probe's sign bytes (stream %d, replica %s, round %d, rows sha256 %s)", headerSignature, caller, id, me, round, inSha)
		}
		if ref := s.checkProber(req.Context(), r, view, round, pub); ref != nil {
			return ref
		}
		accept = func() *streamRefusal { return r.takeProbe(round, caller) }
	} else {
		if caller != view.creator {
			return refuse(http.StatusUnauthorized, "%s: the key of %s, not of the stream's creator %s", headerPubkey, caller, view.creator)
		}
		v, vsig, ref := readVoucher(req)
		if ref != nil {
			return ref
		}
		if v.StreamId != id || v.Provider != me {
			return refuse(http.StatusBadRequest, "%s: names stream %d and replica %s, this is stream %d at replica %s", headerVoucher, v.StreamId, v.Provider, id, me)
		}
		if !pub.VerifySignature(computetypes.VoucherSignBytes(s.cfg.ChainID, v), vsig) {
			return refuse(http.StatusUnauthorized, "%s: not the creator's signature of the voucher", headerVoucherSignature)
		}
		if !verifyHeaderSig(req, headerSignature, pub, computetypes.RequestSignBytes(s.cfg.ChainID, id, me, inSha, v)) {
			return refuse(http.StatusUnauthorized, "%s: not the creator's signature of the request (stream %d, replica %s, rows sha256 %s, its voucher)", headerSignature, id, me, inSha)
		}
		accept = func() *streamRefusal { return r.acceptVoucher(v, vsig) }
	}
	// a probe (one row, at most one per validator a round) does not queue behind the paid
	// requests: its latency is what the validators judge
	if !probe {
		if !s.replicas.acquire(req.Context()) {
			return refuse(http.StatusServiceUnavailable, "stream %d: the request ended while it waited to run", id)
		}
		defer s.replicas.release()
	}
	// the voucher or probe is taken only once the request will run, so a busy refusal costs the
	// caller nothing
	if ref := accept(); ref != nil {
		return ref
	}
	return s.answer(w, r, view, in, inSha)
}

// answer runs a request that passed every check and writes the response.
func (s *Sidecar) answer(w http.ResponseWriter, r *replica, view replicaView, in streamRequest, inSha string) *streamRefusal {
	// request and response are kept unsynced: the replica syncs the store once per period,
	// before it commits the period's receipts, which is when a check may ask for them
	hold := bodyHold(r.id, r.bodies.Add(2)-2)
	if err := s.keepBlobUnsynced(hold, in.blob); err != nil {
		return refuse(http.StatusInternalServerError, "keep the request: %v", err)
	}
	out, err := s.store.Create()
	if err != nil {
		return refuse(http.StatusInternalServerError, "keep the response: %v", err)
	}
	defer out.Abort()
	size := mlp.ResultSize(view.model.Widths(), in.rows)
	var body bytes.Buffer
	body.Grow(int(size))
	if err := mlp.Infer(s.exec, view.model, in.x, in.rows, &body); err != nil {
		return refuse(http.StatusInternalServerError, "infer: %v", err)
	}
	result := body.Bytes()
	if s.cfg.CorruptResults || (s.cfg.CorruptEvery > 0 && s.served.Add(1)%s.cfg.CorruptEvery == 0) {
		result[len(result)/2]++
	}
	if _, err := out.Write(result); err != nil {
		return refuse(http.StatusInternalServerError, "keep the response: %v", err)
	}
	outSha, err := out.CommitUnsynced(hold)
	if err != nil {
		return refuse(http.StatusInternalServerError, "keep the response: %v", err)
	}
	rc := r.issue(computetypes.Receipt{
		StreamId: r.id, Provider: s.provider.String(), InputSha256: inSha, OutputSha256: outSha,
		InputSize: uint64(len(in.blob)), OutputSize: uint64(len(result)),
	}, s.pace.latest())
	sig, pub, err := s.replicas.signer.sign(computetypes.ReceiptSignBytes(s.cfg.ChainID, rc))
	if err != nil {
		return refuse(http.StatusInternalServerError, "sign the receipt: %v", err)
	}
	rcBytes, err := rc.Marshal()
	if err != nil {
		return refuse(http.StatusInternalServerError, "encode the receipt: %v", err)
	}
	enc := base64.StdEncoding
	w.Header().Set(headerReceipt, enc.EncodeToString(rcBytes))
	w.Header().Set(headerReceiptSignature, enc.EncodeToString(sig))
	w.Header().Set(headerReplicaPubkey, enc.EncodeToString(pub.Bytes()))
	if !in.json {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(result)))
		_, _ = w.Write(result)
		return nil
	}
	logits, argmax := resultOutputs(result, in.rows, view.model.Widths())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(streamResponse{
		Logits: logits, Argmax: argmax, Result: enc.EncodeToString(result),
		Receipt: enc.EncodeToString(rcBytes), ReceiptSignature: enc.EncodeToString(sig),
	})
	return nil
}

// streamResponse is the JSON answer: the logits and argmax of each row, the result bytes, and
// the receipt (base64 protobuf, as in X-Ogpu-Receipt) with its signature.
type streamResponse struct {
	Logits           [][]int32 `json:"logits"`
	Argmax           []uint32  `json:"argmax"`
	Result           string    `json:"result"`
	Receipt          string    `json:"receipt"`
	ReceiptSignature string    `json:"receipt_signature"`
}

// resultOutputs are the logits (rows × the last width) and argmax at the end of a result.
func resultOutputs(result []byte, rows int, widths []int) ([][]int32, []uint32) {
	out := widths[len(widths)-1]
	argmaxAt := len(result) - 4*rows
	logitsAt := argmaxAt - 4*rows*out
	logits := make([][]int32, rows)
	for i := range logits {
		logits[i] = make([]int32, out)
		for j := range logits[i] {
			logits[i][j] = int32(binary.LittleEndian.Uint32(result[logitsAt+4*(i*out+j):]))
		}
	}
	argmax := make([]uint32, rows)
	for i := range argmax {
		argmax[i] = binary.LittleEndian.Uint32(result[argmaxAt+4*i:])
	}
	return logits, argmax
}

// readStreamRequest reads the body: a rows blob, or JSON {"rows": [[…], …]}, of at most the
// stream's rows of the model's input width.
func readStreamRequest(req *http.Request, view replicaView) (streamRequest, *streamRefusal) {
	ct := req.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" {
		mt, err = "application/octet-stream", nil
	}
	if err != nil {
		return streamRequest{}, refuse(http.StatusBadRequest, "Content-Type %q: must be application/octet-stream or application/json", ct)
	}
	switch mt {
	case "application/octet-stream":
		limit := int64(mlp.RowsSize(view.maxRows, view.cols))
		b, err := io.ReadAll(http.MaxBytesReader(nil, req.Body, limit+1))
		if err != nil || int64(len(b)) > limit {
			return streamRequest{}, refuse(http.StatusBadRequest, "body: too many rows: at most %d rows of %d values (%d bytes)", view.maxRows, view.cols, limit)
		}
		x, rows, cols, err := mlp.DecodeRows(b)
		if err != nil {
			return streamRequest{}, refuse(http.StatusBadRequest, "body: %v", err)
		}
		if ref := checkShape(rows, cols, view); ref != nil {
			return streamRequest{}, ref
		}
		return streamRequest{blob: b, x: x, rows: rows}, nil
	case "application/json":
		limit := int64(view.maxRows)*int64(view.cols+2)*maxJSONRowBytes + 1024
		var body struct {
			Rows [][]int8 `json:"rows"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(nil, req.Body, limit))
		if err := dec.Decode(&body); err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return streamRequest{}, refuse(http.StatusBadRequest, "body: too many rows: at most %d rows of %d values", view.maxRows, view.cols)
			}
			return streamRequest{}, refuse(http.StatusBadRequest, `body: must be {"rows": [[int8, …], …]}: %v`, err)
		}
		if len(body.Rows) == 0 {
			return streamRequest{}, refuse(http.StatusBadRequest, "rows: none given, at least 1")
		}
		// the count before the allocation: a body of empty rows ("[],") must not size it
		if ref := checkShape(len(body.Rows), view.cols, view); ref != nil {
			return streamRequest{}, ref
		}
		x := make([]int8, 0, len(body.Rows)*view.cols)
		for i, row := range body.Rows {
			if len(row) != view.cols {
				return streamRequest{}, refuse(http.StatusBadRequest, "rows[%d]: %d values, the model takes %d", i, len(row), view.cols)
			}
			x = append(x, row...)
		}
		return streamRequest{blob: mlp.EncodeRows(x, len(body.Rows), view.cols), x: x, rows: len(body.Rows), json: true}, nil
	}
	return streamRequest{}, refuse(http.StatusBadRequest, "Content-Type %q: must be application/octet-stream or application/json", ct)
}

func checkShape(rows, cols int, view replicaView) *streamRefusal {
	if cols != view.cols {
		return refuse(http.StatusBadRequest, "rows: %d values a row, the model takes %d", cols, view.cols)
	}
	if rows < 1 || rows > view.maxRows {
		return refuse(http.StatusBadRequest, "rows: %d: too many rows, the stream takes at most %d a request", rows, view.maxRows)
	}
	return nil
}

// callerKey is the caller's public key from X-Ogpu-Pubkey.
func callerKey(req *http.Request) (*ethsecp256k1.PubKey, *streamRefusal) {
	b, err := base64.StdEncoding.DecodeString(req.Header.Get(headerPubkey))
	if err != nil || len(b) != ethsecp256k1.PubKeySize {
		return nil, refuse(http.StatusUnauthorized, "%s: must be base64 of a %d-byte compressed eth_secp256k1 public key", headerPubkey, ethsecp256k1.PubKeySize)
	}
	return &ethsecp256k1.PubKey{Key: b}, nil
}

// readProbeRound reads X-Ogpu-Probe: probe says the request is a validator's probe, of round.
func readProbeRound(req *http.Request) (round uint64, probe bool, ref *streamRefusal) {
	p := req.Header.Get(headerProbe)
	if p == "" {
		return 0, false, nil
	}
	round, err := strconv.ParseUint(p, 10, 64)
	if err != nil {
		return 0, true, refuse(http.StatusBadRequest, "%s %q: must be a probe round, a decimal number", headerProbe, p)
	}
	return round, true, nil
}

// verifyHeaderSig checks the base64 signature in header h of msg by pub.
func verifyHeaderSig(req *http.Request, h string, pub *ethsecp256k1.PubKey, msg []byte) bool {
	sig, err := base64.StdEncoding.DecodeString(req.Header.Get(h))
	return err == nil && len(sig) > 0 && pub.VerifySignature(msg, sig)
}

// readVoucher decodes X-Ogpu-Voucher and X-Ogpu-Voucher-Signature.
func readVoucher(req *http.Request) (computetypes.Voucher, []byte, *streamRefusal) {
	var v computetypes.Voucher
	b, err := base64.StdEncoding.DecodeString(req.Header.Get(headerVoucher))
	if err != nil || len(b) == 0 || v.Unmarshal(b) != nil || v.Total.IsNil() || v.Total.IsNegative() {
		return v, nil, refuse(http.StatusBadRequest, "%s: must be base64 of a protobuf Voucher with a total ≥ 0", headerVoucher)
	}
	sig, err := base64.StdEncoding.DecodeString(req.Header.Get(headerVoucherSignature))
	if err != nil || len(sig) == 0 {
		return v, nil, refuse(http.StatusUnauthorized, "%s: must be base64 of the creator's signature of the voucher", headerVoucherSignature)
	}
	return v, sig, nil
}

// view is what a request is served by, and whether the replica serves now.
func (r *replica) view() (replicaView, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.serves() {
		return replicaView{}, false
	}
	p := r.st.Workload.GetInferMlpInt8()
	if p == nil {
		return replicaView{}, false
	}
	price := r.self.Price
	if price.IsNil() {
		price = math.ZeroInt()
	}
	return replicaView{
		model: r.model, maxRows: int(p.Rows), cols: r.model.Widths()[0], creator: r.st.Creator,
		price: price, live: r.st.LiveHeight, probeLen: r.params.ProbePeriod,
	}, true
}

// acceptVoucher takes v as the latest voucher if its nonce is above the last accepted, it adds
// at least the price to the last total, and it stays within the slot's share.
func (r *replica) acceptVoucher(v computetypes.Voucher, sig []byte) *streamRefusal {
	r.mu.Lock()
	defer r.mu.Unlock()
	ref := r.refuseVoucher(v, sig)
	if ref != nil && r.voucher != nil {
		ref.voucher, _ = r.voucher.Marshal()
		ref.voucherSig = r.voucherSig
	}
	return ref
}

// refuseVoucher is acceptVoucher's rule; callers hold r.mu.
func (r *replica) refuseVoucher(v computetypes.Voucher, sig []byte) *streamRefusal {
	if v.Nonce <= r.nonce {
		return refuse(http.StatusConflict, "voucher nonce %d: must be above %d, the last accepted", v.Nonce, r.nonce)
	}
	price := r.self.Price
	if price.IsNil() {
		price = math.ZeroInt()
	}
	if need := r.total.Add(price); v.Total.LT(need) {
		return refuse(http.StatusPaymentRequired, "voucher total %s: must be at least %s (the last accepted total %s + the price %s)", v.Total, need, r.total, price)
	}
	if left := r.shareLeft(); v.Total.GT(left) {
		return refuse(http.StatusPaymentRequired, "voucher total %s: over %s, the slot's share less what its earlier replicas claimed", v.Total, left)
	}
	r.nonce, r.total, r.voucher, r.voucherSig = v.Nonce, v.Total, &v, sig
	if vb, err := v.Marshal(); err == nil {
		r.note(journalEntry{Voucher: vb, VoucherSig: sig})
	}
	return nil
}

// maxProbeCache bounds the accounts whose validator status a round caches.
const maxProbeCache = 1024

// checkProber checks a probe's round (the current one, or one next to it for a caller a block
// apart) and that its signer is a bonded validator's operator account, asking the chain once a
// round per account.
func (s *Sidecar) checkProber(ctx context.Context, r *replica, view replicaView, round uint64, pub *ethsecp256k1.PubKey) *streamRefusal {
	acc := sdk.AccAddress(pub.Address())
	if view.probeLen > 0 {
		h := max(s.pace.latest(), view.live)
		cur := uint64(h-view.live) / view.probeLen
		if round+1 < cur || round > cur+1 {
			return refuse(http.StatusBadRequest, "%s %d: the current probe round is %d", headerProbe, round, cur)
		}
	}
	r.mu.Lock()
	bonded, known := r.bonded[round][acc.String()]
	full := len(r.bonded[round]) >= maxProbeCache
	r.mu.Unlock()
	if !known && full {
		// every new key would cost a query of the node: a round's distinct probers are bounded
		// (a validator set is far smaller), and keys made up to probe are not asked about
		return refuse(http.StatusTooManyRequests, "%s: %d distinct probers in round %d already: no more are looked up", headerPubkey, maxProbeCache, round)
	}
	if !known {
		var err error
		if bonded, err = s.replicas.ledger.bondedOperator(ctx, acc); err != nil {
			return refuse(http.StatusServiceUnavailable, "%s: the validator set cannot be read now: %v", headerPubkey, err)
		}
		r.mu.Lock()
		for old := range r.bonded { // only the rounds a probe may name are kept
			if old+2 < round {
				delete(r.bonded, old)
			}
		}
		m := r.bonded[round]
		if m == nil {
			m = map[string]bool{}
			r.bonded[round] = m
		}
		if len(m) < maxProbeCache {
			m[acc.String()] = bonded
		}
		r.mu.Unlock()
	}
	if !bonded {
		return refuse(http.StatusUnauthorized, "%s: %s is not the operator account of a bonded validator", headerPubkey, acc)
	}
	return nil
}

// takeProbe takes prober's probe of round, refusing a second one.
func (r *replica) takeProbe(round uint64, prober string) *streamRefusal {
	r.mu.Lock()
	defer r.mu.Unlock()
	for old := range r.probes {
		if old+2 < round {
			delete(r.probes, old)
		}
	}
	m := r.probes[round]
	if m == nil {
		m = map[string]bool{}
		r.probes[round] = m
	}
	if m[prober] {
		return refuse(http.StatusTooManyRequests, "%s %d: %s already probed this replica in this round", headerProbe, round, prober)
	}
	m[prober] = true
	return nil
}

// issue numbers a receipt, dates it (the latest height known, never before the last receipt's,
// and never in a period already committed) and files it under its period. Dates never go back
// with sequences: two requests that read the height on either side of a period's end must not
// file the later sequence under the earlier period, or that period's receipts would not run on
// from the earlier commitments and its reveal would be refused.
func (r *replica) issue(rc computetypes.Receipt, height int64) computetypes.Receipt {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := max(height, r.sealed+1, r.st.LiveHeight, r.lastDated)
	r.lastDated = h
	rc.Sequence, rc.Height = r.seq, h
	r.seq++
	r.book.add(r.st.Period(h, r.params.ReceiptPeriod), rc)
	if b, err := rc.Marshal(); err == nil {
		r.note(journalEntry{Receipt: b})
	}
	return rc
}
