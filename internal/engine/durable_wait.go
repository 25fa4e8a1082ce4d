package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// maxLookbackEvents bounds the events a wait's lookback evaluates.
const maxLookbackEvents = 1000

// WaitParams is a running attempt's Wait call.
type WaitParams struct {
	WorkerID string
	TaskID   string
	Attempt  int32
	Name     string // the wait's step name
	Spec     WaitSpec
}

// Wait starts the named wait of a running attempt, fenced by (task, attempt,
// worker). A wait recorded before, or one resolved at once (an event within
// its lookback, a sleep already over, a child run that ended), answers
// resolved with its result; otherwise the task becomes WAITING, its worker's
// slot is freed, and the attempt has ended. Repeating the call that
// suspended the task answers not resolved again.
func (e *Engine) Wait(ctx context.Context, tenantID string, p WaitParams) (resolved bool, result *WaitResult, err error) {
	if err := checkWaitSpec(&p.Spec, "wait", false); err != nil {
		return false, nil, err
	}
	err = e.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
		resolved, result = false, nil
		// The keys' locks come before every other lock (see store.Q.WaitKeysLock).
		if err := q.WaitKeysLock(ctx, specLockKeys(tenantID, p.Spec), false); err != nil {
			return err
		}
		run, tasks, t, err := lockTask(ctx, q, tenantID, p.TaskID)
		if err != nil {
			return err
		}
		now := e.now()
		// A repeat of the call that suspended the task (its answer lost) finds
		// the task waiting, or resumed since: queued again, or at a later
		// attempt.
		resumed := t.Attempt > p.Attempt || (t.Attempt == p.Attempt && t.WorkerID == p.WorkerID &&
			(t.Status == store.TaskWaiting || t.Status == store.TaskQueued))
		if resumed {
			rows, err := q.WaitListByTask(ctx, t.ID)
			if err != nil {
				return err
			}
			if slices.ContainsFunc(rows, func(w *store.Wait) bool { return w.Step == p.Name }) {
				return nil // a repeat of the call that suspended the task
			}
		}
		if err := fenceAttempt(t, p.Attempt, p.WorkerID); err != nil {
			return err
		}
		if result, err = recordedWait(ctx, q, t, p.Name); err != nil || result != nil {
			resolved = result != nil
			return err
		}
		rows, err := e.newWaitRows(ctx, q, run, t, p.Name, p.Spec, store.WaitOpen, now)
		if err != nil {
			return err
		}
		if err := e.armWaits(ctx, q, run, rows, now); err != nil {
			return err
		}
		if done, winner, _ := decideWait(rows); done {
			cancelLosers(rows, winner, now)
			for _, w := range rows {
				w.Handled = true
			}
			if err := q.WaitInsertMany(ctx, rows); err != nil {
				return err
			}
			if result, err = e.recordWaitResult(ctx, q, t, p.Name, rows, now); err != nil {
				return err
			}
			resolved = true
			return nil
		}
		if err := q.WaitInsertMany(ctx, rows); err != nil {
			return err
		}
		signalDeadline(sig, rows)
		t.Status, t.LeaseExpiresAt = store.TaskWaiting, store.Time{}
		if err := q.TaskUpdate(ctx, t); err != nil {
			return err
		}
		sig.add(signalTasks) // its worker's slot is free
		sig.add(signalRun + run.ID)
		sig.record(change{msg: "task waiting", attrs: []any{"run_id", run.ID, "task_id", t.ID, "step", p.Name}})
		return syncRunWaiting(ctx, q, run, tasks)
	})
	if err = answer(err, &Error{Kind: KindNotFound, Message: fmt.Sprintf("task %s not found", p.TaskID)}, "wait %s of task %s", p.Name, p.TaskID); err != nil {
		return false, nil, err
	}
	return resolved, result, nil
}

