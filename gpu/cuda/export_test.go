//go:build linux

package cuda

// SetBands makes every product go through in n bands of rows (fewer where there are too few
// rows); 0 picks them by size again.
func (e *Executor) SetBands(n int) {
	_ = e.do(func() error { e.bands = n; return nil })
}
