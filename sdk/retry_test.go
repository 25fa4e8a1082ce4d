package sdk_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
	"github.com/switchyard/switchyard/sdk"
)

// fastRetry retries quickly, for tests.
var fastRetry = sdk.WithRetry(sdk.RetryPolicy{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})

// TestRetryUsesOneIdempotencyKey loses the response to the first attempt of each
// write after the server committed it, as a proxy that drops a connection
// would, and proves that the SDK's retry stores nothing twice.
func TestRetryUsesOneIdempotencyKey(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		srv := servertest.Start(t, eng, servertest.Options{})
		for _, p := range protocols {
			t.Run(eng.Name+"/"+p.String(), func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				newClient := func(procedure string) (*sdk.Client, *loseFirstResponse) {
					lose := &loseFirstResponse{next: servertest.HTTP2Client().Transport, procedure: procedure}
					return sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken), sdk.WithProtocol(p),
						sdk.WithHTTPClient(&http.Client{Transport: lose}), fastRetry), lose
				}
				plain := sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken))

				t.Run("push", func(t *testing.T) {
					c, lose := newClient(switchyardv1connect.EventServicePushEventProcedure)
					key := "retry.push." + p.String()
					res, err := c.Push(ctx, key, map[string]any{"n": 1})
					if err != nil {
						t.Fatalf("push: %v", err)
					}
					lose.check(t, 2)
					if !res.GetDeduplicated() {
						t.Errorf("retried push deduplicated = false, want true")
					}
					list, err := plain.ListEvents(ctx, &switchyardv1.ListEventsRequest{Key: key})
					if err != nil {
						t.Fatal(err)
					}
					if len(list.GetEvents()) != 1 || list.GetEvents()[0].GetId() != res.GetEvent().GetId() {
						t.Errorf("stored events = %v, want exactly the one pushed (%s)", eventIDs(list.GetEvents()), res.GetEvent().GetId())
					}
				})

				t.Run("bulk", func(t *testing.T) {
					c, lose := newClient(switchyardv1connect.EventServiceBulkPushEventsProcedure)
					key := "retry.bulk." + p.String()
					res, err := c.PushBulk(ctx, []*switchyardv1.PushEventRequest{{Key: key}, {Key: key, IdempotencyKey: "mine-" + key}})
					if err != nil {
						t.Fatalf("push bulk: %v", err)
					}
					lose.check(t, 2)
					if len(res.GetResults()) != 2 || !res.GetResults()[0].GetDeduplicated() || !res.GetResults()[1].GetDeduplicated() {
						t.Errorf("retried bulk results = %v, want two deduplicated", res.GetResults())
					}
					if got := res.GetResults()[1].GetEvent().GetIdempotencyKey(); got != "mine-"+key {
						t.Errorf("caller's key came back as %q", got)
					}
					list, err := plain.ListEvents(ctx, &switchyardv1.ListEventsRequest{Key: key})
					if err != nil {
						t.Fatal(err)
					}
					if len(list.GetEvents()) != 2 {
						t.Errorf("stored %d events, want 2", len(list.GetEvents()))
					}
				})

				t.Run("run-workflow", func(t *testing.T) {
					name := "retry-run-" + p.String()
					if _, err := plain.PutWorkflow(ctx, &switchyardv1.WorkflowSpec{
						Name:  name,
						Tasks: []*switchyardv1.TaskSpec{{Name: "only", Action: "retry.noop"}},
					}); err != nil {
						t.Fatalf("put workflow: %v", err)
					}
					c, lose := newClient(switchyardv1connect.WorkflowServiceRunWorkflowProcedure)
					res, err := c.RunWorkflow(ctx, name, map[string]any{"n": 1})
					if err != nil {
						t.Fatalf("run workflow: %v", err)
					}
					lose.check(t, 2)
					if !res.GetDeduplicated() {
						t.Errorf("retried run deduplicated = false, want true")
					}
					runs, err := plain.ListRuns(ctx, &switchyardv1.ListRunsRequest{Workflow: name})
					if err != nil {
						t.Fatal(err)
					}
					if len(runs.GetRuns()) != 1 || runs.GetRuns()[0].GetId() != res.GetRunId() {
						t.Errorf("runs = %v, want exactly %s", runs.GetRuns(), res.GetRunId())
					}
				})

				t.Run("replay-event", func(t *testing.T) {
					name := "retry-replay-event-" + p.String()
					key := "retry.replay." + p.String()
					if _, err := plain.PutWorkflow(ctx, &switchyardv1.WorkflowSpec{
						Name:     name,
						OnEvents: []string{key},
						Tasks:    []*switchyardv1.TaskSpec{{Name: "only", Action: "retry.noop"}},
					}); err != nil {
						t.Fatalf("put workflow: %v", err)
					}
					pushed, err := plain.Push(ctx, key, nil)
					if err != nil {
						t.Fatalf("push: %v", err)
					}
					c, lose := newClient(switchyardv1connect.EventServiceReplayEventProcedure)
					res, err := c.ReplayEvent(ctx, pushed.GetEvent().GetId())
					if err != nil {
						t.Fatalf("replay event: %v", err)
					}
					lose.check(t, 2)
					if !res.GetDeduplicated() || len(res.GetRunIds()) != 1 {
						t.Errorf("retried replay = %v, want one run, deduplicated", res)
					}
					runs, err := plain.ListRuns(ctx, &switchyardv1.ListRunsRequest{Workflow: name, Trigger: switchyardv1.RunTrigger_RUN_TRIGGER_REPLAY})
					if err != nil {
						t.Fatal(err)
					}
					if got := runIDs(runs.GetRuns()); len(got) != 1 || got[0] != res.GetRunIds()[0] {
						t.Errorf("replay runs = %v, want exactly %v", got, res.GetRunIds())
					}
				})

				t.Run("replay-run", func(t *testing.T) {
					name := "retry-replay-run-" + p.String()
					if _, err := plain.PutWorkflow(ctx, &switchyardv1.WorkflowSpec{
						Name:  name,
						Tasks: []*switchyardv1.TaskSpec{{Name: "only", Action: "retry.noop"}},
					}); err != nil {
						t.Fatalf("put workflow: %v", err)
					}
					orig, err := plain.RunWorkflow(ctx, name, nil)
					if err != nil {
						t.Fatalf("run workflow: %v", err)
					}
					if _, err := plain.CancelRun(ctx, orig.GetRunId(), "to replay it"); err != nil {
						t.Fatalf("cancel run: %v", err)
					}
					c, lose := newClient(switchyardv1connect.RunServiceReplayRunProcedure)
					res, err := c.ReplayRun(ctx, orig.GetRunId(), switchyardv1.ReplayMode_REPLAY_MODE_WHOLE)
					if err != nil {
						t.Fatalf("replay run: %v", err)
					}
					lose.check(t, 2)
					if !res.GetDeduplicated() || res.GetRun().GetReplayOf() != orig.GetRunId() {
						t.Errorf("retried replay = %v, want a replay of %s, deduplicated", res, orig.GetRunId())
					}
					runs, err := plain.ListRuns(ctx, &switchyardv1.ListRunsRequest{Workflow: name, Trigger: switchyardv1.RunTrigger_RUN_TRIGGER_REPLAY})
					if err != nil {
						t.Fatal(err)
					}
					if got := runIDs(runs.GetRuns()); len(got) != 1 || got[0] != res.GetRun().GetId() {
						t.Errorf("replay runs = %v, want exactly %s", got, res.GetRun().GetId())
					}
				})

				t.Run("register-worker", func(t *testing.T) {
					c, lose := newClient(switchyardv1connect.WorkerServiceRegisterWorkerProcedure)
					name := "retry-register-" + p.String()
					w := sdk.NewWorker(c, sdk.WorkerConfig{Name: name, Logger: slog.New(slog.DiscardHandler)})
					w.Handle("retry.noop", func(context.Context, *sdk.Task) (map[string]any, error) { return nil, nil })
					stop := (&workerSetup{client: plain, worker: w, name: name}).run(t)
					defer func() { _ = stop() }()
					lose.check(t, 2)
					workers, err := plain.ListWorkers(ctx, nil)
					if err != nil {
						t.Fatal(err)
					}
					var named []string
					for _, w := range workers.GetWorkers() {
						if w.GetName() == name {
							named = append(named, w.GetId())
						}
					}
					if len(named) != 1 {
						t.Errorf("workers named %s: %v, want one (the retried registration's)", name, named)
					}
				})
			})
		}
	}
}

