package sdk_test

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
	"github.com/switchyard/switchyard/sdk"
)

// workerSetup is what a worker test needs: a server, a client of it and a
// worker, not yet running.
type workerSetup struct {
	client *sdk.Client
	worker *sdk.Worker
	name   string
}

func setupWorker(t *testing.T, eng storetest.Engine, cfg sdk.WorkerConfig) *workerSetup {
	t.Helper()
	srv := servertest.Start(t, eng, servertest.Options{})
	c := sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken))
	if cfg.Name == "" {
		cfg.Name = "test-worker"
	}
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	return &workerSetup{client: c, worker: sdk.NewWorker(c, cfg), name: cfg.Name}
}

// run starts the worker and waits until the server shows it active (its
// workflows are declared and its stream is open). The returned stop cancels
// Run's context and returns what Run returned.
func (s *workerSetup) run(t *testing.T) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.worker.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(time.Minute):
				runErr = errors.New("Run did not return within a minute of its context ending")
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })

	waitActive(t, s.client, s.name, done)
	return stop
}

// waitActive waits until the worker named name is active on the server (its
// workflows are declared and its stream is open); a Run that returns on done
// meanwhile fails the test (done may be nil).
func waitActive(t *testing.T, c *sdk.Client, name string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("worker Run returned early: %v", err)
		default:
		}
		res, err := c.ListWorkers(context.Background(), nil)
		if err != nil {
			t.Fatalf("list workers: %v", err)
		}
		for _, w := range res.GetWorkers() {
			if w.GetName() == name && w.GetStatus() == switchyardv1.WorkerStatus_WORKER_STATUS_ACTIVE {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker %s not active after 30s; workers: %v", name, res.GetWorkers())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pushOne pushes an event and returns the one run it started.
func pushOne(t *testing.T, c *sdk.Client, key string, payload map[string]any) string {
	t.Helper()
	res, err := c.Push(context.Background(), key, payload)
	if err != nil {
		t.Fatalf("push %s: %v", key, err)
	}
	if len(res.GetRunIds()) != 1 {
		t.Fatalf("push %s started runs %v, want one", key, res.GetRunIds())
	}
	return res.GetRunIds()[0]
}

// watch waits for the run to end and returns its final state.
func watch(t *testing.T, c *sdk.Client, runID string) *switchyardv1.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := c.WatchRun(ctx, runID, func(*switchyardv1.Run) error { return nil })
	if err != nil {
		t.Fatalf("watch run %s: %v (last state %v)", runID, err, run)
	}
	return run
}

func tasksByName(run *switchyardv1.Run) map[string]*switchyardv1.Task {
	m := map[string]*switchyardv1.Task{}
	for _, task := range run.GetTasks() {
		m[task.GetName()] = task
	}
	return m
}

func TestWorkerRunsDAG(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			s := setupWorker(t, eng, sdk.WorkerConfig{Slots: 4})
			s.worker.Workflow(&switchyardv1.WorkflowSpec{
				Name:     "dag",
				OnEvents: []string{"dag.start"},
				Tasks: []*switchyardv1.TaskSpec{
					{Name: "fetch", Action: "test.fetch"},
					{Name: "double", Action: "test.double", Parents: []string{"fetch"}},
					{Name: "square", Action: "test.square", Parents: []string{"fetch"}},
					{Name: "join", Action: "test.join", Parents: []string{"double", "square"}},
				},
			})
			var mu sync.Mutex
			seen := map[string]*sdk.Task{}
			record := func(task *sdk.Task) {
				mu.Lock()
				defer mu.Unlock()
				seen[task.Name] = task
			}
			s.worker.Handle("test.fetch", func(_ context.Context, task *sdk.Task) (map[string]any, error) {
				record(task)
				return map[string]any{"n": task.Input["n"].(float64) + 1}, nil
			})
			s.worker.Handle("test.double", func(_ context.Context, task *sdk.Task) (map[string]any, error) {
				record(task)
				return map[string]any{"v": task.ParentOutputs["fetch"]["n"].(float64) * 2}, nil
			})
			s.worker.Handle("test.square", func(_ context.Context, task *sdk.Task) (map[string]any, error) {
				record(task)
				n := task.ParentOutputs["fetch"]["n"].(float64)
				return map[string]any{"v": n * n}, nil
			})
			s.worker.Handle("test.join", func(_ context.Context, task *sdk.Task) (map[string]any, error) {
				record(task)
				return map[string]any{
					"sum":  task.ParentOutputs["double"]["v"].(float64) + task.ParentOutputs["square"]["v"].(float64),
					"tags": []string{"a", "b"},
				}, nil
			})
			stop := s.run(t)

			runID := pushOne(t, s.client, "dag.start", map[string]any{"n": 2})
			var states []switchyardv1.RunStatus
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			final, err := s.client.WatchRun(ctx, runID, func(r *switchyardv1.Run) error {
				states = append(states, r.GetStatus())
				return nil
			})
			if err != nil {
				t.Fatalf("watch run: %v", err)
			}
			if final.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED || states[len(states)-1] != final.GetStatus() {
				t.Fatalf("run ended %v (states %v, error %q), want SUCCEEDED", final.GetStatus(), states, final.GetError())
			}

			run, err := s.client.GetRun(context.Background(), runID)
			if err != nil {
				t.Fatal(err)
			}
			wantOutputs := map[string]map[string]any{
				"fetch":  {"n": 3.0},
				"double": {"v": 6.0},
				"square": {"v": 9.0},
				"join":   {"sum": 15.0, "tags": []any{"a", "b"}},
			}
			for name, task := range tasksByName(run) {
				if got := task.GetOutput().AsMap(); !reflect.DeepEqual(got, wantOutputs[name]) {
					t.Errorf("task %s output = %v, want %v", name, got, wantOutputs[name])
				}
				if task.GetStatus() != switchyardv1.TaskStatus_TASK_STATUS_SUCCEEDED || task.GetAttempt() != 1 {
					t.Errorf("task %s is %v at attempt %d, want SUCCEEDED at 1", name, task.GetStatus(), task.GetAttempt())
				}
			}

			mu.Lock()
			defer mu.Unlock()
			if len(seen) != 4 {
				t.Fatalf("handlers saw tasks %v, want 4", seen)
			}
			wantParents := map[string]map[string]map[string]any{
				"fetch":  {},
				"double": {"fetch": {"n": 3.0}},
				"square": {"fetch": {"n": 3.0}},
				"join":   {"double": {"v": 6.0}, "square": {"v": 9.0}},
			}
			for name, task := range seen {
				if !reflect.DeepEqual(task.ParentOutputs, wantParents[name]) {
					t.Errorf("%s saw parent outputs %v, want %v", name, task.ParentOutputs, wantParents[name])
				}
				if !reflect.DeepEqual(task.Input, map[string]any{"n": 2.0}) {
					t.Errorf("%s saw input %v, want {n: 2}", name, task.Input)
				}
				if task.RunID != runID || task.Workflow != "dag" || task.Attempt != 1 || task.ID == "" {
					t.Errorf("%s saw task %+v", name, task)
				}
				if task.Deadline.Before(time.Now()) || task.Deadline.After(time.Now().Add(5*time.Minute)) {
					t.Errorf("%s deadline %v, want within the default 5 minute timeout", name, task.Deadline)
				}
			}
			if err := stop(); err != nil {
				t.Errorf("Run returned %v, want nil", err)
			}
		})
	}
}

