package types

import (
	"errors"
	"fmt"
	"net/url"

	errorsmod "cosmossdk.io/errors"

	"github.com/opengpu/ogpu/x/compute/workload"
)

const maxURILen = 512

// HasAssignee reports whether a task in state s is held by its assigned provider.
func (s TaskState) HasAssignee() bool {
	return s == TASK_STATE_ASSIGNED || s == TASK_STATE_SUBMITTED || s == TASK_STATE_VERIFIED
}

// IsFinal reports whether the task has ended.
func (s TaskState) IsFinal() bool {
	switch s {
	case TASK_STATE_COMPLETED, TASK_STATE_FAILED, TASK_STATE_CANCELLED, TASK_STATE_EXPIRED:
		return true
	}
	return false
}

// TypedParams returns the workload parameters from the oneof as the registry type.
func (w Workload) TypedParams() (workload.Params, error) {
	switch p := w.Params.(type) {
	case *Workload_GemmInt8:
		if p.GemmInt8 == nil {
			break
		}
		g := p.GemmInt8
		return workload.GemmInt8{M: g.M, N: g.N, K: g.K, SeedA: g.SeedA, SeedB: g.SeedB}, nil
	case *Workload_InferMlpInt8:
		if p.InferMlpInt8 == nil {
			break
		}
		return workload.InferMlpInt8{Widths: p.InferMlpInt8.Widths, Rows: p.InferMlpInt8.Rows}, nil
	case *Workload_TrainMlpInt8:
		if p.TrainMlpInt8 == nil {
			break
		}
		g := p.TrainMlpInt8
		return workload.TrainMlpInt8{Widths: g.Widths, DatasetRows: g.DatasetRows, Steps: g.Steps, Batch: g.Batch, LRShift: g.LrShift, Seed: g.Seed}, nil
	}
	return nil, errorsmod.Wrapf(ErrInvalidWorkload, "workload %s: parameters missing", w.Name)
}

// GemmInputSeeds are the seeds of a seeded gemm task's A and B, mixed with its input nonce (see
// workload.GemmInt8.InputSeeds); ok is false for any other task.
func (t Task) GemmInputSeeds() (a, b uint64, ok bool) {
	g := t.Workload.GetGemmInt8()
	if g == nil || len(t.Inputs) != 0 {
		return 0, 0, false
	}
	a, b = workload.GemmInt8{SeedA: g.SeedA, SeedB: g.SeedB}.InputSeeds(t.InputNonce)
	return a, b, true
}

// Validate checks the workload name, its parameters and the task's inputs.
func (w Workload) Validate(inputs []Blob) (workload.Params, error) {
	if err := workload.Validate(w.Name); err != nil {
		return nil, errorsmod.Wrapf(ErrUnknownWorkload, "workload.name: %v", err)
	}
	p, err := w.TypedParams()
	if err != nil {
		return nil, err
	}
	in := make([]workload.Input, len(inputs))
	for i, b := range inputs {
		if err := b.Validate(); err != nil {
			return nil, errorsmod.Wrapf(ErrInvalidInput, "inputs[%d]: %v", i, err)
		}
		in[i] = workload.Input{URI: b.Uri, SHA256: b.Sha256, Size: b.Size_}
	}
	if err := workload.ValidateParams(w.Name, p, in); err != nil {
		return nil, errorsmod.Wrapf(ErrInvalidWorkload, "workload %s: %v", w.Name, err)
	}
	return p, nil
}

// Validate checks a blob's three fields, one rule each. The error has no code of its own: a
// task's inputs are ErrInvalidInput and a result ErrInvalidResult (ValidateResult).
func (b Blob) Validate() error {
	if len(b.Uri) > maxURILen {
		return fmt.Errorf("uri: must be at most %d characters", maxURILen)
	}
	if u, err := url.Parse(b.Uri); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("uri %q: must be an http:// or https:// URL", b.Uri)
	}
	ok := len(b.Sha256) == 64
	for i := 0; ok && i < len(b.Sha256); i++ {
		ok = ('0' <= b.Sha256[i] && b.Sha256[i] <= '9') || ('a' <= b.Sha256[i] && b.Sha256[i] <= 'f')
	}
	if !ok {
		return fmt.Errorf("sha256 %q: must be 64 lowercase hex characters", b.Sha256)
	}
	if b.Size_ == 0 {
		return errors.New("size 0: must be positive")
	}
	return nil
}

// ValidateResult checks a submitted result's blob: the rules of Validate, as ErrInvalidResult.
func (b Blob) ValidateResult() error {
	if err := b.Validate(); err != nil {
		return errorsmod.Wrapf(ErrInvalidResult, "result %v", err)
	}
	return nil
}
