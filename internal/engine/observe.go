package engine

import (
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// Observer is told what the engine did, for metrics. Each call comes after the
// change committed, outside any lock, and must return quickly. Label values are
// bounded: workflow names, actions and statuses, never ids.
type Observer interface {
	// EventsPushed: events stored by a push (and deduplicated: not stored
	// because their idempotency key was used before).
	EventsPushed(stored, deduplicated int)
	// RunStarted: a run was created (whatever its first status).
	RunStarted(workflow, trigger string)
	// RunFinished: a run ended as SUCCEEDED, FAILED or CANCELLED.
	RunFinished(workflow, status string)
	// TaskQueued: a task became ready for a worker (retries included).
	TaskQueued(action string)
	// TaskStarted: an attempt was assigned to a worker.
	TaskStarted(s TaskStart)
	// TaskRetried: a failed or lost attempt was queued again.
	TaskRetried(action string)
	// TaskTimedOut: an attempt ran past its timeout.
	TaskTimedOut(action string)
}

// TaskStart describes an attempt at its assignment.
type TaskStart struct {
	Action  string
	Attempt int32
	// Waited is how long the task was ready before a worker took it.
	Waited time.Duration
	// SinceCreated is how long ago its run was created: for the first attempt
	// of a task without parents, the latency from trigger to start.
	SinceCreated time.Duration
	// Root says the task has no parents.
	Root bool
}

// noObserver is the observer of an engine configured without one.
type noObserver struct{}

func (noObserver) EventsPushed(int, int)      {}
func (noObserver) RunStarted(string, string)  {}
func (noObserver) RunFinished(string, string) {}
func (noObserver) TaskQueued(string)          {}
func (noObserver) TaskStarted(TaskStart)      {}
func (noObserver) TaskRetried(string)         {}
func (noObserver) TaskTimedOut(string)        {}

// change is a state change, told to the observer and logged at debug level
// once its write committed.
type change struct {
	observe func(Observer)
	msg     string
	attrs   []any
}

func taskStarted(t *store.Task, now time.Time) change {
	s := TaskStart{
		Action:       t.Action,
		Attempt:      t.Attempt,
		Waited:       max(0, now.Sub(t.AvailableAt.Time)),
		SinceCreated: max(0, now.Sub(t.CreatedAt.Time)),
		Root:         len(t.Parents.V) == 0,
	}
	return change{
		observe: func(o Observer) { o.TaskStarted(s) },
		msg:     "task started",
		attrs:   []any{"task_id", t.ID, "run_id", t.RunID, "action", t.Action, "attempt", t.Attempt, "worker_id", t.WorkerID},
	}
}

func taskQueued(t *store.Task) change {
	action := t.Action
	return change{
		observe: func(o Observer) { o.TaskQueued(action) },
		msg:     "task queued",
		attrs:   []any{"task_id", t.ID, "run_id", t.RunID, "action", t.Action, "available_at", t.AvailableAt.Time},
	}
}

func taskRetried(t *store.Task, reason string) change {
	action := t.Action
	return change{
		observe: func(o Observer) { o.TaskRetried(action); o.TaskQueued(action) },
		msg:     "task queued for a retry",
		attrs:   []any{"task_id", t.ID, "run_id", t.RunID, "action", t.Action, "attempt", t.Attempt, "available_at", t.AvailableAt.Time, "error", reason},
	}
}

func taskEnded(t *store.Task) change {
	return change{msg: "task " + strings.ToLower(t.Status), attrs: []any{"task_id", t.ID, "run_id", t.RunID, "action", t.Action, "attempt", t.Attempt, "worker_id", t.WorkerID}}
}

func runCreated(r *store.Run) change {
	workflow, trigger := r.WorkflowName, r.TriggerKind
	return change{
		observe: func(o Observer) { o.RunStarted(workflow, trigger) },
		msg:     "run created",
		attrs:   []any{"run_id", r.ID, "workflow", r.WorkflowName, "trigger", r.TriggerKind, "status", r.Status, "event_id", r.EventID},
	}
}

func runFinished(r *store.Run) change {
	workflow, status := r.WorkflowName, r.Status
	return change{
		observe: func(o Observer) { o.RunFinished(workflow, status) },
		msg:     "run " + strings.ToLower(status),
		attrs:   []any{"run_id", r.ID, "workflow", r.WorkflowName, "error", r.Error},
	}
}
