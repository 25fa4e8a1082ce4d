package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// TestFaultDurableWaitsSurviveKill runs `switchyard serve` on SQLite (a file)
// and, when configured, Postgres, with 50 runs whose task sleeps 6 seconds, 50
// whose task waits for its order's `kill.paid` event (an hour's timeout) and
// 10 whose task waits 3 seconds for an event that never comes
// (on_wait_timeout RUN), all declared waits. The server is killed with SIGKILL
// while they wait and started again on the same data; the orders' events (and
// decoys that match no wait) are pushed, and the server is killed again as
// soon as the last push is acknowledged, then started again; only then does a
// worker connect. Every run succeeds: each sleeper woke once, after its sleep;
// each order waiter once, by its own event (on the wait row, in the
// assignment, in GetEvent); each lapsed waiter once, timed out after its
// deadline; the decoys woke nothing.
func TestFaultDurableWaitsSurviveKill(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			testDurableWaitsSurviveKill(t, eng.Name == "postgres")
		})
	}
}

// durableKillRuns are the runs of TestFaultDurableWaitsSurviveKill: the
// workflow, how many, and the sleep or timeout of its declared wait.
var durableKillRuns = []struct {
	workflow string
	n        int
	wait     *switchyardv1.WaitSpec
	timeout  switchyardv1.WaitTimeoutAction
}{
	{"nap", 50, &switchyardv1.WaitSpec{Conditions: []*switchyardv1.WaitCondition{{
		Name: "nap", Kind: &switchyardv1.WaitCondition_Sleep{Sleep: &switchyardv1.SleepCondition{Duration: durationpb.New(6 * time.Second)}},
	}}}, 0},
	{"pay", 50, orderWait(time.Hour), 0},
	{"lapse", 10, orderWait(3 * time.Second), switchyardv1.WaitTimeoutAction_WAIT_TIMEOUT_ACTION_RUN},
}

// orderWait waits for the run's order's `kill.paid` event.
func orderWait(timeout time.Duration) *switchyardv1.WaitSpec {
	return &switchyardv1.WaitSpec{Conditions: []*switchyardv1.WaitCondition{{
		Name: "paid", Kind: &switchyardv1.WaitCondition_Event{Event: &switchyardv1.EventCondition{
			Key: "kill.paid", Condition: "event.payload.order_id == input.order_id", Timeout: durationpb.New(timeout),
		}},
	}}}
}

