package server

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"connectrpc.com/connect"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/switchyard/switchyard/internal/service"
)

// TestRPCLogLineTraceID: a call whose context carries a span logs its trace id.
func TestRPCLogLineTraceID(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	i := newCallInterceptor(slog.New(slog.NewJSONHandler(&buf, nil)), service.Errors{})
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	call := i.WrapUnary(func(context.Context, connect.AnyRequest) (connect.AnyResponse, error) {
		return connect.NewResponse(&emptypb.Empty{}), nil
	})
	if _, err := call(trace.ContextWithSpanContext(context.Background(), sc), connect.NewRequest(&emptypb.Empty{})); err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	if line["msg"] != "rpc" || line["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("rpc line %v; want trace_id 4bf92f3577b34da6a3ce929d0e0e4736", line)
	}
}
