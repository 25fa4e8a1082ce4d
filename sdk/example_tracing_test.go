package sdk_test

import (
	"context"
	"fmt"
	"log"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/switchyard/switchyard/sdk"
)

func ExampleWithTracerProvider() {
	// A program usually sets up its tracer provider once, with an exporter
	// such as OTLP; this one keeps the spans in memory.
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	c := sdk.NewClient(exampleServerURL, sdk.WithToken(exampleToken),
		sdk.WithTracerProvider(tp), sdk.WithPropagator(propagation.TraceContext{}))

	// The push carries the producer's trace context to the server, which
	// traces the runs it starts, and their tasks on the workers, under it.
	ctx, span := tp.Tracer("producer").Start(context.Background(), "sign up")
	if _, err := c.Push(ctx, "user.signed_up", map[string]any{"user_id": "u2"}); err != nil {
		log.Fatal(err)
	}
	span.End()

	for _, s := range spans.GetSpans() {
		fmt.Println(s.Name, s.SpanContext.TraceID() == span.SpanContext().TraceID())
	}
	// Output:
	// switchyard.v1.EventService/PushEvent true
	// sign up true
}
