package store

import (
	"context"
	"sync/atomic"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/extra/bunotel"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
)

// queryTracer records a query as an OpenTelemetry span, a child of the span
// in the query's context (the RPC's, when a call runs the query), through bun's
// own OpenTelemetry hook. A query whose context has no span (the engine's
// polling, migrations) is not recorded: it would start a trace of its own
// several times a second. Statements are recorded without their arguments, so
// no payload reaches a trace.
//
// It records spans only: it hides the hook's Init, which would register
// database statistics with the OpenTelemetry global meter, and gives the hook a
// no-op meter, as Switchyard's metrics are Prometheus's.
type queryTracer struct {
	hook *bunotel.QueryHook
}

var _ bun.QueryHook = queryTracer{}

// newQueryTracer returns the hook over tp; nil means the OpenTelemetry global
// tracer provider.
func newQueryTracer(tp trace.TracerProvider) queryTracer {
	opts := []bunotel.Option{bunotel.WithMeterProvider(metricnoop.NewMeterProvider())}
	if tp != nil {
		opts = append(opts, bunotel.WithTracerProvider(tp))
	}
	return queryTracer{hook: bunotel.NewQueryHook(opts...)}
}

func (t queryTracer) BeforeQuery(ctx context.Context, event *bun.QueryEvent) context.Context {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	return t.hook.BeforeQuery(ctx, event)
}

func (t queryTracer) AfterQuery(ctx context.Context, event *bun.QueryEvent) {
	// The context is BeforeQuery's: it holds the query's span, if one started.
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	t.hook.AfterQuery(ctx, event)
}

// withCallerSpan puts the span of the caller's context back into the context
// bun hands a transaction (which holds the span of its BEGIN query), so that
// the transaction's queries, and the spans the caller starts inside it, are
// the caller's children rather than BEGIN's.
func withCallerSpan(txCtx, callerCtx context.Context) context.Context {
	if span := trace.SpanFromContext(callerCtx); span.SpanContext().IsValid() {
		return trace.ContextWithSpan(txCtx, span)
	}
	return txCtx
}

// txCounter counts the database transactions the store runs: each BEGIN, and
// each statement of a [Store.Read], which runs outside a transaction (so each
// is a transaction of its own); and every statement, each a round trip.
type txCounter struct {
	n          *atomic.Int64
	statements *atomic.Int64
}

var _ bun.QueryHook = txCounter{}

// autocommitKey marks the context of a [Store.Read]'s statements.
type autocommitKey struct{}

func (c txCounter) BeforeQuery(ctx context.Context, event *bun.QueryEvent) context.Context {
	if event.Query == "BEGIN" || ctx.Value(autocommitKey{}) != nil {
		c.n.Add(1)
	}
	c.statements.Add(1)
	return ctx
}

func (txCounter) AfterQuery(context.Context, *bun.QueryEvent) {}
