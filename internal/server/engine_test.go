package server_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// fastEngine makes recovery quick enough for tests.
var fastEngine = engine.Config{
	HeartbeatInterval: time.Second,
	KeepaliveInterval: time.Second,
	DispatchInterval:  50 * time.Millisecond,
	ReapInterval:      100 * time.Millisecond,
	ScheduleInterval:  50 * time.Millisecond,
	CronCatchUp:       time.Second,
}

func startEngineServer(t *testing.T, eng storetest.Engine) (*servertest.Server, *api) {
	t.Helper()
	srv := servertest.Start(t, eng, servertest.Options{Engine: fastEngine})
	return srv, newAPI(srv.URL, grpcProtocol())
}

func forEachEngine(t *testing.T, fn func(t *testing.T, eng storetest.Engine)) {
	t.Helper()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, eng)
		})
	}
}

var imageDAG = &switchyardv1.WorkflowSpec{
	Name:     "image-pipeline",
	OnEvents: []string{"image.uploaded"},
	Tasks: []*switchyardv1.TaskSpec{
		task("fetch", "img.fetch"),
		task("resize", "img.resize", "fetch"),
		task("tag", "img.tag", "fetch"),
		task("publish", "img.publish", "resize", "tag"),
	},
}

// TestEventStartsDAGOnEveryProtocol pushes the triggering event over each
// protocol (REST included) and checks that the DAG runs in dependency order with
// outputs passed from parents to children.
func TestEventStartsDAGOnEveryProtocol(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		srv, a := startEngineServer(t, eng)
		putWorkflow(t, a, imageDAG)
		var mu sync.Mutex
		var order []string
		got := map[string]*switchyardv1.TaskAssignment{}
		startRawWorker(t, a, []string{"img.fetch", "img.resize", "img.tag", "img.publish"}, 4, func(w *rawWorker, as *switchyardv1.TaskAssignment) {
			mu.Lock()
			order = append(order, as.GetRunId()+"/"+as.GetTaskName())
			got[as.GetRunId()+"/"+as.GetTaskName()] = as
			mu.Unlock()
			if err := w.complete(as, map[string]any{"by": as.GetTaskName()}); err != nil {
				t.Errorf("complete %s: %v", as.GetTaskName(), err)
			}
		})
		for _, p := range servertest.Protocols() {
			if strings.HasSuffix(p.Name, "/h1") && p.Name != "rest/h1" && p.Name != "grpc-web/h1" {
				continue
			}
			c := client{proto: p, url: srv.URL, token: servertest.AdminToken}
			res, err := c.push(context.Background(), &switchyardv1.PushEventRequest{Key: "image.uploaded", Payload: mustStruct(map[string]any{"url": "https://x/" + p.Name})})
			if err != nil {
				t.Fatalf("%s: push: %v", p.Name, err)
			}
			if len(res.GetRunIds()) != 1 {
				t.Fatalf("%s: push started %d runs, want 1", p.Name, len(res.GetRunIds()))
			}
			runID := res.GetRunIds()[0]
			run := waitRun(t, a, runID, 20*time.Second)
			if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED || run.GetEventId() != res.GetEvent().GetId() {
				t.Fatalf("%s: run ended %v (event %s), want SUCCEEDED for event %s", p.Name, run.GetStatus(), run.GetEventId(), res.GetEvent().GetId())
			}
			mu.Lock()
			var mine []string
			for _, o := range order {
				if name, ok := strings.CutPrefix(o, runID+"/"); ok {
					mine = append(mine, name)
				}
			}
			publish := got[runID+"/publish"]
			fetch := got[runID+"/fetch"]
			mu.Unlock()
			if len(mine) != 4 || mine[0] != "fetch" || mine[3] != "publish" {
				t.Errorf("%s: tasks started in order %v, want fetch first and publish last", p.Name, mine)
			}
			if fetch.GetInput().GetFields()["url"].GetStringValue() != "https://x/"+p.Name || len(fetch.GetParentOutputs()) != 0 {
				t.Errorf("%s: fetch got input %v, parents %v", p.Name, fetch.GetInput(), fetch.GetParentOutputs())
			}
			po := publish.GetParentOutputs()
			if len(po) != 2 || po["resize"].GetFields()["by"].GetStringValue() != "resize" || po["tag"].GetFields()["by"].GetStringValue() != "tag" {
				t.Errorf("%s: publish got parent outputs %v, want resize and tag", p.Name, po)
			}
			if out := taskByName(run, "publish").GetOutput().GetFields()["by"].GetStringValue(); out != "publish" {
				t.Errorf("%s: publish output %q", p.Name, out)
			}
		}
	})
}

