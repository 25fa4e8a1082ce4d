package server_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// restartableStore is a store config that a second server can open again.
func restartableStore(t *testing.T, eng storetest.Engine) store.Config {
	if eng.Name == "postgres" {
		return store.Config{DatabaseURL: storetest.NewSchema(t)}
	}
	return store.Config{DataDir: t.TempDir()}
}

func listRuns(t *testing.T, a *api, req *switchyardv1.ListRunsRequest) []*switchyardv1.Run {
	t.Helper()
	req.PageSize = 500
	res, err := a.runs.ListRuns(context.Background(), connect.NewRequest(req))
	if err != nil {
		t.Fatalf("list runs: %v", err)
	}
	return res.Msg.GetRuns()
}

func getRun(t *testing.T, a *api, id string) *switchyardv1.Run {
	t.Helper()
	res, err := a.runs.GetRun(context.Background(), connect.NewRequest(&switchyardv1.GetRunRequest{Id: id}))
	if err != nil {
		t.Fatalf("get run %s: %v", id, err)
	}
	return res.Msg.GetRun()
}

// cronTicks lists the ticks of a workflow's cron runs, oldest first.
func cronTicks(t *testing.T, a *api, workflow string) []time.Time {
	t.Helper()
	var ticks []time.Time
	for _, r := range listRuns(t, a, &switchyardv1.ListRunsRequest{Workflow: workflow, Trigger: switchyardv1.RunTrigger_RUN_TRIGGER_CRON}) {
		if got, want := r.GetInput().GetFields()["tick"].GetStringValue(), r.GetCronTick().AsTime().Format(time.RFC3339); got != want {
			t.Errorf("cron run input tick %q, cron_tick %s", got, want)
		}
		ticks = append(ticks, r.GetCronTick().AsTime())
	}
	slices.SortFunc(ticks, time.Time.Compare)
	return ticks
}

func waitFor(t *testing.T, what string, timeout time.Duration, done func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !done(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestCronTicks runs a workflow every second: each tick starts one run with
// trigger CRON. With the server down for several ticks, the missed ticks start
// one run when a server comes back, not one per tick.
func TestCronTicks(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		cfg := restartableStore(t, eng)
		first := servertest.Start(t, eng, servertest.Options{Store: cfg, Engine: fastEngine})
		a := newAPI(first.URL, grpcProtocol())
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "tick", OnCron: []*switchyardv1.CronTrigger{{Schedule: "@every 1s"}}, Tasks: []*switchyardv1.TaskSpec{task("t", "nobody")}})
		waitFor(t, "two cron runs", 10*time.Second, func() bool { return len(cronTicks(t, a, "tick")) >= 2 })
		first.Stop()
		stoppedAt := time.Now()
		time.Sleep(3500 * time.Millisecond)
		restartedAt := time.Now()
		second := servertest.Start(t, eng, servertest.Options{Store: cfg, Engine: fastEngine})
		b := newAPI(second.URL, grpcProtocol())
		waitFor(t, "a cron run after the restart", 10*time.Second, func() bool {
			ticks := cronTicks(t, b, "tick")
			return ticks[len(ticks)-1].After(restartedAt)
		})
		ticks := cronTicks(t, b, "tick")
		missed := 0
		for i, tick := range ticks {
			if i > 0 && !tick.After(ticks[i-1]) {
				t.Fatalf("tick %s fired twice: %v", tick, ticks)
			}
			if tick.After(stoppedAt) && tick.Before(restartedAt) {
				missed++
			}
		}
		if missed != 1 {
			t.Fatalf("%d runs for the ticks missed while down (%s to %s), want 1: %v", missed, stoppedAt, restartedAt, ticks)
		}
	})
}

