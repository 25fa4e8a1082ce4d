package sdk

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"connectrpc.com/connect"
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

// reportTimeout bounds each report, retries included.
const reportTimeout = time.Minute

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

// attempt is an assigned attempt until its result is reported.
type attempt struct {
	key      attemptKey
	workerID string
	task     *Task
	fn       TaskFunc
	ctx      context.Context
	cancel   context.CancelCauseFunc
	span     trace.Span // the attempt's, in ctx
	// reported is set by whoever reports the result, so that it is reported
	// once.
	reported atomic.Bool
}

// start runs an assignment in its own goroutine; a repeated assignment of an
// attempt that is already here is ignored.
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

	w.tasksMu.Lock()
	defer w.tasksMu.Unlock()
	if _, ok := w.attempts[key]; ok || slices.Contains(w.finished, key) {
		log.Debug("ignoring a repeated assignment")
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
	}
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

// execute waits for a free slot, runs the attempt and reports its result.
func (w *Worker) execute(at *attempt) {
	defer w.tasks.Done()
	defer func() {
		w.tasksMu.Lock()
		delete(w.attempts, at.key)
		if len(w.finished) == finishedKept {
			w.finished = w.finished[1:]
		}
		w.finished = append(w.finished, at.key)
		w.tasksMu.Unlock()
		at.cancel(nil)
	}()
	select {
	case w.slots <- struct{}{}:
	case <-at.ctx.Done():
		w.finish(at, nil, context.Cause(at.ctx))
		return
	}
	defer func() { <-w.slots }()
	if at.fn == nil {
		// Another worker may handle the action: leave the task to it.
		w.finish(at, nil, fmt.Errorf("worker has no handler for action %q", at.task.Action))
		return
	}
	start := time.Now()
	out, err := w.call(at)
	w.log.Debug("task returned", "task_id", at.key.taskID, "attempt", at.key.attempt,
		"duration", time.Since(start), "error", err)
	w.finish(at, out, err)
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

// finish reports the attempt's result unless it was reported already, and
// ends the attempt's span.
func (w *Worker) finish(at *attempt, out map[string]any, err error) {
	defer endTaskSpan(at.span, err)
	if !at.reported.CompareAndSwap(false, true) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(at.ctx), reportTimeout)
	defer cancel()
	if err == nil {
		w.complete(ctx, at, out)
		return
	}
	msg, retryable := err.Error(), !IsPermanent(err)
	cause := context.Cause(at.ctx)
	switch {
	case errors.Is(cause, ErrShuttingDown):
		msg, retryable = ErrShuttingDown.Error(), true
	case cause != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		msg = cause.Error()
	}
	w.fail(ctx, at, msg, retryable)
}

// complete reports a success. An output the server refuses (too large, say)
// fails the task for good, as no retry can fix it.
func (w *Worker) complete(ctx context.Context, at *attempt, out map[string]any) {
	s, err := toStruct(out)
	if err != nil {
		w.fail(ctx, at, fmt.Sprintf("encode output: %v", err), false)
		return
	}
	err = retry(ctx, w.client.retry, func(ctx context.Context) error {
		_, err := w.client.workers.CompleteTask(ctx, connect.NewRequest(&switchyardv1.CompleteTaskRequest{
			WorkerId: at.workerID,
			TaskId:   at.key.taskID,
			Attempt:  at.key.attempt,
			Output:   s,
		}))
		return err
	})
	if connect.CodeOf(err) == connect.CodeInvalidArgument {
		w.fail(ctx, at, "output refused: "+connectMessage(err), false)
		return
	}
	w.logReport(at, "completed", err)
}

// fail reports a failure.
func (w *Worker) fail(ctx context.Context, at *attempt, msg string, retryable bool) {
	if utf8.RuneCountInString(msg) > maxErrorChars {
		msg = string([]rune(msg)[:maxErrorChars-1]) + "…"
	}
	var willRetry bool
	err := retry(ctx, w.client.retry, func(ctx context.Context) error {
		res, err := w.client.workers.FailTask(ctx, connect.NewRequest(&switchyardv1.FailTaskRequest{
			WorkerId:  at.workerID,
			TaskId:    at.key.taskID,
			Attempt:   at.key.attempt,
			Error:     msg,
			Retryable: retryable,
		}))
		if err == nil {
			willRetry = res.Msg.GetWillRetry()
		}
		return err
	})
	w.logReport(at, "failed", err, "error", msg, "retryable", retryable, "will_retry", willRetry)
}

// logReport logs the outcome of a report. A report refused as
// `failed_precondition` is for an attempt that is no longer this worker's (it
// timed out, or the run was cancelled): it is dropped.
func (w *Worker) logReport(at *attempt, outcome string, err error, attrs ...any) {
	attrs = append([]any{"worker_id", at.workerID, "task_id", at.key.taskID, "attempt", at.key.attempt,
		"run_id", at.task.RunID, "action", at.task.Action}, attrs...)
	switch {
	case err == nil:
		w.log.Info("task "+outcome, attrs...)
		return
	case connect.CodeOf(err) == connect.CodeFailedPrecondition:
		w.log.Info("report dropped: the attempt is no longer this worker's",
			append(attrs, "outcome", outcome, "reason", connectMessage(err))...)
		return
	}
	w.log.Error("report failed", append(attrs, "outcome", outcome, "code", connect.CodeOf(err).String(), "report_error", err)...)
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
// rest with [ErrShuttingDown] and reports them as retryable failures.
func (w *Worker) shutdown(cancelTasks context.CancelCauseFunc) {
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
		return
	case <-timer.C:
	}

	cancelTasks(ErrShuttingDown)
	w.tasksMu.Lock()
	left := make([]*attempt, 0, len(w.attempts))
	for _, at := range w.attempts {
		left = append(left, at)
	}
	w.tasksMu.Unlock()
	var reports sync.WaitGroup
	for _, at := range left {
		if !at.reported.CompareAndSwap(false, true) {
			continue
		}
		reports.Go(func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(at.ctx), reportTimeout)
			defer cancel()
			w.fail(ctx, at, ErrShuttingDown.Error(), true)
		})
	}
	reports.Wait()
	select {
	case <-done:
	case <-time.After(shutdownGrace):
		w.log.Warn("tasks still running after shutdown: their TaskFuncs ignore their context", "worker_id", w.session())
	}
}