func TestWorkerPermanentErrorFailsRun(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			s := setupWorker(t, eng, sdk.WorkerConfig{})
			s.worker.Workflow(&switchyardv1.WorkflowSpec{
				Name:     "permanent",
				OnEvents: []string{"permanent.start"},
				Tasks: []*switchyardv1.TaskSpec{{
					Name: "check", Action: "test.check",
					Retry: &switchyardv1.RetryPolicy{MaxAttempts: 3, InitialBackoff: durationpb.New(10 * time.Millisecond)},
				}},
			})
			var calls atomic.Int32
			s.worker.Handle("test.check", func(context.Context, *sdk.Task) (map[string]any, error) {
				calls.Add(1)
				return nil, sdk.Permanent(errors.New("bad input"))
			})
			s.run(t)

			run := watch(t, s.client, pushOne(t, s.client, "permanent.start", nil))
			if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_FAILED {
				t.Fatalf("run ended %v, want FAILED", run.GetStatus())
			}
			task := tasksByName(run)["check"]
			if task.GetStatus() != switchyardv1.TaskStatus_TASK_STATUS_FAILED || task.GetAttempt() != 1 || task.GetError() != "bad input" {
				t.Errorf("task is %v at attempt %d with error %q, want FAILED at 1 with \"bad input\"",
					task.GetStatus(), task.GetAttempt(), task.GetError())
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("handler called %d times, want 1", n)
			}
		})
	}
}

