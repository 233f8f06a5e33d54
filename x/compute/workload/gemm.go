package workload

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// GemmInt8V1 multiplies two int8 matrices into an int32 matrix, checked with Freivalds.
const GemmInt8V1 = "gemm-int8/v1"

const (
	// GemmMaxDim bounds m, n and k.
	GemmMaxDim = 16384
	// GemmResultHeaderSize is the size of the header before the int32 row-major result.
	GemmResultHeaderSize = 32
)

// GemmInt8 are the parameters of gemm-int8/v1. With no inputs, A and B are generated from
// SeedA and SeedB; with two inputs, they are A (m·k bytes) and B (k·n bytes), and the seeds
// must be zero.
type GemmInt8 struct {
	M, N, K      uint32
	SeedA, SeedB uint64
}

var _ Params = GemmInt8{}

// Workload implements Params.
func (GemmInt8) Workload() string { return GemmInt8V1 }

// Validate implements Params.
func (g GemmInt8) Validate(inputs []Input) error {
	for _, d := range []struct {
		name string
		v    uint32
	}{{"m", g.M}, {"n", g.N}, {"k", g.K}} {
		if d.v < 1 || d.v > GemmMaxDim {
			return fmt.Errorf("%s %d: must be in 1..%d", d.name, d.v, GemmMaxDim)
		}
	}
	switch len(inputs) {
	case 0:
		return nil
	case 2:
		if g.SeedA != 0 || g.SeedB != 0 {
			return fmt.Errorf("seed_a, seed_b: must be 0 when A and B come as inputs")
		}
		if want := uint64(g.M) * uint64(g.K); inputs[0].Size != want {
			return fmt.Errorf("inputs[0] (A) size %d: must be m·k = %d bytes", inputs[0].Size, want)
		}
		if want := uint64(g.K) * uint64(g.N); inputs[1].Size != want {
			return fmt.Errorf("inputs[1] (B) size %d: must be k·n = %d bytes", inputs[1].Size, want)
		}
		return nil
	default:
		return fmt.Errorf("inputs: %d given, must be none (seeded) or two (A and B)", len(inputs))
	}
}

// WorkUnits implements Params: m·n·k multiply-adds.
func (g GemmInt8) WorkUnits() uint64 { return uint64(g.M) * uint64(g.N) * uint64(g.K) }

// ResultSize implements Params: the header and m·n little-endian int32 values.
func (g GemmInt8) ResultSize() uint64 {
	return GemmResultHeaderSize + 4*uint64(g.M)*uint64(g.N)
}

// InputSeeds are the seeds A and B of a seeded task are generated from: seed_a and seed_b mixed
// with the chain randomness of the task's assignment (the task's input nonce). A result
// therefore exists only after the assignment, and one computed for an earlier task with the
// same seeds is worth nothing.
func (g GemmInt8) InputSeeds(nonce []byte) (a, b uint64) {
	return mixSeed(g.SeedA, 'A', nonce), mixSeed(g.SeedB, 'B', nonce)
}

func mixSeed(seed uint64, matrix byte, nonce []byte) uint64 {
	h := sha256.New()
	h.Write([]byte("ogpu/gemm-seed/v1"))
	h.Write([]byte{matrix})
	h.Write(binary.BigEndian.AppendUint64(nil, seed))
	h.Write(nonce)
	return binary.BigEndian.Uint64(h.Sum(nil))
}
