package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// durableSetup is a server with a one-task workflow "job" (action
// "job.run") and a raw worker that collects its assignments.
type durableSetup struct {
	srv *servertest.Server
	a   *api
	w   *rawWorker
	got *assignments
}

func startDurable(t *testing.T, eng storetest.Engine, slots int32) *durableSetup {
	t.Helper()
	srv, a := startEngineServer(t, eng)
	putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "job", Tasks: []*switchyardv1.TaskSpec{
		{Name: "run", Action: "job.run", Retry: &switchyardv1.RetryPolicy{MaxAttempts: 1}},
	}})
	got := newAssignments()
	w := startRawWorker(t, a, []string{"job.run"}, slots, func(_ *rawWorker, as *switchyardv1.TaskAssignment) { got.add(as) })
	return &durableSetup{srv: srv, a: a, w: w, got: got}
}

// suspend starts a run of "job" with input, waits for its assignment and
// has it wait; the wait must not be resolved at once.
func (d *durableSetup) suspend(t *testing.T, input map[string]any, mode switchyardv1.WaitMode, conds ...*switchyardv1.WaitCondition) (string, *switchyardv1.TaskAssignment) {
	t.Helper()
	runID := runWorkflow(t, d.a, "job", input)
	as := d.got.next(t)
	res, err := d.w.wait(as, "w", mode, conds...)
	if err != nil || res.GetResolved() {
		t.Fatalf("wait: %v (resolved %v)", err, res.GetResolved())
	}
	return runID, as
}

// resumed waits for the next assignment, which must be runID's, and returns
// its wait step's result.
func (d *durableSetup) resumed(t *testing.T, runID string) *switchyardv1.WaitResult {
	t.Helper()
	as := d.got.next(t)
	if as.GetRunId() != runID {
		t.Fatalf("assignment of run %s, want %s", as.GetRunId(), runID)
	}
	step := stepNamed(as, "w")
	if step == nil {
		t.Fatalf("resumed assignment has no wait step: %v", as.GetSteps())
	}
	if err := d.w.complete(as, map[string]any{}); err != nil {
		t.Fatal(err)
	}
	return step.GetWait()
}

func conditionNamed(r *switchyardv1.WaitResult, name string) *switchyardv1.ConditionResult {
	for _, c := range r.GetConditions() {
		if c.GetName() == name {
			return c
		}
	}
	return nil
}

// TestDurableLookback: an event pushed before the wait began, within its
// lookback, satisfies it at once; one outside the lookback does not.
func TestDurableLookback(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		d := startDurable(t, eng, 4)
		early := push(t, d.a, "payment.confirmed", map[string]any{"order_id": "o-1"})
		runID := runWorkflow(t, d.a, "job", map[string]any{"order_id": "o-1"})
		as := d.got.next(t)
		res, err := d.w.wait(as, "w", switchyardv1.WaitMode_WAIT_MODE_ANY,
			eventWait("paid", "payment.confirmed", "event.payload.order_id == input.order_id", time.Hour, time.Hour))
		if err != nil || !res.GetResolved() || res.GetResult().GetConditions()[0].GetEvent().GetId() != early.GetEvent().GetId() {
			t.Fatalf("wait with lookback: %v (%v), want resolved by event %s", res, err, early.GetEvent().GetId())
		}
		if woke := wokeRuns(t, d.a, early.GetEvent().GetId()); len(woke) != 1 || woke[0] != runID {
			t.Fatalf("event woke %v, want [%s]", woke, runID)
		}
		if err := d.w.complete(as, map[string]any{}); err != nil {
			t.Fatal(err)
		}

		// Outside the lookback: the event is older than 1ms when the wait begins.
		old := push(t, d.a, "payment.confirmed", map[string]any{"order_id": "o-2"})
		time.Sleep(20 * time.Millisecond)
		runID, _ = d.suspend(t, map[string]any{"order_id": "o-2"}, switchyardv1.WaitMode_WAIT_MODE_ANY,
			eventWait("paid", "payment.confirmed", "event.payload.order_id == input.order_id", time.Millisecond, time.Hour))
		if woke := wokeRuns(t, d.a, old.GetEvent().GetId()); len(woke) != 0 {
			t.Fatalf("an event outside the lookback woke %v", woke)
		}
		ev := push(t, d.a, "payment.confirmed", map[string]any{"order_id": "o-2"})
		if got := conditionNamed(d.resumed(t, runID), "paid").GetEvent().GetId(); got != ev.GetEvent().GetId() {
			t.Fatalf("resumed by event %s, want the later %s", got, ev.GetEvent().GetId())
		}
	})
}

