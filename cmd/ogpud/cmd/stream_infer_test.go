package cmd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"cosmossdk.io/math"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/cosmos/evm/crypto/ethsecp256k1"
	evmhd "github.com/cosmos/evm/crypto/hd"
	evmencoding "github.com/cosmos/evm/encoding"

	cmtcli "github.com/cometbft/cometbft/libs/cli"

	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/codec"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	svrcmd "github.com/cosmos/cosmos-sdk/server/cmd"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/client/stream"
	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/gpu/mlp"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
)

const streamTestChain = "ogpu-cli-1"

// streamQuery answers the stream query over gRPC, as a node does.
type streamQuery struct {
	computetypes.UnimplementedQueryServer
	stream computetypes.Stream
}

func (q *streamQuery) Streams(_ context.Context, req *computetypes.QueryStreamsRequest) (*computetypes.QueryStreamsResponse, error) {
	if (req.State != 0 && req.State != q.stream.State) || (req.Creator != "" && req.Creator != q.stream.Creator) {
		return &computetypes.QueryStreamsResponse{}, nil
	}
	return &computetypes.QueryStreamsResponse{Streams: []computetypes.Stream{q.stream}}, nil
}

func (q *streamQuery) Stream(_ context.Context, req *computetypes.QueryStreamRequest) (*computetypes.QueryStreamResponse, error) {
	return &computetypes.QueryStreamResponse{Stream: q.stream}, nil
}

// cliReplica serves a stream by docs/streams.md's rules (signatures, monotonic vouchers) and
// records the vouchers it took.
type cliReplica struct {
	t        *testing.T
	key      *ethsecp256k1.PrivKey
	provider string
	creator  string
	model    *mlp.Model

	mu       sync.Mutex
	nonce    uint64
	total    math.Int
	vouchers []computetypes.Voucher
}

func (r *cliReplica) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	h := func(name string) []byte { b, _ := base64.StdEncoding.DecodeString(req.Header.Get(name)); return b }
	pk := &ethsecp256k1.PubKey{Key: h(stream.HeaderPubkey)}
	var v computetypes.Voucher
	require.NoError(r.t, v.Unmarshal(h(stream.HeaderVoucher)))
	sum := sha256.Sum256(body)
	inSha := hex.EncodeToString(sum[:])
	ok := len(pk.Key) == ethsecp256k1.PubKeySize && sdk.AccAddress(pk.Address()).String() == r.creator &&
		pk.VerifySignature(computetypes.VoucherSignBytes(streamTestChain, v), h(stream.HeaderVoucherSignature)) &&
		pk.VerifySignature(computetypes.RequestSignBytes(streamTestChain, 7, r.provider, inSha, v), h(stream.HeaderSignature))
	if !ok {
		http.Error(w, `{"error": "bad signature"}`, http.StatusUnauthorized)
		return
	}
	r.mu.Lock()
	if v.Nonce <= r.nonce || v.Total.LT(r.total.AddRaw(10)) {
		r.mu.Unlock()
		http.Error(w, `{"error": "voucher"}`, http.StatusConflict)
		return
	}
	r.nonce, r.total = v.Nonce, v.Total
	r.vouchers = append(r.vouchers, v)
	seq := uint64(len(r.vouchers))
	r.mu.Unlock()
	x, rows, _, err := mlp.DecodeRows(body)
	require.NoError(r.t, err)
	var out bytes.Buffer
	require.NoError(r.t, mlp.Infer(gemm.CPU{Workers: 1}, r.model, x, rows, &out))
	outSum := sha256.Sum256(out.Bytes())
	rc := computetypes.Receipt{StreamId: 7, Provider: r.provider, Sequence: seq, InputSha256: inSha, OutputSha256: hex.EncodeToString(outSum[:]),
		InputSize: uint64(len(body)), OutputSize: uint64(out.Len()), Height: 50}
	sig, err := r.key.Sign(computetypes.ReceiptSignBytes(streamTestChain, rc))
	require.NoError(r.t, err)
	rb, _ := rc.Marshal()
	w.Header().Set(stream.HeaderReceipt, base64.StdEncoding.EncodeToString(rb))
	w.Header().Set(stream.HeaderReceiptSignature, base64.StdEncoding.EncodeToString(sig))
	w.Header().Set(stream.HeaderReplicaPubkey, base64.StdEncoding.EncodeToString(r.key.PubKey().Bytes()))
	_, _ = w.Write(out.Bytes())
}

var sdkConfigOnce sync.Once

