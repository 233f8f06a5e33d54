package workload_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/x/compute/workload"
)

func TestGemmInt8(t *testing.T) {
	g := workload.GemmInt8{M: 256, N: 128, K: 64, SeedA: 1, SeedB: 2}
	require.NoError(t, workload.ValidateParams(workload.GemmInt8V1, g, nil))
	require.Equal(t, uint64(256*128*64), g.WorkUnits())
	require.Equal(t, uint64(32+4*256*128), g.ResultSize())

	max := workload.GemmInt8{M: 16384, N: 16384, K: 16384}
	require.NoError(t, max.Validate(nil))
	require.Equal(t, uint64(1)<<42, max.WorkUnits(), "fits in uint64")

	for _, tc := range []struct {
		p      workload.GemmInt8
		inputs []workload.Input
		err    string
	}{
		{workload.GemmInt8{M: 0, N: 1, K: 1}, nil, "m 0: must be in 1..16384"},
		{workload.GemmInt8{M: 1, N: 16385, K: 1}, nil, "n 16385"},
		{workload.GemmInt8{M: 1, N: 1, K: 0}, nil, "k 0"},
		{workload.GemmInt8{M: 2, N: 3, K: 4}, []workload.Input{{Size: 8}, {Size: 12}}, ""},
		{workload.GemmInt8{M: 2, N: 3, K: 4}, []workload.Input{{Size: 8}, {Size: 11}}, "inputs[1] (B) size 11"},
		{workload.GemmInt8{M: 2, N: 3, K: 4, SeedA: 1}, []workload.Input{{Size: 8}, {Size: 12}}, "seed_a"},
		{workload.GemmInt8{M: 2, N: 3, K: 4}, []workload.Input{{Size: 8}}, "inputs: 1 given"},
	} {
		err := tc.p.Validate(tc.inputs)
		if tc.err == "" {
			require.NoError(t, err)
		} else {
			require.ErrorContains(t, err, tc.err)
		}
	}
}

func TestValidateNames(t *testing.T) {
	require.NoError(t, workload.Validate("gemm-int8/v1"))
	require.ErrorContains(t, workload.Validate("gemm-int8/v2"), "unknown workload version")
	require.ErrorContains(t, workload.Validate("sha-mining/v1"), "must be one of gemm-int8/v1, infer-mlp-int8/v1, train-mlp-int8/v1")
	require.ErrorContains(t, workload.ValidateParams("gemm-int8/v1", nil, nil), "parameters missing")
}

func TestInferMlpInt8(t *testing.T) {
	widths := []uint32{784, 128, 10}
	model := workload.MlpModelSize(widths)
	require.Equal(t, uint64(16+4*3+(8+784*128+4*128)+(8+128*10+4*10)), model)
	rows := workload.MlpRowsSize(100, 784)
	p := workload.InferMlpInt8{Widths: widths, Rows: 100}
	ok := []workload.Input{{Size: model}, {Size: rows}}
	require.NoError(t, workload.ValidateParams(workload.InferMlpInt8V1, p, ok))
	require.Equal(t, uint64(100*(784*128+128*10)), p.WorkUnits())
	require.Equal(t, uint64(20+4*3+4*100*(128+10+10+1)), p.ResultSize())

	wide := make([]uint32, 18)
	for i := range wide {
		wide[i] = 8
	}
	for _, tc := range []struct {
		name   string
		p      workload.InferMlpInt8
		inputs []workload.Input
		err    string
	}{
		{"one width", workload.InferMlpInt8{Widths: []uint32{784}, Rows: 1}, ok, "widths: 1 given, must be 2..17"},
		{"too many layers", workload.InferMlpInt8{Widths: wide, Rows: 1}, ok, "widths: 18 given"},
		{"zero width", workload.InferMlpInt8{Widths: []uint32{784, 0, 10}, Rows: 1}, ok, "widths[1] 0: must be in 1..16384"},
		{"wide", workload.InferMlpInt8{Widths: []uint32{16385, 10}, Rows: 1}, ok, "widths[0] 16385"},
		{"model too big", workload.InferMlpInt8{Widths: []uint32{16384, 16384, 16384, 16384, 16384, 16384}, Rows: 1}, ok, "the model would be"},
		{"no rows", workload.InferMlpInt8{Widths: widths}, ok, "rows 0: must be in 1..1048576"},
		{"result too big", workload.InferMlpInt8{Widths: []uint32{8, 16384, 16384}, Rows: 1 << 20}, ok, "the result would be"},
		{"one input", p, ok[:1], "inputs: 1 given, must be two"},
		{"model size", p, []workload.Input{{Size: model - 1}, {Size: rows}}, "inputs[0] (model) size"},
		{"rows size", p, []workload.Input{{Size: model}, {Size: rows + 1}}, "inputs[1] (rows) size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorContains(t, tc.p.Validate(tc.inputs), tc.err)
		})
	}
}

