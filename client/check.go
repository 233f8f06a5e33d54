package client

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/sidecar/blobauth"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
)

// CheckResult downloads the result of task t (capped at its size, hash-checked; signer proves
// the reader is its creator) and checks it against the task's inputs with one round of
// Freivalds' algorithm on a challenge of its own: generated from the task's seeds
// (Task.GemmInputSeeds), or streamed from its two inputs. Nothing is held whole. nil means the
// result is right; an error wrapping gemm.ErrWrongResult proves it wrong; any other error says
// it could not be checked.
func (c *Client) CheckResult(ctx context.Context, t computetypes.Task, signer blobauth.Signer) error {
	g := t.Workload.GetGemmInt8()
	if g == nil {
		return fmt.Errorf("workload %s: no local check", t.Workload.Name)
	}
	shape := gemm.Shape{M: int(g.M), N: int(g.N), K: int(g.K)}
	if err := shape.Validate(); err != nil {
		return fmt.Errorf("task %d: %w", t.Id, err)
	}
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return err
	}
	f, err := gemm.NewFreivalds(shape, gemm.Challenge(seed, shape.N))
	if err != nil {
		return err
	}
	if seedA, seedB, ok := t.GemmInputSeeds(); ok {
		if err := f.ReadB(gemm.NewGenerator(seedB, shape.K, shape.N)); err != nil {
			return err
		}
		if err := f.ReadA(gemm.NewGenerator(seedA, shape.M, shape.K)); err != nil {
			return err
		}
	} else {
		if len(t.Inputs) != 2 {
			return fmt.Errorf("task %d: %d inputs, want A and B", t.Id, len(t.Inputs))
		}
		// B first: B·x is needed before any row of A is of use
		if err := c.streamBlob(ctx, t.Inputs[1], 0, nil, f.ReadB); err != nil {
			return fmt.Errorf("input 1: %w", err)
		}
		if err := c.streamBlob(ctx, t.Inputs[0], 0, nil, f.ReadA); err != nil {
			return fmt.Errorf("input 0: %w", err)
		}
	}
	return c.streamBlob(ctx, t.Result, t.Id, signer, func(r io.Reader) error { return f.Check(r, 0) })
}