func TestRetryWithBackoffThenSuccess(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		_, a := startEngineServer(t, eng)
		spec := &switchyardv1.WorkflowSpec{Name: "flaky", Tasks: []*switchyardv1.TaskSpec{{Name: "try", Action: "flaky", Retry: fastRetry(5)}}}
		putWorkflow(t, a, spec)
		var mu sync.Mutex
		var starts []time.Time
		startRawWorker(t, a, []string{"flaky"}, 1, func(w *rawWorker, as *switchyardv1.TaskAssignment) {
			mu.Lock()
			starts = append(starts, time.Now())
			mu.Unlock()
			if as.GetAttempt() < 3 {
				res, err := w.api.workers.FailTask(context.Background(), connect.NewRequest(&switchyardv1.FailTaskRequest{
					WorkerId: w.id, TaskId: as.GetTaskId(), Attempt: as.GetAttempt(), Error: fmt.Sprint("boom ", as.GetAttempt()), Retryable: true,
				}))
				if err != nil || !res.Msg.GetWillRetry() {
					t.Errorf("fail attempt %d: will_retry %v, err %v", as.GetAttempt(), res.Msg.GetWillRetry(), err)
				}
				return
			}
			_ = w.complete(as, map[string]any{"ok": true})
		})
		res, err := a.workflows.RunWorkflow(context.Background(), connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: "flaky"}))
		if err != nil {
			t.Fatal(err)
		}
		run := waitRun(t, a, res.Msg.GetRunId(), 20*time.Second)
		tk := taskByName(run, "try")
		if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED || tk.GetAttempt() != 3 || tk.GetStatus() != switchyardv1.TaskStatus_TASK_STATUS_SUCCEEDED {
			t.Fatalf("run %v, task attempt %d status %v; want SUCCEEDED at attempt 3", run.GetStatus(), tk.GetAttempt(), tk.GetStatus())
		}
		mu.Lock()
		defer mu.Unlock()
		// The backoff is at least half the initial 50ms backoff.
		if len(starts) != 3 || starts[1].Sub(starts[0]) < 25*time.Millisecond {
			t.Fatalf("attempts at %v: want 3 with a backoff between them", starts)
		}
	})
}

func TestRetriesSpentFailRunAndCancelPendingTasks(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		_, a := startEngineServer(t, eng)
		spec := &switchyardv1.WorkflowSpec{Name: "doomed", Tasks: []*switchyardv1.TaskSpec{
			{Name: "first", Action: "doomed", Retry: fastRetry(2)},
			task("second", "never", "first"),
		}}
		putWorkflow(t, a, spec)
		startRawWorker(t, a, []string{"doomed"}, 1, func(w *rawWorker, as *switchyardv1.TaskAssignment) {
			_ = w.fail(as, "disk full", true)
		})
		res, err := a.workflows.RunWorkflow(context.Background(), connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: "doomed"}))
		if err != nil {
			t.Fatal(err)
		}
		run := waitRun(t, a, res.Msg.GetRunId(), 20*time.Second)
		first, second := taskByName(run, "first"), taskByName(run, "second")
		if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_FAILED || !strings.Contains(run.GetError(), "disk full") ||
			first.GetStatus() != switchyardv1.TaskStatus_TASK_STATUS_FAILED || first.GetAttempt() != 2 ||
			second.GetStatus() != switchyardv1.TaskStatus_TASK_STATUS_CANCELLED {
			t.Fatalf("run %v (%q); first %v attempt %d; second %v", run.GetStatus(), run.GetError(), first.GetStatus(), first.GetAttempt(), second.GetStatus())
		}
	})
}

