package sdk

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"connectrpc.com/connect"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/types/known/structpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// A finished attempt's result is a report that the worker keeps until a server
// acknowledges it: it is sent with CompleteTask or FailTask and sent again, with
// exponential backoff and full jitter, after every failure of the connection or
// of the server (see [transient]), through whichever server the client reaches,
// until the attempt's lease ends; the server gives the attempt to another worker
// then. Reports are fenced by (task, attempt, worker) and a repeat of an accepted
// one is harmless, so sending one again is always safe. A report is sent at once,
// whatever its backoff, when a Listen stream opens and when a server assigns its
// attempt again.

// reportTryTimeout bounds one try of a report, so that a call lost on a dead
// connection is tried again.
const reportTryTimeout = 10 * time.Second

// reportWindow is how long a report whose assignment named no deadline is tried,
// and the least time any report is tried: an attempt that ran up to its deadline
// still has its result heard unless the server took the attempt back already.
const reportWindow = time.Minute

// settledKept is how many settled attempts a worker remembers, so as to ignore
// a repeated assignment of one.
const settledKept = 1024

// report is a finished attempt's result until a server acknowledges it or the
// attempt's lease ends.
type report struct {
	key      attemptKey
	workerID string
	runID    string
	action   string
	// ok is true for a success with output, false for a failure with msg.
	ok        bool
	output    *structpb.Struct
	msg       string
	retryable bool
	// until is when the report is given up: the attempt is another worker's by
	// then.
	until time.Time
	// now asks for a try at once (capacity 1).
	now chan struct{}
	// span is the attempt's, the parent of the report's calls, ended when
	// the report is settled with the TaskFunc's error, taskErr.
	span    trace.Span
	taskErr error
	// willRetry is the server's answer to a failure.
	willRetry bool
}

// newReport returns the report of at's result: out when err is nil, err
// otherwise. An output that cannot be encoded fails the task for good.
func newReport(at *attempt, out map[string]any, err error) *report {
	until := at.task.Deadline
	if least := time.Now().Add(reportWindow); until.Before(least) {
		until = least
	}
	r := &report{key: at.key, workerID: at.workerID, runID: at.task.RunID, action: at.task.Action,
		until: until, now: make(chan struct{}, 1), span: at.span, taskErr: err}
	if err != nil {
		r.setFailure(failureMessage(at, err))
		return r
	}
	s, serr := toStruct(out)
	if serr != nil {
		r.setFailure(fmt.Sprintf("encode output: %v", serr), false)
		return r
	}
	r.ok, r.output = true, s
	return r
}

// failureMessage returns the error text and retryability that report err, the
// result of at: a context error says why the attempt's context ended.
func failureMessage(at *attempt, err error) (string, bool) {
	msg, retryable := err.Error(), !IsPermanent(err)
	cause := context.Cause(at.ctx)
	switch {
	case errors.Is(cause, ErrShuttingDown):
		msg, retryable = ErrShuttingDown.Error(), true
	case cause != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		msg = cause.Error()
	}
	return msg, retryable
}

// setFailure makes r report a failure, cutting msg to what FailTask accepts.
func (r *report) setFailure(msg string, retryable bool) {
	if utf8.RuneCountInString(msg) > maxErrorChars {
		msg = string([]rune(msg)[:maxErrorChars-1]) + "…"
	}
	r.ok, r.output, r.msg, r.retryable = false, nil, msg, retryable
}

// outcome names what r reports.
func (r *report) outcome() string {
	if r.ok {
		return "completed"
	}
	return "failed"
}

// wake asks for a try at once.
func (r *report) wake() {
	select {
	case r.now <- struct{}{}:
	default:
	}
}

// pend keeps r until a server acknowledges it and starts sending it. Its
// attempt stops being a running one in the same step, so a repeated assignment
// finds it in one of the two.
func (w *Worker) pend(r *report) {
	w.tasksMu.Lock()
	delete(w.attempts, r.key)
	w.pending[r.key] = r
	w.tasksMu.Unlock()
	go w.deliver(r)
}

// sendPendingNow asks every pending report for a try at once; workerID and
// why are for the log.
func (w *Worker) sendPendingNow(workerID, why string) {
	w.tasksMu.Lock()
	defer w.tasksMu.Unlock()
	if len(w.pending) == 0 {
		return
	}
	w.log.Info("sending pending reports now: "+why, "worker_id", workerID, "reports", len(w.pending))
	for _, r := range w.pending {
		r.wake()
	}
}

