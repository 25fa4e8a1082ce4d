package server_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
	"github.com/switchyard/switchyard/sdk"
)

// spanRecorder is a tracer provider that keeps every ended span in memory.
type spanRecorder struct {
	tp  *sdktrace.TracerProvider
	exp *tracetest.InMemoryExporter
}

func newSpanRecorder(t *testing.T) *spanRecorder {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return &spanRecorder{tp: tp, exp: exp}
}

// inTrace returns the ended spans of trace id named name, in the order they
// ended.
func (r *spanRecorder) inTrace(id trace.TraceID, name string) tracetest.SpanStubs {
	var out tracetest.SpanStubs
	for _, s := range r.exp.GetSpans() {
		if s.SpanContext.TraceID() == id && s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// waitFor polls until the trace has n spans named name, and returns them.
func (r *spanRecorder) waitFor(t *testing.T, id trace.TraceID, name string, n int) tracetest.SpanStubs {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := r.inTrace(id, name)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace %s has %d %q spans after 20s, want %d", id, len(got), name, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// one returns the only span of the trace named name whose attribute key is
// value (any, for an empty key).
func (r *spanRecorder) one(t *testing.T, id trace.TraceID, name string, key attribute.Key, value string) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	for _, s := range r.inTrace(id, name) {
		if key == "" || attr(s, key) == value {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("trace %s has %d %q spans with %s=%q, want 1", id, len(found), name, key, value)
	}
	return found[0]
}

func attr(s tracetest.SpanStub, key attribute.Key) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

// rpcSpanName is the name of a call's span: its procedure.
func rpcSpanName(procedure string) string { return strings.TrimPrefix(procedure, "/") }

func assertParent(t *testing.T, child, parent tracetest.SpanStub) {
	t.Helper()
	if child.Parent.SpanID() != parent.SpanContext.SpanID() {
		t.Errorf("%s (%s) has parent %s, want %s (%s)", child.Name, child.SpanContext.SpanID(), child.Parent.SpanID(), parent.Name, parent.SpanContext.SpanID())
	}
}

// TestTraceFollowsEventToTasks pushes an event through the SDK client from
// inside a span of the producer, lets an SDK worker run the two tasks of the
// run it starts, and finds one trace that holds it all, each span under the
// one that caused it: the push (client and server), its queries and its
// commit, the run's start, each task's assignment and each task's run on the
// worker, where the TaskFunc's context carries the span and the report of the
// result nests under it.
func TestTraceFollowsEventToTasks(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		rec := newSpanRecorder(t)
		prop := propagation.TraceContext{}
		srv := servertest.Start(t, eng, servertest.Options{Engine: fastEngine, TracerProvider: rec.tp, Propagator: prop})
		client := sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken), sdk.WithTracerProvider(rec.tp), sdk.WithPropagator(prop))
		ctx := context.Background()
		spec := &switchyardv1.WorkflowSpec{Name: "traced", OnEvents: []string{"traced.event"},
			Tasks: []*switchyardv1.TaskSpec{task("first", "traced.first"), task("second", "traced.second", "first")}}
		if _, err := client.PutWorkflow(ctx, spec); err != nil {
			t.Fatal(err)
		}

		var mu sync.Mutex
		handlerSpans := map[string]trace.SpanContext{} // task name -> the span in the TaskFunc's context
		handle := func(ctx context.Context, task *sdk.Task) (map[string]any, error) {
			mu.Lock()
			handlerSpans[task.Name] = trace.SpanContextFromContext(ctx)
			mu.Unlock()
			return map[string]any{"ok": true}, nil
		}
		w := sdk.NewWorker(client, sdk.WorkerConfig{Name: "tracer", Slots: 2})
		w.Handle("traced.first", handle)
		w.Handle("traced.second", handle)
		wctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- w.Run(wctx) }()
		t.Cleanup(func() { stop(); <-done })

		pctx, producer := rec.tp.Tracer("producer").Start(ctx, "produce")
		res, err := client.Push(pctx, "traced.event", map[string]any{"n": 1})
		producer.End()
		if err != nil {
			t.Fatal(err)
		}
		if len(res.GetRunIds()) != 1 {
			t.Fatalf("push started runs %v, want one", res.GetRunIds())
		}
		runID, eventID := res.GetRunIds()[0], res.GetEvent().GetId()
		tid := producer.SpanContext().TraceID()
		runs := rec.waitFor(t, tid, sdk.SpanTaskRun, 2)

		root := rec.one(t, tid, "produce", "", "")
		push := rpcSpanName(switchyardv1connect.EventServicePushEventProcedure)
		var pushClient, pushServer tracetest.SpanStub
		for _, s := range rec.inTrace(tid, push) {
			switch s.SpanKind {
			case trace.SpanKindClient:
				pushClient = s
			case trace.SpanKindServer:
				pushServer = s
			}
		}
		if !pushClient.SpanContext.IsValid() || !pushServer.SpanContext.IsValid() {
			t.Fatalf("trace %s lacks the push's client or server span: %v", tid, rec.inTrace(tid, push))
		}
		assertParent(t, pushClient, root)
		assertParent(t, pushServer, pushClient)
		if pushServer.Status.Code == codes.Error {
			t.Errorf("push server span status %v", pushServer.Status)
		}

		commit := rec.one(t, tid, engine.SpanPushCommit, "", "")
		assertParent(t, commit, pushServer)
		var eventInsert bool
		for _, s := range rec.exp.GetSpans() {
			if s.SpanContext.TraceID() == tid && s.InstrumentationScope.Name == "github.com/uptrace/bun" &&
				s.Parent.SpanID() == commit.SpanContext.SpanID() && s.Name == "INSERT" &&
				strings.Contains(attr(s, "db.statement"), "events") {
				eventInsert = true
			}
		}
		if !eventInsert {
			t.Errorf("no INSERT into events span under the commit span in trace %s", tid)
		}

		start := rec.one(t, tid, engine.SpanRunStart, engine.AttrRunID, runID)
		assertParent(t, start, pushServer)
		if got := attr(start, engine.AttrEventID); got != eventID {
			t.Errorf("run.start event id %q, want %q", got, eventID)
		}
		if got := attr(start, engine.AttrWorkflow); got != "traced" {
			t.Errorf("run.start workflow %q, want traced", got)
		}

		for _, name := range []string{"first", "second"} {
			assign := rec.one(t, tid, engine.SpanTaskAssign, engine.AttrTask, name)
			assertParent(t, assign, start)
			if got := attr(assign, engine.AttrAttempt); got != "1" {
				t.Errorf("assign %s attempt %q, want 1", name, got)
			}
			if got := attr(assign, engine.AttrAction); got != "traced."+name {
				t.Errorf("assign %s action %q", name, got)
			}
			var run tracetest.SpanStub
			for _, s := range runs {
				if attr(s, "switchyard.task") == name {
					run = s
				}
			}
			if !run.SpanContext.IsValid() {
				t.Fatalf("no task.run span of %s", name)
			}
			assertParent(t, run, assign)
			mu.Lock()
			inHandler := handlerSpans[name]
			mu.Unlock()
			if inHandler.SpanID() != run.SpanContext.SpanID() {
				t.Errorf("TaskFunc of %s ran in span %s, want the task.run span %s", name, inHandler.SpanID(), run.SpanContext.SpanID())
			}
			var reported bool
			for _, s := range rec.inTrace(tid, rpcSpanName(switchyardv1connect.WorkerServiceCompleteTaskProcedure)) {
				reported = reported || (s.SpanKind == trace.SpanKindClient && s.Parent.SpanID() == run.SpanContext.SpanID())
			}
			if !reported {
				t.Errorf("no CompleteTask client span under the task.run span of %s", name)
			}
		}

		// A run started by a call other than a push is traced under the call.
		mctx, manual := rec.tp.Tracer("producer").Start(ctx, "run manually")
		started, err := client.RunWorkflow(mctx, "traced", nil)
		manual.End()
		if err != nil {
			t.Fatal(err)
		}
		mid := manual.SpanContext().TraceID()
		var runServer tracetest.SpanStub
		for _, s := range rec.inTrace(mid, rpcSpanName(switchyardv1connect.WorkflowServiceRunWorkflowProcedure)) {
			if s.SpanKind == trace.SpanKindServer {
				runServer = s
			}
		}
		assertParent(t, rec.one(t, mid, engine.SpanRunStart, engine.AttrRunID, started.GetRunId()), runServer)
		rec.waitFor(t, mid, sdk.SpanTaskRun, 2)
	})
}