func TestTimedOutAttemptIsRetried(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		_, a := startEngineServer(t, eng)
		spec := &switchyardv1.WorkflowSpec{Name: "slow", Tasks: []*switchyardv1.TaskSpec{
			{Name: "slow", Action: "slow", Retry: fastRetry(3), Timeout: durationpb.New(300 * time.Millisecond)},
		}}
		putWorkflow(t, a, spec)
		var w *rawWorker
		w = startRawWorker(t, a, []string{"slow"}, 2, func(w *rawWorker, as *switchyardv1.TaskAssignment) {
			if as.GetAttempt() == 1 {
				return // hangs: never reports
			}
			_ = w.complete(as, map[string]any{"attempt": as.GetAttempt()})
		})
		res, err := a.workflows.RunWorkflow(context.Background(), connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: "slow"}))
		if err != nil {
			t.Fatal(err)
		}
		run := waitRun(t, a, res.Msg.GetRunId(), 20*time.Second)
		if tk := taskByName(run, "slow"); run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED || tk.GetAttempt() != 2 {
			t.Fatalf("run %v at attempt %d, want SUCCEEDED at attempt 2", run.GetStatus(), tk.GetAttempt())
		}
		if c := w.cancelled(); len(c) == 0 || c[0].GetAttempt() != 1 {
			t.Fatalf("cancellations %v: want one for the timed-out attempt 1", c)
		}
	})
}

// TestKilledWorkerTaskCompletesElsewhere kills a worker mid-task; the attempt goes
// to a second worker, and the first worker's late report is rejected as stale
// without changing anything.
func TestKilledWorkerTaskCompletesElsewhere(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		_, a := startEngineServer(t, eng)
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "once", Tasks: []*switchyardv1.TaskSpec{task("job", "job")}})
		taken := make(chan *switchyardv1.TaskAssignment, 1)
		first := startRawWorker(t, a, []string{"job"}, 1, func(w *rawWorker, as *switchyardv1.TaskAssignment) { taken <- as })
		res, err := a.workflows.RunWorkflow(context.Background(), connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: "once"}))
		if err != nil {
			t.Fatal(err)
		}
		var as1 *switchyardv1.TaskAssignment
		select {
		case as1 = <-taken:
		case <-time.After(10 * time.Second):
			t.Fatal("the first worker got no task")
		}
		if got, _ := a.runs.GetRun(context.Background(), connect.NewRequest(&switchyardv1.GetRunRequest{Id: res.Msg.GetRunId()})); got.Msg.GetRun().GetStatus() != switchyardv1.RunStatus_RUN_STATUS_RUNNING {
			t.Fatalf("run with an assigned task is %v, want RUNNING", got.Msg.GetRun().GetStatus())
		}
		first.stop() // killed mid-task
		second := startRawWorker(t, a, []string{"job"}, 1, func(w *rawWorker, as *switchyardv1.TaskAssignment) {
			_ = w.complete(as, map[string]any{"by": "second"})
		})
		run := waitRun(t, a, res.Msg.GetRunId(), 20*time.Second)
		tk := taskByName(run, "job")
		if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED || tk.GetAttempt() != 2 || tk.GetWorkerId() != second.id {
			t.Fatalf("run %v, attempt %d by %s; want SUCCEEDED at attempt 2 by the second worker %s", run.GetStatus(), tk.GetAttempt(), tk.GetWorkerId(), second.id)
		}
		err = first.complete(as1, map[string]any{"by": "first"})
		if connect.CodeOf(err) != connect.CodeFailedPrecondition {
			t.Fatalf("stale completion: %v, want failed_precondition", err)
		}
		after, _ := a.runs.GetRun(context.Background(), connect.NewRequest(&switchyardv1.GetRunRequest{Id: res.Msg.GetRunId()}))
		if out := taskByName(after.Msg.GetRun(), "job").GetOutput().GetFields()["by"].GetStringValue(); out != "second" {
			t.Fatalf("output after the stale report: %q, want second", out)
		}
		// Repeating the accepted report is harmless.
		repeat := &switchyardv1.TaskAssignment{TaskId: tk.GetId(), Attempt: 2}
		if err := second.complete(repeat, map[string]any{"by": "second"}); err != nil {
			t.Fatalf("repeated identical completion: %v, want ok", err)
		}
	})
}

