package sdk

import (
	"context"
	"errors"
	"time"
)

// Task is one attempt of a task, as given to a [TaskFunc].
type Task struct {
	// ID is the task's id.
	ID string
	// Attempt counts from 1.
	Attempt int
	// RunID is the run's id.
	RunID string
	// Workflow is the workflow's name.
	Workflow string
	// Name is the task's name in the workflow.
	Name string
	// Action is the action the task runs.
	Action string
	// Input is the run's input: the triggering event's payload or the manual
	// input.
	Input map[string]any
	// ParentOutputs are the outputs of the task's parents, by parent name.
	ParentOutputs map[string]map[string]any
	// Deadline is when the attempt times out and may be given to another
	// worker; the context given to the TaskFunc ends then. Zero means none.
	Deadline time.Time
	// Wait is how the task's declared wait (its spec's wait_for) ended; nil
	// for a task that declares none.
	Wait *WaitResult

	// durable is the attempt's steps and link to the server, for the durable
	// calls (durable.go); nil for a Task that no worker assigned.
	durable *durable
}

// TaskFunc runs one attempt of a task. Its output (nil means {}) is passed to the
// task's children. An error fails the attempt: the server retries it while the
// task's retry policy allows, unless the error is wrapped with [Permanent]. A
// panic is recovered and reported as a retryable failure.
//
// ctx ends when the server cancels the attempt (the run was cancelled, say),
// when the attempt's deadline passes, or when the worker gives up waiting for it
// during shutdown; context.Cause(ctx) says which.
type TaskFunc func(ctx context.Context, t *Task) (output map[string]any, err error)

// Permanent marks err as not worth retrying: the task fails at once whatever
// its retry policy says. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked with
// [Permanent].
func IsPermanent(err error) bool {
	var pe *permanentError
	return errors.As(err, &pe)
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }
