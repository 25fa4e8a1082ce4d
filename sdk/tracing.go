package sdk

import (
	"context"

	"connectrpc.com/connect"
	"connectrpc.com/otelconnect"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// SpanTaskRun is the name of the span of an attempt on a [Worker]: a child of
// the server's span that assigned it, so that the trace of the event that
// started the run goes on into the worker. The TaskFunc's context carries the
// span, so the spans the TaskFunc starts nest under it, and so do the calls
// that report the attempt's result; it ends once a server acknowledged the
// result (or the worker gave it up).
const SpanTaskRun = "switchyard.task.run"

const tracerName = "github.com/switchyard/switchyard/sdk"

// WithTracerProvider records a client span for every call and stream, and a
// [SpanTaskRun] span for every attempt a [Worker] over the client runs. The
// default is the OpenTelemetry global tracer provider, which records nothing
// unless the program set one.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *clientConfig) { c.tracerProvider = tp })
}

// WithPropagator sets how calls carry their trace context to the server. The
// default is the OpenTelemetry global propagator, which carries nothing
// unless the program set one (such as propagation.TraceContext).
func WithPropagator(p propagation.TextMapPropagator) Option {
	return optionFunc(func(c *clientConfig) { c.propagator = p })
}

// tracingInterceptor returns the interceptor that traces calls, or nil.
func (c *clientConfig) tracingInterceptor() connect.Interceptor {
	opts := []otelconnect.Option{otelconnect.WithoutMetrics()}
	if c.tracerProvider != nil {
		opts = append(opts, otelconnect.WithTracerProvider(c.tracerProvider))
	}
	if c.propagator != nil {
		opts = append(opts, otelconnect.WithPropagator(c.propagator))
	}
	// It fails only when a meter refuses its instruments, and it has no meter.
	i, err := otelconnect.NewInterceptor(opts...)
	if err != nil {
		return nil
	}
	return i
}

// tracer returns the tracer of a client's workers.
func (c *clientConfig) tracer() trace.Tracer {
	tp := c.tracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return tp.Tracer(tracerName)
}

// startTaskSpan starts the span of an attempt, a child of the assignment's
// span (its traceparent is W3C trace context, whatever the propagator), or
// the root of a trace of its own when the server does not trace.
func startTaskSpan(ctx context.Context, tr trace.Tracer, workerID string, a *switchyardv1.TaskAssignment) (context.Context, trace.Span) {
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer)}
	carrier := propagation.MapCarrier{"traceparent": a.GetTraceparent()}
	parent := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), carrier))
	if parent.IsValid() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, parent)
	} else {
		// A span of the program around the worker is not the task's parent.
		opts = append(opts, trace.WithNewRoot())
	}
	ctx, span := tr.Start(ctx, SpanTaskRun, opts...)
	if span.IsRecording() {
		span.SetAttributes(
			attribute.String("switchyard.workflow", a.GetWorkflow()),
			attribute.String("switchyard.run_id", a.GetRunId()),
			attribute.String("switchyard.task_id", a.GetTaskId()),
			attribute.String("switchyard.task", a.GetTaskName()),
			attribute.String("switchyard.action", a.GetAction()),
			attribute.Int("switchyard.attempt", int(a.GetAttempt())),
			attribute.String("switchyard.worker_id", workerID),
		)
	}
	return ctx, span
}

// endTaskSpan ends an attempt's span with its outcome.
func endTaskSpan(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