// TestQueuedWorkSurvivesRestart pushes events while no worker runs, stops the
// server, starts a new one on the same database, and checks every run completes.
func TestQueuedWorkSurvivesRestart(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		cfg := store.Config{DataDir: t.TempDir()}
		if eng.Name == "postgres" {
			cfg = store.Config{DatabaseURL: storetest.NewSchema(t)}
		}
		first := servertest.Start(t, eng, servertest.Options{Store: cfg, Engine: fastEngine})
		a := newAPI(first.URL, grpcProtocol())
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "durable", OnEvents: []string{"durable.event"}, Tasks: []*switchyardv1.TaskSpec{task("a", "durable"), task("b", "durable", "a")}})
		var runIDs []string
		for i := range 20 {
			res, err := a.events.PushEvent(context.Background(), connect.NewRequest(&switchyardv1.PushEventRequest{Key: "durable.event", Payload: mustStruct(map[string]any{"i": i})}))
			if err != nil {
				t.Fatal(err)
			}
			runIDs = append(runIDs, res.Msg.GetRunIds()...)
		}
		first.Stop()

		second := servertest.Start(t, eng, servertest.Options{Store: cfg, Engine: fastEngine})
		b := newAPI(second.URL, grpcProtocol())
		startRawWorker(t, b, []string{"durable"}, 4, func(w *rawWorker, as *switchyardv1.TaskAssignment) { _ = w.complete(as, nil) })
		if len(runIDs) != 20 {
			t.Fatalf("%d runs started, want 20", len(runIDs))
		}
		for _, id := range runIDs {
			if run := waitRun(t, b, id, 30*time.Second); run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
				t.Fatalf("run %s after restart: %v", id, run.GetStatus())
			}
		}
	})
}

// TestSilentWorkerTaskIsRetried keeps a worker's stream open but stops its
// heartbeats: after three heartbeat intervals its attempt goes to another worker.
func TestSilentWorkerTaskIsRetried(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		_, a := startEngineServer(t, eng)
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "silent", Tasks: []*switchyardv1.TaskSpec{task("job", "job")}})
		taken := make(chan struct{}, 1)
		silent := startRawWorkerHeartbeating(t, a, []string{"job"}, 1, false, func(w *rawWorker, as *switchyardv1.TaskAssignment) { taken <- struct{}{} })
		res, err := a.workflows.RunWorkflow(context.Background(), connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: "silent"}))
		if err != nil {
			t.Fatal(err)
		}
		<-taken
		healthy := startRawWorker(t, a, []string{"job"}, 1, func(w *rawWorker, as *switchyardv1.TaskAssignment) {
			_ = w.complete(as, nil)
		})
		run := waitRun(t, a, res.Msg.GetRunId(), 30*time.Second)
		tk := taskByName(run, "job")
		if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED || tk.GetWorkerId() != healthy.id || tk.GetAttempt() != 2 {
			t.Fatalf("run %v, attempt %d by %s; want SUCCEEDED at attempt 2 by %s", run.GetStatus(), tk.GetAttempt(), tk.GetWorkerId(), healthy.id)
		}
		if c := silent.cancelled(); len(c) != 1 || c[0].GetAttempt() != 1 {
			t.Fatalf("the silent worker got cancellations %v, want one for attempt 1", c)
		}
	})
}

