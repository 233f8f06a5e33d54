package bench

import (
	"bytes"
	"io"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/gpu/mlp"
)

// MLPResult is what the mlp benchmark (`ogpud bench mlp`) measures: inference and training
// throughput on the CPU executor, and what a committee member's check costs against the run.
type MLPResult struct {
	InferWidths       []int   `json:"infer_widths"`
	InferRows         int     `json:"infer_rows"`
	InferSeconds      float64 `json:"infer_seconds"`
	InferRowsPerSec   float64 `json:"infer_rows_per_second"`
	VerifyInferSecs   float64 `json:"verify_infer_seconds"`
	VerifyOverInfer   float64 `json:"verify_over_infer"`
	TrainWidths       []int   `json:"train_widths"`
	TrainSteps        int     `json:"train_steps"`
	TrainBatch        int     `json:"train_batch"`
	TrainSeconds      float64 `json:"train_seconds"`
	TrainStepsPerSec  float64 `json:"train_steps_per_second"`
	Samples           int     `json:"samples"`
	VerifyTrainSecs   float64 `json:"verify_train_seconds"`
	VerifyOverTrain   float64 `json:"verify_over_train"`
	TrainDatasetRows  int     `json:"train_dataset_rows"`
	TrainDatasetNotes string  `json:"train_dataset"`
}

// MLP runs inference of a 2048-wide model over 2048 rows and its check, and a training run of
// MNIST's shape (784-128-10, MNISTParams) on a seeded dataset and its sampled check.
func MLP() (MLPResult, error) {
	res := MLPResult{InferWidths: []int{2048, 2048, 2048, 10}, InferRows: 2048}
	m := mlp.RandomModel(1, res.InferWidths)
	x := gemm.Generate(2, res.InferRows, res.InferWidths[0])
	var out bytes.Buffer
	infer, err := best(3, func() error {
		out.Reset()
		return mlp.Infer(gemm.CPU{}, m, x, res.InferRows, &out)
	})
	if err != nil {
		return res, err
	}
	verify, err := best(3, func() error {
		_, err := mlp.Verify(bytes.NewReader(out.Bytes()), m, x, res.InferRows, [32]byte{3})
		return err
	})
	if err != nil {
		return res, err
	}
	res.InferSeconds, res.VerifyInferSecs = infer, verify
	res.InferRowsPerSec, res.VerifyOverInfer = float64(res.InferRows)/infer, verify/infer

	p := mlp.MNISTParams(4)
	const rows = 60000
	ds := &mlp.Dataset{Rows: rows, Cols: p.Widths[0], Classes: p.Widths[len(p.Widths)-1], Features: gemm.Generate(5, rows, p.Widths[0]), Labels: make([]uint8, rows)}
	for i := range ds.Labels {
		ds.Labels[i] = uint8(i * 7 % ds.Classes)
	}
	res.TrainWidths, res.TrainSteps, res.TrainBatch, res.Samples = p.Widths, p.Steps, p.Batch, mlp.DefaultSamples
	res.TrainDatasetRows, res.TrainDatasetNotes = rows, "seeded, MNIST's shape (the accuracy test trains on MNIST itself)"
	// the provider's store, here in memory: the states the member's seed samples, and the last
	seed := [32]byte{6}
	wanted := map[int]bool{p.Steps: true}
	for _, s := range mlp.SampleSteps(seed, p.Steps, mlp.DefaultSamples) {
		wanted[s] = true
	}
	states := map[int][]byte{}
	var result *mlp.Result
	train, err := best(1, func() error {
		var err error
		result, err = mlp.Train(gemm.CPU{}, p, ds, func(step int, s *mlp.State) error {
			if wanted[step] {
				states[step] = s.Encode()
			}
			return nil
		})
		return err
	})
	if err != nil {
		return res, err
	}
	state := func(step int) (*mlp.State, error) {
		b, ok := states[step]
		if !ok {
			return nil, io.ErrUnexpectedEOF
		}
		return mlp.DecodeState(p, b)
	}
	verifyTrain, err := best(3, func() error {
		_, err := mlp.VerifySteps(gemm.CPU{}, p, ds, result, state, seed, mlp.DefaultSamples)
		return err
	})
	if err != nil {
		return res, err
	}
	res.TrainSeconds, res.VerifyTrainSecs = train, verifyTrain
	res.TrainStepsPerSec, res.VerifyOverTrain = float64(p.Steps)/train, verifyTrain/train
	return res, nil
}