func TestRetryGivesUp(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	newClient := func(policy sdk.RetryPolicy) (*sdk.Client, *alwaysUnavailable) {
		down := &alwaysUnavailable{}
		return sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken),
			sdk.WithHTTPClient(&http.Client{Transport: down}), sdk.WithRetry(policy)), down
	}

	t.Run("after max attempts", func(t *testing.T) {
		t.Parallel()
		c, down := newClient(sdk.RetryPolicy{MaxAttempts: 4, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
		_, err := c.Push(context.Background(), "a.b", nil)
		if connect.CodeOf(err) != connect.CodeUnavailable {
			t.Errorf("push: %v, want unavailable", err)
		}
		if n := down.count(); n != 4 {
			t.Errorf("attempts = %d, want 4", n)
		}
	})

	t.Run("when the context ends", func(t *testing.T) {
		t.Parallel()
		c, down := newClient(sdk.RetryPolicy{MaxAttempts: 100, InitialBackoff: time.Hour, MaxBackoff: time.Hour})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.Push(ctx, "a.b", nil)
		if connect.CodeOf(err) != connect.CodeUnavailable || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("push: %v, want unavailable joined with the context's deadline", err)
		}
		if elapsed := time.Since(start); elapsed > 10*time.Second {
			t.Errorf("push took %v after its context ended", elapsed)
		}
		if n := down.count(); n > 2 {
			t.Errorf("attempts = %d, want at most 2", n)
		}
	})

	t.Run("not for other codes", func(t *testing.T) {
		t.Parallel()
		rec := &headerRecorder{next: servertest.HTTP2Client().Transport}
		c := sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken), sdk.WithHTTPClient(&http.Client{Transport: rec}), fastRetry)
		_, err := c.Push(context.Background(), "not a key!", nil)
		if connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Errorf("push: %v, want invalid_argument", err)
		}
		if n := len(rec.seen()); n != 1 {
			t.Errorf("attempts = %d, want 1", n)
		}
	})
}

