package sidecar

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"
	"github.com/cosmos/evm/crypto/ethsecp256k1"

	"github.com/opengpu/ogpu/gpu/mlp"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// FuzzReadStreamRequest: any Content-Type and body give rows the stream takes or a 400, never a
// panic; rows accepted are 1..maxRows of the model's width, and their blob decodes to them.
func FuzzReadStreamRequest(f *testing.F) {
	x := make([]int8, 3*16)
	for i := range x {
		x[i] = int8(i*7 - 100)
	}
	f.Add("application/octet-stream", mlp.EncodeRows(x, 3, 16), uint8(4), uint8(16))
	f.Add("", mlp.EncodeRows(x[:16], 1, 16), uint8(4), uint8(16))
	f.Add("application/octet-stream", mlp.EncodeRows(x, 3, 16), uint8(2), uint8(16))
	f.Add("application/octet-stream", mlp.EncodeRows(x, 6, 8), uint8(8), uint8(16))
	f.Add("application/octet-stream", mlp.EncodeRows(x, 3, 16)[:20], uint8(4), uint8(16))
	f.Add("application/json", []byte(`{"rows": [[1, -2, 3], [127, -128, 0]]}`), uint8(4), uint8(3))
	f.Add("application/json; charset=utf-8", []byte(`{"rows": [[1, 2, 3]]}`), uint8(1), uint8(3))
	f.Add("application/json", []byte(`{"rows": [[1, 2], [3]]}`), uint8(4), uint8(2))
	f.Add("application/json", []byte(`{"rows": []}`), uint8(4), uint8(2))
	f.Add("application/json", []byte(`{"rows": [[128]]}`), uint8(4), uint8(1))
	f.Add("application/json", []byte(`{"rows": [[1e2, 0.5]]}`), uint8(4), uint8(2))
	f.Add("application/json", []byte(`{"rows": null}`), uint8(4), uint8(2))
	f.Add("application/json", []byte(`{"rows": [[1,1],[1,1],[1,1]]}`), uint8(2), uint8(2))
	f.Add("text/plain", []byte("1,2,3"), uint8(4), uint8(3))
	f.Add("application/json; =", []byte(`{}`), uint8(4), uint8(3))
	f.Fuzz(func(t *testing.T, ct string, body []byte, maxRows, cols uint8) {
		view := replicaView{maxRows: int(maxRows%64) + 1, cols: int(cols%64) + 1}
		req := httptest.NewRequest(http.MethodPost, "/v1/streams/7/infer", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		in, ref := readStreamRequest(req, view)
		if ref != nil {
			require.Equal(t, http.StatusBadRequest, ref.code)
			require.NotEmpty(t, ref.msg)
			return
		}
		require.GreaterOrEqual(t, in.rows, 1)
		require.LessOrEqual(t, in.rows, view.maxRows)
		require.Len(t, in.x, in.rows*view.cols)
		got, rows, c, err := mlp.DecodeRows(in.blob)
		require.NoError(t, err)
		require.Equal(t, in.x, got)
		require.Equal(t, in.rows, rows)
		require.Equal(t, view.cols, c)
	})
}

// TestAJSONBodyOfEmptyRowsIsRefusedBeforeItsRowsAreAllocated: a body that passes the size cap
// with as many empty rows as it holds is refused without an allocation sized by their count
// times the model's width (100 MiB here), before the caller is even known.
func TestAJSONBodyOfEmptyRowsIsRefusedBeforeItsRowsAreAllocated(t *testing.T) {
	view := replicaView{maxRows: 64, cols: 784}
	limit := view.maxRows*(view.cols+2)*maxJSONRowBytes + 1024
	rows := (limit - 32) / 3
	body := make([]byte, 0, limit)
	body = append(body, `{"rows":[`...)
	body = append(body, bytes.Repeat([]byte("[],"), rows-1)...)
	body = append(body, "[]]}"...)
	require.LessOrEqual(t, len(body), limit)
	req := httptest.NewRequest(http.MethodPost, "/v1/streams/7/infer", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, ref := readStreamRequest(req, view)
	runtime.ReadMemStats(&after)
	require.NotNil(t, ref)
	require.Equal(t, http.StatusBadRequest, ref.code)
	// the decoded [][]int8 itself is 24 bytes a row; the rows' values would be 784 a row
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(rows)*200)
	require.Contains(t, ref.msg, "too many rows")
}

// FuzzStreamHeaders: any X-Ogpu-Pubkey, X-Ogpu-Voucher, X-Ogpu-Voucher-Signature,
// X-Ogpu-Signature and X-Ogpu-Probe give a refusal or well-formed values, never a panic.
func FuzzStreamHeaders(f *testing.F) {
	key, err := ethsecp256k1.GenerateKey()
	require.NoError(f, err)
	pub := base64.StdEncoding.EncodeToString(key.PubKey().Bytes())
	v := computetypes.Voucher{StreamId: 7, Provider: "ogpu1replica", Total: math.NewInt(30), Nonce: 3}
	vb, err := v.Marshal()
	require.NoError(f, err)
	vsig, err := key.Sign(computetypes.VoucherSignBytes(replicaChainID, v))
	require.NoError(f, err)
	b64 := base64.StdEncoding.EncodeToString
	f.Add(pub, b64(vb), b64(vsig), b64(vsig), "")
	f.Add(pub, "", "", b64(vsig), "12")
	f.Add(pub, b64(vb), "", "", "18446744073709551616")
	f.Add(pub, b64(vb[:len(vb)-1]), b64(vsig), "!!", "-1")
	f.Add(b64(key.PubKey().Bytes()[:32]), b64([]byte{0x1a, 0x02, 0x2d, 0x31}), b64(vsig[:10]), b64(vsig[:64]), "0x1")
	f.Add("", b64([]byte{0xff, 0xff, 0xff}), "====", "", " 1")
	f.Add(pub, b64(vb), b64(vsig), b64(vsig), "007")
	f.Fuzz(func(t *testing.T, pubkey, voucher, voucherSig, sig, probe string) {
		req := httptest.NewRequest(http.MethodPost, "/v1/streams/7/infer", nil)
		req.Header.Set(headerPubkey, pubkey)
		req.Header.Set(headerVoucher, voucher)
		req.Header.Set(headerVoucherSignature, voucherSig)
		req.Header.Set(headerSignature, sig)
		req.Header.Set(headerProbe, probe)

		if round, isProbe, ref := readProbeRound(req); ref != nil {
			require.Equal(t, http.StatusBadRequest, ref.code)
		} else if isProbe {
			want, err := strconv.ParseUint(req.Header.Get(headerProbe), 10, 64)
			require.NoError(t, err)
			require.Equal(t, want, round)
		} else {
			require.Empty(t, req.Header.Get(headerProbe))
		}

		if pk, ref := callerKey(req); ref == nil {
			require.Len(t, pk.Key, ethsecp256k1.PubKeySize)
			// an arbitrary signature under an arbitrary key is checked, never a panic; one that
			// verifies was a signature header
			if verifyHeaderSig(req, headerSignature, pk, []byte("request")) {
				require.NotEmpty(t, sig)
			}
			_ = pk.VerifySignature(computetypes.VoucherSignBytes(replicaChainID, v), []byte(voucherSig))
		} else {
			require.Equal(t, http.StatusUnauthorized, ref.code)
		}

		got, gotSig, ref := readVoucher(req)
		if ref != nil {
			require.Contains(t, []int{http.StatusBadRequest, http.StatusUnauthorized}, ref.code)
			return
		}
		require.False(t, got.Total.IsNil())
		require.False(t, got.Total.IsNegative())
		require.NotEmpty(t, gotSig)
		// what the replica signs and journals over must encode
		_ = computetypes.VoucherSignBytes(replicaChainID, got)
		_, err := got.Marshal()
		require.NoError(t, err)
	})
}
