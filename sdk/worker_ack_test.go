package sdk_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
	"github.com/switchyard/switchyard/sdk"
)

// ackEngine has short keep-alive and acknowledgement windows, yet long enough
// for a loaded machine to answer in.
var ackEngine = engine.Config{
	KeepaliveInterval: 250 * time.Millisecond,
	AckTimeout:        time.Second,
	DispatchInterval:  50 * time.Millisecond,
	ReapInterval:      50 * time.Millisecond,
}

// TestWorkerAcknowledgesAssignments runs a task for several acknowledgement
// windows: the worker acknowledges its assignment, so the server records the
// acknowledgement and never gives the task to another worker; it runs once.
func TestWorkerAcknowledgesAssignments(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			logs := &servertest.LogSink{}
			srv := servertest.Start(t, eng, servertest.Options{Engine: ackEngine, Logger: logs.Logger(slog.LevelInfo)})
			c := sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken))
			w := sdk.NewWorker(c, sdk.WorkerConfig{Name: "acking", Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
			w.Workflow(&switchyardv1.WorkflowSpec{
				Name: "acked", OnEvents: []string{"acked.start"},
				Tasks: []*switchyardv1.TaskSpec{{Name: "slow", Action: "test.slow"}},
			})
			var runs atomic.Int32
			w.Handle("test.slow", func(ctx context.Context, _ *sdk.Task) (map[string]any, error) {
				runs.Add(1)
				select {
				case <-time.After(3 * ackEngine.AckTimeout):
					return map[string]any{"done": true}, nil
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			})
			stop := (&workerSetup{client: c, worker: w, name: "acking"}).run(t)
			run := watch(t, c, pushOne(t, c, "acked.start", nil))
			task := tasksByName(run)["slow"]
			if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED || task.GetAttempt() != 1 || runs.Load() != 1 {
				t.Errorf("run %v, attempt %d, handler run %d times; want SUCCEEDED on attempt 1, run once", run.GetStatus(), task.GetAttempt(), runs.Load())
			}
			var stored []*store.Task
			err := srv.Store.Read(context.Background(), func(ctx context.Context, q store.Q) (err error) {
				stored, err = q.TaskListByRun(ctx, run.GetId())
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(stored) != 1 || stored[0].AckedAt.IsZero() {
				t.Errorf("stored tasks %v, want one with its acknowledgement time set", stored)
			}
			var lost int
			for _, l := range logs.Lines(t, "attempt lost") {
				if reason, _ := l["reason"].(string); strings.Contains(reason, "not acknowledged") {
					lost++
				}
			}
			if lost != 0 {
				t.Errorf("%d attempts lost for want of an acknowledgement, want 0", lost)
			}
			if err := stop(); err != nil {
				t.Errorf("Run returned %v, want nil", err)
			}
		})
	}
}

// TestWorkerReconnectsWhenKeepalivesStop stops passing the Listen stream's
// bytes to the worker while its other calls go through, as a proxy that
// silently dropped the stream would: the worker must take the stream for dead
// after three keep-alive intervals, open another and run tasks on it.
func TestWorkerReconnectsWhenKeepalivesStop(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			srv := servertest.Start(t, eng, servertest.Options{Engine: ackEngine})
			silent := &silentListen{next: servertest.HTTP2Client().Transport}
			c := sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken), sdk.WithHTTPClient(&http.Client{Transport: silent}), fastRetry)
			logs := &servertest.LogSink{}
			w := sdk.NewWorker(c, sdk.WorkerConfig{Name: "watching", Logger: logs.Logger(slog.LevelWarn)})
			w.Workflow(&switchyardv1.WorkflowSpec{
				Name: "watched", OnEvents: []string{"watched.start"},
				Tasks: []*switchyardv1.TaskSpec{{Name: "echo", Action: "test.echo"}},
			})
			w.Handle("test.echo", func(_ context.Context, task *sdk.Task) (map[string]any, error) {
				return task.Input, nil
			})
			stop := (&workerSetup{client: c, worker: w, name: "watching"}).run(t)

			// The worker shows active once its stream is open on the server,
			// which may be before the stream's response reached the transport.
			for deadline := time.Now().Add(30 * time.Second); silent.listens() < 1; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("no Listen response after 30s")
				}
			}
			if n := silent.silence(); n != 1 {
				t.Fatalf("%d streams silenced, want the worker's one", n)
			}
			for deadline := time.Now().Add(30 * time.Second); silent.listens() < 2; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("after 30s of a silent stream: %d Listen calls, want a second", silent.listens())
				}
			}
			var silentEnds int
			for _, l := range logs.Lines(t, "listen stream ended: reconnecting") {
				if s, _ := l["error"].(string); strings.Contains(s, "no message on the Listen stream") {
					silentEnds++
				}
			}
			if silentEnds < 1 {
				t.Errorf("%d streams ended for silence, want at least the silenced one", silentEnds)
			}
			run := watch(t, c, pushOne(t, c, "watched.start", map[string]any{"n": 3}))
			if out := tasksByName(run)["echo"].GetOutput().AsMap(); run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED || out["n"] != 3.0 {
				t.Errorf("run after the reconnect ended %v with output %v, want SUCCEEDED with {n: 3}", run.GetStatus(), out)
			}
			if err := stop(); err != nil {
				t.Errorf("Run returned %v, want nil", err)
			}
		})
	}
}

// silentListen passes every call through; silence makes the Listen streams
// open at that moment deliver nothing more (their reads wait until the call
// ends), while later streams and other calls go on as before.
type silentListen struct {
	next http.RoundTripper

	mu     sync.Mutex
	calls  int
	bodies []*silenceable
}

func (s *silentListen) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := s.next.RoundTrip(r)
	if err != nil || r.URL.Path != switchyardv1connect.WorkerServiceListenProcedure {
		return res, err
	}
	b := &silenceable{ReadCloser: res.Body, done: r.Context().Done(), quiet: make(chan struct{})}
	res.Body = b
	s.mu.Lock()
	s.calls++
	s.bodies = append(s.bodies, b)
	s.mu.Unlock()
	return res, nil
}

// silence quiets the open streams and returns how many there were.
func (s *silentListen) silence() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, b := range s.bodies {
		if !b.closed.Load() {
			n++
		}
		b.once.Do(func() { close(b.quiet) })
	}
	s.bodies = nil
	return n
}

func (s *silentListen) listens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// silenceable is a response body that can stop delivering.
type silenceable struct {
	io.ReadCloser
	done   <-chan struct{} // the call's context
	quiet  chan struct{}
	once   sync.Once
	closed atomic.Bool
}

func (b *silenceable) Close() error {
	b.closed.Store(true)
	return b.ReadCloser.Close()
}

func (b *silenceable) Read(p []byte) (int, error) {
	select {
	case <-b.quiet:
		<-b.done
		return 0, context.Canceled
	default:
		return b.ReadCloser.Read(p)
	}
}