// TestTracingOffByDefault runs an event to its task with no tracer provider
// configured (the OpenTelemetry globals, no-ops): it works, even when the
// caller sends trace context, and the server neither records spans nor keeps
// or forwards the caller's context.
func TestTracingOffByDefault(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		rec := newSpanRecorder(t) // the caller's only; the server does not know it
		srv, a := startEngineServer(t, eng)
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "untraced", OnEvents: []string{"untraced.event"},
			Tasks: []*switchyardv1.TaskSpec{task("only", "untraced.only")}})
		got := make(chan *switchyardv1.TaskAssignment, 1)
		startRawWorker(t, a, []string{"untraced.only"}, 1, func(w *rawWorker, as *switchyardv1.TaskAssignment) {
			got <- as
			if err := w.complete(as, map[string]any{}); err != nil {
				t.Errorf("complete: %v", err)
			}
		})

		ctx, span := rec.tp.Tracer("producer").Start(context.Background(), "produce")
		defer span.End()
		req := connect.NewRequest(&switchyardv1.PushEventRequest{Key: "untraced.event"})
		propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(req.Header()))
		if req.Header().Get("traceparent") == "" {
			t.Fatal("the test sends no traceparent")
		}
		res, err := a.events.PushEvent(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case as := <-got:
			if as.GetTraceparent() != "" {
				t.Errorf("assignment traceparent %q, want none", as.GetTraceparent())
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no assignment within 20s")
		}
		if run := waitRun(t, a, res.Msg.GetRunIds()[0], 20*time.Second); run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
			t.Fatalf("run %v", run)
		}
		var stored string
		if err := srv.Store.DB().NewSelect().Table("runs").Column("trace_parent").Where("id = ?", res.Msg.GetRunIds()[0]).Scan(context.Background(), &stored); err != nil {
			t.Fatal(err)
		}
		if stored != "" {
			t.Errorf("stored trace_parent %q, want none", stored)
		}
		if spans := rec.exp.GetSpans(); len(spans) != 0 {
			t.Errorf("spans recorded: %v", spans.Snapshots())
		}
	})
}

