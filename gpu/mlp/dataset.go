package mlp

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/opengpu/ogpu/x/compute/workload"
)

// MaxDatasetRows bounds the rows of a training dataset, as the chain does.
const MaxDatasetRows = workload.MlpMaxDatasetRows

// Dataset is a labelled training set: Rows rows of Cols int8 features, each with a label below
// Classes.
type Dataset struct {
	Rows, Cols, Classes int
	Features            []int8  // Rows×Cols row-major
	Labels              []uint8 // Rows
}

// Validate checks the dataset against the bounds: rows in 1..MaxDatasetRows, cols in
// 1..MaxWidth, classes in 2..MaxClasses, and every label below classes.
func (d *Dataset) Validate() error {
	if d.Rows < 1 || d.Rows > MaxDatasetRows {
		return fmt.Errorf("dataset: rows %d: must be in 1..%d", d.Rows, MaxDatasetRows)
	}
	if d.Cols < 1 || d.Cols > MaxWidth {
		return fmt.Errorf("dataset: cols %d: must be in 1..%d", d.Cols, MaxWidth)
	}
	if d.Classes < 2 || d.Classes > MaxClasses {
		return fmt.Errorf("dataset: classes %d: must be in 2..%d", d.Classes, MaxClasses)
	}
	if len(d.Features) != d.Rows*d.Cols {
		return fmt.Errorf("dataset: features: %d values, want %d×%d", len(d.Features), d.Rows, d.Cols)
	}
	if len(d.Labels) != d.Rows {
		return fmt.Errorf("dataset: labels: %d values, want %d", len(d.Labels), d.Rows)
	}
	for i, l := range d.Labels {
		if int(l) >= d.Classes {
			return fmt.Errorf("dataset: labels[%d] %d: must be below classes %d", i, l, d.Classes)
		}
	}
	return nil
}

// datasetMagic starts every dataset blob.
var datasetMagic = [8]byte{'O', 'G', 'P', 'U', 'D', 'S', 'E', 'T'}

// datasetHeaderSize is the dataset blob's header: magic, version, rows, cols, classes.
const datasetHeaderSize = 24

// DatasetSize is the exact size of the blob of a dataset of rows×cols features.
func DatasetSize(rows, cols int) uint64 {
	r, c := uint64(max(rows, 0)), uint64(max(cols, 0))
	return datasetHeaderSize + r*c + r
}

// Encode is the dataset blob: magic "OGPUDSET", version, rows, cols, classes (uint32
// little-endian), then the features row-major, one byte each, then the labels, one byte each.
// The dataset must be valid.
func (d *Dataset) Encode() []byte {
	out := make([]byte, 0, DatasetSize(d.Rows, d.Cols))
	out = append(out, datasetMagic[:]...)
	out = binary.LittleEndian.AppendUint32(out, Version)
	out = binary.LittleEndian.AppendUint32(out, uint32(d.Rows))
	out = binary.LittleEndian.AppendUint32(out, uint32(d.Cols))
	out = binary.LittleEndian.AppendUint32(out, uint32(d.Classes))
	for _, v := range d.Features {
		out = append(out, byte(v))
	}
	return append(out, d.Labels...)
}

// DecodeDataset reads a dataset blob, strictly: a wrong magic, version, count, size or label is
// an error that names the field, and a dataset that decodes encodes to the same bytes.
func DecodeDataset(b []byte) (*Dataset, error) {
	if len(b) < datasetHeaderSize {
		return nil, fmt.Errorf("dataset: size %d bytes: shorter than the %d-byte header", len(b), datasetHeaderSize)
	}
	if [8]byte(b[:8]) != datasetMagic {
		return nil, errors.New("dataset: magic: not an OGPUDSET blob")
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != Version {
		return nil, fmt.Errorf("dataset: version %d: must be %d", v, Version)
	}
	rows, cols, classes := binary.LittleEndian.Uint32(b[12:]), binary.LittleEndian.Uint32(b[16:]), binary.LittleEndian.Uint32(b[20:])
	if rows < 1 || rows > MaxDatasetRows {
		return nil, fmt.Errorf("dataset: rows %d: must be in 1..%d", rows, MaxDatasetRows)
	}
	if cols < 1 || cols > MaxWidth {
		return nil, fmt.Errorf("dataset: cols %d: must be in 1..%d", cols, MaxWidth)
	}
	if classes < 2 || classes > MaxClasses {
		return nil, fmt.Errorf("dataset: classes %d: must be in 2..%d", classes, MaxClasses)
	}
	if want := DatasetSize(int(rows), int(cols)); uint64(len(b)) != want {
		return nil, fmt.Errorf("dataset: size %d bytes: %d rows of %d need %d", len(b), rows, cols, want)
	}
	d := &Dataset{Rows: int(rows), Cols: int(cols), Classes: int(classes)}
	n := d.Rows * d.Cols
	d.Features = make([]int8, n)
	for i := range d.Features {
		d.Features[i] = int8(b[datasetHeaderSize+i])
	}
	d.Labels = append([]uint8(nil), b[datasetHeaderSize+n:]...)
	for i, l := range d.Labels {
		if uint32(l) >= classes {
			return nil, fmt.Errorf("dataset: labels[%d] %d: must be below classes %d", i, l, classes)
		}
	}
	return d, nil
}
