package stream

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"testing"

	"cosmossdk.io/math"
	"github.com/stretchr/testify/require"

	"github.com/cosmos/evm/crypto/ethsecp256k1"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/gpu/mlp"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// testResult is the model's answer to rows rows of testRows.
func testResult(t testing.TB, rows int) []byte {
	m := mlp.RandomModel(1, testWidths)
	var x []int8
	for _, r := range testRows(1, rows) {
		x = append(x, r...)
	}
	var out bytes.Buffer
	require.NoError(t, mlp.Infer(gemm.CPU{Workers: 1}, m, x, rows, &out))
	return out.Bytes()
}

// FuzzCheckReceipt: any receipt headers and body are a checked receipt or ErrBadReceipt, never
// a panic; a receipt accepted is signed by the replica's key and names this stream, replica,
// request and body.
func FuzzCheckReceipt(f *testing.F) {
	key, err := ethsecp256k1.GenerateKey()
	require.NoError(f, err)
	provider := sdk.AccAddress(key.PubKey().Address()).String()
	in := mlp.EncodeRows(make([]int8, 2*testWidths[0]), 2, testWidths[0])
	inSum := sha256.Sum256(in)
	body := testResult(f, 2)
	outSum := sha256.Sum256(body)
	rc := computetypes.Receipt{
		StreamId: testStreamID, Provider: provider, Sequence: 5, Height: 100,
		InputSha256: hex.EncodeToString(inSum[:]), OutputSha256: hex.EncodeToString(outSum[:]),
		InputSize: uint64(len(in)), OutputSize: uint64(len(body)),
	}
	rb, err := rc.Marshal()
	require.NoError(f, err)
	sig, err := key.Sign(computetypes.ReceiptSignBytes(testChainID, rc))
	require.NoError(f, err)
	b64 := base64.StdEncoding.EncodeToString
	pub := b64(key.PubKey().Bytes())
	f.Add(b64(rb), b64(sig), pub, body)
	f.Add(b64(rb), b64(sig), pub, body[:len(body)-1])
	f.Add(b64(rb[:len(rb)-2]), b64(sig), pub, body)
	f.Add(b64(rb), b64(sig[:32]), pub, body)
	f.Add(b64(rb), b64(sig), b64(key.PubKey().Bytes()[1:]), body)
	f.Add("", "", "", []byte{})
	f.Add("%%", "AA==", "AA", []byte("x"))
	f.Fuzz(func(t *testing.T, receipt, signature, pubkey string, body []byte) {
		s := &Stream{id: testStreamID, chainID: testChainID}
		rep := newReplica(provider)
		rep.lastSeq, rep.seq = 4, true
		h := http.Header{}
		h.Set(HeaderReceipt, receipt)
		h.Set(HeaderReceiptSignature, signature)
		h.Set(HeaderReplicaPubkey, pubkey)
		sr, err := s.checkReceipt(rep, h, request{blob: in, rows: 2, sha: rc.InputSha256}, body)
		if err != nil {
			require.ErrorIs(t, err, ErrBadReceipt)
			return
		}
		pk := &ethsecp256k1.PubKey{Key: sr.PubKey}
		require.Equal(t, provider, sdk.AccAddress(pk.Address()).String())
		require.True(t, pk.VerifySignature(computetypes.ReceiptSignBytes(testChainID, sr.Receipt), sr.Signature))
		sum := sha256.Sum256(body)
		require.Equal(t, uint64(testStreamID), sr.Receipt.StreamId)
		require.Equal(t, provider, sr.Receipt.Provider)
		require.Equal(t, rc.InputSha256, sr.Receipt.InputSha256)
		require.Equal(t, hex.EncodeToString(sum[:]), sr.Receipt.OutputSha256)
		require.Equal(t, uint64(len(body)), sr.Receipt.OutputSize)
		require.Greater(t, sr.Receipt.Sequence, uint64(4))
	})
}

// FuzzReadResult: any bytes are the logits and argmax of rows rows of the model's widths or an
// error, never a panic; an answer accepted has an argmax that is each row's largest logit.
func FuzzReadResult(f *testing.F) {
	for _, rows := range []int{1, 2, 4} {
		b := testResult(f, rows)
		f.Add(b, uint8(rows))
		f.Add(b[:len(b)-4], uint8(rows))
		f.Add(b, uint8(rows+1))
		bad := append([]byte{}, b...)
		bad[len(bad)-1] = 0xff
		f.Add(bad, uint8(rows))
		bad = append([]byte{}, b...)
		bad[16] = 9
		f.Add(bad, uint8(rows))
	}
	f.Add([]byte("OGPUINFR"), uint8(1))
	f.Add([]byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, rows uint8) {
		n := int(rows%8) + 1
		logits, argmax, err := readResult(b, testWidths, n)
		if err != nil {
			return
		}
		out := testWidths[len(testWidths)-1]
		require.Len(t, logits, n)
		require.Len(t, argmax, n)
		for i, row := range logits {
			require.Len(t, row, out)
			require.Less(t, int(argmax[i]), out)
			for _, l := range row {
				require.LessOrEqual(t, l, row[argmax[i]])
			}
		}
	})
}

// FuzzRefusal: any refusal body is read and its echoed voucher taken only when this client
// signed it, for this stream and replica, never with a panic; a voucher taken never lowers the
// client's nonce or total.
func FuzzRefusal(f *testing.F) {
	n := newTestNet(f, 1, math.NewInt(1000))
	s := n.open(f)
	rep := s.replicas[n.replicas[0].provider]
	v := computetypes.Voucher{StreamId: testStreamID, Provider: rep.provider, Total: math.NewInt(50), Nonce: 5}
	vb, err := v.Marshal()
	require.NoError(f, err)
	sig, err := s.signer.Sign(computetypes.VoucherSignBytes(testChainID, v))
	require.NoError(f, err)
	ok := `{"error":"voucher nonce 1: must be above 5, the last accepted","voucher":"` + base64.StdEncoding.EncodeToString(vb) +
		`","voucher_signature":"` + base64.StdEncoding.EncodeToString(sig) + `"}`
	f.Add([]byte(ok))
	f.Add([]byte(`{"error":"busy"}`))
	f.Add([]byte(`{"error":"x","voucher":"CAc=","voucher_signature":""}`))
	f.Add([]byte(`{"voucher":5}`))
	f.Add([]byte("not json"))
	f.Fuzz(func(t *testing.T, body []byte) {
		s.mu.Lock()
		prevTotal, prevNonce := rep.total, rep.nonce
		s.mu.Unlock()
		var e refusal
		if json.Unmarshal(body, &e) != nil {
			return
		}
		s.adopt(rep, e)
		s.mu.Lock()
		defer s.mu.Unlock()
		require.GreaterOrEqual(t, rep.nonce, prevNonce)
		require.True(t, rep.total.GTE(prevTotal))
	})
}