// TestDelayedRun schedules runs with run_at: one starts after its time (on a
// server started after the one that took it), one is cancelled while scheduled.
func TestDelayedRun(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		cfg := restartableStore(t, eng)
		first := servertest.Start(t, eng, servertest.Options{Store: cfg, Engine: fastEngine})
		a := newAPI(first.URL, grpcProtocol())
		ctx := context.Background()
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "later", Tasks: []*switchyardv1.TaskSpec{task("t", "later.do")}})
		runAt := time.Now().Add(2 * time.Second)
		res, err := a.workflows.RunWorkflow(ctx, connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: "later", RunAt: timestamppb.New(runAt), Priority: 3}))
		if err != nil {
			t.Fatal(err)
		}
		run := getRun(t, a, res.Msg.GetRunId())
		if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SCHEDULED || !run.GetScheduledAt().AsTime().Equal(runAt.Truncate(time.Microsecond)) ||
			run.GetPriority() != 3 || run.GetTrigger() != switchyardv1.RunTrigger_RUN_TRIGGER_MANUAL {
			t.Fatalf("delayed run %v", run)
		}
		later, err := a.workflows.RunWorkflow(ctx, connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: "later", RunAt: timestamppb.New(time.Now().Add(time.Hour))}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.runs.CancelRun(ctx, connect.NewRequest(&switchyardv1.CancelRunRequest{Id: later.Msg.GetRunId()})); err != nil {
			t.Fatal(err)
		}
		_, err = a.workflows.RunWorkflow(ctx, connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: "later", RunAt: timestamppb.New(time.Now().Add(400 * 24 * time.Hour))}))
		if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "run_at") {
			t.Fatalf("run_at in 400 days: %v, want invalid_argument on run_at", err)
		}
		first.Stop()

		second := servertest.Start(t, eng, servertest.Options{Store: cfg, Engine: fastEngine})
		b := newAPI(second.URL, grpcProtocol())
		var mu sync.Mutex
		var assignedAt []time.Time
		startRawWorker(t, b, []string{"later.do"}, 2, func(w *rawWorker, as *switchyardv1.TaskAssignment) {
			mu.Lock()
			assignedAt = append(assignedAt, time.Now())
			mu.Unlock()
			_ = w.complete(as, nil)
		})
		if r := waitRun(t, b, res.Msg.GetRunId(), 20*time.Second); r.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
			t.Fatalf("delayed run ended %v", r.GetStatus())
		}
		mu.Lock()
		defer mu.Unlock()
		if len(assignedAt) != 1 || assignedAt[0].Before(runAt) {
			t.Fatalf("tasks assigned at %v, want one, after %s", assignedAt, runAt)
		}
		cancelled := getRun(t, b, later.Msg.GetRunId())
		if cancelled.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_CANCELLED || taskByName(cancelled, "t").GetStatus() != switchyardv1.TaskStatus_TASK_STATUS_CANCELLED {
			t.Fatalf("cancelled scheduled run %v", cancelled)
		}
	})
}

// concurrencyWorkflow declares a workflow limited to max active runs per
// customer.
func concurrencyWorkflow(name, key, action string, limit int32, strategy switchyardv1.ConcurrencyStrategy) *switchyardv1.WorkflowSpec {
	return &switchyardv1.WorkflowSpec{
		Name: name, OnEvents: []string{key}, Tasks: []*switchyardv1.TaskSpec{task("t", action)},
		Concurrency: &switchyardv1.ConcurrencyRule{Key: "payload.customer", MaxRuns: limit, Strategy: strategy},
	}
}

func pushRun(t *testing.T, a *api, key string, payload map[string]any) string {
	t.Helper()
	res, err := a.events.PushEvent(context.Background(), connect.NewRequest(&switchyardv1.PushEventRequest{Key: key, Payload: mustStruct(payload)}))
	if err != nil {
		t.Fatalf("push %s: %v", key, err)
	}
	if len(res.Msg.GetRunIds()) != 1 {
		t.Fatalf("push %s started %d runs, want 1", key, len(res.Msg.GetRunIds()))
	}
	return res.Msg.GetRunIds()[0]
}

