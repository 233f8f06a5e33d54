package sidecar

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// workQueue runs jobs, at most one per task, on a fixed set of workers: at most slots run at
// once and the rest wait, the lowest priority value (the earliest deadline) first. It is the
// bound on the sidecar's work: no goroutine is started per task, and a flood of tasks only
// lengthens the queue, itself capped at maxWaiting (a task left out is offered again on a later
// pass). A job added again while it waits replaces the waiting one; one added while it runs is
// refused, and the next pass offers it again.
type workQueue[J any] struct {
	slots      int
	maxWaiting int
	run        func(context.Context, J)
	queued     prometheus.Gauge
	inFlight   prometheus.Gauge
	ready      chan struct{} // a job is waiting

	mu      sync.Mutex
	seq     uint64
	waiting map[uint64]waitingJob[J]
	running map[uint64]bool
}

type waitingJob[J any] struct {
	job      J
	priority int64
	seq      uint64 // first come, first served among equal priorities
}

func newWorkQueue[J any](slots, maxWaiting int, run func(context.Context, J), queued, inFlight prometheus.Gauge) *workQueue[J] {
	return &workQueue[J]{
		slots: max(1, slots), maxWaiting: maxWaiting, run: run, queued: queued, inFlight: inFlight,
		ready: make(chan struct{}, max(1, slots)), waiting: map[uint64]waitingJob[J]{}, running: map[uint64]bool{},
	}
}

// start runs the workers until ctx ends.
func (q *workQueue[J]) start(ctx context.Context) {
	for range q.slots {
		go q.work(ctx)
	}
}

func (q *workQueue[J]) work(ctx context.Context) {
	for ctx.Err() == nil {
		id, job, ok := q.take()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-q.ready:
			}
			continue
		}
		q.run(ctx, job)
		q.finish(id)
	}
}

// add offers the job of task id; it reports whether the task was not already waiting or running.
func (q *workQueue[J]) add(id uint64, priority int64, job J) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.running[id] {
		return false
	}
	if w, ok := q.waiting[id]; ok {
		w.job, w.priority = job, priority
		q.waiting[id] = w
		return false
	}
	if len(q.waiting) >= q.maxWaiting {
		return false
	}
	q.seq++
	q.waiting[id] = waitingJob[J]{job: job, priority: priority, seq: q.seq}
	q.gauges()
	q.signal()
	return true
}

// keep drops the waiting jobs whose task want refuses; running jobs finish.
func (q *workQueue[J]) keep(want func(id uint64) bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for id := range q.waiting {
		if !want(id) {
			delete(q.waiting, id)
		}
	}
	q.gauges()
}

// remove drops the waiting job of task id.
func (q *workQueue[J]) remove(id uint64) {
	q.keep(func(other uint64) bool { return other != id })
}

// has reports whether task id waits or runs.
func (q *workQueue[J]) has(id uint64) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, waiting := q.waiting[id]
	return waiting || q.running[id]
}

// counts are the jobs waiting and running.
func (q *workQueue[J]) counts() (waiting, running int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.waiting), len(q.running)
}

// take moves the first waiting job to running.
func (q *workQueue[J]) take() (uint64, J, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var (
		best  uint64
		first *waitingJob[J]
	)
	for id, w := range q.waiting {
		if first == nil || w.priority < first.priority || (w.priority == first.priority && w.seq < first.seq) {
			w := w
			best, first = id, &w
		}
	}
	if first == nil {
		var zero J
		return 0, zero, false
	}
	delete(q.waiting, best)
	q.running[best] = true
	q.gauges()
	if len(q.waiting) > 0 {
		q.signal() // another worker may be idle
	}
	return best, first.job, true
}

func (q *workQueue[J]) finish(id uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.running, id)
	q.gauges()
}

func (q *workQueue[J]) signal() {
	select {
	case q.ready <- struct{}{}:
	default: // enough wake-ups are pending
	}
}

func (q *workQueue[J]) gauges() {
	q.queued.Set(float64(len(q.waiting)))
	q.inFlight.Set(float64(len(q.running)))
}
