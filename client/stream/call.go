package stream

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
	"net/http"
	"net/http/httptrace"
	"slices"
	"sync/atomic"
	"time"

	"github.com/cosmos/evm/crypto/ethsecp256k1"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/gpu/mlp"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// The headers of docs/streams.md.
const (
	HeaderPubkey           = "X-Ogpu-Pubkey"
	HeaderVoucher          = "X-Ogpu-Voucher"
	HeaderVoucherSignature = "X-Ogpu-Voucher-Signature"
	HeaderSignature        = "X-Ogpu-Signature"
	HeaderReceipt          = "X-Ogpu-Receipt"
	HeaderReceiptSignature = "X-Ogpu-Receipt-Signature"
	HeaderReplicaPubkey    = "X-Ogpu-Replica-Pubkey"
)

// InferPath is where a replica serves stream id.
func InferPath(id uint64) string { return fmt.Sprintf("/v1/streams/%d/infer", id) }

// SignedReceipt is a replica's receipt with its signature and the key that made it.
type SignedReceipt struct {
	Receipt   computetypes.Receipt
	Signature []byte
	// PubKey is the replica's compressed eth_secp256k1 public key.
	PubKey []byte
}

// Response is a replica's checked answer to one request.
type Response struct {
	// Result is the infer-mlp-int8/v1 result: every layer's accumulators, the logits, the argmax.
	Result []byte
	// Logits are each row's logits; Argmax each row's largest one.
	Logits [][]int32
	Argmax []uint32
	// Receipt is the replica's signed receipt of the response.
	Receipt SignedReceipt
	// Voucher is what the request paid the replica, in all.
	Voucher computetypes.Voucher
	// Replica is the provider that served, at Endpoint.
	Replica  string
	Endpoint string
	// Latency is the time from sending the request to the whole response.
	Latency time.Duration
	// Tries counts the replicas asked, this one included.
	Tries int
	// SpotChecked says the result was recomputed locally (and matched, unless the error says not).
	SpotChecked bool
}

// RefusedError is a replica's refusal: the HTTP status and the error it gave.
type RefusedError struct {
	Status  int
	Message string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("refused (%d %s): %s", e.Status, http.StatusText(e.Status), e.Message)
}

// ErrBadReceipt is what a response's error wraps when its receipt or body does not check.
var ErrBadReceipt = errors.New("bad receipt")

// errReplicaDown: the replica failed, or left the stream, while the request waited for it.
var errReplicaDown = errors.New("the replica failed or left the stream while the request waited")

// errStore marks a voucher the store could not keep: the request was not sent.
var errStore = errors.New("voucher not saved")

// request is one request's rows blob, its row count and its sha256 (lowercase hex).
type request struct {
	blob []byte
	rows int
	sha  string
}

// maxErrorBody bounds the body of a refusal read.
const maxErrorBody = 64 << 10

