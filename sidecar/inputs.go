package sidecar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/sidecar/blobauth"
	"github.com/opengpu/ogpu/sidecar/store"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// errInputUnavailable is a task input that could not be fetched with its declared size and hash.
var errInputUnavailable = errors.New("input unavailable")

// inputSeeds are the seeds a seeded gemm task's A and B are generated from: the task's seeds
// mixed with its input nonce. Every generation of a task's inputs goes through here.
func inputSeeds(t computetypes.Task) (a, b uint64) {
	a, b, _ = t.GemmInputSeeds()
	return a, b
}

// gemmShape is the shape of a gemm-int8 task.
func gemmShape(t computetypes.Task) (gemm.Shape, error) {
	g := t.Workload.GetGemmInt8()
	if g == nil {
		return gemm.Shape{}, fmt.Errorf("task %d: not a gemm-int8 task", t.Id)
	}
	s := gemm.Shape{M: int(g.M), N: int(g.N), K: int(g.K)}
	if err := s.Validate(); err != nil {
		return s, fmt.Errorf("task %d: %w", t.Id, err)
	}
	return s, nil
}

// inputSizes are the sizes A (m·k bytes) and B (k·n bytes) must have.
func inputSizes(s gemm.Shape) [2]uint64 {
	return [2]uint64{uint64(s.M) * uint64(s.K), uint64(s.K) * uint64(s.N)}
}

// streamInputs feeds a gemm task's B and then A, row-major int8, to the check f, a band at a
// time: generated from the seeds, or streamed from the task's two inputs and checked against
// their declared sizes and hashes. Nothing of either is held whole.
func (s *Sidecar) streamInputs(ctx context.Context, t computetypes.Task, shape gemm.Shape, f *gemm.Freivalds, signer blobauth.Signer) error {
	if len(t.Inputs) == 0 {
		seedA, seedB := inputSeeds(t)
		if err := f.ReadB(gemm.NewGenerator(seedB, shape.K, shape.N)); err != nil {
			return err
		}
		return f.ReadA(gemm.NewGenerator(seedA, shape.M, shape.K))
	}
	if len(t.Inputs) != 2 {
		return fmt.Errorf("task %d: %d inputs, want A and B", t.Id, len(t.Inputs))
	}
	// B first: y = B·x needs all of B before any row of A is of use
	if err := s.streamGemmInput(ctx, t, shape, 1, signer, f.ReadB); err != nil {
		return err
	}
	return s.streamGemmInput(ctx, t, shape, 0, signer, f.ReadA)
}

// streamInput streams input i of t, named name and of want bytes, into consume. An input the
// client no longer serves is fetched from the provider's blob server, which keeps the inputs it
// ran on (content-addressed): once a result is in, the client cannot take its inputs away from
// the committee (signer proves the reader is on it).
func (s *Sidecar) streamInput(ctx context.Context, t computetypes.Task, i int, name string, want uint64, signer blobauth.Signer, consume func(io.Reader) error) error {
	if i >= len(t.Inputs) {
		return fmt.Errorf("%w: task %d has no input %s", errInputUnavailable, t.Id, name)
	}
	in := t.Inputs[i]
	if in.Size_ != want {
		return fmt.Errorf("%w: input %s of task %d: %d bytes declared, its parameters make it %d", errInputUnavailable, name, t.Id, in.Size_, want)
	}
	err := s.streamBlob(ctx, in, t.Id, nil, want, consume)
	if err != nil && t.Result.Uri != "" && !t.InputUnavailable && signer != nil {
		if mirror, ok := providerCopy(t.Result.Uri, in.Sha256); ok {
			err = s.streamBlob(ctx, computetypes.Blob{Uri: mirror, Sha256: in.Sha256, Size_: in.Size_}, t.Id, signer, want, consume)
		}
	}
	if err != nil {
		return fmt.Errorf("%w: input %s of task %d: %v", errInputUnavailable, name, t.Id, err)
	}
	return nil
}

// streamGemmInput streams a gemm task's A (i = 0) or B (i = 1) into consume.
func (s *Sidecar) streamGemmInput(ctx context.Context, t computetypes.Task, shape gemm.Shape, i int, signer blobauth.Signer, consume func(io.Reader) error) error {
	return s.streamInput(ctx, t, i, [2]string{"A", "B"}[i], inputSizes(shape)[i], signer, consume)
}

