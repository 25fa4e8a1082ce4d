package server_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// Durable execution through the raw RPCs, as a non-Go SDK would drive it.

// eventWait is a wait spec of one event condition.
func eventWait(name, key, cond string, lookback, timeout time.Duration) *switchyardv1.WaitCondition {
	ec := &switchyardv1.EventCondition{Key: key, Condition: cond}
	if lookback > 0 {
		ec.Lookback = durationpb.New(lookback)
	}
	if timeout > 0 {
		ec.Timeout = durationpb.New(timeout)
	}
	return &switchyardv1.WaitCondition{Name: name, Kind: &switchyardv1.WaitCondition_Event{Event: ec}}
}

// sleepWait is a sleep condition of d.
func sleepWait(name string, d time.Duration) *switchyardv1.WaitCondition {
	return &switchyardv1.WaitCondition{Name: name, Kind: &switchyardv1.WaitCondition_Sleep{Sleep: &switchyardv1.SleepCondition{Duration: durationpb.New(d)}}}
}

// wait calls Wait for an assignment.
func (w *rawWorker) wait(as *switchyardv1.TaskAssignment, name string, mode switchyardv1.WaitMode, conds ...*switchyardv1.WaitCondition) (*switchyardv1.WaitResponse, error) {
	res, err := w.api.durable.Wait(context.Background(), connect.NewRequest(&switchyardv1.WaitRequest{
		WorkerId: w.id, TaskId: as.GetTaskId(), Attempt: as.GetAttempt(), Name: name,
		Wait: &switchyardv1.WaitSpec{Mode: mode, Conditions: conds},
	}))
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

// recordStep calls RecordStep for an assignment.
func (w *rawWorker) recordStep(as *switchyardv1.TaskAssignment, name string, v any) (*switchyardv1.RecordStepResponse, error) {
	val, err := structpb.NewValue(v)
	if err != nil {
		return nil, err
	}
	res, err := w.api.durable.RecordStep(context.Background(), connect.NewRequest(&switchyardv1.RecordStepRequest{
		WorkerId: w.id, TaskId: as.GetTaskId(), Attempt: as.GetAttempt(), Name: name, Result: val,
	}))
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

func stepNamed(as *switchyardv1.TaskAssignment, name string) *switchyardv1.Step {
	for _, s := range as.GetSteps() {
		if s.GetName() == name {
			return s
		}
	}
	return nil
}

func push(t testing.TB, a *api, key string, payload map[string]any) *switchyardv1.PushEventResponse {
	t.Helper()
	res, err := a.events.PushEvent(context.Background(), connect.NewRequest(&switchyardv1.PushEventRequest{Key: key, Payload: mustStruct(payload)}))
	if err != nil {
		t.Fatalf("push %s: %v", key, err)
	}
	return res.Msg
}

func wokeRuns(t testing.TB, a *api, eventID string) []string {
	t.Helper()
	res, err := a.events.GetEvent(context.Background(), connect.NewRequest(&switchyardv1.GetEventRequest{Id: eventID}))
	if err != nil {
		t.Fatalf("get event: %v", err)
	}
	return res.Msg.GetWokeRunIds()
}

func runWorkflow(t testing.TB, a *api, name string, input map[string]any) string {
	t.Helper()
	res, err := a.workflows.RunWorkflow(context.Background(), connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: name, Input: mustStruct(input)}))
	if err != nil {
		t.Fatalf("run %s: %v", name, err)
	}
	return res.Msg.GetRunId()
}

// assignments collects what a raw worker receives, in order.
type assignments struct {
	mu  sync.Mutex
	all []*switchyardv1.TaskAssignment
	ch  chan *switchyardv1.TaskAssignment
}

func newAssignments() *assignments {
	return &assignments{ch: make(chan *switchyardv1.TaskAssignment, 64)}
}

func (s *assignments) add(as *switchyardv1.TaskAssignment) {
	s.mu.Lock()
	s.all = append(s.all, as)
	s.mu.Unlock()
	s.ch <- as
}

func (s *assignments) next(t testing.TB) *switchyardv1.TaskAssignment {
	t.Helper()
	select {
	case as := <-s.ch:
		return as
	case <-time.After(20 * time.Second):
		t.Fatal("no assignment within 20s")
		return nil
	}
}

// TestDurableWaitSuspendsAndResumes drives the SDK protocol by hand: a step
// is recorded, a Wait that is not resolved makes the task WAITING and frees
// the worker's slot; an event for another order wakes nothing, the matching
// one wakes the run, whose task is assigned again (a resume, not a retry)
// with both steps; a step recorded again keeps its first result.
func TestDurableWaitSuspendsAndResumes(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		_, a := startEngineServer(t, eng)
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "order", Tasks: []*switchyardv1.TaskSpec{
			{Name: "charge", Action: "order.charge", Retry: &switchyardv1.RetryPolicy{MaxAttempts: 1}},
		}})
		got := newAssignments()
		w := startRawWorker(t, a, []string{"order.charge"}, 2, func(_ *rawWorker, as *switchyardv1.TaskAssignment) { got.add(as) })
		runID := runWorkflow(t, a, "order", map[string]any{"order_id": "o-1"})
		other := runWorkflow(t, a, "order", map[string]any{"order_id": "o-2"})

		first := map[string]*switchyardv1.TaskAssignment{}
		for range 2 {
			as := got.next(t)
			first[as.GetRunId()] = as
		}
		as := first[runID]
		if as.GetAttempt() != 1 || len(as.GetSteps()) != 0 {
			t.Fatalf("first assignment: attempt %d, steps %v", as.GetAttempt(), as.GetSteps())
		}
		if res, err := w.recordStep(as, "charge", map[string]any{"charge_id": "ch-1"}); err != nil || res.GetDeduplicated() {
			t.Fatalf("record step: %v (deduplicated %v)", err, res.GetDeduplicated())
		}
		cond := eventWait("paid", "payment.confirmed", "event.payload.order_id == input.order_id", 0, time.Hour)
		for _, id := range []string{runID, other} {
			res, err := w.wait(first[id], "paid", switchyardv1.WaitMode_WAIT_MODE_ANY, cond)
			if err != nil || res.GetResolved() {
				t.Fatalf("wait of run %s: %v (resolved %v)", id, err, res.GetResolved())
			}
		}
		// A repeat of the call that suspended the task answers the same.
		if res, err := w.wait(as, "paid", switchyardv1.WaitMode_WAIT_MODE_ANY, cond); err != nil || res.GetResolved() {
			t.Fatalf("repeated wait: %v (resolved %v)", err, res.GetResolved())
		}
		run := getRun(t, a, runID)
		task := taskByName(run, "charge")
		if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_WAITING || task.GetStatus() != switchyardv1.TaskStatus_TASK_STATUS_WAITING {
			t.Fatalf("after wait: run %v, task %v; want WAITING, WAITING", run.GetStatus(), task.GetStatus())
		}
		if len(run.GetWaits()) != 1 || run.GetWaits()[0].GetKey() != "payment.confirmed" || run.GetWaitingUntil() == nil ||
			len(task.GetWaits()) != 1 || task.GetWaits()[0].GetState() != switchyardv1.WaitState_WAIT_STATE_OPEN {
			t.Fatalf("waits shown: run %v until %v, task %v", run.GetWaits(), run.GetWaitingUntil(), task.GetWaits())
		}
		// The worker's slots are free again: it holds nothing.
		workers, err := a.workers.ListWorkers(context.Background(), connect.NewRequest(&switchyardv1.ListWorkersRequest{}))
		if err != nil || workers.Msg.GetWorkers()[0].GetSlotsInUse() != 0 {
			t.Fatalf("slots in use while waiting: %v (%v)", workers.Msg.GetWorkers(), err)
		}
		// Reporting the suspended attempt is refused.
		if err := w.complete(as, map[string]any{}); connect.CodeOf(err) != connect.CodeFailedPrecondition {
			t.Fatalf("complete of a suspended attempt: %v, want failed_precondition", err)
		}
		listed, err := a.runs.ListRuns(context.Background(), connect.NewRequest(&switchyardv1.ListRunsRequest{Status: switchyardv1.RunStatus_RUN_STATUS_WAITING}))
		if err != nil || len(listed.Msg.GetRuns()) != 2 {
			t.Fatalf("ListRuns WAITING: %d runs (%v), want 2", len(listed.Msg.GetRuns()), err)
		}

		if ev := push(t, a, "payment.confirmed", map[string]any{"order_id": "o-3"}); len(wokeRuns(t, a, ev.GetEvent().GetId())) != 0 {
			t.Fatalf("an event for another order woke runs")
		}
		ev := push(t, a, "payment.confirmed", map[string]any{"order_id": "o-1", "amount": 42})
		if woke := wokeRuns(t, a, ev.GetEvent().GetId()); len(woke) != 1 || woke[0] != runID {
			t.Fatalf("woke %v, want [%s]", woke, runID)
		}
		again := got.next(t)
		if again.GetRunId() != runID || again.GetAttempt() != 2 {
			t.Fatalf("resumed assignment: run %s attempt %d, want %s attempt 2", again.GetRunId(), again.GetAttempt(), runID)
		}
		charge, paid := stepNamed(again, "charge"), stepNamed(again, "paid")
		if charge.GetKind() != switchyardv1.StepKind_STEP_KIND_RESULT || charge.GetResult().GetStructValue().GetFields()["charge_id"].GetStringValue() != "ch-1" {
			t.Fatalf("charge step: %v", charge)
		}
		if paid.GetKind() != switchyardv1.StepKind_STEP_KIND_WAIT || paid.GetWait().GetWinner() != "paid" ||
			paid.GetWait().GetConditions()[0].GetEvent().GetId() != ev.GetEvent().GetId() {
			t.Fatalf("paid step: %v", paid)
		}
		// Replaying the code: the step keeps its first result, the wait its.
		rec, err := w.recordStep(again, "charge", map[string]any{"charge_id": "ch-2"})
		if err != nil || !rec.GetDeduplicated() || rec.GetStep().GetResult().GetStructValue().GetFields()["charge_id"].GetStringValue() != "ch-1" {
			t.Fatalf("record again: %v, %v", rec, err)
		}
		res, err := w.wait(again, "paid", switchyardv1.WaitMode_WAIT_MODE_ANY, cond)
		if err != nil || !res.GetResolved() || res.GetResult().GetWinner() != "paid" {
			t.Fatalf("wait again: %v, %v", res, err)
		}
		if err := w.complete(again, map[string]any{"shipped": true}); err != nil {
			t.Fatal(err)
		}
		final := waitRun(t, a, runID, 20*time.Second)
		if final.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED || taskByName(final, "charge").GetResumes() != 1 {
			t.Fatalf("run ended %v with resumes %d, want SUCCEEDED after 1 resume", final.GetStatus(), taskByName(final, "charge").GetResumes())
		}
		if st := getRun(t, a, other).GetStatus(); st != switchyardv1.RunStatus_RUN_STATUS_WAITING {
			t.Fatalf("the other order's run is %v, want WAITING", st)
		}
	})
}
