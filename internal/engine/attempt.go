package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// cancelSignal tells t's worker to stop its attempt, saying why (cut to fit a
// Postgres notification).
func cancelSignal(t *store.Task, reason string) string {
	if len(reason) > 1024 {
		reason = reason[:1024]
	}
	reason = strings.ReplaceAll(reason, "\n", " ") // newlines separate signals
	return signalCancel + t.WorkerID + ":" + t.ID + ":" + strconv.Itoa(int(t.Attempt)) + ":" + reason
}

// attemptReport is what ends an attempt: a worker's report, or the engine
// finding the attempt lost (timed out, worker gone).
type attemptReport struct {
	TaskID    string
	Attempt   int32
	WorkerID  string
	Success   bool
	Output    store.Object // on success
	Error     string       // on failure
	Retryable bool
	// Immediate requeues a retry without backoff (the attempt was lost, not failed).
	Immediate bool
	// Unacknowledged applies the report only while the worker has not
	// acknowledged the attempt.
	Unacknowledged bool
}

// applyReport applies a report to its task, fenced by (task, attempt, worker),
// in the caller's transaction, which locked the task's run (see
// [lockedRuns]): a report for an attempt that is no longer the worker's
// changes nothing and is KindFailedPrecondition; repeating an accepted report
// is accepted again; an unknown task is store.ErrNotFound. It reports whether
// a failed task will be retried. Its other errors are the database's.
func (e *Engine) applyReport(ctx context.Context, q store.Q, sig *signals, locked *lockedRuns, tenantID string, r attemptReport) (willRetry bool, err error) {
	run, tasks, t := locked.task(tenantID, r.TaskID)
	if t == nil {
		return false, store.ErrNotFound
	}
	if t.Status != store.TaskRunning || t.Attempt != r.Attempt || t.WorkerID != r.WorkerID || (r.Unacknowledged && !t.AckedAt.IsZero()) {
		err := repeatedOrStale(t, r, &willRetry)
		return willRetry, err
	}
	now := e.now()
	t.LeaseExpiresAt = store.Time{}
	if r.Success {
		t.Status, t.Output, t.FinishedAt, t.Error = store.TaskSucceeded, r.Output, store.TimeOf(now), ""
		if err := q.TaskUpdate(ctx, t); err != nil {
			return false, err
		}
		sig.record(taskEnded(t))
		if err := e.advance(ctx, q, sig, run, tasks, now); err != nil {
			return false, err
		}
	} else {
		if r.Immediate {
			// A lost attempt's worker may still be running it: tell it to stop.
			sig.add(cancelSignal(t, r.Error))
		}
		t.Error = r.Error
		if r.Retryable && t.Attempt-t.Resumes < t.MaxAttempts {
			willRetry = true
			sig.record(taskRetried(t, r.Error))
			if r.Immediate {
				e.queue(t, now)
			} else {
				e.queue(t, now.Add(backoff(t)))
				sig.add(atSignal(signalLater, t.AvailableAt.Time))
			}
			if err := q.TaskUpdate(ctx, t); err != nil {
				return false, err
			}
			sig.add(signalTasks)
		} else {
			t.Status, t.FinishedAt = store.TaskFailed, store.TimeOf(now)
			if err := q.TaskUpdate(ctx, t); err != nil {
				return false, err
			}
			sig.record(taskEnded(t))
			msg := fmt.Sprintf("task %s failed after %d attempt(s): %s", t.Name, t.Attempt, r.Error)
			if err := e.endRun(ctx, q, sig, run, tasks, store.RunFailed, msg, now); err != nil {
				return false, err
			}
		}
	}
	sig.add(signalRun + run.ID)
	sig.add(signalTasks) // a slot was freed
	return willRetry, nil
}

