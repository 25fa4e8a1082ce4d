package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/metrics"
)

func TestEngineObserver(t *testing.T) {
	t.Parallel()
	m := metrics.New(metrics.Config{})
	o := m.Observer()
	o.EventsPushed(3, 0)
	o.EventsPushed(1, 2)
	o.RunStarted("resize", "EVENT")
	o.RunStarted("resize", "EVENT")
	o.RunStarted("nightly", "CRON")
	o.RunFinished("resize", "SUCCEEDED")
	o.RunFinished("nightly", "FAILED")
	o.TaskQueued("img.resize")
	o.TaskQueued("img.resize")
	// The first attempt of a root task: a trigger-to-start latency.
	o.TaskStarted(engine.TaskStart{Action: "img.resize", Attempt: 1, Root: true, Waited: 3 * time.Millisecond, SinceCreated: 4 * time.Millisecond})
	// A retry and a child task: queue waits only.
	o.TaskStarted(engine.TaskStart{Action: "img.resize", Attempt: 2, Root: true, Waited: 20 * time.Millisecond, SinceCreated: 2 * time.Second})
	o.TaskStarted(engine.TaskStart{Action: "img.tag", Attempt: 1, Root: false, Waited: 0, SinceCreated: time.Second})
	o.TaskRetried("img.resize")
	o.TaskTimedOut("img.resize")

	const want = `
# HELP switchyard_events_deduplicated_total Pushed events not stored because their idempotency key was used before.
# TYPE switchyard_events_deduplicated_total counter
switchyard_events_deduplicated_total 2
# HELP switchyard_events_pushed_total Events stored by pushes (bulk pushes count each event).
# TYPE switchyard_events_pushed_total counter
switchyard_events_pushed_total 4
# HELP switchyard_runs_finished_total Runs ended, by workflow and status (SUCCEEDED, FAILED, CANCELLED).
# TYPE switchyard_runs_finished_total counter
switchyard_runs_finished_total{status="FAILED",workflow="nightly"} 1
switchyard_runs_finished_total{status="SUCCEEDED",workflow="resize"} 1
# HELP switchyard_runs_started_total Runs created, by workflow and trigger (EVENT, CRON, MANUAL, REPLAY).
# TYPE switchyard_runs_started_total counter
switchyard_runs_started_total{trigger="CRON",workflow="nightly"} 1
switchyard_runs_started_total{trigger="EVENT",workflow="resize"} 2
# HELP switchyard_tasks_queued_total Tasks that became ready for a worker (retries included), by action.
# TYPE switchyard_tasks_queued_total counter
switchyard_tasks_queued_total{action="img.resize"} 2
# HELP switchyard_tasks_retried_total Failed or lost task attempts queued again, by action.
# TYPE switchyard_tasks_retried_total counter
switchyard_tasks_retried_total{action="img.resize"} 1
# HELP switchyard_tasks_started_total Task attempts assigned to a worker, by action.
# TYPE switchyard_tasks_started_total counter
switchyard_tasks_started_total{action="img.resize"} 2
switchyard_tasks_started_total{action="img.tag"} 1
# HELP switchyard_tasks_timed_out_total Task attempts that ran past their timeout, by action.
# TYPE switchyard_tasks_timed_out_total counter
switchyard_tasks_timed_out_total{action="img.resize"} 1
`
	err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"switchyard_events_pushed_total", "switchyard_events_deduplicated_total",
		"switchyard_runs_started_total", "switchyard_runs_finished_total",
		"switchyard_tasks_queued_total", "switchyard_tasks_started_total",
		"switchyard_tasks_retried_total", "switchyard_tasks_timed_out_total")
	if err != nil {
		t.Fatal(err)
	}

	const wantTrigger = `
# HELP switchyard_trigger_to_start_seconds From a run's creation to the first attempt of a task without parents reaching a worker, by action.
# TYPE switchyard_trigger_to_start_seconds histogram
switchyard_trigger_to_start_seconds_bucket{action="img.resize",le="0.001"} 0
switchyard_trigger_to_start_seconds_bucket{action="img.resize",le="0.0025"} 0
switchyard_trigger_to_start_seconds_bucket{action="img.resize",le="0.005"} 1
switchyard_trigger_to_start_seconds_bucket{action="img.resize",le="0.01"} 1
switchyard_trigger_to_start_seconds_bucket{action="img.resize",le="0.025"} 1
switchyard_trigger_to_start_seconds_bucket{action="img.resize",le="0.05"} 1
switchyard_trigger_to_start_seconds_bucket{action="img.resize",le="0.1"} 1
switchyard_trigger_to_start_seconds_bucket{action="img.resize",le="0.25"} 1
switchyard_trigger_to_start_seconds_bucket{action="img.resize",le="0.5"} 1
switchyard_trigger_to_start_seconds_bucket{action="img.resize",le="1"} 1
switchyard_trigger_to_start_seconds_bucket{action="img.resize",le="2.5"} 1
switchyard_trigger_to_start_seconds_bucket{action="img.resize",le="5"} 1
switchyard_trigger_to_start_seconds_bucket{action="img.resize",le="10"} 1
switchyard_trigger_to_start_seconds_bucket{action="img.resize",le="30"} 1
switchyard_trigger_to_start_seconds_bucket{action="img.resize",le="60"} 1
switchyard_trigger_to_start_seconds_bucket{action="img.resize",le="300"} 1
switchyard_trigger_to_start_seconds_bucket{action="img.resize",le="+Inf"} 1
switchyard_trigger_to_start_seconds_sum{action="img.resize"} 0.004
switchyard_trigger_to_start_seconds_count{action="img.resize"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(wantTrigger), "switchyard_trigger_to_start_seconds"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(m.Registry(), "switchyard_task_queue_wait_seconds"); n != 2 {
		t.Fatalf("queue wait histograms: %d, want one per action (2)", n)
	}
}

func TestRPCMetrics(t *testing.T) {
	t.Parallel()
	m := metrics.New(metrics.Config{})
	const procedure = "/switchyard.v1.EventService/PushEvent"
	m.ObserveRPC(procedure, "grpc", "ok", 2*time.Millisecond)
	m.ObserveRPC(procedure, "grpc", "ok", 3*time.Millisecond)
	m.ObserveRPC(procedure, "rest", "invalid_argument", time.Millisecond)
	const want = `