func TestCancelRunReachesRunningTask(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		_, a := startEngineServer(t, eng)
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "long", Tasks: []*switchyardv1.TaskSpec{task("a", "long"), task("b", "long", "a")}})
		taken := make(chan *switchyardv1.TaskAssignment, 1)
		w := startRawWorker(t, a, []string{"long"}, 1, func(w *rawWorker, as *switchyardv1.TaskAssignment) { taken <- as })
		res, err := a.workflows.RunWorkflow(context.Background(), connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: "long"}))
		if err != nil {
			t.Fatal(err)
		}
		as := <-taken
		cres, err := a.runs.CancelRun(context.Background(), connect.NewRequest(&switchyardv1.CancelRunRequest{Id: res.Msg.GetRunId(), Reason: "operator\nsaid so"}))
		if err != nil {
			t.Fatal(err)
		}
		run := cres.Msg.GetRun()
		if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_CANCELLED || run.GetError() != "operator\nsaid so" ||
			taskByName(run, "a").GetStatus() != switchyardv1.TaskStatus_TASK_STATUS_CANCELLED || taskByName(run, "b").GetStatus() != switchyardv1.TaskStatus_TASK_STATUS_CANCELLED {
			t.Fatalf("cancelled run: %v", run)
		}
		deadline := time.Now().Add(10 * time.Second)
		for len(w.cancelled()) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if c := w.cancelled(); len(c) != 1 || c[0].GetTaskId() != as.GetTaskId() || c[0].GetAttempt() != as.GetAttempt() || c[0].GetReason() != "operator said so" {
			t.Fatalf("worker got cancellations %v, want one for task %s attempt %d", c, as.GetTaskId(), as.GetAttempt())
		}
		if err := w.complete(as, nil); connect.CodeOf(err) != connect.CodeFailedPrecondition {
			t.Fatalf("completion after cancel: %v, want failed_precondition", err)
		}
		again, err := a.runs.CancelRun(context.Background(), connect.NewRequest(&switchyardv1.CancelRunRequest{Id: res.Msg.GetRunId()}))
		if err != nil || again.Msg.GetRun().GetError() != "operator\nsaid so" {
			t.Fatalf("second cancel: %v, %v; want the run unchanged", again, err)
		}
	})
}

// TestRunWithoutWorkerIsQueued checks that a run nobody works on says QUEUED (not
// RUNNING), can be found by that status, and can still be cancelled.
func TestRunWithoutWorkerIsQueued(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		_, a := startEngineServer(t, eng)
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "orphan", OnEvents: []string{"orphan.event"}, Tasks: []*switchyardv1.TaskSpec{task("t", "nobody.serves.this")}})
		push, err := a.events.PushEvent(context.Background(), connect.NewRequest(&switchyardv1.PushEventRequest{Key: "orphan.event"}))
		if err != nil {
			t.Fatal(err)
		}
		runID := push.Msg.GetRunIds()[0]
		list, err := a.runs.ListRuns(context.Background(), connect.NewRequest(&switchyardv1.ListRunsRequest{Status: switchyardv1.RunStatus_RUN_STATUS_QUEUED, EventId: push.Msg.GetEvent().GetId()}))
		if err != nil || len(list.Msg.GetRuns()) != 1 || list.Msg.GetRuns()[0].GetId() != runID || list.Msg.GetRuns()[0].GetStatus() != switchyardv1.RunStatus_RUN_STATUS_QUEUED {
			t.Fatalf("queued runs: %v, %v", list, err)
		}
		running, _ := a.runs.ListRuns(context.Background(), connect.NewRequest(&switchyardv1.ListRunsRequest{Status: switchyardv1.RunStatus_RUN_STATUS_RUNNING}))
		if len(running.Msg.GetRuns()) != 0 {
			t.Fatalf("running runs: %v, want none", running.Msg.GetRuns())
		}
		// A repeat of the push (same idempotency key) reports the same runs.
		req := &switchyardv1.PushEventRequest{Key: "orphan.event", IdempotencyKey: "orphan-1"}
		p1, _ := a.events.PushEvent(context.Background(), connect.NewRequest(req))
		p2, err := a.events.PushEvent(context.Background(), connect.NewRequest(req))
		if err != nil || !p2.Msg.GetDeduplicated() || !slices.Equal(p1.Msg.GetRunIds(), p2.Msg.GetRunIds()) || len(p2.Msg.GetRunIds()) != 1 {
			t.Fatalf("deduplicated push: runs %v then %v (err %v)", p1.Msg.GetRunIds(), p2.Msg.GetRunIds(), err)
		}
		c, err := a.runs.CancelRun(context.Background(), connect.NewRequest(&switchyardv1.CancelRunRequest{Id: runID}))
		if err != nil || c.Msg.GetRun().GetStatus() != switchyardv1.RunStatus_RUN_STATUS_CANCELLED {
			t.Fatalf("cancel queued run: %v, %v", c, err)
		}
	})
}

