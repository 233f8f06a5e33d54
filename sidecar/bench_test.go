package sidecar

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	rtmetrics "runtime/metrics"
	"testing"
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/opengpu/ogpu/gpu/gemm"
	committeetypes "github.com/opengpu/ogpu/x/committee/types"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
)

// BenchmarkVerifyMaxShape16384 verifies the result of the largest task the chain allows,
// m = n = k = 16384 (workload.GemmMaxDim): A and B of 256 MiB each and a result of 1 GiB, all
// downloaded from a local server as a committee member downloads them, through the streaming
// check (hash and Freivalds, row by row). A is the identity, so the right result is B widened
// to int32 and the server can make every blob on the fly. It reports the peak heap during the
// check and, measured once in the same run, the peak of the whole-in-memory path it replaced
// (every blob read whole, the inputs copied to int8, then the check), and their ratio.
//
//	go test ./sidecar -run '^$' -bench VerifyMaxShape16384 -benchmem
func BenchmarkVerifyMaxShape16384(b *testing.B) {
	n := workload.GemmMaxDim
	shape := gemm.Shape{M: n, N: n, K: n}
	blobs := map[string]func() io.Reader{
		"/a": func() io.Reader { return &identityRows{n: int64(n)} },
		"/b": func() io.Reader { return gemm.NewGenerator(77, n, n) },
		"/r": func() io.Reader { return newWidened(shape, gemm.NewGenerator(77, n, n)) },
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		open, ok := blobs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = io.Copy(w, open())
	}))
	defer srv.Close()
	declare := func(path string) computetypes.Blob {
		h := sha256.New()
		size, err := io.Copy(h, blobs[path]())
		if err != nil {
			b.Fatal(err)
		}
		return computetypes.Blob{Uri: srv.URL + path, Sha256: hex.EncodeToString(h.Sum(nil)), Size_: uint64(size)}
	}
	task := gemmTask(1, shape)
	task.Workload.GetGemmInt8().SeedA, task.Workload.GetGemmInt8().SeedB = 0, 0
	task.Inputs = []computetypes.Blob{declare("/a"), declare("/b")}
	task.Result = declare("/r")
	committee := committeetypes.Committee{TaskId: 1, Round: 1, Seed: []byte("seed")}
	s := testSidecar(Config{})

	var peak uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var ch check
		peak = max(peak, peakHeap(func() { ch = s.check(context.Background(), task, committee) }))
		if ch.verdict != committeetypes.ATTESTED_VALID {
			b.Fatalf("verdict %s", ch.verdict)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")

	start := time.Now()
	var verdict committeetypes.AttestedVerdict
	old := peakHeap(func() { verdict = wholeInMemory(s, task, committee) })
	if verdict != committeetypes.ATTESTED_VALID {
		b.Fatalf("whole-in-memory verdict %s", verdict)
	}
	b.ReportMetric(float64(old)/(1<<20), "whole-in-memory-peak-MiB")
	b.ReportMetric(time.Since(start).Seconds(), "whole-in-memory-s")
	b.ReportMetric(float64(old)/float64(max(peak, 1)), "x-less-peak")
}

// peakHeap is the most heap, over what was live before, that f's process holds while f runs,
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

// wholeInMemory is the check as it was before it streamed: each blob read whole (up to its
// declared size) and hashed, the inputs copied into int8 slices, then gemm.Check over the
// result held in memory.
func wholeInMemory(s *Sidecar, t computetypes.Task, c committeetypes.Committee) committeetypes.AttestedVerdict {
	get := func(b computetypes.Blob) ([]byte, error) {
		res, err := s.fetch.Get(b.Uri)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		body, err := io.ReadAll(io.LimitReader(res.Body, int64(b.Size_)+1))
		if err != nil {
			return nil, err
		}
		if sum := sha256.Sum256(body); uint64(len(body)) != b.Size_ || hex.EncodeToString(sum[:]) != b.Sha256 {
			return nil, fmt.Errorf("%s: not the declared blob", b.Uri)
		}
		return body, nil
	}
	shape, _ := gemmShape(t)
	var m [2][]int8
	for i, in := range t.Inputs {
		body, err := get(in)
		if err != nil {
			return committeetypes.ATTESTED_UNAVAILABLE
		}
		m[i] = make([]int8, len(body))
		for j, v := range body {
			m[i][j] = int8(v)
		}
	}
	member, _ := sdk.ValAddressFromBech32(s.valoper)
	x := gemm.Challenge(committeetypes.ChallengeSeed(c.Seed, member), shape.N)
	body, err := get(t.Result)
	if err != nil {
		return committeetypes.ATTESTED_UNAVAILABLE
	}
	if _, err := gemm.Check(bytes.NewReader(body), shape, m[0], m[1], x); err != nil {
		return committeetypes.ATTESTED_INVALID
	}
	return committeetypes.ATTESTED_VALID
}

// identityRows streams the n×n identity matrix, one int8 per byte.
type identityRows struct{ n, off int64 }

func (r *identityRows) Read(p []byte) (int, error) {
	size := r.n * r.n
	if r.off >= size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), size-r.off)]
	clear(p)
	end := r.off + int64(len(p))
	// the diagonal is at i·(n+1); the first one at or after off is i = ⌈off / (n+1)⌉
	for i := (r.off + r.n) / (r.n + 1); i*(r.n+1) < end; i++ {
		p[i*(r.n+1)-r.off] = 1
	}
	r.off = end
	return len(p), nil
}

// widened streams the result of I·B: the header, then B's values as little-endian int32.
type widened struct {
	b       io.Reader
	in      [8192]byte
	out     [4 * 8192]byte
	pending []byte
}

func newWidened(s gemm.Shape, b io.Reader) *widened {
	return &widened{b: b, pending: gemm.Header(s)}
}

func (w *widened) Read(p []byte) (int, error) {
	if len(w.pending) == 0 {
		n, err := w.b.Read(w.in[:])
		if n == 0 {
			return 0, err
		}
		for i, v := range w.in[:n] {
			binary.LittleEndian.PutUint32(w.out[4*i:], uint32(int32(int8(v))))
		}
		w.pending = w.out[:4*n]
	}
	n := copy(p, w.pending)
	w.pending = w.pending[n:]
	return n, nil
}

// TestBenchmarkStreamsAreRight: the benchmark's blobs are what it says, on a small shape: the
// identity times B is B, and the streaming check and the whole-in-memory one both accept it.
func TestBenchmarkStreamsAreRight(t *testing.T) {
	shape := gemm.Shape{M: 37, N: 11, K: 37}
	id, err := io.ReadAll(&identityRows{n: 37})
	if err != nil {
		t.Fatal(err)
	}
	a := make([]int8, len(id))
	for i, v := range id {
		a[i] = int8(v)
	}
	bm := gemm.Generate(77, shape.K, shape.N)
	want := gemm.Encode(shape, gemm.Naive(shape, a, bm))
	got, err := io.ReadAll(newWidened(shape, gemm.NewGenerator(77, shape.K, shape.N)))
	if err != nil || !bytes.Equal(want, got) {
		t.Fatalf("widened stream is not I·B (err %v)", err)
	}
}
