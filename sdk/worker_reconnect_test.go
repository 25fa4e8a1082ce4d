package sdk_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
	"github.com/switchyard/switchyard/sdk"
)

// TestWorkerReconnects breaks the worker's Listen stream, then answers its next
// Listen with not_found (as a server that forgot the worker would): the worker
// must register again, listen again and go on running tasks.
func TestWorkerReconnects(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			srv := servertest.Start(t, eng, servertest.Options{})
			flaky := &flakyListen{next: servertest.HTTP2Client().Transport, calls: map[string]int{}}
			c := sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken), sdk.WithHTTPClient(&http.Client{Transport: flaky}), fastRetry)
			w := sdk.NewWorker(c, sdk.WorkerConfig{
				Name:   "reconnecting",
				Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError})),
			})
			w.Workflow(&switchyardv1.WorkflowSpec{
				Name: "reconnect", OnEvents: []string{"reconnect.start"},
				Tasks: []*switchyardv1.TaskSpec{{Name: "echo", Action: "test.echo"}},
			})
			w.Handle("test.echo", func(_ context.Context, task *sdk.Task) (map[string]any, error) {
				return task.Input, nil
			})
			s := &workerSetup{client: c, worker: w, name: "reconnecting"}
			stop := s.run(t)

			flaky.breakStream(true)
			deadline := time.Now().Add(30 * time.Second)
			for flaky.count(switchyardv1connect.WorkerServiceRegisterWorkerProcedure) < 2 ||
				flaky.count(switchyardv1connect.WorkerServiceListenProcedure) < 3 {
				if time.Now().After(deadline) {
					t.Fatalf("after 30s: %d registrations and %d Listen calls, want 2 and 3",
						flaky.count(switchyardv1connect.WorkerServiceRegisterWorkerProcedure), flaky.count(switchyardv1connect.WorkerServiceListenProcedure))
				}
				time.Sleep(10 * time.Millisecond)
			}

			run := watch(t, c, pushOne(t, c, "reconnect.start", map[string]any{"n": 7}))
			task := tasksByName(run)["echo"]
			if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED || task.GetOutput().AsMap()["n"] != 7.0 {
				t.Errorf("run ended %v with output %v, want SUCCEEDED with {n: 7}", run.GetStatus(), task.GetOutput().AsMap())
			}
			workers, err := c.ListWorkers(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(workers.GetWorkers()) != 2 || task.GetWorkerId() != workers.GetWorkers()[0].GetId() {
				t.Errorf("workers %v; want two registrations, the newest running the task (ran on %s)", workers.GetWorkers(), task.GetWorkerId())
			}
			if err := stop(); err != nil {
				t.Errorf("Run returned %v, want nil", err)
			}
		})
	}
}

// flakyListen counts calls by procedure; breakStream cuts the open Listen
// stream (as a dropped connection would) and, when notFound is set, answers the next Listen with a gRPC
// not_found without reaching the server.
type flakyListen struct {
	next http.RoundTripper

	mu       sync.Mutex
	calls    map[string]int
	notFound bool
	cut      context.CancelFunc // ends the open Listen call
}

func (f *flakyListen) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.calls[r.URL.Path]++
	fake := r.URL.Path == switchyardv1connect.WorkerServiceListenProcedure && f.notFound
	if fake {
		f.notFound = false
	}
	f.mu.Unlock()
	if fake {
		_, _ = io.Copy(io.Discard, r.Body)
		return &http.Response{
			Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/2.0", ProtoMajor: 2,
			Header: http.Header{
				"Content-Type": {"application/grpc"},
				"Grpc-Status":  {"5"},
				"Grpc-Message": {"worker not found: register again"},
			},
			Body: io.NopCloser(strings.NewReader("")), ContentLength: 0, Request: r,
		}, nil
	}
	if r.URL.Path == switchyardv1connect.WorkerServiceListenProcedure {
		ctx, cut := context.WithCancel(r.Context())
		r = r.WithContext(ctx)
		f.mu.Lock()
		f.cut = cut
		f.mu.Unlock()
	}
	return f.next.RoundTrip(r)
}

func (f *flakyListen) breakStream(notFound bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notFound = notFound
	if f.cut != nil {
		f.cut()
	}
}

func (f *flakyListen) count(procedure string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[procedure]
}

// TestWorkerRunsAHeldAttemptOnce breaks the worker's stream while it runs an
// attempt. The server sends the attempt again on the new stream (it cannot
// know whether an assignment written as a stream ends arrived); the worker,
// already running it, ignores the repeat, and the handler runs once.
func TestWorkerRunsAHeldAttemptOnce(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			srv := servertest.Start(t, eng, servertest.Options{})
			flaky := &flakyListen{next: servertest.HTTP2Client().Transport, calls: map[string]int{}}
			c := sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken), sdk.WithHTTPClient(&http.Client{Transport: flaky}), fastRetry)
			logs := &servertest.LogSink{}
			w := sdk.NewWorker(c, sdk.WorkerConfig{Name: "holding", Logger: logs.Logger(slog.LevelDebug)})
			w.Workflow(&switchyardv1.WorkflowSpec{
				Name: "hold", OnEvents: []string{"hold.start"},
				Tasks: []*switchyardv1.TaskSpec{{Name: "slow", Action: "test.slow"}},
			})
			var mu sync.Mutex
			runs := 0
			started, release := make(chan struct{}, 4), make(chan struct{})
			w.Handle("test.slow", func(ctx context.Context, _ *sdk.Task) (map[string]any, error) {
				mu.Lock()
				runs++
				mu.Unlock()
				started <- struct{}{}
				select {
				case <-release:
					return map[string]any{"done": true}, nil
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			})
			s := &workerSetup{client: c, worker: w, name: "holding"}
			stop := s.run(t)
			runID := pushOne(t, c, "hold.start", nil)
			<-started

			flaky.breakStream(false)
			for deadline := time.Now().Add(30 * time.Second); len(logs.Lines(t, "ignoring a repeated assignment")) == 0; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("after 30s (%d Listen calls): the new stream did not carry the running attempt again",
						flaky.count(switchyardv1connect.WorkerServiceListenProcedure))
				}
			}
			close(release)
			run := watch(t, c, runID)
			mu.Lock()
			got := runs
			mu.Unlock()
			if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED || got != 1 {
				t.Errorf("run ended %v with the handler run %d times, want SUCCEEDED and once", run.GetStatus(), got)
			}
			if err := stop(); err != nil {
				t.Errorf("Run returned %v, want nil", err)
			}
		})
	}
}