// runOgpud runs the ogpud command line with args as the binary does and returns what it printed.
func runOgpud(t *testing.T, args ...string) (string, error) {
	sdkConfigOnce.Do(SetSDKConfig)
	root := NewRootCmd()
	// what svrcmd.Execute adds, without its exit on an error
	root.PersistentFlags().String(flags.FlagLogLevel, "info", "")
	root.PersistentFlags().String(flags.FlagLogFormat, "plain", "")
	root.PersistentFlags().Bool(flags.FlagLogNoColor, false, "")
	root.PersistentFlags().String(flags.FlagVerboseLogLevel, "debug", "")
	cmtcli.PrepareBaseCmd(root, "OGPUD", DefaultNodeHome)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	// the SDK's tx and query printers write to the process's stdout
	f, err := os.CreateTemp(t.TempDir(), "stdout")
	require.NoError(t, err)
	stdout := os.Stdout
	os.Stdout = f
	err = root.ExecuteContext(svrcmd.CreateExecuteContext(context.Background()))
	os.Stdout = stdout
	printed, rerr := os.ReadFile(f.Name())
	require.NoError(t, rerr)
	return out.String() + string(printed), err
}

func TestStreamInferCommand(t *testing.T) {
	sdkConfigOnce.Do(SetSDKConfig)
	home := t.TempDir()
	enc := evmencoding.MakeConfig(1337)
	kr, err := keyring.New("ogpud", keyring.BackendTest, home, nil, enc.Codec, evmhd.EthSecp256k1Option())
	require.NoError(t, err)
	rec, _, err := kr.NewMnemonic("alice", keyring.English, sdk.FullFundraiserPath, "", evmhd.EthSecp256k1)
	require.NoError(t, err)
	creator, err := rec.GetAddress()
	require.NoError(t, err)

	model := mlp.RandomModel(3, []int{16, 8, 4})
	key, err := ethsecp256k1.GenerateKey()
	require.NoError(t, err)
	rep := &cliReplica{t: t, key: key, provider: sdk.AccAddress(key.PubKey().Address()).String(), creator: creator.String(), model: model, total: math.ZeroInt()}
	srv := httptest.NewServer(rep)
	defer srv.Close()

	st := computetypes.Stream{
		Id: 7, Creator: creator.String(), State: computetypes.STREAM_STATE_LIVE, Replicas: 1, Budget: math.NewInt(1_000_000),
		Workload: computetypes.Workload{Name: workload.InferMlpInt8V1, Params: &computetypes.Workload_InferMlpInt8{
			InferMlpInt8: &computetypes.InferMlpInt8Params{Widths: []uint32{16, 8, 4}, Rows: 2},
		}},
		Model:   computetypes.Blob{Uri: "http://models.example/m", Sha256: sha256Hex(model.Encode()), Size_: uint64(len(model.Encode()))},
		Serving: []computetypes.Replica{{Provider: rep.provider, Price: math.NewInt(10), Endpoint: srv.URL, Claimed: math.ZeroInt(), Collateral: math.ZeroInt()}},
	}
	gs := grpc.NewServer(grpc.ForceServerCodec(codec.NewProtoCodec(enc.InterfaceRegistry).GRPCCodec()))
	computetypes.RegisterQueryServer(gs, &streamQuery{stream: st})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = gs.Serve(ln) }()
	defer gs.Stop()

	x := make([]int8, 5*16)
	for i := range x {
		x[i] = int8(i*7 - 40)
	}
	ds := &mlp.Dataset{Rows: 5, Cols: 16, Classes: 4, Features: x, Labels: []uint8{0, 1, 2, 3, 0}}
	input := filepath.Join(home, "rows.dset")
	require.NoError(t, os.WriteFile(input, ds.Encode(), 0o644))
	_, _, want, err := mlp.Forward(gemm.CPU{Workers: 1}, model, x, 5)
	require.NoError(t, err)

	common := []string{"--home", home, "--keyring-backend", "test", "--from", "alice", "--chain-id", streamTestChain,
		"--grpc-addr", ln.Addr().String(), "--grpc-insecure", "--node", "tcp://127.0.0.1:1"}
	out, err := runOgpud(t, append([]string{"stream", "infer", "7", "--input", input}, common...)...)
	require.NoError(t, err, out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4, "three requests of at most 2 rows, then the accuracy: %s", out)
	require.True(t, strings.HasPrefix(lines[0], fmt.Sprintf("argmax %v\treplica %s receipt 1 ", want[:2], rep.provider)), lines[0])
	require.Contains(t, lines[3], "accuracy ")
	require.Len(t, rep.vouchers, 3)

	// a second run goes on from the vouchers the first kept, and --json prints the receipts
	out, err = runOgpud(t, append([]string{"stream", "infer", "7", "--input", input, "--first", "1", "--json", "--model", writeModel(t, home, model), "--spot-check", "1"}, common...)...)
	require.NoError(t, err, out)
	var res struct {
		Argmax      []uint32 `json:"argmax"`
		SpotChecked bool     `json:"spot_checked"`
		Voucher     struct {
			Nonce uint64 `json:"nonce"`
		} `json:"voucher"`
		ReceiptBytes string `json:"receipt_bytes"`
	}
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(out)), &res), out)
	require.Equal(t, want[:1], res.Argmax)
	require.True(t, res.SpotChecked)
	require.Equal(t, uint64(4), res.Voucher.Nonce, "the fourth voucher of this replica")

	// --count: the rate and latency
	out, err = runOgpud(t, append([]string{"stream", "infer", "7", "--input", input, "--count", "20", "--concurrency", "4"}, common...)...)
	require.NoError(t, err, out)
	require.Contains(t, out, "20 requests, 20 ok, 0 failed, 0 wrong")
	require.Contains(t, out, "requests/s")
	require.Len(t, rep.vouchers, 24)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func writeModel(t *testing.T, dir string, m *mlp.Model) string {
	p := filepath.Join(dir, "model.bin")
	require.NoError(t, os.WriteFile(p, m.Encode(), 0o644))
	return p
}