// TestListenOverEveryStreamingProtocol runs a worker whose Listen stream uses
// each protocol that carries server streams.
func TestListenOverEveryStreamingProtocol(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		srv, a := startEngineServer(t, eng)
		for _, p := range servertest.Protocols() {
			if p.REST {
				continue
			}
			action := "echo." + strings.NewReplacer("/", ".", "-", ".").Replace(p.Name)
			name := strings.ReplaceAll(action, ".", "-")
			putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: name, Tasks: []*switchyardv1.TaskSpec{task("t", action)}})
			w := startRawWorker(t, newAPI(srv.URL, p), []string{action}, 1, func(w *rawWorker, as *switchyardv1.TaskAssignment) {
				_ = w.complete(as, map[string]any{"protocol": p.Name})
			})
			res, err := a.workflows.RunWorkflow(context.Background(), connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: name}))
			if err != nil {
				t.Fatal(err)
			}
			run := waitRun(t, a, res.Msg.GetRunId(), 20*time.Second)
			if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED || taskByName(run, "t").GetOutput().GetFields()["protocol"].GetStringValue() != p.Name {
				t.Errorf("%s: run %v", p.Name, run)
			}
			w.stop()
		}
	})
}

func TestWorkflowSpecValidation(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		_, a := startEngineServer(t, eng)
		tests := []struct {
			name  string
			tasks []*switchyardv1.TaskSpec
			want  string
		}{
			{"empty", nil, "tasks"},
			{"duplicate", []*switchyardv1.TaskSpec{task("a", "x"), task("a", "y")}, `"a" is used twice`},
			{"unknown parent", []*switchyardv1.TaskSpec{task("a", "x", "ghost")}, `unknown parent "ghost"`},
			{"self parent", []*switchyardv1.TaskSpec{task("a", "x", "a")}, `"a" is its own parent`},
			{"cycle", []*switchyardv1.TaskSpec{task("a", "x", "c"), task("b", "x", "a"), task("c", "x", "b")}, "cycle"},
		}
		for _, tt := range tests {
			_, err := a.workflows.PutWorkflow(context.Background(), connect.NewRequest(&switchyardv1.PutWorkflowRequest{Spec: &switchyardv1.WorkflowSpec{Name: "bad", Tasks: tt.tasks}}))
			if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: %v, want invalid_argument mentioning %q", tt.name, err, tt.want)
			}
		}
		if _, err := a.workflows.GetWorkflow(context.Background(), connect.NewRequest(&switchyardv1.GetWorkflowRequest{Name: "bad"})); connect.CodeOf(err) != connect.CodeNotFound {
			t.Fatalf("a rejected spec was stored: %v", err)
		}
		spec := &switchyardv1.WorkflowSpec{Name: "versions", Tasks: []*switchyardv1.TaskSpec{task("a", "x")}}
		put := func() *switchyardv1.PutWorkflowResponse {
			res, err := a.workflows.PutWorkflow(context.Background(), connect.NewRequest(&switchyardv1.PutWorkflowRequest{Spec: spec}))
			if err != nil {
				t.Fatal(err)
			}
			return res.Msg
		}
		if r := put(); r.GetWorkflow().GetVersion() != 1 || !r.GetChanged() || r.GetWorkflow().GetSpec().GetTasks()[0].GetRetry().GetMaxAttempts() != 3 {
			t.Fatalf("first put: %v", r)
		}
		if r := put(); r.GetWorkflow().GetVersion() != 1 || r.GetChanged() {
			t.Fatalf("identical put: %v, want version 1 unchanged", r)
		}
		spec.Tasks = append(spec.Tasks, task("b", "y", "a"))
		if r := put(); r.GetWorkflow().GetVersion() != 2 || !r.GetChanged() {
			t.Fatalf("changed put: %v, want version 2", r)
		}
		if _, err := a.workflows.DeleteWorkflow(context.Background(), connect.NewRequest(&switchyardv1.DeleteWorkflowRequest{Name: "versions"})); err != nil {
			t.Fatal(err)
		}
		if _, err := a.workflows.RunWorkflow(context.Background(), connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: "versions"})); connect.CodeOf(err) != connect.CodeNotFound {
			t.Fatalf("run of a deleted workflow: %v, want not_found", err)
		}
		old, err := a.workflows.GetWorkflow(context.Background(), connect.NewRequest(&switchyardv1.GetWorkflowRequest{Name: "versions", Version: 1}))
		if err != nil || len(old.Msg.GetWorkflow().GetSpec().GetTasks()) != 1 {
			t.Fatalf("old version after delete: %v, %v", old, err)
		}
	})
}

