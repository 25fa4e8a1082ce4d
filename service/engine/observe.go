package engine

import (
	"time"

	"github.com/switchyard/switchyard/service/store"
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

func taskStarted(t *store.Task, now int64) func(Observer) {
	s := TaskStart{
		Action:       t.Action,
		Attempt:      t.Attempt,
		Waited:       time.Duration(max(0, now-t.AvailableAt)) * time.Microsecond,
		SinceCreated: time.Duration(max(0, now-t.CreatedAt)) * time.Microsecond,
		Root:         t.Parents == "[]" || t.Parents == "",
	}
	return func(o Observer) { o.TaskStarted(s) }
}

func taskQueued(t *store.Task) func(Observer) {
	action := t.Action
	return func(o Observer) { o.TaskQueued(action) }
}

func runFinished(r *store.Run) func(Observer) {
	workflow, status := r.WorkflowName, r.Status
	return func(o Observer) { o.RunFinished(workflow, status) }
}