// loadInput reads input i of t (named name, of want bytes) whole. The provider's own run
// (signer nil) keeps a copy in the blob store as it streams, where the committee may fetch it
// from this provider (held for the task until its retention ends); a member (signer set) keeps
// nothing.
func (s *Sidecar) loadInput(ctx context.Context, t computetypes.Task, i int, name string, want uint64, signer blobauth.Signer) ([]byte, error) {
	buf := make([]byte, want)
	keep := signer == nil && s.store != nil
	var k *keeper
	err := s.streamInput(ctx, t, i, name, want, signer, func(r io.Reader) error {
		if keep {
			k.abort() // a second source starts over
			k = s.newKeeper()
			r = io.TeeReader(r, k)
		}
		if n, err := io.ReadFull(r, buf); err != nil {
			return fmt.Errorf("read %d of %d bytes: %w", n, want, err)
		}
		if extra, _ := r.Read(make([]byte, 1)); extra > 0 {
			return fmt.Errorf("more than the %d bytes expected", want)
		}
		return nil
	})
	if err != nil {
		k.abort()
		return nil, err
	}
	if keep {
		if err := k.commit(t.Id); err != nil {
			s.logger.Error("keep input", "task", t.Id, "input", name, "err", err)
		}
	}
	return buf, nil
}

// loadInputs returns a gemm task's A and B whole, as the executors take them. Fetched inputs
// are streamed into their slices and, on the way, into the blob store, where the committee may
// fetch them from this provider (held for the task until its retention ends), so no input is
// held twice in memory.
func (s *Sidecar) loadInputs(ctx context.Context, t computetypes.Task, shape gemm.Shape) ([]int8, []int8, error) {
	if len(t.Inputs) == 0 {
		seedA, seedB := inputSeeds(t)
		return gemm.Generate(seedA, shape.M, shape.K), gemm.Generate(seedB, shape.K, shape.N), nil
	}
	if len(t.Inputs) != 2 {
		return nil, nil, fmt.Errorf("task %d: %d inputs, want A and B", t.Id, len(t.Inputs))
	}
	var m [2][]int8
	for i := range t.Inputs {
		m[i] = make([]int8, inputSizes(shape)[i])
		var k *keeper
		err := s.streamGemmInput(ctx, t, shape, i, nil, func(r io.Reader) error {
			k.abort() // a second source starts over
			k = s.newKeeper()
			return copyInt8(m[i], k, r)
		})
		if err != nil {
			k.abort()
			return nil, nil, err
		}
		if err := k.commit(t.Id); err != nil {
			s.logger.Error("keep input", "task", t.Id, "err", err)
		}
	}
	return m[0], m[1], nil
}

// keeper writes the copy of an input the provider keeps for the committee as it streams; a
// store error only costs the copy, never the run.
type keeper struct {
	w   *store.Writer
	err error
}

func (s *Sidecar) newKeeper() *keeper {
	w, err := s.store.Create()
	return &keeper{w: w, err: err}
}

func (k *keeper) Write(p []byte) (int, error) {
	if k.err == nil {
		_, k.err = k.w.Write(p)
	}
	return len(p), nil
}

func (k *keeper) commit(task uint64) error {
	if k.err != nil {
		k.abort()
		return k.err
	}
	_, err := k.w.Commit(task)
	return err
}

func (k *keeper) abort() {
	if k != nil && k.w != nil {
		k.w.Abort()
	}
}

// copyInt8 reads r into dst, each byte an int8, and copies it to w.
func copyInt8(dst []int8, w io.Writer, r io.Reader) error {
	buf := make([]byte, 1<<16)
	off := 0
	for {
		n, err := r.Read(buf)
		if off+n > len(dst) {
			return fmt.Errorf("more than the %d bytes expected", len(dst))
		}
		for j, v := range buf[:n] {
			dst[off+j] = int8(v)
		}
		off += n
		if _, werr := w.Write(buf[:n]); werr != nil {
			return werr
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// providerCopy is where the provider that served resultURI (…/v1/blobs/<sha256>) serves the
// blob named sha.
func providerCopy(resultURI, sha string) (string, bool) {
	i := strings.LastIndex(resultURI, "/v1/blobs/")
	if i < 0 {
		return "", false
	}
	return resultURI[:i] + "/v1/blobs/" + sha, true
}
