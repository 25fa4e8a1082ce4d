package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard/switchyard/internal/engine"
)

// Stats is what the queue and worker gauges are read from at each scrape: the
// engine.
type Stats interface {
	// Stats returns the ready queues as of now and the connected workers,
	// across tenants.
	Stats(ctx context.Context, now time.Time) ([]engine.QueueStats, engine.WorkerStats, error)
}

// statsCollector reads the queue and worker gauges from the engine at each
// scrape. They describe the whole database (every tenant, every server on it),
// so every server sharing a database reports the same values.
type statsCollector struct {
	stats   Stats
	log     *slog.Logger
	timeout time.Duration
	now     func() time.Time

	up          *prometheus.Desc
	queueDepth  *prometheus.Desc
	queueOldest *prometheus.Desc
	workers     *prometheus.Desc
	slots       *prometheus.Desc
	slotsInUse  *prometheus.Desc

	// mu guards actions: every action ever reported, so that a queue that
	// drained reports 0 rather than vanishing.
	mu      sync.Mutex
	actions map[string]bool
}

func newStatsCollector(st Stats, log *slog.Logger, timeout time.Duration, now func() time.Time) *statsCollector {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
	}
	return &statsCollector{
		stats:       st,
		log:         log,
		timeout:     timeout,
		now:         now,
		up:          desc("store_stats_up", "1 if the queue and worker gauges could be read from the database at this scrape, else 0."),
		queueDepth:  desc("queue_depth", "Tasks ready and waiting for a worker (QUEUED, backoff passed), by action.", "action"),
		queueOldest: desc("queue_oldest_age_seconds", "How long the longest-waiting ready task has waited, by action (0 when none waits).", "action"),
		workers:     desc("workers_connected", "Workers with an open Listen stream."),
		slots:       desc("worker_slots", "Task slots of the connected workers."),
		slotsInUse:  desc("worker_slots_in_use", "Tasks running on the connected workers."),
		actions:     make(map[string]bool),
	}
}

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.queueDepth, c.queueOldest, c.workers, c.slots, c.slotsInUse} {
		ch <- d
	}
}

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	now := c.now()
	queues, workers, err := c.stats.Stats(ctx, now)
	if err != nil {
		c.log.Warn("metrics: read queue and worker gauges", "error", err.Error())
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)

	c.mu.Lock()
	defer c.mu.Unlock()
	seen := make(map[string]bool, len(queues))
	for _, s := range queues {
		seen[s.Action] = true
		c.actions[s.Action] = true
		age := max(0, now.Sub(s.OldestReadyAt).Seconds())
		ch <- prometheus.MustNewConstMetric(c.queueDepth, prometheus.GaugeValue, float64(s.Depth), s.Action)
		ch <- prometheus.MustNewConstMetric(c.queueOldest, prometheus.GaugeValue, age, s.Action)
	}
	for action := range c.actions {
		if !seen[action] {
			ch <- prometheus.MustNewConstMetric(c.queueDepth, prometheus.GaugeValue, 0, action)
			ch <- prometheus.MustNewConstMetric(c.queueOldest, prometheus.GaugeValue, 0, action)
		}
	}
	ch <- prometheus.MustNewConstMetric(c.workers, prometheus.GaugeValue, float64(workers.Connected))
	ch <- prometheus.MustNewConstMetric(c.slots, prometheus.GaugeValue, float64(workers.Slots))
	ch <- prometheus.MustNewConstMetric(c.slotsInUse, prometheus.GaugeValue, float64(workers.SlotsInUse))
}
