package server_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

func waitSpec(mode switchyardv1.WaitMode, conds ...*switchyardv1.WaitCondition) *switchyardv1.WaitSpec {
	return &switchyardv1.WaitSpec{Mode: mode, Conditions: conds}
}

// TestDurableDeclaredGate: a task without action that declares wait_for
// makes the run WAITING with no code running; the matching event makes it
// succeed with the wait's result as output, and its child runs.
func TestDurableDeclaredGate(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		_, a := startEngineServer(t, eng)
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "gated", Tasks: []*switchyardv1.TaskSpec{
			{Name: "gate", WaitFor: waitSpec(switchyardv1.WaitMode_WAIT_MODE_ANY,
				eventWait("approved", "approval.given", "event.payload.doc == input.doc", time.Hour, time.Hour))},
			{Name: "publish", Action: "doc.publish", Parents: []string{"gate"}},
		}})
		got := newAssignments()
		w := startRawWorker(t, a, []string{"doc.publish"}, 2, func(_ *rawWorker, as *switchyardv1.TaskAssignment) { got.add(as) })
		runID := runWorkflow(t, a, "gated", map[string]any{"doc": "d1"})
		other := runWorkflow(t, a, "gated", map[string]any{"doc": "d2"})
		run := getRun(t, a, runID)
		if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_WAITING || taskByName(run, "gate").GetStatus() != switchyardv1.TaskStatus_TASK_STATUS_WAITING {
			t.Fatalf("run %v, gate %v; want WAITING, WAITING", run.GetStatus(), taskByName(run, "gate").GetStatus())
		}
		if len(run.GetWaits()) != 1 || run.GetWaits()[0].GetStep() != "wait_for" || run.GetWaits()[0].GetExpression() != "event.payload.doc == input.doc" {
			t.Fatalf("run waits %v", run.GetWaits())
		}
		ev := push(t, a, "approval.given", map[string]any{"doc": "d1", "by": "ann"})
		as := got.next(t)
		if as.GetRunId() != runID || as.GetTaskName() != "publish" {
			t.Fatalf("assignment %s/%s, want %s/publish", as.GetRunId(), as.GetTaskName(), runID)
		}
		gate := as.GetParentOutputs()["gate"].AsMap()
		conds, _ := gate["conditions"].(map[string]any)
		approved, _ := conds["approved"].(map[string]any)
		evm, _ := approved["event"].(map[string]any)
		if gate["winner"] != "approved" || evm["id"] != ev.GetEvent().GetId() {
			t.Fatalf("gate output %v, want winner approved with event %s", gate, ev.GetEvent().GetId())
		}
		if err := w.complete(as, map[string]any{}); err != nil {
			t.Fatal(err)
		}
		if final := waitRun(t, a, runID, 20*time.Second); final.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
			t.Fatalf("run ended %v", final.GetStatus())
		}
		if st := getRun(t, a, other).GetStatus(); st != switchyardv1.RunStatus_RUN_STATUS_WAITING {
			t.Fatalf("other run %v, want WAITING", st)
		}
	})
}

