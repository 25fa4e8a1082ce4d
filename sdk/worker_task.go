package sdk

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// Causes of a task context's end, as context.Cause returns them.
var (
	// ErrTaskCancelled is the cause when the server cancelled the attempt (the
	// run was cancelled, say); the cause wraps it with the server's reason.
	ErrTaskCancelled = errors.New("cancelled by the server")
	// ErrTaskDeadline is the cause when the attempt's deadline passed; the
	// server may give the task to another worker.
	ErrTaskDeadline = errors.New("attempt deadline passed")
	// ErrShuttingDown is the cause when the worker, shutting down, stopped
	// waiting for the attempt; it reports the attempt as a retryable failure
	// with this error's text.
	ErrShuttingDown = errors.New("worker shutting down")
)

// shutdownGrace is how long Run waits, after cancelling the attempts left at
// shutdown, for their TaskFuncs to return.
const shutdownGrace = 5 * time.Second

// maxErrorChars is the longest error FailTask accepts.
const maxErrorChars = 16384

// attemptKey names one attempt.
type attemptKey struct {
	taskID  string
	attempt int32
}

// attempt is an assigned attempt until its result is handed to the pending
// reports.
type attempt struct {
	key      attemptKey
	workerID string
	task     *Task
	fn       TaskFunc
	ctx      context.Context
	cancel   context.CancelCauseFunc
	span     trace.Span // the attempt's, in ctx, until its report is settled
	// reported is set by whoever hands the result to the pending reports,
	// or suspends the attempt, so that there is one report or none.
	reported atomic.Bool
	// release frees the attempt's slot once it holds one; it may be called
	// more than once.
	release func()
}

// start runs an assignment in its own goroutine. A repeated assignment of an
// attempt that runs here, or whose report a server acknowledged, is ignored;
// one of an attempt whose report is pending has that report sent at once.
func (w *Worker) start(workerID string, a *switchyardv1.TaskAssignment) {
	key := attemptKey{taskID: a.GetTaskId(), attempt: a.GetAttempt()}
	log := w.log.With("worker_id", workerID, "task_id", key.taskID, "attempt", key.attempt,
		"run_id", a.GetRunId(), "action", a.GetAction())
	fn := w.handler(a.GetAction())
	task := &Task{
		ID:            a.GetTaskId(),
		Attempt:       int(a.GetAttempt()),
		RunID:         a.GetRunId(),
		Workflow:      a.GetWorkflow(),
		Name:          a.GetTaskName(),
		Action:        a.GetAction(),
		Input:         fromStruct(a.GetInput()),
		ParentOutputs: make(map[string]map[string]any, len(a.GetParentOutputs())),
	}
	for name, out := range a.GetParentOutputs() {
		task.ParentOutputs[name] = fromStruct(out)
	}
	if a.GetWaitResult() != nil {
		task.Wait = newWaitResult(a.GetWaitResult())
	}
	task.durable = newDurable(w.client, workerID, a)

	w.tasksMu.Lock()
	defer w.tasksMu.Unlock()
	if _, ok := w.attempts[key]; ok {
		log.Debug("ignoring a repeated assignment")
		return
	}
	if r := w.pending[key]; r != nil {
		log.Info("repeated assignment of an attempt whose report is pending: sending the report now")
		r.wake()
		return
	}
	if w.settled.has(key) {
		log.Debug("ignoring a repeated assignment of an attempt already reported")
		return
	}
	ctx, span := startTaskSpan(w.taskCtx, w.client.tracer, workerID, a)
	ctx, cancel := context.WithCancelCause(ctx)
	stopDeadline := context.CancelFunc(func() {})
	if a.GetDeadline() != nil {
		task.Deadline = a.GetDeadline().AsTime()
		ctx, stopDeadline = context.WithDeadlineCause(ctx, task.Deadline, ErrTaskDeadline)
	}
	at := &attempt{
		key:      key,
		workerID: workerID,
		task:     task,
		fn:       fn,
		ctx:      ctx,
		span:     span,
		cancel: func(cause error) {
			cancel(cause)
			stopDeadline()
		},
		release: func() {},
	}
	task.durable.suspend = func() { w.suspend(at) }
	w.attempts[key] = at
	w.tasks.Add(1)
	log.Debug("task assigned", "task", task.Name, "deadline", task.Deadline)
	go w.execute(at)
}

// cancelAttempt ends the context of the attempt the server cancelled.
func (w *Worker) cancelAttempt(c *switchyardv1.TaskCancellation) {
	w.tasksMu.Lock()
	at := w.attempts[attemptKey{taskID: c.GetTaskId(), attempt: c.GetAttempt()}]
	w.tasksMu.Unlock()
	if at == nil {
		return
	}
	w.log.Info("task cancelled by the server", "worker_id", at.workerID, "task_id", c.GetTaskId(),
		"attempt", c.GetAttempt(), "reason", c.GetReason())
	at.cancel(fmt.Errorf("%w: %s", ErrTaskCancelled, c.GetReason()))
}