func TestTrainMlpInt8(t *testing.T) {
	widths := []uint32{784, 128, 10}
	data := workload.MlpDatasetSize(60000, 784)
	require.Equal(t, uint64(24+60000*785), data)
	p := workload.TrainMlpInt8{Widths: widths, DatasetRows: 60000, Steps: 3000, Batch: 64, LRShift: 8, Seed: 1}
	ok := []workload.Input{{Size: data}}
	require.NoError(t, workload.ValidateParams(workload.TrainMlpInt8V1, p, ok))
	require.Equal(t, uint64(3*3000*64*(784*128+128*10)), p.WorkUnits())
	require.Equal(t, uint64(20+4*3)+32*3001+32+workload.MlpModelSize(widths), p.ResultSize())
	require.NotEqual(t, p.InitSeed([]byte{1}), p.InitSeed([]byte{2}), "the nonce changes the run")

	with := func(f func(*workload.TrainMlpInt8)) workload.TrainMlpInt8 {
		q := p
		f(&q)
		return q
	}
	for _, tc := range []struct {
		name   string
		p      workload.TrainMlpInt8
		inputs []workload.Input
		err    string
	}{
		{"one class", with(func(q *workload.TrainMlpInt8) { q.Widths = []uint32{784, 1} }), ok, "widths[1] 1: the classes must be in 2..256"},
		{"too many classes", with(func(q *workload.TrainMlpInt8) { q.Widths = []uint32{784, 300} }), ok, "widths[1] 300"},
		{"too many weights", with(func(q *workload.TrainMlpInt8) { q.Widths = []uint32{16384, 16384, 10} }), ok, "weights, must be at most"},
		{"no dataset rows", with(func(q *workload.TrainMlpInt8) { q.DatasetRows = 0 }), ok, "dataset_rows 0: must be in 1..4194304"},
		{"no steps", with(func(q *workload.TrainMlpInt8) { q.Steps = 0 }), ok, "steps 0: must be in 1..1048576"},
		{"no batch", with(func(q *workload.TrainMlpInt8) { q.Batch = 0 }), ok, "batch 0: must be in 1..4096"},
		{"big batch", with(func(q *workload.TrainMlpInt8) { q.Batch = 4097 }), ok, "batch 4097"},
		{"lr shift", with(func(q *workload.TrainMlpInt8) { q.LRShift = 32 }), ok, "lr_shift 32: must be in 0..31"},
		{"no input", p, nil, "inputs: 0 given, must be one (the dataset)"},
		{"dataset size", p, []workload.Input{{Size: data - 1}}, "inputs[0] (dataset) size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorContains(t, tc.p.Validate(tc.inputs), tc.err)
		})
	}
}

// TestMlpSizesNeverPanic: the size formulas answer for any widths, as a decoder must.
func TestMlpSizesNeverPanic(t *testing.T) {
	for _, widths := range [][]uint32{nil, {}, {784}} {
		require.Zero(t, workload.MlpInferResultSize(widths, 10))
		require.NotPanics(t, func() {
			workload.MlpModelSize(widths)
			workload.MlpTrainResultSize(widths, 10)
			_ = workload.InferMlpInt8{Widths: widths, Rows: 1}.WorkUnits()
			_ = workload.TrainMlpInt8{Widths: widths}.WorkUnits()
		})
	}
}