// TestDurableDeclaredConditions: skip_if skips a task (its child runs),
// cancel_if cancels the run, and on_wait_timeout FAIL, SKIP and RUN do what
// they say.
func TestDurableDeclaredConditions(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		_, a := startEngineServer(t, eng)
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "cond", Tasks: []*switchyardv1.TaskSpec{
			{Name: "a", Action: "c.a", SkipIf: "has(input.skip) && input.skip"},
			{Name: "b", Action: "c.b", Parents: []string{"a"}, CancelIf: "has(parents.a.stop) && parents.a.stop"},
		}})
		timeout := eventWait("never", "never.pushed", "", 0, 100*time.Millisecond)
		for _, x := range []struct {
			name   string
			action switchyardv1.WaitTimeoutAction
		}{{"fail", switchyardv1.WaitTimeoutAction_WAIT_TIMEOUT_ACTION_FAIL}, {"skip", switchyardv1.WaitTimeoutAction_WAIT_TIMEOUT_ACTION_SKIP}, {"run", switchyardv1.WaitTimeoutAction_WAIT_TIMEOUT_ACTION_RUN}} {
			putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "timeout-" + x.name, Tasks: []*switchyardv1.TaskSpec{
				{Name: "t", Action: "to.t", WaitFor: waitSpec(0, timeout), OnWaitTimeout: x.action},
				{Name: "after", Action: "to.after", Parents: []string{"t"}},
			}})
		}
		got := newAssignments()
		w := startRawWorker(t, a, []string{"c.a", "c.b", "to.t", "to.after"}, 4, func(_ *rawWorker, as *switchyardv1.TaskAssignment) { got.add(as) })
		complete := func(as *switchyardv1.TaskAssignment, out map[string]any) {
			t.Helper()
			if err := w.complete(as, out); err != nil {
				t.Fatal(err)
			}
		}

		skipped := runWorkflow(t, a, "cond", map[string]any{"skip": true})
		as := got.next(t)
		if as.GetTaskName() != "b" {
			t.Fatalf("first assignment %s, want b (a skipped)", as.GetTaskName())
		}
		complete(as, map[string]any{})
		run := waitRun(t, a, skipped, 20*time.Second)
		if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED || taskByName(run, "a").GetStatus() != switchyardv1.TaskStatus_TASK_STATUS_SKIPPED {
			t.Fatalf("skip_if: run %v, a %v; want SUCCEEDED, SKIPPED", run.GetStatus(), taskByName(run, "a").GetStatus())
		}

		cancelled := runWorkflow(t, a, "cond", map[string]any{})
		complete(got.next(t), map[string]any{"stop": true})
		run = waitRun(t, a, cancelled, 20*time.Second)
		if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_CANCELLED || taskByName(run, "b").GetStatus() != switchyardv1.TaskStatus_TASK_STATUS_CANCELLED {
			t.Fatalf("cancel_if: run %v, b %v; want CANCELLED, CANCELLED", run.GetStatus(), taskByName(run, "b").GetStatus())
		}

		run = waitRun(t, a, runWorkflow(t, a, "timeout-fail", map[string]any{}), 20*time.Second)
		if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_FAILED || taskByName(run, "t").GetStatus() != switchyardv1.TaskStatus_TASK_STATUS_FAILED {
			t.Fatalf("on_wait_timeout FAIL: run %v, t %v", run.GetStatus(), taskByName(run, "t").GetStatus())
		}

		id := runWorkflow(t, a, "timeout-skip", map[string]any{})
		as = got.next(t)
		if as.GetTaskName() != "after" {
			t.Fatalf("on_wait_timeout SKIP: assignment %s, want after", as.GetTaskName())
		}
		complete(as, map[string]any{})
		if run = waitRun(t, a, id, 20*time.Second); taskByName(run, "t").GetStatus() != switchyardv1.TaskStatus_TASK_STATUS_SKIPPED ||
			run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
			t.Fatalf("on_wait_timeout SKIP: run %v, t %v", run.GetStatus(), taskByName(run, "t").GetStatus())
		}

		runWorkflow(t, a, "timeout-run", map[string]any{})
		as = got.next(t)
		if as.GetTaskName() != "t" || !as.GetWaitResult().GetTimedOut() {
			t.Fatalf("on_wait_timeout RUN: assignment %s with wait result %v, want t timed out", as.GetTaskName(), as.GetWaitResult())
		}
	})
}

// spawn calls SpawnChildren for an assignment.
func (w *rawWorker) spawn(as *switchyardv1.TaskAssignment, name string, children ...*switchyardv1.ChildSpec) (*switchyardv1.SpawnChildrenResponse, error) {
	res, err := w.api.durable.SpawnChildren(context.Background(), connect.NewRequest(&switchyardv1.SpawnChildrenRequest{
		WorkerId: w.id, TaskId: as.GetTaskId(), Attempt: as.GetAttempt(), Name: name, Children: children,
	}))
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

func childWait(name, runID string) *switchyardv1.WaitCondition {
	return &switchyardv1.WaitCondition{Name: name, Kind: &switchyardv1.WaitCondition_Child{Child: &switchyardv1.ChildCondition{RunId: runID}}}
}

// putParentAndChild declares the workflows of the children tests: "parent",
// one task of action p.run, and "child", one task of action c.run.
func putParentAndChild(t *testing.T, a *api) {
	t.Helper()
	putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "parent", Tasks: []*switchyardv1.TaskSpec{{Name: "p", Action: "p.run"}}})
	putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "child", Tasks: []*switchyardv1.TaskSpec{{Name: "c", Action: "c.run"}}})
}

