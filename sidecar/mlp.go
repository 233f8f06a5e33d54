package sidecar

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	ogpuclient "github.com/opengpu/ogpu/client"
	"github.com/opengpu/ogpu/gpu/mlp"
	"github.com/opengpu/ogpu/sidecar/blobauth"
	computetypes "github.com/opengpu/ogpu/x/compute/types"
	"github.com/opengpu/ogpu/x/compute/workload"
)

// inferTask is an infer-mlp-int8/v1 task's model and rows, read from its two inputs.
type inferTask struct {
	model *mlp.Model
	x     []int8
	rows  int
}

// loadInfer fetches and decodes an infer-mlp-int8/v1 task's model and rows; an input that
// cannot be had, or does not decode as its parameters say, is errInputUnavailable. blobs are
// the raw inputs, for the digest of a member checking a report that they are unavailable;
// other callers drop them, so they are not held beside the decoded copies.
func (s *Sidecar) loadInfer(ctx context.Context, t computetypes.Task, signer blobauth.Signer) (in *inferTask, blobs [][]byte, err error) {
	p := t.Workload.GetInferMlpInt8()
	if p == nil || len(p.Widths) < 2 {
		return nil, nil, fmt.Errorf("task %d: not an infer-mlp-int8 task with a model", t.Id)
	}
	modelBlob, err := s.loadInput(ctx, t, 0, "model", workload.MlpModelSize(p.Widths), signer)
	if err != nil {
		return nil, nil, err
	}
	rowsBlob, err := s.loadInput(ctx, t, 1, "rows", workload.MlpRowsSize(p.Rows, p.Widths[0]), signer)
	if err != nil {
		return nil, nil, err
	}
	m, err := mlp.DecodeModel(modelBlob)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: task %d: %v", errInputUnavailable, t.Id, err)
	}
	if !sameWidths(m.Widths(), p.Widths) {
		return nil, nil, fmt.Errorf("%w: task %d: the model's widths are %v, the task's %v", errInputUnavailable, t.Id, m.Widths(), p.Widths)
	}
	x, rows, cols, err := mlp.DecodeRows(rowsBlob)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: task %d: %v", errInputUnavailable, t.Id, err)
	}
	if rows != int(p.Rows) || cols != int(p.Widths[0]) {
		return nil, nil, fmt.Errorf("%w: task %d: the rows blob is %d×%d, the task's %d×%d", errInputUnavailable, t.Id, rows, cols, p.Rows, p.Widths[0])
	}
	return &inferTask{model: m, x: x, rows: rows}, [][]byte{modelBlob, rowsBlob}, nil
}

// inputsDigest is the digest of a member that fetched blobs: sha256 of its seed and the bytes,
// which only a member that had the bytes can give.
func inputsDigest(blobs [][]byte) func(seed [32]byte) [32]byte {
	return func(seed [32]byte) [32]byte {
		h := sha256.New()
		h.Write([]byte("ogpu/inputs-digest/v1"))
		h.Write(seed[:])
		for _, b := range blobs {
			h.Write(b)
		}
		return [32]byte(h.Sum(nil))
	}
}

func sameWidths(have []int, want []uint32) bool {
	if len(have) != len(want) {
		return false
	}
	for i := range have {
		if have[i] != int(want[i]) {
			return false
		}
	}
	return true
}

// executeInfer runs an infer-mlp-int8/v1 task into the result writer w.
func (s *Sidecar) executeInfer(ctx context.Context, t computetypes.Task, w io.Writer) error {
	in, _, err := s.loadInfer(ctx, t, nil)
	if err != nil {
		return err
	}
	if !s.cfg.CorruptResults {
		return mlp.Infer(s.exec, in.model, in.x, in.rows, w)
	}
	var buf bytes.Buffer
	if err := mlp.Infer(s.exec, in.model, in.x, in.rows, &buf); err != nil {
		return err
	}
	b := buf.Bytes()
	b[len(b)/2]++
	_, err = w.Write(b)
	return err
}

// judgeInfer checks an infer-mlp-int8/v1 result for each seed (this member's first): every
// layer's product by Freivalds, the requantization, logits and argmax exactly. It returns the
// digest for each seed, and an error wrapping errInputUnavailable or errBlobUnavailable when
// the inputs or result cannot be had, or another when the result is wrong.
func (s *Sidecar) judgeInfer(ctx context.Context, t computetypes.Task, seeds [][32]byte, inputsOnly bool) ([][32]byte, error) {
	in, blobs, err := s.loadInfer(ctx, t, s.signer)
	if err != nil {
		return nil, err
	}
	if inputsOnly {
		return digestsOf(seeds, inputsDigest(blobs)), nil
	}
	p := t.Workload.GetInferMlpInt8()
	var digests [][32]byte
	err = s.streamBlob(ctx, t.Result, t.Id, s.signer, workload.MlpInferResultSize(p.Widths, p.Rows), func(r io.Reader) error {
		var err error
		digests, err = mlp.Verify(r, in.model, in.x, in.rows, seeds...)
		return err
	})
	return digests, err
}