// TestDurableIndexedMatch: waits with `event.payload.order_id ==
// input.order_id` store the indexed match, and an event wakes exactly the
// run with its order id.
func TestDurableIndexedMatch(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		d := startDurable(t, eng, 20)
		runs := map[string]string{}
		for i := range 10 {
			order := fmt.Sprintf("o-%d", i)
			runs[order], _ = d.suspend(t, map[string]any{"order_id": order, "n": i}, switchyardv1.WaitMode_WAIT_MODE_ALL,
				eventWait("paid", "payment.confirmed", "event.payload.order_id == input.order_id && event.payload.amount > 0", 0, 0))
		}
		var matches []string
		if err := d.srv.Store.DB().NewRaw("SELECT match FROM waits ORDER BY match").Scan(context.Background(), &matches); err != nil {
			t.Fatal(err)
		}
		if len(matches) != 10 || matches[3] != `order_id="o-3"` {
			t.Fatalf("stored matches %v, want order_id=\"o-N\" for each", matches)
		}
		// The indexed part matches, the rest of the condition does not.
		if ev := push(t, d.a, "payment.confirmed", map[string]any{"order_id": "o-7", "amount": 0}); len(wokeRuns(t, d.a, ev.GetEvent().GetId())) != 0 {
			t.Fatal("an event failing the condition woke a run")
		}
		ev := push(t, d.a, "payment.confirmed", map[string]any{"order_id": "o-7", "amount": 5})
		if woke := wokeRuns(t, d.a, ev.GetEvent().GetId()); len(woke) != 1 || woke[0] != runs["o-7"] {
			t.Fatalf("woke %v, want only %s", woke, runs["o-7"])
		}
		if r := d.resumed(t, runs["o-7"]); r.GetTimedOut() || conditionNamed(r, "paid").GetState() != switchyardv1.WaitState_WAIT_STATE_SATISFIED {
			t.Fatalf("result %v", r)
		}
	})
}

// TestDurableTimeoutAnyAll: an event condition that times out resumes the
// task with a timed-out result; ANY takes the first condition and cancels
// the others; ALL waits for every condition.
func TestDurableTimeoutAnyAll(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		d := startDurable(t, eng, 4)
		runID, _ := d.suspend(t, map[string]any{}, switchyardv1.WaitMode_WAIT_MODE_ANY,
			eventWait("paid", "payment.confirmed", "", 0, 100*time.Millisecond))
		r := d.resumed(t, runID)
		if !r.GetTimedOut() || conditionNamed(r, "paid").GetState() != switchyardv1.WaitState_WAIT_STATE_TIMED_OUT {
			t.Fatalf("timeout result %v", r)
		}

		runID, _ = d.suspend(t, map[string]any{}, switchyardv1.WaitMode_WAIT_MODE_ANY,
			sleepWait("nap", 100*time.Millisecond), eventWait("paid", "never.pushed", "", 0, time.Hour))
		r = d.resumed(t, runID)
		if r.GetWinner() != "nap" || r.GetTimedOut() || conditionNamed(r, "paid").GetState() != switchyardv1.WaitState_WAIT_STATE_CANCELLED {
			t.Fatalf("ANY result %v, want nap the winner and paid cancelled", r)
		}
		waits := taskByName(waitRun(t, d.a, runID, 20*time.Second), "run").GetWaits()
		if len(waits) != 2 || waits[1].GetCondition() != "paid" || waits[1].GetState() != switchyardv1.WaitState_WAIT_STATE_CANCELLED {
			t.Fatalf("task waits %v, want paid CANCELLED", waits)
		}

		runID, _ = d.suspend(t, map[string]any{}, switchyardv1.WaitMode_WAIT_MODE_ALL,
			sleepWait("nap", 50*time.Millisecond), eventWait("paid", "all.paid", "", 0, time.Hour))
		waitFor(t, "the sleep to end", 10*time.Second, func() bool {
			w := taskByName(getRun(t, d.a, runID), "run").GetWaits()
			return len(w) == 2 && w[0].GetState() == switchyardv1.WaitState_WAIT_STATE_SATISFIED
		})
		if st := getRun(t, d.a, runID).GetStatus(); st != switchyardv1.RunStatus_RUN_STATUS_WAITING {
			t.Fatalf("ALL with one condition left: run %v, want WAITING", st)
		}
		push(t, d.a, "all.paid", map[string]any{})
		r = d.resumed(t, runID)
		if r.GetWinner() != "" || r.GetTimedOut() || conditionNamed(r, "nap").GetState() != switchyardv1.WaitState_WAIT_STATE_SATISFIED ||
			conditionNamed(r, "paid").GetState() != switchyardv1.WaitState_WAIT_STATE_SATISFIED {
			t.Fatalf("ALL result %v", r)
		}
	})
}

