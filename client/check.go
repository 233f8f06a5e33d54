package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/gpu/mlp"
	"github.com/opengpu/ogpu/sidecar/blobauth"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
)

// ErrWrongResult is what CheckResult's error wraps when it proves a result wrong.
var ErrWrongResult = errors.New("wrong result")

// CheckResult downloads the result of task t (capped at its size, hash-checked; signer proves
// the reader is its creator) and checks it against the task's inputs with a challenge of its
// own. nil means the result is right; an error wrapping ErrWrongResult proves it wrong; any
// other error says it could not be checked.
//   - gemm-int8: one round of Freivalds' algorithm, with A and B generated from the task's seeds
//     (Task.GemmInputSeeds) or streamed from its two inputs; nothing is held whole;
//   - infer-mlp-int8: every layer's product by Freivalds and the elementwise steps exactly
//     (mlp.Verify), on the model and rows read from the task's inputs;
//   - train-mlp-int8: the result's layout, its hash chain and that its model decodes; the steps
//     themselves are re-run by the committee, which fetches the states from the provider.
func (c *Client) CheckResult(ctx context.Context, t computetypes.Task, signer blobauth.Signer) error {
	var err error
	switch t.Workload.Params.(type) {
	case *computetypes.Workload_GemmInt8:
		err = c.checkGemm(ctx, t, signer)
	case *computetypes.Workload_InferMlpInt8:
		err = c.checkInfer(ctx, t, signer)
	case *computetypes.Workload_TrainMlpInt8:
		err = c.checkTrain(ctx, t, signer)
	default:
		return fmt.Errorf("workload %s: no local check", t.Workload.Name)
	}
	if errors.Is(err, gemm.ErrWrongResult) || errors.Is(err, mlp.ErrMismatch) || errors.Is(err, mlp.ErrStepMismatch) {
		return fmt.Errorf("%w: %w", ErrWrongResult, err)
	}
	return err
}

func (c *Client) checkGemm(ctx context.Context, t computetypes.Task, signer blobauth.Signer) error {
	g := t.Workload.GetGemmInt8()
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

// readInput reads input i of t whole (size and hash checked).
func (c *Client) readInput(ctx context.Context, t computetypes.Task, i int) ([]byte, error) {
	if i >= len(t.Inputs) {
		return nil, fmt.Errorf("task %d has no input %d", t.Id, i)
	}
	var buf bytes.Buffer
	if err := c.streamBlob(ctx, t.Inputs[i], 0, nil, func(r io.Reader) error {
		_, err := io.Copy(&buf, r)
		return err
	}); err != nil {
		return nil, fmt.Errorf("input %d: %w", i, err)
	}
	return buf.Bytes(), nil
}

func (c *Client) checkInfer(ctx context.Context, t computetypes.Task, signer blobauth.Signer) error {
	modelBlob, err := c.readInput(ctx, t, 0)
	if err != nil {
		return err
	}
	m, err := mlp.DecodeModel(modelBlob)
	if err != nil {
		return fmt.Errorf("input 0: %w", err)
	}
	rowsBlob, err := c.readInput(ctx, t, 1)
	if err != nil {
		return err
	}
	x, rows, _, err := mlp.DecodeRows(rowsBlob)
	if err != nil {
		return fmt.Errorf("input 1: %w", err)
	}
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return err
	}
	return c.streamBlob(ctx, t.Result, t.Id, signer, func(r io.Reader) error {
		_, err := mlp.Verify(r, m, x, rows, seed)
		return err
	})
}

func (c *Client) checkTrain(ctx context.Context, t computetypes.Task, signer blobauth.Signer) error {
	p, err := TrainParams(t)
	if err != nil {
		return err
	}
	return c.streamBlob(ctx, t.Result, t.Id, signer, func(r io.Reader) error {
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		res, err := mlp.DecodeResult(p, b)
		if err != nil {
			return fmt.Errorf("%w: %w", mlp.ErrStepMismatch, err)
		}
		if h := mlp.InitState(p).Hash(); h != res.StateHashes[0] {
			return fmt.Errorf("%w: the state before step 0 is not the one the task's seed gives", mlp.ErrStepMismatch)
		}
		return nil
	})
}

// TrainParams are the training parameters of a train-mlp-int8/v1 task: its seed mixed with the
// input nonce fixed at its assignment, as the provider and the committee use them.
func TrainParams(t computetypes.Task) (mlp.TrainParams, error) {
	g := t.Workload.GetTrainMlpInt8()
	if g == nil {
		return mlp.TrainParams{}, fmt.Errorf("task %d: not a train-mlp-int8 task", t.Id)
	}
	p := workload.TrainMlpInt8{Widths: g.Widths, Seed: g.Seed}
	widths := make([]int, len(g.Widths))
	for i, w := range g.Widths {
		widths[i] = int(w)
	}
	return mlp.TrainParams{Widths: widths, Steps: int(g.Steps), Batch: int(g.Batch), LRShift: uint8(g.LrShift), Seed: p.InitSeed(t.InputNonce)}, nil
}
