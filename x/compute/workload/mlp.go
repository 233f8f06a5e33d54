package workload

import (
	"fmt"
)

const (
	// InferMlpInt8V1 runs an integer MLP over a batch of int8 rows; each layer's product is
	// checked with Freivalds and the elementwise steps are recomputed exactly.
	InferMlpInt8V1 = "infer-mlp-int8/v1"
	// TrainMlpInt8V1 trains an integer MLP on a labelled dataset; sampled steps are re-executed.
	TrainMlpInt8V1 = "train-mlp-int8/v1"
)

const (
	// MlpMaxWidth bounds every layer width: int32 accumulation of int8 products is exact for
	// k ≤ 16384.
	MlpMaxWidth = 16384
	// MlpMaxLayers bounds the number of layers.
	MlpMaxLayers = 16
	// MlpMaxRows bounds the rows of an inference batch.
	MlpMaxRows = 1 << 20
	// MlpMaxClasses bounds a trained model's outputs: labels are one byte.
	MlpMaxClasses = 256
	// MlpMaxDatasetRows bounds a training dataset.
	MlpMaxDatasetRows = 1 << 22
	// MlpMaxSteps bounds a training run; the result holds one hash per step.
	MlpMaxSteps = 1 << 20
	// MlpMaxBatch bounds a training step's batch.
	MlpMaxBatch = 4096
	// MlpMaxLRShift bounds the learning-rate shift.
	MlpMaxLRShift = 31
	// MlpMaxBlobSize bounds every blob an MLP task reads or writes (models, rows, datasets,
	// results), as gemm's largest result is 1 GiB.
	MlpMaxBlobSize = 1 << 30
	// MlpMaxTrainWeights bounds a trained model's weights, so a training state a verifier
	// fetches and re-executes stays small.
	MlpMaxTrainWeights = 1 << 24
)

// Sizes of the MLP blob formats (docs/workloads.md gives them byte by byte).
const (
	mlpModelHeader   = 16 // magic, version, layer count; the widths follow
	mlpLayerHeader   = 8  // mult, shift, relu, two zero bytes
	mlpRowsHeader    = 20 // magic, version, rows, cols
	mlpDatasetHeader = 24 // magic, version, rows, cols, classes
	mlpInferHeader   = 20 // magic, version, rows, layer count; the widths follow
	mlpTrainHeader   = 20 // magic, version, steps, layer count; the widths follow
)

// MlpModelSize is the exact size of a model blob with these widths.
func MlpModelSize(widths []uint32) uint64 {
	size := uint64(mlpModelHeader) + 4*uint64(len(widths))
	for l := 0; l+1 < len(widths); l++ {
		in, out := uint64(widths[l]), uint64(widths[l+1])
		size += mlpLayerHeader + in*out + 4*out
	}
	return size
}

// MlpRowsSize is the exact size of a rows blob of rows×cols int8.
func MlpRowsSize(rows, cols uint32) uint64 {
	return mlpRowsHeader + uint64(rows)*uint64(cols)
}

// MlpDatasetSize is the exact size of a dataset blob: rows×cols int8 features and rows labels.
func MlpDatasetSize(rows, cols uint32) uint64 {
	return mlpDatasetHeader + uint64(rows)*uint64(cols) + uint64(rows)
}

// MlpInferResultSize is the exact size of an infer-mlp-int8/v1 result: the header and widths,
// every layer's int32 accumulators, the int32 logits and one uint32 argmax per row.
func MlpInferResultSize(widths []uint32, rows uint32) uint64 {
	if len(widths) < 2 {
		return 0 // no model: Validate refuses it
	}
	size := uint64(mlpInferHeader) + 4*uint64(len(widths))
	var outs uint64
	for _, w := range widths[1:] {
		outs += uint64(w)
	}
	last := uint64(widths[len(widths)-1])
	return size + 4*uint64(rows)*(outs+last+1)
}

// MlpTrainResultSize is the exact size of a train-mlp-int8/v1 result: the header and widths,
// the sha256 of the state before the first step and after each step, their chained root, and
// the trained model.
func MlpTrainResultSize(widths []uint32, steps uint32) uint64 {
	return uint64(mlpTrainHeader) + 4*uint64(len(widths)) + 32*(uint64(steps)+1) + 32 + MlpModelSize(widths)
}

// validateWidths checks an MLP's widths: 2..MlpMaxLayers+1 entries, each in 1..MlpMaxWidth.
func validateWidths(widths []uint32) error {
	if len(widths) < 2 || len(widths) > MlpMaxLayers+1 {
		return fmt.Errorf("widths: %d given, must be 2..%d (the input width, then each layer's output)", len(widths), MlpMaxLayers+1)
	}
	for i, w := range widths {
		if w < 1 || w > MlpMaxWidth {
			return fmt.Errorf("widths[%d] %d: must be in 1..%d", i, w, MlpMaxWidth)
		}
	}
	if size := MlpModelSize(widths); size > MlpMaxBlobSize {
		return fmt.Errorf("widths: the model would be %d bytes, must be at most %d", size, MlpMaxBlobSize)
	}
	return nil
}