// deliver sends r until a server answers it, the attempt's lease ends or the
// worker stops, then settles it.
func (w *Worker) deliver(r *report) {
	ctx, cancel := context.WithDeadline(trace.ContextWithSpan(w.reportsCtx, r.span), r.until)
	defer cancel()
	var err error
	tries := 0
	for ctx.Err() == nil {
		tries++
		err = w.send(ctx, r)
		if r.ok && connect.CodeOf(err) == connect.CodeInvalidArgument {
			// No retry can make the server take this output.
			r.setFailure("output refused: "+connectMessage(err), false)
			err = w.send(ctx, r)
		}
		if !transient(ctx, err) {
			break
		}
		d := w.reportBackoff(tries-1, err)
		attrs := append(r.attrs(), "code", connect.CodeOf(err).String(), "error", err, "tries", tries, "retry_in", d)
		if tries == 1 {
			w.log.Warn("report pending: no server acknowledged it; retrying until the attempt's lease ends",
				append(attrs, "until", r.until)...)
		} else {
			w.log.Debug("report retry failed", attrs...)
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.now:
		case <-ctx.Done():
		}
		t.Stop()
	}
	w.settle(ctx, r, err, tries)
}

// send tries r once.
func (w *Worker) send(ctx context.Context, r *report) error {
	ctx, cancel := context.WithTimeout(ctx, reportTryTimeout)
	defer cancel()
	if r.ok {
		_, err := w.client.workers.CompleteTask(ctx, connect.NewRequest(&switchyardv1.CompleteTaskRequest{
			WorkerId: r.workerID, TaskId: r.key.taskID, Attempt: r.key.attempt, Output: r.output,
		}))
		return err
	}
	res, err := w.client.workers.FailTask(ctx, connect.NewRequest(&switchyardv1.FailTaskRequest{
		WorkerId: r.workerID, TaskId: r.key.taskID, Attempt: r.key.attempt, Error: r.msg, Retryable: r.retryable,
	}))
	if err == nil {
		r.willRetry = res.Msg.GetWillRetry()
	}
	return err
}

// settle forgets r as pending, remembers its attempt as settled and logs how
// its delivery ended: ctx is the delivery's, err the last try's error.
func (w *Worker) settle(ctx context.Context, r *report, err error, tries int) {
	endTaskSpan(r.span, r.taskErr)
	// The outcome is logged before the report stops being pending, so that
	// whoever waits for the pending reports (a stopping Run) sees it logged.
	defer func() {
		w.tasksMu.Lock()
		delete(w.pending, r.key)
		w.settled.add(r.key)
		w.tasksMu.Unlock()
		select {
		case w.reportDone <- struct{}{}:
		default:
		}
	}()

	attrs := append(r.attrs(), "tries", tries)
	if !r.ok {
		attrs = append(attrs, "error", r.msg, "retryable", r.retryable, "will_retry", r.willRetry)
	}
	switch {
	case err == nil && tries > 0:
		if tries > 1 {
			w.log.Info("report delivered after retries", append(attrs, "outcome", r.outcome())...)
		}
		w.log.Info("task "+r.outcome(), attrs...)
	case connect.CodeOf(err) == connect.CodeFailedPrecondition:
		w.log.Info("report dropped: the attempt is no longer this worker's",
			append(attrs, "outcome", r.outcome(), "reason", connectMessage(err))...)
	case ctx.Err() != nil && context.Cause(w.reportsCtx) != nil:
		w.log.Error("report given up: the worker stopped before a server acknowledged it",
			append(attrs, "outcome", r.outcome(), "code", connect.CodeOf(err).String(), "report_error", err)...)
	case ctx.Err() != nil:
		w.log.Error("report given up: the attempt's lease ended before a server acknowledged it",
			append(attrs, "outcome", r.outcome(), "until", r.until, "code", connect.CodeOf(err).String(), "report_error", err)...)
	default:
		w.log.Error("report failed", append(attrs, "outcome", r.outcome(), "code", connect.CodeOf(err).String(), "report_error", err)...)
	}
}

// attrs are the log attributes of r.
func (r *report) attrs() []any {
	return []any{"worker_id", r.workerID, "task_id", r.key.taskID, "attempt", r.key.attempt,
		"run_id", r.runID, "action", r.action}
}

// waitReports waits until no report is pending or timeout passes, and reports
// whether none is.
func (w *Worker) waitReports(timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		w.tasksMu.Lock()
		n := len(w.pending)
		w.tasksMu.Unlock()
		if n == 0 {
			return true
		}
		select {
		case <-w.reportDone:
		case <-t.C:
			return false
		}
	}
}

// keyMemory remembers the latest attempt keys added, up to a bound.
type keyMemory struct {
	keys map[attemptKey]struct{}
	ring []attemptKey // oldest at next once full
	next int
}

func newKeyMemory(n int) keyMemory {
	return keyMemory{keys: make(map[attemptKey]struct{}, n), ring: make([]attemptKey, 0, n)}
}

// add remembers k, forgetting the oldest key when full.
func (m *keyMemory) add(k attemptKey) {
	if _, ok := m.keys[k]; ok {
		return
	}
	if len(m.ring) < cap(m.ring) {
		m.ring = append(m.ring, k)
	} else {
		delete(m.keys, m.ring[m.next])
		m.ring[m.next] = k
		m.next = (m.next + 1) % len(m.ring)
	}
	m.keys[k] = struct{}{}
}

// has reports whether k is remembered.
func (m *keyMemory) has(k attemptKey) bool {
	_, ok := m.keys[k]
	return ok
}