func testDurableWaitsSurviveKill(t *testing.T, postgres bool) {
	bin := buildBinary(t)
	token := engine.NewTokenSecret()
	args := []string{"--admin-token", token, "--dashboard=false"}
	if postgres {
		args = append(args, "--database-url", storetest.NewSchema(t))
	} else {
		args = append(args, "--data-dir", t.TempDir())
	}
	srv := startServerProcess(t, bin, args...)
	c := newProcessClients(srv.URL, token)
	ctx := t.Context()

	runOf := map[string]string{} // run id -> workflow
	orderRun := map[string]string{}
	for _, w := range durableKillRuns {
		_, err := c.workflows.PutWorkflow(ctx, connect.NewRequest(&switchyardv1.PutWorkflowRequest{Spec: &switchyardv1.WorkflowSpec{
			Name: w.workflow, OnEvents: []string{w.workflow + ".start"},
			Tasks: []*switchyardv1.TaskSpec{{Name: "after", Action: "kill." + w.workflow, WaitFor: w.wait, OnWaitTimeout: w.timeout}},
		}}))
		if err != nil {
			t.Fatalf("put workflow %s: %v", w.workflow, err)
		}
		req := &switchyardv1.BulkPushEventsRequest{}
		for i := range w.n {
			p, _ := structpb.NewStruct(map[string]any{"order_id": fmt.Sprintf("%s-%d", w.workflow, i)})
			req.Events = append(req.Events, &switchyardv1.PushEventRequest{Key: w.workflow + ".start", Payload: p})
		}
		res, err := c.events.BulkPushEvents(ctx, connect.NewRequest(req))
		if err != nil {
			t.Fatalf("start %s runs: %v", w.workflow, err)
		}
		for i, r := range res.Msg.GetResults() {
			if len(r.GetRunIds()) != 1 {
				t.Fatalf("%s event %d started runs %v, want one", w.workflow, i, r.GetRunIds())
			}
			runOf[r.GetRunIds()[0]] = w.workflow
			orderRun[fmt.Sprintf("%s-%d", w.workflow, i)] = r.GetRunIds()[0]
		}
	}
	total := len(runOf)
	awaitStatus(t, c, switchyardv1.RunStatus_RUN_STATUS_WAITING, total, 30*time.Second)

	// The first kill: every run waits.
	srv.kill()
	time.Sleep(500 * time.Millisecond)
	restarts := []time.Duration{srv.restart()}

	// The orders' events and the decoys, then the second kill as soon as the
	// last is acknowledged: the wake-ups are the durable hand-off's to make.
	var keys []string
	eventOf := map[string]string{} // order id -> event id
	for i := range durableKillRuns[1].n {
		keys = append(keys, fmt.Sprintf("pay-%d", i))
	}
	for i := range 5 {
		keys = append(keys, fmt.Sprintf("nobody-%d", i))
	}
	pushed := time.Now()
	for _, order := range keys {
		p, _ := structpb.NewStruct(map[string]any{"order_id": order})
		res, err := c.events.PushEvent(ctx, connect.NewRequest(&switchyardv1.PushEventRequest{Key: "kill.paid", Payload: p}))
		if err != nil {
			t.Fatalf("push kill.paid for %s: %v", order, err)
		}
		eventOf[order] = res.Msg.GetEvent().GetId()
	}
	srv.kill()
	restarts = append(restarts, srv.restart())

	var (
		mu      sync.Mutex
		arrived = map[string][]*switchyardv1.TaskAssignment{}
		at      = map[string]time.Time{}
	)
	startProcessWorker(t, c, "after-kills", []string{"kill.nap", "kill.pay", "kill.lapse"}, 64, func(_ context.Context, as *switchyardv1.TaskAssignment) {
		mu.Lock()
		defer mu.Unlock()
		arrived[as.GetTaskId()] = append(arrived[as.GetTaskId()], as)
		if _, ok := at[as.GetTaskId()]; !ok {
			at[as.GetTaskId()] = time.Now()
		}
	})
	awaitStatus(t, c, switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED, total, time.Minute)
	woken := time.Since(pushed)

	mu.Lock()
	defer mu.Unlock()
	var sleepLate []time.Duration
	for id, workflow := range runOf {
		res, err := c.runs.GetRun(ctx, connect.NewRequest(&switchyardv1.GetRunRequest{Id: id}))
		if err != nil {
			t.Fatalf("get run %s: %v", id, err)
		}
		r := res.Msg.GetRun()
		if len(r.GetTasks()) != 1 || len(r.GetTasks()[0].GetWaits()) != 1 {
			t.Errorf("%s run %s: tasks %v, want one task with one wait row", workflow, id, r.GetTasks())
			continue
		}
		tk := r.GetTasks()[0]
		w, as := tk.GetWaits()[0], arrived[tk.GetId()]
		if r.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED || len(as) != 1 || tk.GetAttempt()-tk.GetResumes() != 1 {
			t.Errorf("%s run %s: status %v, task attempt %d resumes %d, assigned %d times; want SUCCEEDED, one attempt counted, assigned once",
				workflow, id, r.GetStatus(), tk.GetAttempt(), tk.GetResumes(), len(as))
			continue
		}
		res0, deadline := as[0].GetWaitResult(), w.GetDeadline().AsTime()
		order := r.GetInput().GetFields()["order_id"].GetStringValue()
		switch workflow {
		case "nap":
			if w.GetKind() != "sleep" || w.GetState() != switchyardv1.WaitState_WAIT_STATE_SATISFIED || w.GetDeadline() == nil ||
				(deadline.Sub(w.GetCreatedAt().AsTime())-6*time.Second).Abs() > time.Second || w.GetResolvedAt().AsTime().Before(deadline) || res0.GetTimedOut() {
				t.Errorf("nap run %s: wait %v, assignment's result %v; want a 6s sleep SATISFIED at or after its deadline", id, w, res0)
			}
			if at[tk.GetId()].Before(deadline) {
				t.Errorf("nap run %s: assigned at %s, before its sleep ended at %s", id, at[tk.GetId()], deadline)
			}
			sleepLate = append(sleepLate, at[tk.GetId()].Sub(deadline))
		case "pay":
			want := eventOf[order]
			conds := res0.GetConditions()
			if w.GetState() != switchyardv1.WaitState_WAIT_STATE_SATISFIED || w.GetEventId() != want || len(conds) != 1 || conds[0].GetEvent().GetId() != want {
				t.Errorf("pay run %s (%s): wait %v, assignment's result %v; want SATISFIED by event %s", id, order, w, res0, want)
			}
		case "lapse":
			if w.GetState() != switchyardv1.WaitState_WAIT_STATE_TIMED_OUT || w.GetEventId() != "" || !res0.GetTimedOut() || w.GetResolvedAt().AsTime().Before(deadline) {
				t.Errorf("lapse run %s: wait %v, assignment's result %v; want TIMED_OUT after its deadline, no event", id, w, res0)
			}
		}
	}
	for order, ev := range eventOf {
		res, err := c.events.GetEvent(ctx, connect.NewRequest(&switchyardv1.GetEventRequest{Id: ev}))
		if err != nil {
			t.Fatalf("get event %s: %v", ev, err)
		}
		var want []string
		if run, ok := orderRun[order]; ok {
			want = []string{run}
		}
		if got := res.Msg.GetWokeRunIds(); !slices.Equal(got, want) {
			t.Errorf("event %s (order %s) woke runs %v, want %v", ev, order, got, want)
		}
	}
	if len(sleepLate) == 0 {
		return
	}
	slices.Sort(sleepLate)
	t.Logf("figures: runs=%d restarts=%v all succeeded %s after the first push; sleepers assigned after their deadline by p50 %s max %s",
		total, restarts, woken.Round(time.Millisecond), sleepLate[len(sleepLate)/2].Round(time.Millisecond), sleepLate[len(sleepLate)-1].Round(time.Millisecond))
}

// awaitStatus polls until n runs have status, and fails the test when timeout
// passes first. A poll answered unavailable (the server just restarted, or
// the database is short of connections) counts as not yet.
func awaitStatus(t *testing.T, c processClients, status switchyardv1.RunStatus, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		res, err := c.runs.ListRuns(t.Context(), connect.NewRequest(&switchyardv1.ListRunsRequest{Status: status, PageSize: 500}))
		if err != nil && connect.CodeOf(err) != connect.CodeUnavailable {
			t.Fatalf("list %s runs: %v", status, err)
		}
		got := 0
		if err == nil {
			got = len(res.Msg.GetRuns())
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs are %s after %s, want %d (last error: %v)", got, status, timeout, n, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
