package sidecar

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	reg                   *prometheus.Registry
	bids                  prometheus.Counter
	bidsSkipped           *prometheus.CounterVec
	wins                  prometheus.Counter
	tasksRun              prometheus.Counter
	tasksHeld             prometheus.Gauge
	runsQueued            prometheus.Gauge
	runsInFlight          prometheus.Gauge
	verifications         *prometheus.CounterVec
	verificationsQueued   prometheus.Gauge
	verificationsInFlight prometheus.Gauge
	verificationsDropped  prometheus.Counter
	blobsDeleted          prometheus.Counter
	throughput            prometheus.Gauge
}

func newMetrics() *metrics {
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m := &metrics{
		reg:                   prometheus.NewRegistry(),
		bids:                  counter("ogpu_sidecar_bids_total", "Bids sent."),
		bidsSkipped:           prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ogpu_sidecar_bids_skipped_total", Help: "Open tasks passed over, by reason (price, capacity, window), once per pass."}, []string{"reason"}),
		wins:                  counter("ogpu_sidecar_wins_total", "Tasks assigned to this provider."),
		tasksRun:              counter("ogpu_sidecar_tasks_run_total", "Tasks executed and submitted."),
		tasksHeld:             gauge("ogpu_sidecar_tasks_held", "Won tasks not yet submitted (bounded by max-concurrent)."),
		runsQueued:            gauge("ogpu_sidecar_runs_queued", "Won tasks waiting for a run slot."),
		runsInFlight:          gauge("ogpu_sidecar_runs_in_flight", "Won tasks running (at most max-concurrent)."),
		verifications:         prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ogpu_sidecar_verifications_total", Help: "Results checked, by verdict."}, []string{"verdict"}),
		verificationsQueued:   gauge("ogpu_sidecar_verifications_queued", "Results waiting for a verification slot."),
		verificationsInFlight: gauge("ogpu_sidecar_verifications_in_flight", "Results being checked (at most max-concurrent-verifications)."),
		verificationsDropped:  counter("ogpu_sidecar_verifications_dropped_total", "Queued checks dropped because the chain had recorded this member's part or the round had moved on."),
		blobsDeleted:          counter("ogpu_sidecar_blobs_deleted_total", "Blobs deleted after their task's retention."),
		throughput:            gauge("ogpu_sidecar_executor_gmacs", "The executor's multiply-adds per second, in 10^9, as the bid engine estimates it."),
	}
	m.reg.MustRegister(m.bids, m.bidsSkipped, m.wins, m.tasksRun, m.tasksHeld, m.runsQueued, m.runsInFlight,
		m.verifications, m.verificationsQueued, m.verificationsInFlight, m.verificationsDropped, m.blobsDeleted, m.throughput)
	return m
}