func TestRunWorkflowIsIdempotent(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		_, a := startEngineServer(t, eng)
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "manual", Tasks: []*switchyardv1.TaskSpec{task("a", "x")}})
		input, _ := structpb.NewStruct(map[string]any{"n": 1})
		req := &switchyardv1.RunWorkflowRequest{Name: "manual", Input: input, IdempotencyKey: "once"}
		r1, err := a.workflows.RunWorkflow(context.Background(), connect.NewRequest(req))
		if err != nil || r1.Msg.GetDeduplicated() {
			t.Fatalf("first: %v, %v", r1, err)
		}
		r2, err := a.workflows.RunWorkflow(context.Background(), connect.NewRequest(req))
		if err != nil || !r2.Msg.GetDeduplicated() || r2.Msg.GetRunId() != r1.Msg.GetRunId() {
			t.Fatalf("repeat: %v, %v; want the first run deduplicated", r2, err)
		}
		other, _ := structpb.NewStruct(map[string]any{"n": 2})
		_, err = a.workflows.RunWorkflow(context.Background(), connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: "manual", Input: other, IdempotencyKey: "once"}))
		if connect.CodeOf(err) != connect.CodeAlreadyExists || !strings.Contains(err.Error(), r1.Msg.GetRunId()) {
			t.Fatalf("reused key with other input: %v, want already_exists naming %s", err, r1.Msg.GetRunId())
		}
		list, _ := a.runs.ListRuns(context.Background(), connect.NewRequest(&switchyardv1.ListRunsRequest{Workflow: "manual"}))
		if len(list.Msg.GetRuns()) != 1 {
			t.Fatalf("%d runs stored, want 1", len(list.Msg.GetRuns()))
		}
	})
}

func TestWorkerStatusFollowsItsStream(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		_, a := startEngineServer(t, eng)
		w := startRawWorker(t, a, []string{"x"}, 3, func(*rawWorker, *switchyardv1.TaskAssignment) {})
		status := func() switchyardv1.WorkerStatus {
			res, err := a.workers.ListWorkers(context.Background(), connect.NewRequest(&switchyardv1.ListWorkersRequest{}))
			if err != nil || len(res.Msg.GetWorkers()) != 1 {
				t.Fatalf("list workers: %v, %v", res, err)
			}
			wk := res.Msg.GetWorkers()[0]
			if wk.GetId() != w.id || wk.GetSlots() != 3 || !slices.Equal(wk.GetActions(), []string{"x"}) {
				t.Fatalf("worker %v", wk)
			}
			return wk.GetStatus()
		}
		if s := status(); s != switchyardv1.WorkerStatus_WORKER_STATUS_ACTIVE {
			t.Fatalf("listening worker is %v, want ACTIVE", s)
		}
		w.stop()
		deadline := time.Now().Add(10 * time.Second)
		for status() != switchyardv1.WorkerStatus_WORKER_STATUS_INACTIVE && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		// Heartbeats alone do not make it active again.
		if _, err := a.workers.Heartbeat(context.Background(), connect.NewRequest(&switchyardv1.HeartbeatRequest{WorkerId: w.id})); err != nil {
			t.Fatal(err)
		}
		if s := status(); s != switchyardv1.WorkerStatus_WORKER_STATUS_INACTIVE {
			t.Fatalf("worker without a stream is %v, want INACTIVE", s)
		}
		if _, err := a.workers.Heartbeat(context.Background(), connect.NewRequest(&switchyardv1.HeartbeatRequest{WorkerId: "01890000-0000-7000-8000-000000000000"})); connect.CodeOf(err) != connect.CodeNotFound {
			t.Fatalf("heartbeat of an unknown worker: %v, want not_found", err)
		}
	})
}