// lockTask locks the run of a task (run, then tasks: the order of every
// change to a run) and returns it, its tasks and the task.
func lockTask(ctx context.Context, q store.Q, tenantID, taskID string) (*store.Run, []*store.Task, *store.Task, error) {
	run, err := q.RunGetForUpdateByTask(ctx, tenantID, taskID)
	if err != nil {
		return nil, nil, nil, err
	}
	tasks, err := q.TaskListByRun(ctx, run.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, t := range tasks {
		if t.ID == taskID {
			return run, tasks, t, nil
		}
	}
	return nil, nil, nil, store.ErrNotFound
}

// fenceAttempt refuses a call for an attempt that is no longer running on
// the worker.
func fenceAttempt(t *store.Task, attempt int32, workerID string) error {
	if t.Status == store.TaskRunning && t.Attempt == attempt && t.WorkerID == workerID {
		return nil
	}
	return &Error{
		Kind: KindFailedPrecondition,
		Message: fmt.Sprintf("attempt %d of task %s is not running on worker %s: the task is %s at attempt %d (worker %s)",
			attempt, t.ID, workerID, t.Status, t.Attempt, t.WorkerID),
		Details: map[string]string{"task_status": t.Status, "attempt": strconv.Itoa(int(t.Attempt))},
	}
}

// specLockKeys are the lock keys of a wait's event conditions.
func specLockKeys(tenantID string, spec WaitSpec) []store.WaitLockKey {
	var keys []store.WaitLockKey
	for _, c := range spec.Conditions {
		if c.Event != nil {
			keys = append(keys, lockKeyOf(tenantID, c.Event.Key))
		}
	}
	return keys
}

// lockKeyOf is the lock key of a wait on an event key or pattern.
func lockKeyOf(tenantID, key string) store.WaitLockKey {
	if strings.Contains(key, "*") {
		return store.WaitLockKey{TenantID: tenantID, Key: store.WaitPatternKey}
	}
	return store.WaitLockKey{TenantID: tenantID, Key: key}
}

// newWaitRows builds the rows of a wait of task t, in state (open, or
// pending for a declared wait armed later). Child conditions must name child
// runs of the task.
func (e *Engine) newWaitRows(ctx context.Context, q store.Q, run *store.Run, t *store.Task, step string, spec WaitSpec, state string, now time.Time) ([]*store.Wait, error) {
	rows := make([]*store.Wait, len(spec.Conditions))
	input := run.Input.Map()
	for i, c := range spec.Conditions {
		w := &store.Wait{ID: newID(), TenantID: run.TenantID, RunID: run.ID, TaskID: t.ID, Step: step, Cond: c.Name, Seq: int32(i),
			Mode: cmp.Or(spec.Mode, WaitAll), State: state, CreatedAt: store.TimeOf(now)}
		switch {
		case c.Sleep != nil:
			w.Kind = store.WaitKindSleep
			w.Deadline = store.TimeOf(now.Add(c.Sleep.Duration))
			if !c.Sleep.Until.IsZero() {
				w.Deadline = store.TimeOf(c.Sleep.Until)
			}
			if w.Deadline.IsZero() || !w.Deadline.After(now) {
				w.Deadline = store.TimeOf(now) // over already; 0 would mean never
			}
		case c.Event != nil:
			w.Kind, w.Key, w.Expression = store.WaitKindEvent, c.Event.Key, c.Event.Condition
			w.IsPattern = strings.Contains(c.Event.Key, "*")
			w.Match = waitMatch(c.Event.Condition, input)
			if c.Event.Timeout > 0 {
				w.Deadline = store.TimeOf(now.Add(c.Event.Timeout))
			}
			if c.Event.Lookback > 0 || state == store.WaitPending {
				// A declared wait looks back from when its task became ready,
				// since its rows are armed later.
				w.LookbackFrom = store.TimeOf(now.Add(-c.Event.Lookback))
			}
		case c.Child != nil:
			child, err := q.RunGet(ctx, run.TenantID, c.Child.RunID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			if child == nil || child.ParentTaskID != t.ID {
				return nil, invalid(fmt.Sprintf("wait.conditions[%d].child.run_id", i), "wait.child_run", "run %s is not a child run of task %s", c.Child.RunID, t.ID)
			}
			w.Kind, w.ChildRunID = store.WaitKindChild, c.Child.RunID
		}
		rows[i] = w
	}
	return rows, nil
}

// armWaits resolves, in memory, the open or pending rows of a new wait that
// are resolved already: an event within the lookback (the newest matching),
// a sleep or timeout already past, a child run that ended. The caller holds
// the locks of the rows' keys, so every event stored before is seen here
// and every later one sees the rows. Pending rows become open.
func (e *Engine) armWaits(ctx context.Context, q store.Q, run *store.Run, rows []*store.Wait, now time.Time) error {
	input := run.Input.Map()
	for _, w := range rows {
		if w.State != store.WaitOpen && w.State != store.WaitPending {
			continue
		}
		w.State = store.WaitOpen
		switch w.Kind {
		case store.WaitKindEvent:
			if !w.LookbackFrom.IsZero() {
				ev, err := lookBack(ctx, q, w, input)
				if err != nil {
					return err
				}
				if ev != nil {
					w.State, w.EventID, w.ResolvedAt = store.WaitSatisfied, ev.ID, store.TimeOf(now)
					continue
				}
			}
			if !w.Deadline.IsZero() && !w.Deadline.After(now) {
				w.State, w.ResolvedAt = store.WaitTimedOut, store.TimeOf(now)
			}
		case store.WaitKindSleep:
			if !w.Deadline.After(now) {
				w.State, w.ResolvedAt = store.WaitSatisfied, store.TimeOf(now)
			}
		case store.WaitKindChild:
			// Locked (parent run, then child: the order of a cancel
			// cascade): a child ending meanwhile either committed before
			// (its end is read here) or waits and then sees the rows.
			child, err := q.RunGetForUpdate(ctx, w.TenantID, w.ChildRunID)
			if err != nil {
				return err
			}
			if runEnded(child.Status) {
				w.State, w.ResolvedAt = store.WaitSatisfied, store.TimeOf(now)
			}
		}
	}
	return nil
}

// lookBack returns the newest event stored since the wait's lookback start,
// and before its deadline, that satisfies it, or nil.
func lookBack(ctx context.Context, q store.Q, w *store.Wait, input map[string]any) (*store.Event, error) {
	key := w.Key
	if w.IsPattern {
		key = ""
	}
	events, err := q.EventListSince(ctx, w.TenantID, key, w.LookbackFrom.Time, maxLookbackEvents)
	if err != nil {
		return nil, err
	}
	for _, ev := range events {
		if !keyMatches(w.Key, ev.Key) {
			continue
		}
		if !w.Deadline.IsZero() && !w.Deadline.After(ev.CreatedAt.Time) {
			continue // stored at or past the deadline (a pending row armed late): too late for the wait
		}
		if ok, err := conditionHolds(w.Expression, ev, input); err == nil && ok {
			return ev, nil
		}
	}
	return nil, nil
}

// decideWait says whether a wait (its rows) is resolved: mode ANY when one
// row is satisfied (the winner: the first resolved, then the first in the
// spec) or none is open; ALL when none is open. timedOut: no row satisfied.
func decideWait(rows []*store.Wait) (done bool, winner *store.Wait, timedOut bool) {
	open := false
	for _, w := range rows {
		switch w.State {
		case store.WaitOpen, store.WaitPending:
			open = true
		case store.WaitSatisfied:
			if winner == nil || w.ResolvedAt.Before(winner.ResolvedAt.Time) || (w.ResolvedAt.Equal(winner.ResolvedAt.Time) && w.Seq < winner.Seq) {
				winner = w
			}
		}
	}
	if len(rows) > 0 && rows[0].Mode == WaitAny && winner != nil {
		return true, winner, false
	}
	if open {
		return false, nil, false
	}
	if len(rows) > 0 && rows[0].Mode != WaitAny {
		// ALL: no winner to name.
		return true, nil, winner == nil
	}
	return true, nil, true
}

// cancelLosers cancels, in memory, the open rows of a wait that winner
// resolved (mode ANY).
func cancelLosers(rows []*store.Wait, winner *store.Wait, now time.Time) {
	if winner == nil {
		return
	}
	for _, w := range rows {
		if w.State == store.WaitOpen || w.State == store.WaitPending {
			w.State, w.ResolvedAt = store.WaitCancelled, store.TimeOf(now)
		}
	}
}

// signalDeadline wakes the resolvers at the earliest deadline of rows.
func signalDeadline(sig *signals, rows []*store.Wait) {
	var first time.Time
	for _, w := range rows {
		if w.State == store.WaitOpen && !w.Deadline.IsZero() && (first.IsZero() || w.Deadline.Before(first)) {
			first = w.Deadline.Time
		}
	}
	if !first.IsZero() {
		sig.add(atSignal(signalWaitAt, first))
	}
}

// waitResult is how a decided wait (its rows) ended.
func waitResult(ctx context.Context, q store.Q, rows []*store.Wait) (*WaitResult, error) {
	var ids []string
	for _, w := range rows {
		if w.EventID != "" {
			ids = append(ids, w.EventID)
		}
	}
	events := map[string]*store.Event{}
	if len(ids) > 0 {
		var err error
		if events, err = q.EventGetMany(ctx, rows[0].TenantID, ids); err != nil {
			return nil, err
		}
	}
	return waitResultWith(ctx, q, rows, events)
}

// recordWaitResult records a decided wait's result as the task's WAIT step
// and returns it.
func (e *Engine) recordWaitResult(ctx context.Context, q store.Q, t *store.Task, step string, rows []*store.Wait, now time.Time) (*WaitResult, error) {
	res, err := waitResult(ctx, q, rows)
	if err != nil {
		return nil, err
	}
	text, err := json.Marshal(res)
	if err != nil {
		return nil, fmt.Errorf("encode wait result: %w", err)
	}
	if _, _, err := q.StepInsert(ctx, &store.Step{TenantID: t.TenantID, TaskID: t.ID, Name: step, Kind: store.StepWait,
		WaitResult: string(text), CreatedAt: store.TimeOf(now)}); err != nil {
		return nil, err
	}
	return res, nil
}

// syncRunWaiting records whether the run now waits on durable waits only:
// active, no task queued or running, a task WAITING.
func syncRunWaiting(ctx context.Context, q store.Q, run *store.Run, tasks []*store.Task) error {
	want := run.Status == store.RunActive &&
		slices.ContainsFunc(tasks, func(t *store.Task) bool { return t.Status == store.TaskWaiting }) &&
		!slices.ContainsFunc(tasks, func(t *store.Task) bool { return t.Status == store.TaskQueued || t.Status == store.TaskRunning })
	if want == run.Waiting {
		return nil
	}
	run.Waiting = want
	return q.RunSetWaiting(ctx, run.ID, want)
}

// recordedWait returns the result of the wait that task t recorded as step
// name, nil when it recorded no such step.
func recordedWait(ctx context.Context, q store.Q, t *store.Task, name string) (*WaitResult, error) {
	step, err := q.StepGet(ctx, t.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if step.Kind != store.StepWait {
		return nil, invalid("name", "step.kind", "step %q of task %s was recorded by %s, not by a wait", name, t.ID, step.Kind)
	}
	s, err := stepFromRow(step)
	if err != nil {
		return nil, err
	}
	return s.Wait, nil
}
