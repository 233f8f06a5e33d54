package sidecar

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

// gaugeValue reads a gauge.
func gaugeValue(t *testing.T, g prometheus.Gauge) float64 {
	var m dto.Metric
	require.NoError(t, g.Write(&m))
	return m.GetGauge().GetValue()
}

// TestQueueBoundsConcurrency: with N slots never more than N jobs run at once, the rest wait
// (the gauges say how many of each), every job runs once, the earliest deadline first, and a
// job offered again while it waits or runs is not run twice.
func TestQueueBoundsConcurrency(t *testing.T) {
	const slots, jobs = 3, 20
	var (
		running, most atomic.Int32
		mu            sync.Mutex
		order         []uint64
		release       = make(chan struct{})
		done          sync.WaitGroup
	)
	queued := prometheus.NewGauge(prometheus.GaugeOpts{Name: "q"})
	inFlight := prometheus.NewGauge(prometheus.GaugeOpts{Name: "f"})
	q := newWorkQueue(slots, 100, func(_ context.Context, id uint64) {
		defer done.Done()
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		mu.Lock()
		order = append(order, id)
		mu.Unlock()
		<-release
		running.Add(-1)
	}, queued, inFlight)

	done.Add(jobs)
	for id := uint64(1); id <= jobs; id++ {
		require.True(t, q.add(id, int64(100-id), id)) // later ids have earlier deadlines
	}
	require.False(t, q.add(5, 0, 5), "waiting already: replaced, not added")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q.start(ctx)

	require.Eventually(t, func() bool { return running.Load() == slots }, 5*time.Second, time.Millisecond)
	time.Sleep(20 * time.Millisecond) // room for a worker that should not be there
	require.EqualValues(t, slots, running.Load())
	require.EqualValues(t, jobs-slots, gaugeValue(t, queued))
	require.EqualValues(t, slots, gaugeValue(t, inFlight))
	mu.Lock()
	require.ElementsMatch(t, []uint64{20, 19, 5}, order, "the earliest deadlines first (5 was moved to the front)")
	mu.Unlock()
	require.False(t, q.add(20, 0, 20), "running: not added again")

	close(release)
	done.Wait()
	require.EqualValues(t, slots, most.Load(), "never more than the slots at once")
	require.Eventually(t, func() bool { w, r := q.counts(); return w == 0 && r == 0 }, time.Second, time.Millisecond)
	require.Zero(t, gaugeValue(t, queued))
	require.Zero(t, gaugeValue(t, inFlight))
	mu.Lock()
	require.Len(t, order, jobs, "each job ran once")
	mu.Unlock()
}

// TestQueueDropsAndCaps: dropped jobs never run, and a full queue refuses more.
func TestQueueDropsAndCaps(t *testing.T) {
	g := func() prometheus.Gauge { return prometheus.NewGauge(prometheus.GaugeOpts{Name: "g"}) }
	var ran []uint64
	q := newWorkQueue(1, 3, func(_ context.Context, id uint64) { ran = append(ran, id) }, g(), g())
	for id := uint64(1); id <= 4; id++ {
		q.add(id, int64(id), id)
	}
	require.False(t, q.has(4), "over the cap: left for a later pass")
	q.remove(2)
	q.keep(func(id uint64) bool { return id != 3 })
	require.True(t, q.has(1))
	require.False(t, q.has(2))
	id, job, ok := q.take()
	require.True(t, ok)
	q.run(context.Background(), job)
	q.finish(id)
	_, _, ok = q.take()
	require.False(t, ok)
	require.Equal(t, []uint64{1}, ran)
}
