package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// tracingEnv are the variables any one of which turns tracing on.
var tracingEnv = []string{"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"}

// setupTracing makes the OpenTelemetry globals, which the server, the engine
// and the store trace through, export spans as the standard OTEL_* variables
// say. Tracing is off (the globals stay no-ops) unless OTEL_TRACES_EXPORTER or
// an OTLP endpoint is set, and when OTEL_TRACES_EXPORTER is "none" or
// OTEL_SDK_DISABLED is "true". The exporter is OTLP (over http/protobuf, or
// gRPC by OTEL_EXPORTER_OTLP_PROTOCOL) or "console"; the service is named
// "switchyard" unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES name it;
// trace context travels as W3C traceparent and baggage. The returned function
// flushes the spans still buffered and stops exporting.
func setupTracing(ctx context.Context, log *slog.Logger) (shutdown func(), err error) {
	off := func() {}
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") {
		return off, nil
	}
	on := false
	for _, name := range tracingEnv {
		on = on || os.Getenv(name) != ""
	}
	if !on {
		return off, nil
	}
	exp, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	if autoexport.IsNoneSpanExporter(exp) {
		return off, nil
	}
	// Later sources win: the environment names the service over the default.
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "switchyard")),
		resource.WithFromEnv(),
		resource.WithTelemetrySDK(),
		resource.WithHost(),
	)
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	// The sampler and the batching follow OTEL_TRACES_SAMPLER and OTEL_BSP_*.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing", "error", err.Error())
	}))
	name := os.Getenv("OTEL_TRACES_EXPORTER")
	if name == "" {
		name = "otlp"
	}
	log.Info("tracing on", "exporter", name)
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tp.Shutdown(ctx); err != nil {
			log.Warn("tracing: spans not flushed", "error", err.Error())
		}
	}, nil
}
