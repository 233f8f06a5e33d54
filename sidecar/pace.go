package sidecar

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/opengpu/ogpu/gpu/gemm"
	"github.com/opengpu/ogpu/gpu/mlp"
	"github.com/opengpu/ogpu/x/compute/workload"
)

// pace is what the provider knows of its own speed and the chain's: for each workload, the work
// units (multiply-adds) per second its executor does, from a short calibration at start and then
// from the runs that had the executor to themselves; and the block time, measured from block
// headers (the configured one until then). Workloads differ: a training step's small products
// and elementwise work run at a fraction of a large product's rate.
type pace struct {
	mu         sync.Mutex
	gmacs      map[string]float64 // by workload, 10^9 work units per second; absent while unknown
	configured time.Duration      // the block time assumed until measured
	measured   time.Duration      // 0 until two headers were seen
	height     int64              // the newest block seen
	seenAt     time.Time          // its time
}

// bytePace is the time per byte of inputs and result that a run spends outside the executor:
// generating or downloading the inputs, encoding, hashing, writing and syncing the result. On
// the 2-core machine that builds the sidecar it is 3.4 ns (4096² inputs generated, a 64 MiB
// result stored); it is taken at about twice that.
const bytePace = 8 * time.Nanosecond

// observeBlock takes the newest block's height and time; the block time is the average over
// the blocks between two observations, smoothed.
func (p *pace) observeBlock(height int64, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if height <= p.height {
		return
	}
	if p.height > 0 && at.After(p.seenAt) {
		sample := at.Sub(p.seenAt) / time.Duration(height-p.height)
		if p.measured == 0 {
			p.measured = sample
		} else {
			p.measured = (4*p.measured + sample) / 5
		}
	}
	p.height, p.seenAt = height, at
}

// observeRun takes a run of a workload's units that took d on the executor alone.
func (p *pace) observeRun(workload string, units uint64, d time.Duration) {
	if d <= 0 || units == 0 {
		return
	}
	g := float64(units) / d.Seconds() / 1e9
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gmacs == nil {
		p.gmacs = map[string]float64{}
	}
	if old, ok := p.gmacs[workload]; ok {
		g = 0.7*old + 0.3*g
	}
	p.gmacs[workload] = g
}

// rate is a workload's 10^9 work units per second, 0 while unknown.
func (p *pace) rate(workload string) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gmacs[workload]
}

// blockTime is the measured block time, or the configured one before there is a measure.
func (p *pace) blockTime() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.measured > 0 {
		return p.measured
	}
	return p.configured
}

// latest is the newest block height seen, 0 before any.
func (p *pace) latest() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.height
}

// runTime is how long units of a workload with bytes of inputs and result take at this pace;
// ok is false while the executor's speed on that workload is unknown.
func (p *pace) runTime(workload string, units, bytes uint64) (time.Duration, bool) {
	macs := units
	g := p.rate(workload)
	if g <= 0 {
		return 0, false
	}
	secs := float64(macs)/(g*1e9) + float64(bytes)*bytePace.Seconds()
	if secs >= math.MaxInt64/1e9 {
		return time.Duration(math.MaxInt64), true
	}
	return time.Duration(secs * 1e9), true
}

// calibrate times e on each workload it runs and returns 10^9 work units per second by workload.
// gemm-int8: square products, doubling the side from 128 until one run takes at least 20 ms (or
// the side reaches 2048): a CPU executor is timed in about 50 ms, a GPU on a 2048³ product. A
// first, untimed run pays for whatever the executor sets up once (a GPU context, cuBLAS).
// infer-mlp-int8: a 512-wide model over 256 rows; train-mlp-int8: steps of MNIST's shape.
func calibrate(e gemm.Executor) (map[string]float64, error) {
	out := map[string]float64{}
	warm := gemm.Shape{M: 8, N: 8, K: 8}
	if err := e.GemmInt8(warm, make([]int8, 64), make([]int8, 64), make([]int32, 64)); err != nil {
		return nil, fmt.Errorf("calibrate %s: %w", e.Name(), err)
	}
	for n := 128; ; n *= 2 {
		s := gemm.Shape{M: n, N: n, K: n}
		a, b := gemm.Generate(1, n, n), gemm.Generate(2, n, n)
		c := make([]int32, n*n)
		start := time.Now()
		if err := e.GemmInt8(s, a, b, c); err != nil {
			return nil, fmt.Errorf("calibrate %s on %d³: %w", e.Name(), n, err)
		}
		d := time.Since(start)
		if d >= 20*time.Millisecond || n >= 2048 {
			out[workload.GemmInt8V1] = float64(n*n*n) / d.Seconds() / 1e9
			break
		}
	}

	widths, rows := []int{512, 512, 512, 10}, 256
	m := mlp.RandomModel(1, widths)
	x := gemm.Generate(3, rows, widths[0])
	start := time.Now()
	if _, _, _, err := mlp.Forward(e, m, x, rows); err != nil {
		return nil, fmt.Errorf("calibrate %s on %s: %w", e.Name(), workload.InferMlpInt8V1, err)
	}
	units := workload.InferMlpInt8{Widths: []uint32{512, 512, 512, 10}, Rows: uint32(rows)}.WorkUnits()
	out[workload.InferMlpInt8V1] = float64(units) / time.Since(start).Seconds() / 1e9

	p := mlp.MNISTParams(1)
	p.Steps = 4
	const dsRows = 256
	ds := &mlp.Dataset{Rows: dsRows, Cols: p.Widths[0], Classes: p.Widths[len(p.Widths)-1], Features: gemm.Generate(4, dsRows, p.Widths[0]), Labels: make([]uint8, dsRows)}
	st := mlp.InitState(p)
	start = time.Now()
	for range p.Steps {
		if err := mlp.TrainStep(e, p, ds, st); err != nil {
			return nil, fmt.Errorf("calibrate %s on %s: %w", e.Name(), workload.TrainMlpInt8V1, err)
		}
	}
	units = workload.TrainMlpInt8{Widths: []uint32{784, 128, 10}, Steps: uint32(p.Steps), Batch: uint32(p.Batch)}.WorkUnits()
	out[workload.TrainMlpInt8V1] = float64(units) / time.Since(start).Seconds() / 1e9
	return out, nil
}
