package sidecar

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/opengpu/ogpu/gpu/gemm"
)

// pace is what the provider knows of its own speed and the chain's: its executor's multiply-adds
// per second, from a short calibration at start and then from the runs that had the executor to
// themselves, and the block time, measured from block headers (the configured one until then).
type pace struct {
	mu         sync.Mutex
	gmacs      float64       // 10^9 multiply-adds per second; 0 while unknown
	configured time.Duration // the block time assumed until measured
	measured   time.Duration // 0 until two headers were seen
	height     int64         // the newest block seen
	seenAt     time.Time     // its time
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

// observeRun takes a run of macs multiply-adds that took d on the executor alone.
func (p *pace) observeRun(macs uint64, d time.Duration) {
	if d <= 0 || macs == 0 {
		return
	}
	g := float64(macs) / d.Seconds() / 1e9
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gmacs == 0 {
		p.gmacs = g
	} else {
		p.gmacs = 0.7*p.gmacs + 0.3*g
	}
}

func (p *pace) rate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gmacs
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

// runTime is how long macs multiply-adds with bytes of inputs and result take at this pace;
// ok is false while the executor's speed is unknown.
func (p *pace) runTime(macs, bytes uint64) (time.Duration, bool) {
	g := p.rate()
	if g <= 0 {
		return 0, false
	}
	secs := float64(macs)/(g*1e9) + float64(bytes)*bytePace.Seconds()
	if secs >= math.MaxInt64/1e9 {
		return time.Duration(math.MaxInt64), true
	}
	return time.Duration(secs * 1e9), true
}

// calibrate times e on square products, doubling the side from 128 until one run takes at least
// 20 ms (or the side reaches 2048), and returns 10^9 multiply-adds per second: a CPU executor
// is timed in about 50 ms, a GPU on a 2048³ product. A first, untimed run pays for whatever the
// executor sets up once (a GPU context, cuBLAS).
func calibrate(e gemm.Executor) (float64, error) {
	warm := gemm.Shape{M: 8, N: 8, K: 8}
	if err := e.GemmInt8(warm, make([]int8, 64), make([]int8, 64), make([]int32, 64)); err != nil {
		return 0, fmt.Errorf("calibrate %s: %w", e.Name(), err)
	}
	for n := 128; ; n *= 2 {
		s := gemm.Shape{M: n, N: n, K: n}
		a, b := gemm.Generate(1, n, n), gemm.Generate(2, n, n)
		c := make([]int32, n*n)
		start := time.Now()
		if err := e.GemmInt8(s, a, b, c); err != nil {
			return 0, fmt.Errorf("calibrate %s on %d³: %w", e.Name(), n, err)
		}
		d := time.Since(start)
		if d >= 20*time.Millisecond || n >= 2048 {
			return float64(n*n*n) / d.Seconds() / 1e9, nil
		}
	}
}