// repeatedOrStale answers a report whose attempt is no longer running: nil for a
// repeat of the report that ended it, KindFailedPrecondition otherwise.
func repeatedOrStale(t *store.Task, r attemptReport, willRetry *bool) error {
	if t.Attempt == r.Attempt && t.WorkerID == r.WorkerID {
		if r.Success && t.Status == store.TaskSucceeded && t.Output.Text() == r.Output.Text() {
			return nil
		}
		if !r.Success && t.Error == r.Error && (t.Status == store.TaskQueued || t.Status == store.TaskFailed) {
			*willRetry = t.Status == store.TaskQueued
			return nil
		}
	}
	return &Error{
		Kind: KindFailedPrecondition,
		Message: fmt.Sprintf("attempt %d of task %s is no longer held by worker %s: the task is %s at attempt %d (worker %s)",
			r.Attempt, t.ID, r.WorkerID, t.Status, t.Attempt, t.WorkerID),
		Details: map[string]string{"task_status": t.Status, "attempt": strconv.Itoa(int(t.Attempt))},
	}
}

// advance queues the pending tasks whose parents all succeeded (a task that
// declares a wait or conditions starts by them), and ends the run when every
// task succeeded or was skipped.
func (e *Engine) advance(ctx context.Context, q store.Q, sig *signals, run *store.Run, tasks []*store.Task, now time.Time) error {
	for ready := readyTasks(tasks); len(ready) > 0 && run.Status == store.RunActive; ready = readyTasks(tasks) {
		for _, t := range ready {
			if t.Declared != "" {
				if err := e.declaredReady(ctx, q, sig, run, tasks, t, now); err != nil {
					return err
				}
				continue
			}
			e.queue(t, now)
			if err := q.TaskUpdate(ctx, t); err != nil {
				return err
			}
			sig.add(signalTasks)
			sig.record(taskQueued(t))
		}
	}
	for _, t := range tasks {
		if t.Status != store.TaskSucceeded && t.Status != store.TaskSkipped {
			return syncRunWaiting(ctx, q, run, tasks)
		}
	}
	if run.Status != store.RunActive {
		return nil
	}
	if err := e.durableRunEnding(ctx, q, sig, run, tasks, store.RunSucceeded, now); err != nil {
		return err
	}
	at := store.TimeOf(now)
	run.Status, run.FinishedAt, run.UpdatedAt = store.RunSucceeded, at, at
	if run.ConcurrencyKey != "" {
		sig.add(signalAdmit)
	}
	sig.record(runFinished(run))
	return q.RunSetStatus(ctx, run)
}

// endRun ends an active run as failed or cancelled: tasks that have not ended are
// cancelled, and the workers running them are told to stop.
func (e *Engine) endRun(ctx context.Context, q store.Q, sig *signals, run *store.Run, tasks []*store.Task, status, msg string, now time.Time) error {
	at := store.TimeOf(now)
	if err := e.durableRunEnding(ctx, q, sig, run, tasks, status, now); err != nil {
		return err
	}
	for _, t := range tasks {
		switch t.Status {
		case store.TaskRunning:
			sig.add(cancelSignal(t, msg))
			sig.add(signalTasks) // its slot frees up
		case store.TaskPending, store.TaskQueued, store.TaskWaiting:
		default:
			continue
		}
		t.Status, t.FinishedAt, t.LeaseExpiresAt = store.TaskCancelled, at, store.Time{}
		if err := q.TaskUpdate(ctx, t); err != nil {
			return err
		}
	}
	run.Status, run.Error, run.FinishedAt, run.UpdatedAt = status, msg, at, at
	sig.add(signalRun + run.ID)
	if run.ConcurrencyKey != "" {
		sig.add(signalAdmit)
	}
	sig.record(runFinished(run))
	return q.RunSetStatus(ctx, run)
}

// backoff is the delay before the next attempt of t: exponential from the
// initial backoff, capped, with full jitter over the upper half.
func backoff(t *store.Task) time.Duration {
	d := time.Duration(t.InitialBackoffMS) * time.Millisecond
	maxD := time.Duration(t.MaxBackoffMS) * time.Millisecond
	for i := int32(1); i < t.Attempt && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}