// TestDurableChildren: SpawnChildren starts child runs that carry their
// parent, once (a repeat returns them); a wait on them resumes the parent
// with their outputs; cancelling a parent cancels its children and waits;
// a spawn that names an unknown workflow starts nothing.
func TestDurableChildren(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		_, a := startEngineServer(t, eng)
		putParentAndChild(t, a)
		got := newAssignments()
		children := newAssignments()
		w := startRawWorker(t, a, []string{"p.run", "c.run"}, 10, func(_ *rawWorker, as *switchyardv1.TaskAssignment) {
			if as.GetAction() == "c.run" {
				children.add(as)
				return
			}
			got.add(as)
		})
		parentID := runWorkflow(t, a, "parent", map[string]any{})
		as := got.next(t)
		specs := []*switchyardv1.ChildSpec{{Workflow: "child", Input: mustStruct(map[string]any{"i": 0})}, {Workflow: "child", Input: mustStruct(map[string]any{"i": 1})}}
		res, err := w.spawn(as, "fan", specs...)
		if err != nil || len(res.GetRunIds()) != 2 || res.GetDeduplicated() {
			t.Fatalf("spawn: %v (%v)", res, err)
		}
		again, err := w.spawn(as, "fan", specs...)
		if err != nil || !again.GetDeduplicated() || again.GetRunIds()[0] != res.GetRunIds()[0] || again.GetRunIds()[1] != res.GetRunIds()[1] {
			t.Fatalf("spawn again: %v (%v), want the same runs deduplicated", again, err)
		}
		if _, err := w.spawn(as, "bad", &switchyardv1.ChildSpec{Workflow: "child"}, &switchyardv1.ChildSpec{Workflow: "nope"}); connect.CodeOf(err) != connect.CodeNotFound {
			t.Fatalf("spawn of an unknown workflow: %v, want not_found", err)
		}
		listed, err := a.runs.ListRuns(context.Background(), connect.NewRequest(&switchyardv1.ListRunsRequest{ParentRunId: parentID}))
		if err != nil || len(listed.Msg.GetRuns()) != 2 {
			t.Fatalf("ListRuns parent_run_id: %d runs (%v), want 2 (the failed spawn started none)", len(listed.Msg.GetRuns()), err)
		}
		child := getRun(t, a, res.GetRunIds()[1])
		if child.GetParentRunId() != parentID || child.GetParentTaskId() != as.GetTaskId() {
			t.Fatalf("child's parent %s/%s, want %s/%s", child.GetParentRunId(), child.GetParentTaskId(), parentID, as.GetTaskId())
		}
		wr, err := w.wait(as, "kids", switchyardv1.WaitMode_WAIT_MODE_ALL, childWait("c0", res.GetRunIds()[0]), childWait("c1", res.GetRunIds()[1]))
		if err != nil || wr.GetResolved() {
			t.Fatalf("wait for children: %v (%v)", wr, err)
		}
		for range 2 {
			c := children.next(t)
			if err := w.complete(c, map[string]any{"i": c.GetInput().AsMap()["i"]}); err != nil {
				t.Fatal(err)
			}
		}
		resumed := got.next(t)
		kids := stepNamed(resumed, "kids").GetWait()
		if c1 := conditionNamed(kids, "c1").GetChild(); c1.GetStatus() != "SUCCEEDED" || c1.GetOutputs()["c"].AsMap()["i"] != float64(1) {
			t.Fatalf("child result %v", c1)
		}
		if fan := stepNamed(resumed, "fan"); fan.GetKind() != switchyardv1.StepKind_STEP_KIND_SPAWN || len(fan.GetChildRunIds()) != 2 {
			t.Fatalf("spawn step %v", fan)
		}
		if err := w.complete(resumed, map[string]any{}); err != nil {
			t.Fatal(err)
		}
		if st := waitRun(t, a, parentID, 20*time.Second).GetStatus(); st != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
			t.Fatalf("parent %v", st)
		}

		// Cancelling a waiting parent cancels its children and its waits.
		parentID = runWorkflow(t, a, "parent", map[string]any{})
		as = got.next(t)
		res, err = w.spawn(as, "fan", specs...)
		if err != nil {
			t.Fatal(err)
		}
		children.next(t)
		children.next(t)
		if wr, err := w.wait(as, "kids", switchyardv1.WaitMode_WAIT_MODE_ALL, childWait("c0", res.GetRunIds()[0])); err != nil || wr.GetResolved() {
			t.Fatalf("wait: %v (%v)", wr, err)
		}
		if _, err := a.runs.CancelRun(context.Background(), connect.NewRequest(&switchyardv1.CancelRunRequest{Id: parentID})); err != nil {
			t.Fatal(err)
		}
		parent := getRun(t, a, parentID)
		if p := taskByName(parent, "p"); parent.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_CANCELLED || p.GetStatus() != switchyardv1.TaskStatus_TASK_STATUS_CANCELLED ||
			p.GetWaits()[0].GetState() != switchyardv1.WaitState_WAIT_STATE_CANCELLED {
			t.Fatalf("cancelled parent %v, task %v, waits %v", parent.GetStatus(), p.GetStatus(), p.GetWaits())
		}
		for _, id := range res.GetRunIds() {
			if st := getRun(t, a, id).GetStatus(); st != switchyardv1.RunStatus_RUN_STATUS_CANCELLED {
				t.Fatalf("child %s is %v, want CANCELLED", id, st)
			}
		}
	})
}

