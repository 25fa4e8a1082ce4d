package engine

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Tracing. Each RPC has its span (the server's interceptor makes it) and the
// queries under it theirs (the store's hook). The engine adds the spans that
// carry a trace from an event to the tasks it causes, across transactions,
// processes and time:
//
//   - [SpanPushCommit]: the transaction that a group of concurrent pushes
//     shares (group commit), a child of the first traced pusher's span, linked to
//     the others'; the group's queries are its children.
//   - [SpanRunStart]: one per run started, a child of the span that asked for
//     it (the push, RunWorkflow or replay call; a cron tick or a webhook
//     starts a new trace). Its trace context is stored with the run.
//   - [SpanTaskAssign]: one per attempt given to a worker, a child of its run's
//     stored span, from the claim until the assignment is on the worker's
//     stream; its trace context goes to the worker with the assignment, which
//     runs the task in a child span.

// Span names.
const (
	// SpanPushCommit is the span of a group commit of pushes.
	SpanPushCommit = "switchyard.push.commit"
	// SpanRunStart is the span of a run's start.
	SpanRunStart = "switchyard.run.start"
	// SpanTaskAssign is the span of an attempt's assignment to a worker.
	SpanTaskAssign = "switchyard.task.assign"
)

// Span attribute keys.
const (
	// AttrEvents is the number of events in a group commit.
	AttrEvents = attribute.Key("switchyard.events")
	// AttrWorkflow is the workflow's name.
	AttrWorkflow = attribute.Key("switchyard.workflow")
	// AttrRunID is the run's id.
	AttrRunID = attribute.Key("switchyard.run_id")
	// AttrEventID is the id of the event that started the run.
	AttrEventID = attribute.Key("switchyard.event_id")
	// AttrTrigger is what started the run: EVENT, CRON, MANUAL or REPLAY.
	AttrTrigger = attribute.Key("switchyard.trigger")
	// AttrRunStatus is the status a run started with: ACTIVE, SCHEDULED,
	// WAITING or CANCELLED.
	AttrRunStatus = attribute.Key("switchyard.run_status")
	// AttrDeduplicated marks a run that was not started because its
	// idempotency key was used before.
	AttrDeduplicated = attribute.Key("switchyard.deduplicated")
	// AttrTaskID is the task's id.
	AttrTaskID = attribute.Key("switchyard.task_id")
	// AttrTask is the task's name in its workflow.
	AttrTask = attribute.Key("switchyard.task")
	// AttrAction is the task's action.
	AttrAction = attribute.Key("switchyard.action")
	// AttrAttempt is the attempt, from 1.
	AttrAttempt = attribute.Key("switchyard.attempt")
	// AttrWorkerID is the id of the worker the attempt went to.
	AttrWorkerID = attribute.Key("switchyard.worker_id")
)

const tracerName = "github.com/switchyard/switchyard/internal/engine"

func newTracer(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return tp.Tracer(tracerName)
}

// traceParent returns the W3C traceparent of sc; "" when sc is not valid.
func traceParent(sc trace.SpanContext) string {
	if !sc.IsValid() {
		return ""
	}
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(trace.ContextWithSpanContext(context.Background(), sc), c)
	return c.Get("traceparent")
}

// parseTraceParent reads a W3C traceparent; the zero SpanContext when s is
// empty or not one.
func parseTraceParent(s string) trace.SpanContext {
	if s == "" {
		return trace.SpanContext{}
	}
	ctx := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": s})
	return trace.SpanContextFromContext(ctx)
}

// startCommitSpan starts the span of a group commit in ctx: a child of the
// first traced pusher's span, linked to the other pushers' spans, so that the
// group's queries show in the first pusher's trace and every pusher's trace
// leads to them.
func (e *Engine) startCommitSpan(ctx context.Context, items []*pushItem) (context.Context, trace.Span) {
	var parent trace.SpanContext
	var links []trace.Link
	for _, it := range items {
		switch sc := trace.SpanContextFromContext(it.ctx); {
		case !sc.IsValid():
		case !parent.IsValid():
			parent = sc
		default:
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	ctx, span := e.tracer.Start(trace.ContextWithSpanContext(ctx, parent), SpanPushCommit, trace.WithLinks(links...))
	if span.IsRecording() {
		span.SetAttributes(AttrEvents.Int(len(items)))
	}
	return ctx, span
}

// callerSpan is the span of a single push's caller, which the group's
// transaction does not hold; nil for a bulk push, whose transaction holds its
// caller's span.
func (it *pushItem) callerSpan() *trace.SpanContext {
	if it.ctx == nil {
		return nil
	}
	sc := trace.SpanContextFromContext(it.ctx)
	return &sc
}

// startRunSpans starts the span of each planned run, a child of the span that
// asked for the run (the plan's parent, or else ctx's), and stores its trace
// context with the run: the run's tasks are traced under it.
func (e *Engine) startRunSpans(ctx context.Context, plans []*plannedRun) []trace.Span {
	spans := make([]trace.Span, len(plans))
	for i, p := range plans {
		pctx := ctx
		var opts []trace.SpanStartOption
		switch {
		case p.parent == nil:
		case p.parent.IsValid():
			pctx = trace.ContextWithSpanContext(ctx, *p.parent)
		default:
			// An untraced caller: the run is not part of the group's trace.
			opts = append(opts, trace.WithNewRoot())
		}
		_, span := e.tracer.Start(pctx, SpanRunStart, opts...)
		r := p.run
		if span.IsRecording() {
			span.SetAttributes(AttrWorkflow.String(r.WorkflowName), AttrRunID.String(r.ID), AttrTrigger.String(r.TriggerKind))
			if r.EventID != "" {
				span.SetAttributes(AttrEventID.String(r.EventID))
			}
		}
		r.TraceParent = traceParent(span.SpanContext())
		spans[i] = span
	}
	return spans
}

// endRunSpans ends the spans of [Engine.startRunSpans] once the runs are
// stored, or not: a run that was not inserted repeated an idempotency key.
func endRunSpans(spans []trace.Span, plans []*plannedRun, inserted map[string]bool, err error) {
	for i, span := range spans {
		switch r := plans[i].run; {
		case !span.IsRecording():
		case err != nil:
			span.SetStatus(codes.Error, err.Error())
		case !inserted[r.ID]:
			span.SetAttributes(AttrDeduplicated.Bool(true))
		default:
			span.SetAttributes(AttrRunStatus.String(r.Status))
		}
		span.End()
	}
}

// traceAssignments starts the span of each assignment to a worker, a child of
// its run's span, from start (when the claim began), and puts its trace
// context on the assignment. The span ends when the assignment is sent
// ([Assignment.traceSent]) or handed back ([Assignment.traceHandedBack]).
func (d *dispatcher) traceAssignments(msgs []*Message, workerID string, start time.Time) {
	for _, m := range msgs {
		a := m.Assignment
		ctx := context.Background()
		if parent := parseTraceParent(a.runTraceParent); parent.IsValid() {
			ctx = trace.ContextWithRemoteSpanContext(ctx, parent)
		}
		_, a.span = d.tracer.Start(ctx, SpanTaskAssign, trace.WithTimestamp(start), trace.WithSpanKind(trace.SpanKindProducer))
		if a.span.IsRecording() {
			a.span.SetAttributes(
				AttrWorkflow.String(a.Workflow), AttrRunID.String(a.RunID), AttrTaskID.String(a.TaskID),
				AttrTask.String(a.TaskName), AttrAction.String(a.Action), AttrAttempt.Int(int(a.Attempt)),
				AttrWorkerID.String(workerID),
			)
		}
		a.TraceParent = traceParent(a.span.SpanContext())
	}
}

// traceSent ends the assignment's span: the assignment is on the stream.
func (a *Assignment) traceSent() {
	if a.span != nil {
		a.span.End()
	}
}

// traceHandedBack ends the assignment's span: it never reached the worker and
// went back to the queue.
func (a *Assignment) traceHandedBack() {
	if a.span != nil {
		a.span.SetStatus(codes.Error, "not delivered: handed back to the queue")
		a.span.End()
	}
}