// call sends req to rep with the next voucher and checks the response.
func (s *Stream) call(ctx context.Context, rep *replica, req request, picked time.Time) (Response, error) {
	select {
	case rep.send <- struct{}{}:
	case <-ctx.Done():
		return Response{}, ctx.Err()
	}
	defer func() { <-rep.send }()

	s.mu.Lock()
	if rep.gone {
		s.mu.Unlock()
		return Response{}, errReplicaDown
	}
	if rep.failedAt.After(picked) {
		// it failed the request ahead of this one: no need to wait for it to fail again
		s.mu.Unlock()
		return Response{}, errReplicaDown
	}
	if !rep.canPay() {
		s.mu.Unlock()
		return Response{}, ErrBudgetSpent
	}
	prevTotal, prevNonce := rep.total, rep.nonce
	v := computetypes.Voucher{StreamId: s.id, Provider: rep.provider, Total: rep.total.Add(rep.price), Nonce: rep.nonce + 1}
	rep.total, rep.nonce = v.Total, v.Nonce
	endpoint, info := rep.endpoint, s.info
	s.mu.Unlock()
	// a voucher the replica never took is taken back, so the next one does not pay twice
	rollback := func() {
		s.mu.Lock()
		if rep.nonce == v.Nonce {
			rep.total, rep.nonce = prevTotal, prevNonce
		}
		now := computetypes.Voucher{StreamId: v.StreamId, Provider: v.Provider, Total: rep.total, Nonce: rep.nonce}
		s.mu.Unlock()
		if s.cfg.store != nil {
			_ = s.cfg.store.Save(now) // a store left ahead is safe: it only skips a nonce
		}
	}
	if s.cfg.store != nil {
		if err := s.cfg.store.Save(v); err != nil {
			rollback()
			return Response{}, fmt.Errorf("%w: %w", errStore, err)
		}
	}

	vsig, err := s.signer.Sign(computetypes.VoucherSignBytes(s.chainID, v))
	if err != nil {
		rollback()
		return Response{}, fmt.Errorf("sign voucher: %w", err)
	}
	rsig, err := s.signer.Sign(computetypes.RequestSignBytes(s.chainID, s.id, rep.provider, req.sha, v))
	if err != nil {
		rollback()
		return Response{}, fmt.Errorf("sign request: %w", err)
	}
	vb, err := v.Marshal()
	if err != nil {
		rollback()
		return Response{}, err
	}

	ctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	defer cancel()
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) }})
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+InferPath(s.id), bytes.NewReader(req.blob))
	if err != nil {
		rollback()
		return Response{}, err
	}
	b64 := base64.StdEncoding.EncodeToString
	hr.Header.Set("Content-Type", "application/octet-stream")
	hr.Header.Set(HeaderPubkey, s.pubkey)
	hr.Header.Set(HeaderVoucher, b64(vb))
	hr.Header.Set(HeaderVoucherSignature, b64(vsig))
	hr.Header.Set(HeaderSignature, b64(rsig))

	start := time.Now()
	resp, err := s.cfg.http.Do(hr)
	if err != nil {
		if !wrote.Load() {
			rollback()
		}
		return Response{}, err
	}
	defer resp.Body.Close()
	widths := uint32sToInts(info.Workload.GetInferMlpInt8().Widths)
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		var e refusal
		msg := string(body)
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		if resp.StatusCode < 500 || resp.StatusCode == http.StatusServiceUnavailable {
			rollback() // refused before the voucher was taken
		}
		if resp.StatusCode == http.StatusPaymentRequired || resp.StatusCode == http.StatusConflict {
			s.adopt(rep, e)
		}
		return Response{}, &RefusedError{Status: resp.StatusCode, Message: msg}
	}
	want := mlp.ResultSize(widths, req.rows)
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(want)+1))
	if err != nil {
		return Response{}, fmt.Errorf("response: %w", err)
	}
	latency := time.Since(start)
	if uint64(len(body)) != want {
		return Response{}, fmt.Errorf("%w: result of %d bytes or more, want %d for %d rows of widths %v", ErrBadReceipt, len(body), want, req.rows, widths)
	}
	res := Response{Result: body, Voucher: v, Replica: rep.provider, Endpoint: endpoint, Latency: latency}
	if res.Receipt, err = s.checkReceipt(rep, resp.Header, req, body); err != nil {
		return Response{}, err
	}
	if res.Logits, res.Argmax, err = readResult(body, widths, req.rows); err != nil {
		return Response{}, fmt.Errorf("%w: %v", ErrBadReceipt, err)
	}
	s.served(rep, latency, res.Receipt.Receipt.Sequence)
	return res, nil
}

// refusal is a replica's JSON refusal. With a 402 or 409 a replica may add the last voucher it
// accepted with its signature, so a client that lost its own record (another machine, a lost
// store) goes on from there; it is taken only when the signature is this client's own.
type refusal struct {
	Error            string `json:"error"`
	Voucher          []byte `json:"voucher,omitempty"`
	VoucherSignature []byte `json:"voucher_signature,omitempty"`
}

// adopt takes the last voucher a replica says it accepted, if this client signed it and it is
// ahead of what the client knows.
func (s *Stream) adopt(rep *replica, e refusal) {
	if len(e.Voucher) == 0 {
		return
	}
	var v computetypes.Voucher
	if err := v.Unmarshal(e.Voucher); err != nil || v.StreamId != s.id || v.Provider != rep.provider || v.Total.IsNil() {
		return
	}
	own := &ethsecp256k1.PubKey{Key: s.signer.PubKey()}
	if !own.VerifySignature(computetypes.VoucherSignBytes(s.chainID, v), e.VoucherSignature) {
		return
	}
	s.mu.Lock()
	ahead := v.Nonce > rep.nonce || v.Total.GT(rep.total)
	if ahead {
		rep.nonce = max(rep.nonce, v.Nonce)
		if v.Total.GT(rep.total) {
			rep.total = v.Total
		}
		v.Total, v.Nonce = rep.total, rep.nonce
	}
	s.mu.Unlock()
	if ahead && s.cfg.store != nil {
		_ = s.cfg.store.Save(v) // the replica keeps it too: a failed save costs one more resync
	}
}

