package mlp_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/opengpu/ogpu/gpu/mlp"
)

// verdict is what Verify returns, as text to compare.
func verdict(digests [][32]byte, err error) string {
	return fmt.Sprintf("%x %v", digests, err)
}

// TestVerifyIsTheSameOnAnyCoreCount: Verify splits its loops among GOMAXPROCS goroutines, and
// gives the same digests and the same error, naming the same first wrong row, on one core or many,
// for results right, wrong, cut short anywhere, too long, and read in odd chunks.
func TestVerifyIsTheSameOnAnyCoreCount(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, tc := range []struct {
		widths []int
		rows   int
	}{
		{[]int{40, 24, 16, 10}, 12},
		{[]int{256, 520, 300, 10}, 301},
		{[]int{1000, 64, 2000, 7}, 97},
	} {
		tk := newTask(t, 71, tc.widths, tc.rows)
		accs, logits, argmax := tk.offsets()
		last := accs[len(accs)-1]
		cases := map[string]func() io.Reader{
			"right":    func() io.Reader { return bytes.NewReader(tk.result) },
			"one-byte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(tk.result)) },
			"half":     func() io.Reader { return iotest.HalfReader(bytes.NewReader(tk.result)) },
			"data-err": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(tk.result)) },
			"too long": func() io.Reader { return bytes.NewReader(append(bytes.Clone(tk.result), 0)) },
			"late row": func() io.Reader { return bytes.NewReader(addAt(tk.result, accs[1]-8, 3)) },
			"two rows": func() io.Reader {
				return bytes.NewReader(addAt(addAt(tk.result, accs[1]-4, 1), accs[0]+4*tc.widths[1]+4, -2))
			},
			"last acc":  func() io.Reader { return bytes.NewReader(addAt(tk.result, logits-4, 1)) },
			"logit":     func() io.Reader { return bytes.NewReader(addAt(tk.result, argmax-4, 1)) },
			"mid-row":   func() io.Reader { return bytes.NewReader(tk.result[:accs[1]-4*tc.widths[1]/2]) },
			"row end":   func() io.Reader { return bytes.NewReader(tk.result[:accs[0]+4*tc.widths[1]*(tc.rows/2)]) },
			"mid-value": func() io.Reader { return bytes.NewReader(tk.result[:last+4*tc.rows+2]) },
			"header":    func() io.Reader { return bytes.NewReader(tk.result[:10]) },
			"failed read": func() io.Reader {
				return io.MultiReader(bytes.NewReader(tk.result[:accs[1]+5]), iotest.ErrReader(errors.New("connection reset")))
			},
		}
		for name, open := range cases {
			runtime.GOMAXPROCS(1)
			want := verdict(mlp.Verify(open(), tk.m, tk.x, tk.rows, seedOf(1), seedOf(2)))
			t.Logf("%v/%s: %s", tc.widths, name, want)
			for _, procs := range []int{2, 3, 8} {
				runtime.GOMAXPROCS(procs)
				got := verdict(mlp.Verify(open(), tk.m, tk.x, tk.rows, seedOf(1), seedOf(2)))
				require.Equal(t, want, got, "%v rows %d, %s, GOMAXPROCS %d", tc.widths, tc.rows, name, procs)
			}
		}
	}
}
