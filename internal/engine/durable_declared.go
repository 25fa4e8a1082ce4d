package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// Declared waits: a workflow's task may declare wait_for (sleeps and events
// it waits for once its parents are done), skip_if and cancel_if (CEL over
// input, parents and wait, evaluated when it would be queued) and
// on_wait_timeout. When such a task becomes ready its wait's rows are stored
// pending and the task WAITING; the resolver arms them (under the keys'
// locks, looking back from when the task became ready), and once the wait
// resolves applies the task's declared outcome.

// taskDeclared is what a task declares, as its row stores it.
type taskDeclared struct {
	WaitFor       *WaitSpec `json:"wait_for,omitempty"`
	OnWaitTimeout string    `json:"on_wait_timeout,omitempty"`
	SkipIf        string    `json:"skip_if,omitempty"`
	CancelIf      string    `json:"cancel_if,omitempty"`
}

// declaredOf is the declared column of a task of spec ts ("" without any).
func declaredOf(ts TaskSpec) string {
	d := taskDeclared{WaitFor: ts.WaitFor, OnWaitTimeout: ts.OnWaitTimeout, SkipIf: ts.SkipIf, CancelIf: ts.CancelIf}
	if d == (taskDeclared{OnWaitTimeout: d.OnWaitTimeout}) {
		return ""
	}
	text, err := store.EncodeJSON(d)
	if err != nil {
		panic(fmt.Sprintf("encode declared task: %v", err)) // plain data always encodes
	}
	return text
}

// normalizeDeclared checks a task's declared wait and conditions; field
// names the task.
func (t *TaskSpec) normalizeDeclared(field string) error {
	if t.Action == "" && t.WaitFor == nil {
		return invalid(field+".action", "task_spec.action", "task %q: action is required unless the task declares wait_for", t.Name)
	}
	if t.WaitFor != nil {
		if err := checkWaitSpec(t.WaitFor, field+".wait_for", true); err != nil {
			return err
		}
	}
	for _, c := range []struct{ name, expr string }{{"skip_if", t.SkipIf}, {"cancel_if", t.CancelIf}} {
		if c.expr == "" {
			continue
		}
		if _, err := durableProgram(gateEnv, c.expr); err != nil {
			return invalid(field+"."+c.name, "task_spec."+c.name, "task %q: %s does not compile: %v", t.Name, c.name, err)
		}
	}
	return nil
}

func decodeDeclared(t *store.Task) (*taskDeclared, error) {
	d := new(taskDeclared)
	if err := json.Unmarshal([]byte(t.Declared), d); err != nil {
		return nil, fmt.Errorf("task %s: %w: %w", t.ID, store.ErrJSONColumn, err)
	}
	return d, nil
}

// declaredReady starts a ready task that declares something: its wait, or
// at once its conditions.
func (e *Engine) declaredReady(ctx context.Context, q store.Q, sig *signals, run *store.Run, tasks []*store.Task, t *store.Task, now time.Time) error {
	d, err := decodeDeclared(t)
	if err != nil {
		return err
	}
	if d.WaitFor == nil {
		return e.declaredGate(ctx, q, sig, run, tasks, t, d, nil, now)
	}
	rows, err := e.newWaitRows(ctx, q, run, t, declaredStep, *d.WaitFor, store.WaitPending, now)
	if err != nil {
		return err
	}
	if err := q.WaitInsertMany(ctx, rows); err != nil {
		return err
	}
	t.Status = store.TaskWaiting
	sig.add(signalWaits)
	sig.add(signalRun + run.ID)
	return q.TaskUpdate(ctx, t)
}

// declaredResolved applies a declared wait's outcome to its task, then moves
// the run on.
func (e *Engine) declaredResolved(ctx context.Context, q store.Q, sig *signals, run *store.Run, tasks []*store.Task, t *store.Task, res *WaitResult, now time.Time) error {
	d, err := decodeDeclared(t)
	if err != nil {
		return err
	}
	if err := e.declaredGate(ctx, q, sig, run, tasks, t, d, res, now); err != nil {
		return err
	}
	if run.Status != store.RunActive {
		return nil
	}
	return e.advance(ctx, q, sig, run, tasks, now)
}