func digestsOf(seeds [][32]byte, f func([32]byte) [32]byte) [][32]byte {
	out := make([][32]byte, len(seeds))
	for i, seed := range seeds {
		out[i] = f(seed)
	}
	return out
}

// trainParams are the training parameters of a train-mlp-int8/v1 task (client.TrainParams).
var trainParams = ogpuclient.TrainParams

// loadDataset fetches and decodes a train-mlp-int8/v1 task's dataset.
func (s *Sidecar) loadDataset(ctx context.Context, t computetypes.Task, signer blobauth.Signer) (*mlp.Dataset, []byte, error) {
	g := t.Workload.GetTrainMlpInt8()
	if g == nil || len(g.Widths) < 2 {
		return nil, nil, fmt.Errorf("task %d: not a train-mlp-int8 task with a model", t.Id)
	}
	blob, err := s.loadInput(ctx, t, 0, "dataset", workload.MlpDatasetSize(g.DatasetRows, g.Widths[0]), signer)
	if err != nil {
		return nil, nil, err
	}
	ds, err := mlp.DecodeDataset(blob)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: task %d: %v", errInputUnavailable, t.Id, err)
	}
	if ds.Rows != int(g.DatasetRows) || ds.Cols != int(g.Widths[0]) {
		return nil, nil, fmt.Errorf("%w: task %d: the dataset is %d×%d, the task's %d×%d", errInputUnavailable, t.Id, ds.Rows, ds.Cols, g.DatasetRows, g.Widths[0])
	}
	if classes := g.Widths[len(g.Widths)-1]; ds.Classes != int(classes) {
		return nil, nil, fmt.Errorf("%w: task %d: the dataset has %d classes, the task's model %d outputs", errInputUnavailable, t.Id, ds.Classes, classes)
	}
	return ds, blob, nil
}

// checkpointEvery is how many steps apart a training run's kept states are: at most
// maxCheckpoints of them, so a state the committee asks for is at most that many steps of
// replay away.
func checkpointEvery(steps int) int {
	const maxCheckpoints = 64
	return max(1, (steps+maxCheckpoints-1)/maxCheckpoints)
}

