package gemm

import (
	"encoding/binary"
	"io"
)

// Identity streams the n×n identity matrix, one int8 per byte. As A it makes the right result
// of any A·B known without computing it (it is B, widened), so a task of the largest shape can
// be served and verified without either side holding a matrix: see IdentityResult.
type Identity struct{ n, off int64 }

// NewIdentity streams the n×n identity matrix.
func NewIdentity(n int) *Identity { return &Identity{n: int64(max(n, 0))} }

// Read implements io.Reader.
func (r *Identity) Read(p []byte) (int, error) {
	size := r.n * r.n
	if r.off >= size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), size-r.off)]
	clear(p)
	end := r.off + int64(len(p))
	// the diagonal is at i·(n+1); the first one at or after off is i = ⌈off / (n+1)⌉
	for i := (r.off + r.n) / (r.n + 1); i*(r.n+1) < end; i++ {
		p[i*(r.n+1)-r.off] = 1
	}
	r.off = end
	return len(p), nil
}

// IdentityResult streams the encoded result of I·B for a task of shape s (M = K): the header,
// then B's values, read from b, as little-endian int32.
type IdentityResult struct {
	b       io.Reader
	in      [8192]byte
	out     [4 * 8192]byte
	pending []byte
}

// NewIdentityResult streams the result of I·B, B read from b.
func NewIdentityResult(s Shape, b io.Reader) *IdentityResult {
	return &IdentityResult{b: b, pending: Header(s)}
}

// Read implements io.Reader.
func (w *IdentityResult) Read(p []byte) (int, error) {
	if len(w.pending) == 0 {
		n, err := w.b.Read(w.in[:])
		if n == 0 {
			return 0, err
		}
		for i, v := range w.in[:n] {
			binary.LittleEndian.PutUint32(w.out[4*i:], uint32(int32(int8(v))))
		}
		w.pending = w.out[:4*n]
	}
	n := copy(p, w.pending)
	w.pending = w.pending[n:]
	return n, nil
}