func TestStreamTxAndQueryCommands(t *testing.T) {
	sdkConfigOnce.Do(SetSDKConfig)
	home := t.TempDir()
	enc := evmencoding.MakeConfig(1337)
	kr, err := keyring.New("ogpud", keyring.BackendTest, home, nil, enc.Codec, evmhd.EthSecp256k1Option())
	require.NoError(t, err)
	rec, _, err := kr.NewMnemonic("alice", keyring.English, sdk.FullFundraiserPath, "", evmhd.EthSecp256k1)
	require.NoError(t, err)
	alice, err := rec.GetAddress()
	require.NoError(t, err)
	offline := []string{"--home", home, "--keyring-backend", "test", "--from", "alice", "--chain-id", streamTestChain, "--generate-only"}

	sha := strings.Repeat("ab", 32)
	out, err := runOgpud(t, append([]string{"tx", "compute", "open-stream", "infer-mlp-int8", "--widths", "784,128,10", "--rows", "4",
		"--model-uri", "http://models.example/m", "--model-sha256", sha, "--model-size", "101770", "--replicas", "2",
		"--max-price-per-request", "1000", "--duration", "300", "--deposit", "5000000"}, offline...)...)
	require.NoError(t, err, out)
	require.Contains(t, out, `"@type":"/ogpu.compute.v1.MsgOpenStream"`)
	require.Contains(t, out, `"creator":"`+alice.String()+`"`)
	require.Contains(t, out, `"replicas":2`)
	require.Contains(t, out, `"deposit":{"denom":"aogpu","amount":"5000000"}`)

	out, err = runOgpud(t, append([]string{"tx", "compute", "fund-stream", "7", "250aogpu"}, offline...)...)
	require.NoError(t, err, out)
	require.Contains(t, out, `"@type":"/ogpu.compute.v1.MsgFundStream"`)
	require.Contains(t, out, `"stream_id":"7","amount":{"denom":"aogpu","amount":"250"}`)

	out, err = runOgpud(t, append([]string{"tx", "compute", "close-stream", "7"}, offline...)...)
	require.NoError(t, err, out)
	require.Contains(t, out, `"@type":"/ogpu.compute.v1.MsgCloseStream"`)

	rc := computetypes.Receipt{StreamId: 7, Provider: alice.String(), Sequence: 2, InputSha256: strings.Repeat("1", 64),
		OutputSha256: strings.Repeat("2", 64), InputSize: 36, OutputSize: 100, Height: 9}
	rb, err := rc.Marshal()
	require.NoError(t, err)
	receipt := filepath.Join(home, "r.json")
	require.NoError(t, os.WriteFile(receipt, []byte(`{"receipt_bytes":"`+base64.StdEncoding.EncodeToString(rb)+`","receipt_signature":"c2ln"}`), 0o644))
	out, err = runOgpud(t, append([]string{"tx", "compute", "challenge-response", "--receipt", receipt,
		"--input-uri", "http://h/" + rc.InputSha256, "--output-uri", "http://h/" + rc.OutputSha256}, offline...)...)
	require.NoError(t, err, out)
	require.Contains(t, out, `"@type":"/ogpu.compute.v1.MsgChallengeResponse"`)
	require.Contains(t, out, `"signature":"c2ln"`)

	// the queries, from a node's gRPC
	st := computetypes.Stream{Id: 7, Creator: alice.String(), State: computetypes.STREAM_STATE_LIVE, Replicas: 1, Budget: math.NewInt(500),
		Serving: []computetypes.Replica{{Provider: alice.String(), Price: math.NewInt(10), Endpoint: "http://replica.example", Claimed: math.ZeroInt(), Collateral: math.ZeroInt()}}}
	gs := grpc.NewServer(grpc.ForceServerCodec(codec.NewProtoCodec(enc.InterfaceRegistry).GRPCCodec()))
	computetypes.RegisterQueryServer(gs, &streamQuery{stream: st})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = gs.Serve(ln) }()
	defer gs.Stop()
	node := []string{"--home", home, "--grpc-addr", ln.Addr().String(), "--grpc-insecure", "--node", "tcp://127.0.0.1:1", "-o", "json"}
	out, err = runOgpud(t, append([]string{"q", "compute", "stream", "7"}, node...)...)
	require.NoError(t, err, out)
	require.Contains(t, out, `"endpoint":"http://replica.example"`)
	out, err = runOgpud(t, append([]string{"q", "compute", "streams", "--state", "live", "--creator", alice.String()}, node...)...)
	require.NoError(t, err, out)
	require.Contains(t, out, `"state":"STREAM_STATE_LIVE"`)
}