// declaredGate decides what a task that would be queued does, by its
// declared conditions and its wait's result (nil without a wait): fail or
// skip on a timeout, cancel the run, skip, succeed (a gate without action)
// or be queued.
func (e *Engine) declaredGate(ctx context.Context, q store.Q, sig *signals, run *store.Run, tasks []*store.Task, t *store.Task, d *taskDeclared, res *WaitResult, now time.Time) error {
	wait := waitVar(res)
	if res != nil && res.TimedOut {
		switch d.OnWaitTimeout {
		case OnWaitTimeoutSkip:
			return e.skipTask(ctx, q, sig, t, now)
		case OnWaitTimeoutRun:
		default:
			return e.failDeclared(ctx, q, sig, run, tasks, t, fmt.Sprintf("task %s: its declared wait timed out", t.Name), now)
		}
	}
	vars := map[string]any{"input": run.Input.Map(), "parents": parentOutputs(tasks, t), "wait": wait}
	for _, c := range []struct{ name, expr string }{{"cancel_if", d.CancelIf}, {"skip_if", d.SkipIf}} {
		if c.expr == "" {
			continue
		}
		p, err := durableProgram(gateEnv, c.expr)
		if err == nil {
			var yes bool
			if yes, err = evalBool(p, vars, c.name); err == nil && !yes {
				continue
			}
		}
		if err != nil {
			return e.failDeclared(ctx, q, sig, run, tasks, t, fmt.Sprintf("task %s: %v", t.Name, err), now)
		}
		if c.name == "cancel_if" {
			return e.endRun(ctx, q, sig, run, tasks, store.RunCancelled, fmt.Sprintf("cancel_if of task %s is true", t.Name), now)
		}
		return e.skipTask(ctx, q, sig, t, now)
	}
	if t.Action == "" {
		out, err := objectOf("output", wait)
		if err != nil {
			return err
		}
		t.Status, t.Output, t.FinishedAt = store.TaskSucceeded, out, store.TimeOf(now)
		sig.record(taskEnded(t))
		return q.TaskUpdate(ctx, t)
	}
	e.queue(t, now)
	sig.add(signalTasks)
	sig.record(taskQueued(t))
	return q.TaskUpdate(ctx, t)
}

// skipTask marks a task SKIPPED; its children run as if it had succeeded.
func (e *Engine) skipTask(ctx context.Context, q store.Q, sig *signals, t *store.Task, now time.Time) error {
	t.Status, t.FinishedAt = store.TaskSkipped, store.TimeOf(now)
	sig.record(taskEnded(t))
	return q.TaskUpdate(ctx, t)
}

// failDeclared fails a task (without retry) and its run.
func (e *Engine) failDeclared(ctx context.Context, q store.Q, sig *signals, run *store.Run, tasks []*store.Task, t *store.Task, msg string, now time.Time) error {
	t.Status, t.Error, t.FinishedAt = store.TaskFailed, msg, store.TimeOf(now)
	if err := q.TaskUpdate(ctx, t); err != nil {
		return err
	}
	sig.record(taskEnded(t))
	return e.endRun(ctx, q, sig, run, tasks, store.RunFailed, msg, now)
}

// parentOutputs are the outputs of t's parents, by name.
func parentOutputs(tasks []*store.Task, t *store.Task) map[string]any {
	out := map[string]any{}
	for _, o := range tasks {
		for _, p := range t.Parents.V {
			if o.Name == p {
				out[p] = o.Output.Map()
			}
		}
	}
	return out
}

// waitVar is a wait's result as the `wait` variable (and a gate task's
// output): winner, timed_out and the conditions by name with their state,
// event and child.
func waitVar(res *WaitResult) map[string]any {
	if res == nil {
		return map[string]any{}
	}
	conds := map[string]any{}
	for _, c := range res.Conditions {
		m := map[string]any{"state": c.State}
		if c.Event != nil {
			m["event"] = map[string]any{"id": c.Event.ID, "key": c.Event.Key, "payload": c.Event.Payload, "scope": c.Event.Scope}
		}
		if c.Child != nil {
			m["child"] = map[string]any{"run_id": c.Child.RunID, "status": c.Child.Status, "error": c.Child.Error}
		}
		conds[c.Name] = m
	}
	// Through JSON, so that the values are the ones JSON gives CEL.
	text, err := json.Marshal(map[string]any{"winner": res.Winner, "timed_out": res.TimedOut, "conditions": conds})
	if err != nil {
		return map[string]any{}
	}
	var out map[string]any
	_ = json.Unmarshal(text, &out)
	return out
}

// startDeclared starts, once stored, the ready tasks of new active runs that
// declare a wait or conditions (activate left them pending).
func (e *Engine) startDeclared(ctx context.Context, q store.Q, sig *signals, plans []*plannedRun, inserted map[string]bool, now time.Time) error {
	for _, p := range plans {
		if !inserted[p.run.ID] || p.run.Status != store.RunActive {
			continue
		}
		for _, t := range readyTasks(p.tasks) {
			if t.Declared != "" {
				if err := e.advance(ctx, q, sig, p.run, p.tasks, now); err != nil {
					return err
				}
				break
			}
		}
	}
	return nil
}