// TestTraceparentReachesWorkerOnEveryProtocol checks that the assignment's
// trace context reaches a worker whatever protocol its Listen stream speaks.
func TestTraceparentReachesWorkerOnEveryProtocol(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		rec := newSpanRecorder(t)
		srv := servertest.Start(t, eng, servertest.Options{Engine: fastEngine, TracerProvider: rec.tp, Propagator: propagation.TraceContext{}})
		a := newAPI(srv.URL, grpcProtocol())
		for _, p := range servertest.Protocols() {
			if p.REST {
				continue // Listen has no REST route
			}
			t.Run(p.Name, func(t *testing.T) {
				action := "stream." + strings.NewReplacer("/", ".", "-", ".").Replace(p.Name)
				name := "on-" + strings.NewReplacer("/", "-").Replace(p.Name)
				putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: name, OnEvents: []string{name}, Tasks: []*switchyardv1.TaskSpec{task("t", action)}})
				got := make(chan *switchyardv1.TaskAssignment, 1)
				startRawWorker(t, newAPI(srv.URL, p), []string{action}, 1, func(w *rawWorker, as *switchyardv1.TaskAssignment) {
					got <- as
					_ = w.complete(as, map[string]any{})
				})
				ctx, span := rec.tp.Tracer("producer").Start(context.Background(), "produce")
				req := connect.NewRequest(&switchyardv1.PushEventRequest{Key: name})
				propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(req.Header()))
				_, err := a.events.PushEvent(ctx, req)
				span.End()
				if err != nil {
					t.Fatal(err)
				}
				var as *switchyardv1.TaskAssignment
				select {
				case as = <-got:
				case <-time.After(20 * time.Second):
					t.Fatal("no assignment within 20s")
				}
				carrier := propagation.MapCarrier{"traceparent": as.GetTraceparent()}
				sc := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), carrier))
				if sc.TraceID() != span.SpanContext().TraceID() {
					t.Fatalf("assignment traceparent %q, want one in trace %s", as.GetTraceparent(), span.SpanContext().TraceID())
				}
				assign := rec.waitFor(t, sc.TraceID(), engine.SpanTaskAssign, 1)[0]
				if assign.SpanContext.SpanID() != sc.SpanID() {
					t.Errorf("assignment traceparent names span %s, want the task.assign span %s", sc.SpanID(), assign.SpanContext.SpanID())
				}
			})
		}
	})
}