// macs is the multiply-adds of one row through the layers.
func macs(widths []uint32) uint64 {
	var n uint64
	for l := 0; l+1 < len(widths); l++ {
		n += uint64(widths[l]) * uint64(widths[l+1])
	}
	return n
}

// InferMlpInt8 are the parameters of infer-mlp-int8/v1. Inputs: the model (a model blob with
// these widths) and the rows (a rows blob of rows × widths[0]).
type InferMlpInt8 struct {
	Widths []uint32
	Rows   uint32
}

var _ Params = InferMlpInt8{}

// Workload implements Params.
func (InferMlpInt8) Workload() string { return InferMlpInt8V1 }

// Validate implements Params.
func (p InferMlpInt8) Validate(inputs []Input) error {
	if err := validateWidths(p.Widths); err != nil {
		return err
	}
	if p.Rows < 1 || p.Rows > MlpMaxRows {
		return fmt.Errorf("rows %d: must be in 1..%d", p.Rows, MlpMaxRows)
	}
	if size := p.ResultSize(); size > MlpMaxBlobSize {
		return fmt.Errorf("rows %d: the result would be %d bytes, must be at most %d", p.Rows, size, MlpMaxBlobSize)
	}
	if len(inputs) != 2 {
		return fmt.Errorf("inputs: %d given, must be two (the model, then the rows)", len(inputs))
	}
	if want := MlpModelSize(p.Widths); inputs[0].Size != want {
		return fmt.Errorf("inputs[0] (model) size %d: must be %d bytes for widths %v", inputs[0].Size, want, p.Widths)
	}
	if want := MlpRowsSize(p.Rows, p.Widths[0]); inputs[1].Size != want {
		return fmt.Errorf("inputs[1] (rows) size %d: must be %d bytes for %d rows of %d", inputs[1].Size, want, p.Rows, p.Widths[0])
	}
	return nil
}

// WorkUnits implements Params: the multiply-adds of every row through every layer.
func (p InferMlpInt8) WorkUnits() uint64 { return uint64(p.Rows) * macs(p.Widths) }

// ResultSize implements Params.
func (p InferMlpInt8) ResultSize() uint64 { return MlpInferResultSize(p.Widths, p.Rows) }

// TrainMlpInt8 are the parameters of train-mlp-int8/v1. Input: the dataset (a dataset blob of
// DatasetRows rows of widths[0] features, labels below widths[last]).
type TrainMlpInt8 struct {
	Widths      []uint32
	DatasetRows uint32
	Steps       uint32
	Batch       uint32
	LRShift     uint32
	Seed        uint64
}

var _ Params = TrainMlpInt8{}

// Workload implements Params.
func (TrainMlpInt8) Workload() string { return TrainMlpInt8V1 }

// Validate implements Params.
func (p TrainMlpInt8) Validate(inputs []Input) error {
	if err := validateWidths(p.Widths); err != nil {
		return err
	}
	if classes := p.Widths[len(p.Widths)-1]; classes < 2 || classes > MlpMaxClasses {
		return fmt.Errorf("widths[%d] %d: the classes must be in 2..%d", len(p.Widths)-1, classes, MlpMaxClasses)
	}
	if w := macs(p.Widths); w > MlpMaxTrainWeights {
		return fmt.Errorf("widths: %d weights, must be at most %d for training", w, MlpMaxTrainWeights)
	}
	for _, f := range []struct {
		name      string
		v, lo, hi uint32
	}{
		{"dataset_rows", p.DatasetRows, 1, MlpMaxDatasetRows},
		{"steps", p.Steps, 1, MlpMaxSteps},
		{"batch", p.Batch, 1, MlpMaxBatch},
		{"lr_shift", p.LRShift, 0, MlpMaxLRShift},
	} {
		if f.v < f.lo || f.v > f.hi {
			return fmt.Errorf("%s %d: must be in %d..%d", f.name, f.v, f.lo, f.hi)
		}
	}
	if size := MlpDatasetSize(p.DatasetRows, p.Widths[0]); size > MlpMaxBlobSize {
		return fmt.Errorf("dataset_rows %d: the dataset would be %d bytes, must be at most %d", p.DatasetRows, size, MlpMaxBlobSize)
	}
	if len(inputs) != 1 {
		return fmt.Errorf("inputs: %d given, must be one (the dataset)", len(inputs))
	}
	if want := MlpDatasetSize(p.DatasetRows, p.Widths[0]); inputs[0].Size != want {
		return fmt.Errorf("inputs[0] (dataset) size %d: must be %d bytes for %d rows of %d", inputs[0].Size, want, p.DatasetRows, p.Widths[0])
	}
	return nil
}

// WorkUnits implements Params: per step, the batch's forward products and the two backward
// ones (weight gradients, and the errors passed down).
func (p TrainMlpInt8) WorkUnits() uint64 {
	return 3 * uint64(p.Steps) * uint64(p.Batch) * macs(p.Widths)
}

// ResultSize implements Params.
func (p TrainMlpInt8) ResultSize() uint64 { return MlpTrainResultSize(p.Widths, p.Steps) }

// InitSeed is the seed the run's initial weights and batches are drawn from: seed mixed with
// the task's input nonce, so no result exists before the assignment.
func (p TrainMlpInt8) InitSeed(nonce []byte) uint64 { return mixSeed(p.Seed, 'T', nonce) }