# HELP switchyard_rpc_requests_total RPCs handled, by procedure, protocol (connect, grpc, grpcweb, rest) and Connect code (ok on success).
# TYPE switchyard_rpc_requests_total counter
switchyard_rpc_requests_total{code="invalid_argument",procedure="/switchyard.v1.EventService/PushEvent",protocol="rest"} 1
switchyard_rpc_requests_total{code="ok",procedure="/switchyard.v1.EventService/PushEvent",protocol="grpc"} 2
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "switchyard_rpc_requests_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(m.Registry(), "switchyard_rpc_duration_seconds"); n != 2 {
		t.Fatalf("duration histograms: %d, want one per procedure and protocol (2)", n)
	}
}

// TestRegistriesAreSeparate checks that two servers in one process (as in
// tests) keep their own counts.
func TestRegistriesAreSeparate(t *testing.T) {
	t.Parallel()
	a, b := metrics.New(metrics.Config{}), metrics.New(metrics.Config{})
	a.Observer().EventsPushed(5, 0)
	b.Observer().EventsPushed(1, 0)
	if got, _ := value(t, a, "switchyard_events_pushed_total"); got != 5 {
		t.Fatalf("a counted %v events, want 5", got)
	}
	if got, _ := value(t, b, "switchyard_events_pushed_total"); got != 1 {
		t.Fatalf("b counted %v events, want 1", got)
	}
}