// TestConcurrencyStrategies checks each strategy against a limit of one run per
// customer: QUEUE runs them one after another in order, CANCEL_IN_PROGRESS
// cancels the older run, CANCEL_NEWEST the newer; a key that cannot be
// evaluated skips the trigger.
func TestConcurrencyStrategies(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		_, a := startEngineServer(t, eng)
		ctx := context.Background()
		putWorkflow(t, a, concurrencyWorkflow("queued", "conc.queue", "conc.work", 1, switchyardv1.ConcurrencyStrategy_CONCURRENCY_STRATEGY_QUEUE))
		putWorkflow(t, a, concurrencyWorkflow("newest", "conc.newest", "nobody", 1, switchyardv1.ConcurrencyStrategy_CONCURRENCY_STRATEGY_CANCEL_IN_PROGRESS))
		putWorkflow(t, a, concurrencyWorkflow("oldest", "conc.oldest", "nobody", 1, switchyardv1.ConcurrencyStrategy_CONCURRENCY_STRATEGY_CANCEL_NEWEST))

		var queued []string
		for i := range 3 {
			queued = append(queued, pushRun(t, a, "conc.queue", map[string]any{"customer": "a", "i": i}))
		}
		other := pushRun(t, a, "conc.queue", map[string]any{"customer": "b"})
		want := []switchyardv1.RunStatus{switchyardv1.RunStatus_RUN_STATUS_QUEUED, switchyardv1.RunStatus_RUN_STATUS_WAITING, switchyardv1.RunStatus_RUN_STATUS_WAITING}
		for i, id := range queued {
			if r := getRun(t, a, id); r.GetStatus() != want[i] || r.GetConcurrencyKey() != "a" {
				t.Fatalf("run %d of customer a: %v (key %q), want %v", i, r.GetStatus(), r.GetConcurrencyKey(), want[i])
			}
		}
		if s := getRun(t, a, other).GetStatus(); s != switchyardv1.RunStatus_RUN_STATUS_QUEUED {
			t.Fatalf("customer b's run %v, want QUEUED beside customer a's", s)
		}
		var mu sync.Mutex
		inFlight, maxInFlight := map[string]int{}, map[string]int{}
		var order []string
		startRawWorker(t, a, []string{"conc.work"}, 4, func(w *rawWorker, as *switchyardv1.TaskAssignment) {
			customer := as.GetInput().GetFields()["customer"].GetStringValue()
			mu.Lock()
			inFlight[customer]++
			maxInFlight[customer] = max(maxInFlight[customer], inFlight[customer])
			order = append(order, as.GetRunId())
			mu.Unlock()
			time.Sleep(100 * time.Millisecond)
			mu.Lock()
			inFlight[customer]--
			mu.Unlock()
			_ = w.complete(as, nil)
		})
		for _, id := range append(queued, other) {
			if r := waitRun(t, a, id, 20*time.Second); r.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
				t.Fatalf("run %s ended %v", id, r.GetStatus())
			}
		}
		mu.Lock()
		var aOrder []string
		for _, id := range order {
			if id != other {
				aOrder = append(aOrder, id)
			}
		}
		if maxInFlight["a"] != 1 || !slices.Equal(aOrder, queued) {
			t.Errorf("customer a: at most %d at once, in order %v; want 1 at a time in order %v", maxInFlight["a"], aOrder, queued)
		}
		mu.Unlock()

		older := pushRun(t, a, "conc.newest", map[string]any{"customer": "a"})
		newer := pushRun(t, a, "conc.newest", map[string]any{"customer": "a"})
		if r := getRun(t, a, older); r.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_CANCELLED || !strings.Contains(r.GetError(), newer) {
			t.Errorf("CANCEL_IN_PROGRESS: older run %v (%q), want cancelled naming %s", r.GetStatus(), r.GetError(), newer)
		}
		if s := getRun(t, a, newer).GetStatus(); s != switchyardv1.RunStatus_RUN_STATUS_QUEUED {
			t.Errorf("CANCEL_IN_PROGRESS: newer run %v, want QUEUED", s)
		}
		first := pushRun(t, a, "conc.oldest", map[string]any{"customer": "a"})
		second := pushRun(t, a, "conc.oldest", map[string]any{"customer": "a"})
		if s := getRun(t, a, first).GetStatus(); s != switchyardv1.RunStatus_RUN_STATUS_QUEUED {
			t.Errorf("CANCEL_NEWEST: first run %v, want QUEUED", s)
		}
		if r := getRun(t, a, second); r.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_CANCELLED || !strings.Contains(r.GetError(), "CANCEL_NEWEST") ||
			taskByName(r, "t").GetStatus() != switchyardv1.TaskStatus_TASK_STATUS_CANCELLED {
			t.Errorf("CANCEL_NEWEST: second run %v (%q), want cancelled at start", r.GetStatus(), r.GetError())
		}

		res, err := a.events.PushEvent(ctx, connect.NewRequest(&switchyardv1.PushEventRequest{Key: "conc.queue", Payload: mustStruct(map[string]any{"no": "customer"})}))
		if err != nil || len(res.Msg.GetRunIds()) != 0 {
			t.Fatalf("push without a customer: %v, %v; want no run", res, err)
		}
		if s := getEvent(t, a, res.Msg.GetEvent().GetId()).GetSkippedTriggers(); len(s) != 1 || !strings.Contains(s[0].GetReason(), "concurrency key") {
			t.Errorf("skipped %v, want the concurrency key failure", s)
		}
		_, err = a.workflows.RunWorkflow(ctx, connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: "queued", Input: mustStruct(map[string]any{})}))
		if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "concurrency key") {
			t.Errorf("manual run without a customer: %v, want invalid_argument on the concurrency key", err)
		}
	})
}

