package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard/switchyard/internal/engine"
)

// latencyBuckets spans an event reaching a waiting worker (milliseconds) to a
// task that waited for a free slot (minutes).
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}

// engineObserver turns what the engine reports into counters and histograms.
type engineObserver struct {
	eventsPushed       prometheus.Counter
	eventsDeduplicated prometheus.Counter
	runsStarted        *prometheus.CounterVec
	runsFinished       *prometheus.CounterVec
	tasksQueued        *prometheus.CounterVec
	tasksStarted       *prometheus.CounterVec
	tasksRetried       *prometheus.CounterVec
	tasksTimedOut      *prometheus.CounterVec
	queueWait          *prometheus.HistogramVec
	triggerToStart     *prometheus.HistogramVec
}

var _ engine.Observer = (*engineObserver)(nil)

func newEngineObserver(reg prometheus.Registerer) *engineObserver {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	}
	o := &engineObserver{
		eventsPushed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "events_pushed_total",
			Help: "Events stored by pushes (bulk pushes count each event).",
		}),
		eventsDeduplicated: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "events_deduplicated_total",
			Help: "Pushed events not stored because their idempotency key was used before.",
		}),
		runsStarted:   counter("runs_started_total", "Runs created, by workflow and trigger (EVENT, CRON, MANUAL, REPLAY).", "workflow", "trigger"),
		runsFinished:  counter("runs_finished_total", "Runs ended, by workflow and status (SUCCEEDED, FAILED, CANCELLED).", "workflow", "status"),
		tasksQueued:   counter("tasks_queued_total", "Tasks that became ready for a worker (retries included), by action.", "action"),
		tasksStarted:  counter("tasks_started_total", "Task attempts assigned to a worker, by action.", "action"),
		tasksRetried:  counter("tasks_retried_total", "Failed or lost task attempts queued again, by action.", "action"),
		tasksTimedOut: counter("tasks_timed_out_total", "Task attempts that ran past their timeout, by action.", "action"),
		queueWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "task_queue_wait_seconds",
			Help:    "How long a task was ready before a worker took it, by action.",
			Buckets: latencyBuckets,
		}, []string{"action"}),
		triggerToStart: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "trigger_to_start_seconds",
			Help:    "From a run's creation to the first attempt of a task without parents reaching a worker, by action.",
			Buckets: latencyBuckets,
		}, []string{"action"}),
	}
	reg.MustRegister(o.eventsPushed, o.eventsDeduplicated, o.runsStarted, o.runsFinished,
		o.tasksQueued, o.tasksStarted, o.tasksRetried, o.tasksTimedOut, o.queueWait, o.triggerToStart)
	return o
}

func (o *engineObserver) EventsPushed(stored, deduplicated int) {
	o.eventsPushed.Add(float64(stored))
	o.eventsDeduplicated.Add(float64(deduplicated))
}

func (o *engineObserver) RunStarted(workflow, trigger string) {
	o.runsStarted.WithLabelValues(workflow, trigger).Inc()
}

func (o *engineObserver) RunFinished(workflow, status string) {
	o.runsFinished.WithLabelValues(workflow, status).Inc()
}

func (o *engineObserver) TaskQueued(action string) {
	o.tasksQueued.WithLabelValues(action).Inc()
}

func (o *engineObserver) TaskStarted(s engine.TaskStart) {
	o.tasksStarted.WithLabelValues(s.Action).Inc()
	o.queueWait.WithLabelValues(s.Action).Observe(s.Waited.Seconds())
	if s.Attempt == 1 && s.Root {
		o.triggerToStart.WithLabelValues(s.Action).Observe(s.SinceCreated.Seconds())
	}
}

func (o *engineObserver) TaskRetried(action string) {
	o.tasksRetried.WithLabelValues(action).Inc()
}

func (o *engineObserver) TaskTimedOut(action string) {
	o.tasksTimedOut.WithLabelValues(action).Inc()
}