// executeTrain runs a train-mlp-int8/v1 task into w. The states at every checkpointEvery steps
// go to the blob store, held for the task and named by their sha256 (the hashes the result
// lists), so the provider can serve any state a verifier samples (see materialize).
func (s *Sidecar) executeTrain(ctx context.Context, t computetypes.Task, w io.Writer) error {
	p, err := trainParams(t)
	if err != nil {
		return err
	}
	ds, _, err := s.loadDataset(ctx, t, nil)
	if err != nil {
		return err
	}
	every := checkpointEvery(p.Steps)
	res, err := mlp.Train(s.exec, p, ds, func(step int, st *mlp.State) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if step%every != 0 && step != p.Steps {
			return nil
		}
		return s.keepState(t.Id, st)
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.trainRuns[t.Id] = &trainRun{task: t, p: p, hashes: res.StateHashes}
	s.mu.Unlock()
	out := res.Encode(p)
	if s.cfg.CorruptResults {
		out[len(out)-1]++ // a bias byte of the trained model
	}
	_, err = w.Write(out)
	return err
}

// keepState stores a training state, held for the task.
func (s *Sidecar) keepState(task uint64, st *mlp.State) error {
	w, err := s.store.Create()
	if err != nil {
		return err
	}
	defer w.Abort()
	if _, err := w.Write(st.Encode()); err != nil {
		return err
	}
	_, err = w.Commit(task)
	return err
}

// judgeTrain checks a train-mlp-int8/v1 result for each seed: the steps each seed samples are
// fetched from the provider (the state before the step, named by its hash in the result) and
// run again, and the state after must hash as the result says.
func (s *Sidecar) judgeTrain(ctx context.Context, t computetypes.Task, seeds [][32]byte, inputsOnly bool) ([][32]byte, error) {
	p, err := trainParams(t)
	if err != nil {
		return nil, err
	}
	ds, blob, err := s.loadDataset(ctx, t, s.signer)
	if err != nil {
		return nil, err
	}
	if inputsOnly {
		return digestsOf(seeds, inputsDigest([][]byte{blob})), nil
	}
	var res *mlp.Result
	err = s.streamBlob(ctx, t.Result, t.Id, s.signer, mlp.TrainResultSize(p), func(r io.Reader) error {
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		res, err = mlp.DecodeResult(p, b)
		return err
	})
	if err != nil {
		return nil, err
	}
	state := func(step int) (*mlp.State, error) {
		sha := hex.EncodeToString(res.StateHashes[step][:])
		uri, ok := providerCopy(t.Result.Uri, sha)
		if !ok {
			return nil, fmt.Errorf("%w: result uri %s names no blob server", errBlobUnavailable, t.Result.Uri)
		}
		var st *mlp.State
		err := s.streamBlob(ctx, computetypes.Blob{Uri: uri, Sha256: sha, Size_: mlp.StateSize(p.Widths)}, t.Id, s.signer, mlp.StateSize(p.Widths), func(r io.Reader) error {
			b, err := io.ReadAll(r)
			if err != nil {
				return err
			}
			st, err = mlp.DecodeState(p, b)
			return err
		})
		return st, err
	}
	// every seed's digest is computed, so an escalation round can judge each first-round member
	// whatever this member finds
	digests := make([][32]byte, len(seeds))
	var found error
	for i, seed := range seeds {
		d, err := mlp.VerifySteps(s.exec, p, ds, res, state, seed, mlp.DefaultSamples)
		if i == 0 {
			found = err
		}
		digests[i] = d
	}
	return digests, found
}

// trainRun is what the provider keeps of a training run it submitted, to serve its states.
type trainRun struct {
	task   computetypes.Task
	p      mlp.TrainParams
	hashes [][32]byte
}

// step is the step whose state has sha256 sha, or -1.
func (r *trainRun) step(sha string) int {
	want, err := hex.DecodeString(sha)
	if err != nil || len(want) != 32 {
		return -1
	}
	for i, h := range r.hashes {
		if bytes.Equal(h[:], want) {
			return i
		}
	}
	return -1
}

// trainRunOf is the run of a training task this provider holds a result for, from its memory
// or, after a restart, read back from the blob store.
func (s *Sidecar) trainRunOf(ctx context.Context, task uint64) (*trainRun, error) {
	s.mu.Lock()
	r, ok := s.trainRuns[task]
	s.mu.Unlock()
	if ok {
		return r, nil
	}
	t, err := s.chain.task(ctx, task)
	if err != nil {
		return nil, err
	}
	p, err := trainParams(t)
	if err != nil {
		return nil, err
	}
	if t.Provider != s.provider.String() || t.Result.Sha256 == "" {
		return nil, fmt.Errorf("task %d: no result of this provider", task)
	}
	b, err := s.store.Get(t.Result.Sha256)
	if err != nil {
		return nil, err
	}
	res, err := mlp.DecodeResult(p, b)
	if err != nil {
		return nil, err
	}
	r = &trainRun{task: t, p: p, hashes: res.StateHashes}
	s.mu.Lock()
	s.trainRuns[task] = r
	s.mu.Unlock()
	return r, nil
}

// isTrainState says whether sha names a state of the training run of task (for the blob
// server's authorizer: the committee may fetch those too).
func (s *Sidecar) isTrainState(ctx context.Context, task uint64, sha string) bool {
	r, err := s.trainRunOf(ctx, task)
	return err == nil && r.step(sha) >= 0
}

// materialize makes the state named sha of task's training run, when the store lacks it:
// from the checkpoint before it, replayed step by step, and checked against its hash. One
// replay runs at a time; it takes at most checkpointEvery steps.
func (s *Sidecar) materialize(ctx context.Context, task uint64, sha string) error {
	r, err := s.trainRunOf(ctx, task)
	if err != nil {
		return err
	}
	step := r.step(sha)
	if step < 0 {
		return fmt.Errorf("blob %s is no state of task %d", sha, task)
	}
	s.replay.Lock()
	defer s.replay.Unlock()
	if s.store.Has(sha) {
		return nil
	}
	from := step - step%checkpointEvery(r.p.Steps)
	b, err := s.store.Get(hex.EncodeToString(r.hashes[from][:]))
	if err != nil {
		return fmt.Errorf("checkpoint at step %d: %w", from, err)
	}
	st, err := mlp.DecodeState(r.p, b)
	if err != nil {
		return fmt.Errorf("checkpoint at step %d: %w", from, err)
	}
	data, err := s.store.Get(r.task.Inputs[0].Sha256)
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	ds, err := mlp.DecodeDataset(data)
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	for st.Step < step {
		if err := mlp.TrainStep(s.exec, r.p, ds, st); err != nil {
			return err
		}
	}
	if got := st.Hash(); !bytes.Equal(got[:], r.hashes[step][:]) {
		return fmt.Errorf("step %d replayed to a state that is not the one submitted", step)
	}
	return s.keepState(task, st)
}

// trainStates fills the blob server's misses with training states.
type trainStates struct{ s *Sidecar }

// Fill implements server.Filler.
func (f trainStates) Fill(ctx context.Context, task uint64, sha string) error {
	return f.s.materialize(ctx, task, sha)
}
