package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/client/stream"
	"github.com/opengpu/ogpu/gpu/mlp"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

func TestReadStreamInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o644))
		return p
	}
	x := []int8{1, -2, 3, 4, 5, -128}
	want := streamInput{x: x, rows: 2, cols: 3}
	for name, b := range map[string][]byte{
		"blob":    mlp.EncodeRows(x, 2, 3),
		"wrapped": []byte(`{"rows": [[1, -2, 3], [4, 5, -128]]}`),
		"plain":   []byte(`[[1, -2, 3], [4, 5, -128]]`),
	} {
		got, err := readStreamInput(write(name, b))
		require.NoError(t, err, name)
		require.Equal(t, want, got, name)
	}

	ds := &mlp.Dataset{Rows: 2, Cols: 3, Classes: 10, Features: x, Labels: []uint8{7, 2}}
	got, err := readStreamInput(write("dset", ds.Encode()))
	require.NoError(t, err)
	require.Equal(t, streamInput{x: x, rows: 2, cols: 3, labels: []uint8{7, 2}}, got, "a dataset brings its labels")

	for name, msg := range map[string]string{
		`[[1, 2], [3]]`:      "row 1 has 1 values",
		`[]`:                 "no rows",
		`[[1, 300]]`:         "neither a rows blob nor JSON rows",
		`not json`:           "neither a rows blob nor JSON rows",
		"OGPUROWS truncated": "rows",
	} {
		_, err := readStreamInput(write("bad", []byte(name)))
		require.ErrorContains(t, err, msg, name)
	}
}

func TestParseStreamState(t *testing.T) {
	for in, want := range map[string]computetypes.StreamState{
		"":                  computetypes.STREAM_STATE_UNSPECIFIED,
		"live":              computetypes.STREAM_STATE_LIVE,
		"PAUSED":            computetypes.STREAM_STATE_PAUSED,
		"stream_state_open": computetypes.STREAM_STATE_OPEN,
		"closed":            computetypes.STREAM_STATE_CLOSED,
	} {
		got, err := parseStreamState(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"unspecified", "running"} {
		_, err := parseStreamState(in)
		require.ErrorContains(t, err, "want open, live, paused or closed", in)
	}
}

func TestOpenStreamFromFlags(t *testing.T) {
	creator := sdk.AccAddress(make([]byte, 20)).String()
	sha := strings.Repeat("ab", 32)
	cmd := openInferStreamCmd()
	require.NoError(t, cmd.Flags().Parse([]string{
		"--widths", "784,128,10", "--rows", "8", "--model-uri", "http://models.example/mnist.model",
		"--model-sha256", strings.ToUpper(sha), "--model-size", "101770", "--replicas", "3",
		"--max-price-per-request", "1000", "--duration", "500", "--deposit", "1000000aogpu", "--min-vram-mib", "1024",
	}))
	msg, err := openStreamFromFlags(cmd, creator)
	require.NoError(t, err)
	require.NoError(t, msg.ValidateBasic())
	require.Equal(t, []uint32{784, 128, 10}, msg.Workload.GetInferMlpInt8().Widths)
	require.Equal(t, uint32(8), msg.Workload.GetInferMlpInt8().Rows)
	require.Equal(t, computetypes.Blob{Uri: "http://models.example/mnist.model", Sha256: sha, Size_: 101770}, msg.Model)
	require.Equal(t, uint32(3), msg.Replicas)
	require.Equal(t, sdk.NewCoin(computetypes.DefaultDenom, math.NewInt(1000)), msg.MaxPricePerRequest)
	require.Equal(t, sdk.NewCoin(computetypes.DefaultDenom, math.NewInt(1_000_000)), msg.Deposit)
	require.Equal(t, uint64(500), msg.Duration)
	require.Equal(t, msg.Workload.Name, msg.Requirements.Workload)
	require.Equal(t, uint64(1024), msg.Requirements.MinVramMib)

	for flag, want := range map[string]string{
		"--model-sha256=xyz": "want 64 hex digits",
		"--model-size=0":     "give the model's size",
		"--widths=784":       "--widths",
	} {
		cmd := openInferStreamCmd()
		require.NoError(t, cmd.Flags().Parse([]string{
			"--widths", "784,10", "--rows", "1", "--model-uri", "http://m", "--model-sha256", sha, "--model-size", "5",
			"--max-price-per-request", "1", "--duration", "5", "--deposit", "10", flag,
		}))
		_, err := openStreamFromFlags(cmd, creator)
		require.ErrorContains(t, err, want, flag)
	}
}

func TestAWrongResponseIsKeptForAChallenge(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "evidence")
	rc := computetypes.Receipt{
		StreamId: 7, Provider: sdk.AccAddress(make([]byte, 20)).String(), Sequence: 3,
		InputSha256: strings.Repeat("1", 64), OutputSha256: strings.Repeat("2", 64), InputSize: 5, OutputSize: 6, Height: 40,
	}
	bad := &stream.WrongResponseError{Response: stream.Response{
		Result: []byte("result"), Receipt: stream.SignedReceipt{Receipt: rc, Signature: []byte("sig"), PubKey: []byte("pub")},
		Voucher: computetypes.Voucher{Total: math.NewInt(30), Nonce: 3},
	}}
	var out strings.Builder
	evidence{dir}.report(&out, bad, []byte("rows!"))
	require.Contains(t, out.String(), "WRONG response")
	require.Contains(t, out.String(), "challenge-response --receipt "+filepath.Join(dir, rc.OutputSha256+".receipt.json"))

	in, err := os.ReadFile(filepath.Join(dir, rc.InputSha256))
	require.NoError(t, err)
	require.Equal(t, "rows!", string(in))
	res, err := os.ReadFile(filepath.Join(dir, rc.OutputSha256))
	require.NoError(t, err)
	require.Equal(t, "result", string(res))
	got, sig, err := readReceiptFile(filepath.Join(dir, rc.OutputSha256+".receipt.json"))
	require.NoError(t, err)
	require.Equal(t, rc, got, "the receipt file gives back the receipt the replica signed")
	require.Equal(t, []byte("sig"), sig)
}
