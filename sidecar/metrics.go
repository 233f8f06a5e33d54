package sidecar

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	reg           *prometheus.Registry
	bids          prometheus.Counter
	wins          prometheus.Counter
	tasksRun      prometheus.Counter
	verifications *prometheus.CounterVec
	throughput    prometheus.Gauge
	queue         prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		reg:           prometheus.NewRegistry(),
		bids:          prometheus.NewCounter(prometheus.CounterOpts{Name: "ogpu_sidecar_bids_total", Help: "Bids sent."}),
		wins:          prometheus.NewCounter(prometheus.CounterOpts{Name: "ogpu_sidecar_wins_total", Help: "Tasks assigned to this provider."}),
		tasksRun:      prometheus.NewCounter(prometheus.CounterOpts{Name: "ogpu_sidecar_tasks_run_total", Help: "Tasks executed and submitted."}),
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ogpu_sidecar_verifications_total", Help: "Results checked, by verdict."}, []string{"verdict"}),
		throughput:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "ogpu_sidecar_executor_gmacs", Help: "Multiply-adds per second of the last task, in 10^9."}),
		queue:         prometheus.NewGauge(prometheus.GaugeOpts{Name: "ogpu_sidecar_queue_depth", Help: "Won tasks running or waiting."}),
	}
	m.reg.MustRegister(m.bids, m.wins, m.tasksRun, m.verifications, m.throughput, m.queue)
	return m
}
