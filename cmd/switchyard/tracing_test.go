package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TestTracingFromEnv runs the binary (tracing sets process-wide globals) with
// the console exporter chosen by OTEL_TRACES_EXPORTER, pushes an event that
// carries a trace, and finds the push's spans in that trace on stdout after
// SIGTERM: the exporter is the one the environment names, the service name
// is the environment's, and the spans buffered at shutdown are flushed.
func TestTracingFromEnv(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--admin-token", "sy_tracing_admin")
	cmd.Env = append(os.Environ(), "SWITCHYARD_DATABASE_URL=", "OTEL_TRACES_EXPORTER=console", "OTEL_SERVICE_NAME=switchyard-under-test",
		"OTEL_SDK_DISABLED=", "OTEL_BSP_SCHEDULE_DELAY=60000") // spans leave only at the flush
	stdout := &syncBuffer{}
	cmd.Stdout = stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var url string
	for deadline := time.Now().Add(20 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := listeningRe.FindStringSubmatch(stdout.String()); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		t.Fatalf("server did not start: %s", stdout.String())
	}

	traceID := trace.TraceID{0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c}
	caller := trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8}, TraceFlags: trace.FlagsSampled, Remote: true})
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(trace.ContextWithRemoteSpanContext(context.Background(), caller), carrier)
	withTrace := connect.WithInterceptors(traceHeader(carrier.Get("traceparent")))
	if _, err := push(t, url, "sy_tracing_admin", withTrace); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
	out := stdout.String()
	for _, want := range []string{
		`"Name":"switchyard.v1.EventService/PushEvent"`,
		`"Name":"switchyard.push.commit"`,
		`"TraceID":"` + traceID.String() + `"`,
		`"Value":"switchyard-under-test"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %s:\n%s", want, out)
		}
	}
}

// traceHeader is a client interceptor that sends a traceparent header.
type traceHeader string

func (h traceHeader) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set("traceparent", string(h))
		return next(ctx, req)
	}
}

func (h traceHeader) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (h traceHeader) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}