// checkReceipt reads the receipt headers of a response and checks them: signed by the key of
// X-Ogpu-Replica-Pubkey, whose account is the replica; of this stream and replica, this request
// and this body; with a sequence above the replica's last.
func (s *Stream) checkReceipt(rep *replica, h http.Header, req request, body []byte) (SignedReceipt, error) {
	var sr SignedReceipt
	field := func(name string) ([]byte, error) {
		v := h.Get(name)
		if v == "" {
			return nil, fmt.Errorf("%w: no %s header", ErrBadReceipt, name)
		}
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadReceipt, name, err)
		}
		return b, nil
	}
	rb, err := field(HeaderReceipt)
	if err != nil {
		return sr, err
	}
	if sr.Signature, err = field(HeaderReceiptSignature); err != nil {
		return sr, err
	}
	if sr.PubKey, err = field(HeaderReplicaPubkey); err != nil {
		return sr, err
	}
	if err := sr.Receipt.Unmarshal(rb); err != nil {
		return sr, fmt.Errorf("%w: %s: %v", ErrBadReceipt, HeaderReceipt, err)
	}
	if len(sr.PubKey) != ethsecp256k1.PubKeySize {
		return sr, fmt.Errorf("%w: %s: %d bytes, want a compressed eth_secp256k1 key of %d", ErrBadReceipt, HeaderReplicaPubkey, len(sr.PubKey), ethsecp256k1.PubKeySize)
	}
	pk := &ethsecp256k1.PubKey{Key: sr.PubKey}
	if addr := sdk.AccAddress(pk.Address()).String(); addr != rep.provider {
		return sr, fmt.Errorf("%w: %s is the key of %s, not of the replica", ErrBadReceipt, HeaderReplicaPubkey, addr)
	}
	if !pk.VerifySignature(computetypes.ReceiptSignBytes(s.chainID, sr.Receipt), sr.Signature) {
		return sr, fmt.Errorf("%w: the signature is not the replica's", ErrBadReceipt)
	}
	r := sr.Receipt
	out := sha256.Sum256(body)
	checks := []struct {
		ok   bool
		what string
	}{
		{r.StreamId == s.id, fmt.Sprintf("stream %d, not %d", r.StreamId, s.id)},
		{r.Provider == rep.provider, fmt.Sprintf("provider %s, not the replica", r.Provider)},
		{r.InputSha256 == req.sha, fmt.Sprintf("input_sha256 %s, the request's is %s", r.InputSha256, req.sha)},
		{r.InputSize == uint64(len(req.blob)), fmt.Sprintf("input_size %d, the request's is %d", r.InputSize, len(req.blob))},
		{r.OutputSha256 == hex.EncodeToString(out[:]), fmt.Sprintf("output_sha256 %s, not the body's", r.OutputSha256)},
		{r.OutputSize == uint64(len(body)), fmt.Sprintf("output_size %d, the body has %d bytes", r.OutputSize, len(body))},
	}
	for _, c := range checks {
		if !c.ok {
			return sr, fmt.Errorf("%w: %s", ErrBadReceipt, c.what)
		}
	}
	s.mu.Lock()
	last, seen := rep.lastSeq, rep.seq
	s.mu.Unlock()
	if seen && r.Sequence <= last {
		return sr, fmt.Errorf("%w: sequence %d, not above the replica's last %d", ErrBadReceipt, r.Sequence, last)
	}
	return sr, nil
}

// readResult reads the logits and argmax of an infer-mlp-int8/v1 result whose size was checked,
// after checking its header names these widths and rows.
func readResult(b []byte, widths []int, rows int) ([][]int32, []uint32, error) {
	argmax, err := mlp.ResultArgmax(b)
	if err != nil {
		return nil, nil, err
	}
	if len(argmax) != rows {
		return nil, nil, fmt.Errorf("result of %d rows, the request has %d", len(argmax), rows)
	}
	hdr := 20 + 4*len(widths)
	if n := int(binary.LittleEndian.Uint32(b[16:])); n != len(widths)-1 {
		return nil, nil, fmt.Errorf("result of %d layers, the model has %d", n, len(widths)-1)
	}
	for i, w := range widths {
		if got := int(binary.LittleEndian.Uint32(b[20+4*i:])); got != w {
			return nil, nil, fmt.Errorf("result of widths %d at %d, the model's is %d", got, i, w)
		}
	}
	off := hdr
	for _, w := range widths[1:] {
		off += 4 * rows * w
	}
	out := widths[len(widths)-1]
	logits := make([][]int32, rows)
	for i := range logits {
		logits[i] = make([]int32, out)
		for j := range logits[i] {
			logits[i][j] = int32(binary.LittleEndian.Uint32(b[off:]))
			off += 4
		}
	}
	for i, a := range argmax {
		if int(a) >= out || slices.Max(logits[i]) != logits[i][a] {
			return nil, nil, fmt.Errorf("row %d: argmax %d is not its largest logit", i, a)
		}
	}
	return logits, argmax, nil
}

func uint32sToInts(v []uint32) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}
