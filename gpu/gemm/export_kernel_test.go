package gemm

// Paths are the kernel paths, generic first.
var Paths = []string{"generic", "bw", "vnni"}

// ForcePath makes every product take the named path until restore is called; ok is false when
// this CPU or build lacks it.
func ForcePath(name string) (restore func(), ok bool) {
	for p := pathGeneric; p <= pathVNNI; p++ {
		if p.String() == name && supported(p) {
			old := activePath
			activePath = p
			return func() { activePath = old }, true
		}
	}
	return func() {}, false
}

// ActivePath is the name of the path chosen for this CPU.
func ActivePath() string { return activePath.String() }