// loseFirstResponse forwards every request to the server, but replaces the
// response to the first call of one procedure, after reading it whole (so the
// server has answered, and therefore committed), with a 503 from "a proxy".
type loseFirstResponse struct {
	next      http.RoundTripper
	procedure string

	mu          sync.Mutex
	calls       int
	firstStatus int
	firstGRPC   string
}

func (l *loseFirstResponse) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path != l.procedure {
		return l.next.RoundTrip(r)
	}
	l.mu.Lock()
	l.calls++
	first := l.calls == 1
	l.mu.Unlock()
	res, err := l.next.RoundTrip(r)
	if err != nil || !first {
		return res, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	l.mu.Lock()
	l.firstStatus = res.StatusCode
	l.firstGRPC = res.Trailer.Get("Grpc-Status")
	l.mu.Unlock()
	return unavailableResponse(r), nil
}

// check asserts the number of calls, and that the lost first response was a
// success.
func (l *loseFirstResponse) check(t *testing.T, calls int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.calls != calls {
		t.Errorf("%s called %d times, want %d", l.procedure, l.calls, calls)
	}
	if l.firstStatus != http.StatusOK || (l.firstGRPC != "" && l.firstGRPC != "0") {
		t.Errorf("the lost first response had HTTP status %d, grpc-status %q; want a success", l.firstStatus, l.firstGRPC)
	}
}

// alwaysUnavailable answers every request with a 503 without reaching a server.
type alwaysUnavailable struct {
	mu    sync.Mutex
	calls int
}

func (a *alwaysUnavailable) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	a.mu.Lock()
	a.calls++
	a.mu.Unlock()
	return unavailableResponse(r), nil
}

func (a *alwaysUnavailable) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls
}

// unavailableResponse is what a proxy answers when its upstream went away.
func unavailableResponse(r *http.Request) *http.Response {
	return &http.Response{
		Status:        "503 Service Unavailable",
		StatusCode:    http.StatusServiceUnavailable,
		Proto:         "HTTP/2.0",
		ProtoMajor:    2,
		Header:        http.Header{"Content-Type": {"text/plain"}},
		Body:          io.NopCloser(strings.NewReader("upstream connect error or disconnect/reset before headers")),
		ContentLength: -1,
		Request:       r,
	}
}