func TestWorkerReportsPanics(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			s := setupWorker(t, eng, sdk.WorkerConfig{})
			s.worker.Workflow(&switchyardv1.WorkflowSpec{
				Name:     "panics",
				OnEvents: []string{"panics.always"},
				Tasks: []*switchyardv1.TaskSpec{{
					Name: "boom", Action: "test.boom", Retry: &switchyardv1.RetryPolicy{MaxAttempts: 1},
				}},
			})
			s.worker.Workflow(&switchyardv1.WorkflowSpec{
				Name:     "recovers",
				OnEvents: []string{"panics.once"},
				Tasks: []*switchyardv1.TaskSpec{{
					Name: "flaky", Action: "test.flaky",
					Retry: &switchyardv1.RetryPolicy{MaxAttempts: 2, InitialBackoff: durationpb.New(10 * time.Millisecond)},
				}},
			})
			s.worker.Handle("test.boom", func(context.Context, *sdk.Task) (map[string]any, error) {
				panic("boom")
			})
			s.worker.Handle("test.flaky", func(_ context.Context, task *sdk.Task) (map[string]any, error) {
				if task.Attempt == 1 {
					panic("first time")
				}
				return map[string]any{"attempt": task.Attempt}, nil
			})
			s.run(t)

			run := watch(t, s.client, pushOne(t, s.client, "panics.always", nil))
			task := tasksByName(run)["boom"]
			if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_FAILED || task.GetError() != "panic: boom" {
				t.Errorf("run ended %v with task error %q, want FAILED with \"panic: boom\"", run.GetStatus(), task.GetError())
			}

			// A panic is retryable: the second attempt succeeds.
			run = watch(t, s.client, pushOne(t, s.client, "panics.once", nil))
			task = tasksByName(run)["flaky"]
			if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED || task.GetAttempt() != 2 ||
				!reflect.DeepEqual(task.GetOutput().AsMap(), map[string]any{"attempt": 2.0}) {
				t.Errorf("run ended %v, task at attempt %d with output %v; want SUCCEEDED at attempt 2 with {attempt: 2}",
					run.GetStatus(), task.GetAttempt(), task.GetOutput().AsMap())
			}
		})
	}
}

func TestWorkerRunErrors(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	noop := func(context.Context, *sdk.Task) (map[string]any, error) { return nil, nil }

	w := sdk.NewWorker(sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken)), sdk.WorkerConfig{})
	if err := w.Run(context.Background()); err == nil || err.Error() != "run worker: no action has a handler" {
		t.Errorf("Run without handlers: %v", err)
	}

	w = sdk.NewWorker(sdk.NewClient(srv.URL, sdk.WithToken("sy_wrong")), sdk.WorkerConfig{})
	w.Handle("test.noop", noop)
	if err := w.Run(context.Background()); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("Run with a bad token: %v, want unauthenticated", err)
	}
	if err := w.Run(context.Background()); err == nil || err.Error() != "run worker: Run was already called" {
		t.Errorf("second Run: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w = sdk.NewWorker(sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken)), sdk.WorkerConfig{})
	w.Handle("test.noop", noop)
	if err := w.Run(ctx); err != nil {
		t.Errorf("Run with a cancelled context: %v, want nil", err)
	}

	defer func() {
		if p := recover(); p != "sdk: action test.noop already has a handler" {
			t.Errorf("second Handle of an action panicked with %v", p)
		}
	}()
	w.Handle("test.noop", noop)
}