// execute waits for a free slot, runs the attempt and hands its result to the
// pending reports. The slot is free again as soon as the result is handed
// over, whether or not a server has it yet: the worker goes on taking work
// while the report is sent.
func (w *Worker) execute(at *attempt) {
	defer w.tasks.Done()
	defer at.cancel(nil)
	if at.fn == nil {
		// Another worker may handle the action: leave the task to it.
		w.finish(at, nil, fmt.Errorf("worker has no handler for action %q", at.task.Action))
		return
	}
	select {
	case w.slots <- struct{}{}:
	case <-at.ctx.Done():
		w.finish(at, nil, context.Cause(at.ctx))
		return
	}
	at.release = sync.OnceFunc(func() { <-w.slots })
	start := time.Now()
	out, err := w.call(at)
	w.log.Debug("task returned", "task_id", at.key.taskID, "attempt", at.key.attempt,
		"duration", time.Since(start), "error", err)
	w.finish(at, out, err)
	at.release()
}

// suspend ends an attempt whose wait the server holds (the task is WAITING):
// it sends no report for it whatever its TaskFunc returns, ends its context
// with [ErrSuspended] and its span, and frees its slot at once. An attempt
// whose result was handed over already (the worker is shutting down) is left
// as it is.
func (w *Worker) suspend(at *attempt) {
	if !at.reported.CompareAndSwap(false, true) {
		return
	}
	w.tasksMu.Lock()
	delete(w.attempts, at.key)
	w.settled.add(at.key)
	w.tasksMu.Unlock()
	at.cancel(ErrSuspended)
	at.release()
	at.span.SetAttributes(attribute.Bool("switchyard.suspended", true))
	endTaskSpan(at.span, nil)
	w.log.Info("task suspended: it waits", "worker_id", at.workerID, "task_id", at.key.taskID,
		"attempt", at.key.attempt, "run_id", at.task.RunID, "action", at.task.Action)
}

// call runs the TaskFunc, turning a panic into an error.
func (w *Worker) call(at *attempt) (out map[string]any, err error) {
	defer func() {
		if p := recover(); p != nil {
			w.log.Error("task panicked", "worker_id", at.workerID, "task_id", at.key.taskID,
				"attempt", at.key.attempt, "panic", p, "stack", string(debug.Stack()))
			out, err = nil, fmt.Errorf("panic: %v", p)
		}
	}()
	return at.fn(at.ctx, at.task)
}

// finish hands the attempt's result to the pending reports unless it was
// handed over already; the report ends the attempt's span once settled.
func (w *Worker) finish(at *attempt, out map[string]any, err error) {
	if !at.reported.CompareAndSwap(false, true) {
		endTaskSpan(at.span, err)
		return
	}
	w.pend(newReport(at, out, err))
}

// connectMessage returns the message of a Connect error, or err's text.
func connectMessage(err error) string {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Message()
	}
	return err.Error()
}

// shutdown waits up to ShutdownTimeout for running attempts, then cancels the
// rest with [ErrShuttingDown] and reports them as retryable failures; then it
// waits up to ShutdownTimeout (at least shutdownGrace) for the pending
// reports, and gives up the rest.
func (w *Worker) shutdown(cancelTasks context.CancelCauseFunc) {
	defer w.stopReports(errWorkerStopped)
	done := make(chan struct{})
	go func() {
		w.tasks.Wait()
		close(done)
	}()
	w.tasksMu.Lock()
	running := len(w.attempts)
	w.tasksMu.Unlock()
	w.log.Info("worker stopping: waiting for running tasks", "worker_id", w.session(),
		"running", running, "timeout", w.cfg.ShutdownTimeout)
	timer := time.NewTimer(w.cfg.ShutdownTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		w.abandon(cancelTasks, done)
	}

	w.tasksMu.Lock()
	pending := len(w.pending)
	w.tasksMu.Unlock()
	if pending == 0 {
		return
	}
	// Reports are short calls: even a worker told to stop quickly gives them
	// shutdownGrace, so that a loaded server's answer is not given up.
	wait := max(w.cfg.ShutdownTimeout, shutdownGrace)
	w.log.Info("worker stopping: waiting for pending reports", "worker_id", w.session(),
		"reports", pending, "timeout", wait)
	if !w.waitReports(wait) {
		// Each delivery ends at once, logging its report given up.
		w.stopReports(errWorkerStopped)
		w.waitReports(shutdownGrace)
	}
}

// errWorkerStopped ends the deliveries of reports still pending when a
// stopping worker stops waiting for them.
var errWorkerStopped = errors.New("worker stopped")

// abandon cancels the attempts still running with [ErrShuttingDown], hands
// their retryable failures to the pending reports, and waits up to
// shutdownGrace for their TaskFuncs to return (done is closed when all have).
func (w *Worker) abandon(cancelTasks context.CancelCauseFunc, done <-chan struct{}) {
	cancelTasks(ErrShuttingDown)
	w.tasksMu.Lock()
	left := slices.Collect(maps.Values(w.attempts))
	w.tasksMu.Unlock()
	for _, at := range left {
		if at.reported.CompareAndSwap(false, true) {
			w.pend(newReport(at, nil, ErrShuttingDown))
		}
	}
	select {
	case <-done:
	case <-time.After(shutdownGrace):
		w.log.Warn("tasks still running after shutdown: their TaskFuncs ignore their context", "worker_id", w.session())
	}
}