// TestPriorityOrder queues events of priorities 0, 9 and 5 before a one-slot
// worker connects: higher priorities go first, FIFO within a priority. With
// priority aging of a millisecond, an older priority-0 task goes before a
// priority-9 task queued 30 ms later: low priorities do not starve.
func TestPriorityOrder(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		order := func(aging time.Duration, push func(a *api)) []string {
			cfg := fastEngine
			cfg.PriorityAging = aging
			srv := servertest.Start(t, eng, servertest.Options{Engine: cfg})
			a := newAPI(srv.URL, grpcProtocol())
			putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "prio", OnEvents: []string{"prio.job"}, Tasks: []*switchyardv1.TaskSpec{task("t", "prio.do")}})
			push(a)
			var mu sync.Mutex
			var got []string
			startRawWorker(t, a, []string{"prio.do"}, 1, func(w *rawWorker, as *switchyardv1.TaskAssignment) {
				mu.Lock()
				got = append(got, as.GetInput().GetFields()["name"].GetStringValue())
				mu.Unlock()
				_ = w.complete(as, nil)
			})
			for _, r := range listRuns(t, a, &switchyardv1.ListRunsRequest{Workflow: "prio"}) {
				waitRun(t, a, r.GetId(), 20*time.Second)
			}
			mu.Lock()
			defer mu.Unlock()
			return got
		}
		pushPrio := func(a *api, name string, priority int32) {
			_, err := a.events.PushEvent(context.Background(), connect.NewRequest(&switchyardv1.PushEventRequest{Key: "prio.job", Priority: priority, Payload: mustStruct(map[string]any{"name": name})}))
			if err != nil {
				t.Fatal(err)
			}
		}
		got := order(0, func(a *api) {
			for _, e := range []struct {
				name string
				prio int32
			}{{"p0-a", 0}, {"p0-b", 0}, {"p9-a", 9}, {"p9-b", 9}, {"p5-a", 5}, {"p5-b", 5}} {
				pushPrio(a, e.name, e.prio)
			}
		})
		if want := []string{"p9-a", "p9-b", "p5-a", "p5-b", "p0-a", "p0-b"}; !slices.Equal(got, want) {
			t.Errorf("default aging: tasks ran %v, want %v", got, want)
		}
		got = order(time.Millisecond, func(a *api) {
			pushPrio(a, "old-p0", 0)
			time.Sleep(30 * time.Millisecond)
			pushPrio(a, "new-p9", 9)
		})
		if want := []string{"old-p0", "new-p9"}; !slices.Equal(got, want) {
			t.Errorf("1ms aging: tasks ran %v, want %v", got, want)
		}
	})
}
