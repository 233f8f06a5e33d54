package sidecar

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	rtmetrics "runtime/metrics"
	"time"

	"cosmossdk.io/log/v2"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/gpu/gemm"
	committeetypes "github.com/opengpu/ogpu/x/committee/types"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
)

// VerifyMemoryBench measures the heap a committee member needs to verify the result of an
// n×n×n gemm task: A, B and the result are downloaded from an HTTP server in this process and go
// through the same check a member runs. A is the identity, so the right result is B widened to
// int32 and the server makes every blob on the fly. It backs BenchmarkVerifyMaxShape16384 and
// `ogpud bench verify-memory`.
type VerifyMemoryBench struct {
	Shape gemm.Shape
	// Downloaded is the bytes of A, B and the result, what one verification reads.
	Downloaded uint64

	srv       *http.Server
	s         *Sidecar
	task      computetypes.Task
	committee committeetypes.Committee
}

// NewVerifyMemoryBench starts the server of an n×n×n task on 127.0.0.1 (a free port) and
// declares its blobs, hashing each once (for n = 16384, 1.5 GiB).
func NewVerifyMemoryBench(n int) (*VerifyMemoryBench, error) {
	shape := gemm.Shape{M: n, N: n, K: n}
	if err := shape.Validate(); err != nil {
		return nil, err
	}
	blobs := map[string]func() io.Reader{
		"/a": func() io.Reader { return gemm.NewIdentity(n) },
		"/b": func() io.Reader { return gemm.NewGenerator(77, n, n) },
		"/r": func() io.Reader { return gemm.NewIdentityResult(shape, gemm.NewGenerator(77, n, n)) },
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("verify-memory server: %w", err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		open, ok := blobs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = io.Copy(w, open())
	})}
	go func() { _ = srv.Serve(ln) }()
	b := &VerifyMemoryBench{Shape: shape, srv: srv}
	declare := func(path string) computetypes.Blob {
		h := sha256.New()
		size, _ := io.Copy(h, blobs[path]()) // the streams never fail
		b.Downloaded += uint64(size)
		return computetypes.Blob{Uri: "http://" + ln.Addr().String() + path, Sha256: hex.EncodeToString(h.Sum(nil)), Size_: uint64(size)}
	}
	b.task = computetypes.Task{
		Id: 1, State: computetypes.TASK_STATE_SUBMITTED,
		Workload: computetypes.Workload{Name: workload.GemmInt8V1, Params: &computetypes.Workload_GemmInt8{
			GemmInt8: &computetypes.GemmInt8Params{M: uint32(n), N: uint32(n), K: uint32(n)},
		}},
		Inputs: []computetypes.Blob{declare("/a"), declare("/b")},
		Result: declare("/r"),
	}
	b.committee = committeetypes.Committee{TaskId: 1, Round: 1, Seed: []byte("seed")}
	// a verifier alone: no chain, no store, fetches allowed to 127.0.0.1
	b.s = newSidecar(Config{AllowPrivateFetch: true}, log.NewNopLogger(), nil, nil, gemm.CPU{})
	b.s.valoper = sdk.ValAddress("member-validator----").String()
	return b, nil
}

// Close stops the server.
func (b *VerifyMemoryBench) Close() error { return b.srv.Close() }

// Streamed verifies the result as a committee member does (streamed, see judge) and returns
// the peak heap while it ran, over what was live before.
func (b *VerifyMemoryBench) Streamed(ctx context.Context) (uint64, error) {
	var ch check
	peak := peakHeap(func() { ch = b.s.check(ctx, b.task, b.committee) })
	if ch.verdict != committeetypes.ATTESTED_VALID {
		return peak, fmt.Errorf("streamed verification of a right %dx%dx%d result: verdict %s", b.Shape.M, b.Shape.N, b.Shape.K, ch.verdict)
	}
	return peak, nil
}

// WholeInMemory verifies the result as the sidecar did before it streamed, the baseline of
// Streamed: each blob read whole (up to its declared size) and hashed, the inputs copied into
// int8 slices, then gemm.Check over the result held in memory. For n = 16384 it needs about
// 3.1 GiB.
func (b *VerifyMemoryBench) WholeInMemory(ctx context.Context) (uint64, error) {
	var err error
	peak := peakHeap(func() { err = b.wholeInMemory(ctx) })
	return peak, err
}

func (b *VerifyMemoryBench) wholeInMemory(ctx context.Context) error {
	get := func(blob computetypes.Blob) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, blob.Uri, nil)
		if err != nil {
			return nil, err
		}
		res, err := b.s.fetch.Do(req)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		body, err := io.ReadAll(io.LimitReader(res.Body, int64(blob.Size_)+1))
		if err != nil {
			return nil, err
		}
		if sum := sha256.Sum256(body); uint64(len(body)) != blob.Size_ || hex.EncodeToString(sum[:]) != blob.Sha256 {
			return nil, fmt.Errorf("%s: not the declared blob", blob.Uri)
		}
		return body, nil
	}
	var m [2][]int8
	for i, in := range b.task.Inputs {
		body, err := get(in)
		if err != nil {
			return err
		}
		m[i] = make([]int8, len(body))
		for j, v := range body {
			m[i][j] = int8(v)
		}
	}
	member, err := sdk.ValAddressFromBech32(b.s.valoper)
	if err != nil {
		return err
	}
	x := gemm.Challenge(committeetypes.ChallengeSeed(b.committee.Seed, member), b.Shape.N)
	body, err := get(b.task.Result)
	if err != nil {
		return err
	}
	if _, err := gemm.Check(bytes.NewReader(body), b.Shape, m[0], m[1], x); err != nil {
		return errors.Join(errors.New("whole-in-memory verification of a right result failed"), err)
	}
	return nil
}

// peakHeap is the most heap, over what was live before, that this process holds while f runs,
// sampled every millisecond without stopping the world.
func peakHeap(f func()) uint64 {
	runtime.GC()
	sample := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { rtmetrics.Read(sample); return sample[0].Value.Uint64() }
	base := read()
	stop, most := make(chan struct{}), make(chan uint64)
	go func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		var m uint64
		for {
			select {
			case <-stop:
				most <- max(m, read())
				return
			case <-tick.C:
				m = max(m, read())
			}
		}
	}()
	f()
	close(stop)
	m := <-most
	if m < base {
		return 0
	}
	return m - base
}