// TestDurableSpawnThousand: one SpawnChildren starts 1,000 child runs at
// once; 1,001 is refused and starts none.
func TestDurableSpawnThousand(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		_, a := startEngineServer(t, eng)
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "parent", Tasks: []*switchyardv1.TaskSpec{{Name: "p", Action: "p.run"}}})
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "line", Tasks: []*switchyardv1.TaskSpec{{Name: "l", Action: "line.unserved"}}})
		got := newAssignments()
		w := startRawWorker(t, a, []string{"p.run"}, 1, func(_ *rawWorker, as *switchyardv1.TaskAssignment) { got.add(as) })
		parentID := runWorkflow(t, a, "parent", map[string]any{})
		as := got.next(t)
		specs := make([]*switchyardv1.ChildSpec, 1001)
		for i := range specs {
			specs[i] = &switchyardv1.ChildSpec{Workflow: "line", Input: mustStruct(map[string]any{"i": i})}
		}
		if _, err := w.spawn(as, "too-many", specs...); connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Fatalf("spawn of 1,001: %v, want invalid_argument", err)
		}
		res, err := w.spawn(as, "lines", specs[:1000]...)
		if err != nil || len(res.GetRunIds()) != 1000 {
			t.Fatalf("spawn of 1,000: %d runs (%v)", len(res.GetRunIds()), err)
		}
		n := 0
		for token := ""; ; {
			page, err := a.runs.ListRuns(context.Background(), connect.NewRequest(&switchyardv1.ListRunsRequest{ParentRunId: parentID, PageSize: 500, PageToken: token}))
			if err != nil {
				t.Fatal(err)
			}
			n += len(page.Msg.GetRuns())
			if token = page.Msg.GetNextPageToken(); token == "" {
				break
			}
		}
		if n != 1000 {
			t.Fatalf("ListRuns parent_run_id: %d children, want 1000", n)
		}
	})
}

// TestDurableChildOptions: a child takes its parent run's priority unless it
// names its own, and starts at its run_at (SCHEDULED until then); a priority
// out of 0–9 or a run_at more than a year ahead is invalid_argument and
// starts no child.
func TestDurableChildOptions(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		_, a := startEngineServer(t, eng)
		putParentAndChild(t, a)
		got := newAssignments()
		w := startRawWorker(t, a, []string{"p.run"}, 10, func(_ *rawWorker, as *switchyardv1.TaskAssignment) { got.add(as) })
		started, err := a.workflows.RunWorkflow(context.Background(), connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: "parent", Priority: 4}))
		if err != nil {
			t.Fatal(err)
		}
		parentID := started.Msg.GetRunId()
		as := got.next(t)
		later := time.Now().Add(time.Hour).Truncate(time.Microsecond)
		res, err := w.spawn(as, "opts", &switchyardv1.ChildSpec{Workflow: "child"},
			&switchyardv1.ChildSpec{Workflow: "child", Priority: proto.Int32(8), RunAt: timestamppb.New(later)})
		if err != nil {
			t.Fatalf("spawn: %v", err)
		}
		inherits, own := getRun(t, a, res.GetRunIds()[0]), getRun(t, a, res.GetRunIds()[1])
		if inherits.GetPriority() != 4 || inherits.GetStatus() == switchyardv1.RunStatus_RUN_STATUS_SCHEDULED {
			t.Errorf("child without options: priority %d, status %s; want the parent's 4, started", inherits.GetPriority(), inherits.GetStatus())
		}
		if own.GetPriority() != 8 || own.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SCHEDULED || !own.GetScheduledAt().AsTime().Equal(later) {
			t.Errorf("child with options: priority %d, status %s, scheduled at %v; want 8, SCHEDULED, %v", own.GetPriority(), own.GetStatus(), own.GetScheduledAt().AsTime(), later)
		}
		for name, bad := range map[string]*switchyardv1.ChildSpec{
			"priority 12":       {Workflow: "child", Priority: proto.Int32(12)},
			"run_at in 2 years": {Workflow: "child", RunAt: timestamppb.New(time.Now().Add(2 * 366 * 24 * time.Hour))},
		} {
			if _, err := w.spawn(as, "bad "+name, &switchyardv1.ChildSpec{Workflow: "child"}, bad); connect.CodeOf(err) != connect.CodeInvalidArgument {
				t.Errorf("spawn with %s: %v, want invalid_argument", name, err)
			}
		}
		listed, err := a.runs.ListRuns(context.Background(), connect.NewRequest(&switchyardv1.ListRunsRequest{ParentRunId: parentID}))
		if err != nil || len(listed.Msg.GetRuns()) != 2 {
			t.Fatalf("children: %d (%v), want the 2 of the valid spawn", len(listed.Msg.GetRuns()), err)
		}
	})
}