// TestDurableBadCallsChangeNothing: calls for unknown tasks, stale attempts
// and bad specs are refused with their codes, and the task stays running.
func TestDurableBadCallsChangeNothing(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		d := startDurable(t, eng, 4)
		runID := runWorkflow(t, d.a, "job", map[string]any{})
		as := d.got.next(t)
		stale := proto.Clone(as).(*switchyardv1.TaskAssignment)
		stale.Attempt = 2
		unknown := proto.Clone(as).(*switchyardv1.TaskAssignment)
		unknown.TaskId = "0190b7c1-0000-7000-8000-000000000000"
		ok := eventWait("e", "k", "", 0, 0)
		cases := []struct {
			name string
			call func() error
			want connect.Code
		}{
			{"unknown task", func() error { _, err := d.w.wait(unknown, "w", 0, ok); return err }, connect.CodeNotFound},
			{"wrong attempt", func() error { _, err := d.w.wait(stale, "w", 0, ok); return err }, connect.CodeFailedPrecondition},
			{"wrong attempt step", func() error { _, err := d.w.recordStep(stale, "s", 1); return err }, connect.CodeFailedPrecondition},
			{"bad CEL", func() error {
				_, err := d.w.wait(as, "w", 0, eventWait("e", "k", "event.payload.x ==", 0, 0))
				return err
			}, connect.CodeInvalidArgument},
			{"duplicate names", func() error { _, err := d.w.wait(as, "w", 0, ok, ok); return err }, connect.CodeInvalidArgument},
			{"not a child", func() error {
				_, err := d.w.wait(as, "w", 0, &switchyardv1.WaitCondition{Name: "c", Kind: &switchyardv1.WaitCondition_Child{Child: &switchyardv1.ChildCondition{RunId: runID}}})
				return err
			}, connect.CodeInvalidArgument},
		}
		for _, c := range cases {
			if err := c.call(); connect.CodeOf(err) != c.want {
				t.Errorf("%s: %v, want %v", c.name, err, c.want)
			}
		}
		run := getRun(t, d.a, runID)
		if task := taskByName(run, "run"); task.GetStatus() != switchyardv1.TaskStatus_TASK_STATUS_RUNNING || len(task.GetWaits()) != 0 {
			t.Fatalf("after refused calls: task %v with waits %v, want RUNNING without waits", task.GetStatus(), task.GetWaits())
		}
		steps, err := d.a.durable.ListSteps(context.Background(), connect.NewRequest(&switchyardv1.ListStepsRequest{TaskId: as.GetTaskId()}))
		if err != nil || len(steps.Msg.GetSteps()) != 0 {
			t.Fatalf("steps after refused calls: %v (%v)", steps.Msg.GetSteps(), err)
		}
		// Declared waits: child conditions and bad CEL are refused at PutWorkflow.
		for name, spec := range map[string]*switchyardv1.TaskSpec{
			"child": {Name: "g", WaitFor: &switchyardv1.WaitSpec{Conditions: []*switchyardv1.WaitCondition{
				{Name: "c", Kind: &switchyardv1.WaitCondition_Child{Child: &switchyardv1.ChildCondition{RunId: runID}}}}}},
			"cel":     {Name: "g", WaitFor: &switchyardv1.WaitSpec{Conditions: []*switchyardv1.WaitCondition{eventWait("e", "k", "input.x ==", 0, 0)}}},
			"skip_if": {Name: "g", Action: "a", SkipIf: "input."},
			"dup":     {Name: "g", WaitFor: &switchyardv1.WaitSpec{Conditions: []*switchyardv1.WaitCondition{ok, ok}}},
		} {
			_, err := d.a.workflows.PutWorkflow(context.Background(), connect.NewRequest(&switchyardv1.PutWorkflowRequest{
				Spec: &switchyardv1.WorkflowSpec{Name: "bad-" + name, Tasks: []*switchyardv1.TaskSpec{spec}}}))
			if connect.CodeOf(err) != connect.CodeInvalidArgument {
				t.Errorf("put workflow with bad %s: %v, want invalid_argument", name, err)
			}
		}
	})
}
