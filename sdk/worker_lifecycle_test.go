package sdk_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/store/storetest"
	"github.com/switchyard/switchyard/sdk"
)

// blockingWorkflow is one task of action test.block, started by event key.
func blockingWorkflow(name, key string) *switchyardv1.WorkflowSpec {
	return &switchyardv1.WorkflowSpec{
		Name:     name,
		OnEvents: []string{key},
		Tasks:    []*switchyardv1.TaskSpec{{Name: "block", Action: "test.block"}},
	}
}

func TestWorkerShutdownWaitsForRunningTasks(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			s := setupWorker(t, eng, sdk.WorkerConfig{ShutdownTimeout: 30 * time.Second})
			s.worker.Workflow(blockingWorkflow("drain", "drain.start"))
			started, release := make(chan struct{}), make(chan struct{})
			ctxErrs := make(chan error, 1)
			s.worker.Handle("test.block", func(ctx context.Context, _ *sdk.Task) (map[string]any, error) {
				close(started)
				<-release
				ctxErrs <- ctx.Err()
				return map[string]any{"done": true}, nil
			})
			stop := s.run(t)
			runID := pushOne(t, s.client, "drain.start", nil)
			<-started

			stopped := make(chan error, 1)
			go func() { stopped <- stop() }()
			select {
			case err := <-stopped:
				t.Fatalf("Run returned %v while a task was running", err)
			case <-time.After(200 * time.Millisecond):
			}
			close(release)
			if err := <-stopped; err != nil {
				t.Errorf("Run returned %v, want nil", err)
			}
			if err := <-ctxErrs; err != nil {
				t.Errorf("the task's context ended (%v) although it finished within the shutdown timeout", err)
			}
			run, err := s.client.GetRun(context.Background(), runID)
			if err != nil {
				t.Fatal(err)
			}
			if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
				t.Errorf("run is %v after shutdown, want SUCCEEDED (the result reported before Run returned)", run.GetStatus())
			}
		})
	}
}

func TestWorkerShutdownCancelsTasksAfterTimeout(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			s := setupWorker(t, eng, sdk.WorkerConfig{ShutdownTimeout: 100 * time.Millisecond})
			s.worker.Workflow(blockingWorkflow("abandon", "abandon.start"))
			started := make(chan struct{})
			causes := make(chan error, 1)
			s.worker.Handle("test.block", func(ctx context.Context, _ *sdk.Task) (map[string]any, error) {
				close(started)
				<-ctx.Done()
				causes <- context.Cause(ctx)
				return nil, ctx.Err()
			})
			stop := s.run(t)
			runID := pushOne(t, s.client, "abandon.start", nil)
			<-started

			if err := stop(); err != nil {
				t.Errorf("Run returned %v, want nil", err)
			}
			if cause := <-causes; !errors.Is(cause, sdk.ErrShuttingDown) {
				t.Errorf("task context ended with cause %v, want ErrShuttingDown", cause)
			}
			run, err := s.client.GetRun(context.Background(), runID)
			if err != nil {
				t.Fatal(err)
			}
			task := tasksByName(run)["block"]
			if task.GetStatus() != switchyardv1.TaskStatus_TASK_STATUS_QUEUED || task.GetAttempt() != 1 || task.GetError() != "worker shutting down" {
				t.Errorf("task is %v at attempt %d with error %q; want QUEUED (to retry) at 1 with \"worker shutting down\"",
					task.GetStatus(), task.GetAttempt(), task.GetError())
			}
		})
	}
}

func TestWorkerStopsCancelledTasks(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			s := setupWorker(t, eng, sdk.WorkerConfig{})
			s.worker.Workflow(blockingWorkflow("cancelled", "cancel.start"))
			started := make(chan struct{})
			causes := make(chan error, 1)
			s.worker.Handle("test.block", func(ctx context.Context, _ *sdk.Task) (map[string]any, error) {
				close(started)
				select {
				case <-ctx.Done():
					causes <- context.Cause(ctx)
				case <-time.After(30 * time.Second):
					causes <- errors.New("no cancellation within 30s")
				}
				return nil, ctx.Err()
			})
			s.run(t)
			runID := pushOne(t, s.client, "cancel.start", nil)
			<-started
			if _, err := s.client.CancelRun(context.Background(), runID, "changed my mind"); err != nil {
				t.Fatalf("cancel run: %v", err)
			}
			// The cause carries the server's reason, whatever the server says.
			if cause := <-causes; !errors.Is(cause, sdk.ErrTaskCancelled) || !strings.HasPrefix(cause.Error(), "cancelled by the server: ") {
				t.Errorf("task context ended with cause %v, want ErrTaskCancelled with the server's reason", cause)
			}
			if run := watch(t, s.client, runID); run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_CANCELLED || run.GetError() != "changed my mind" {
				t.Errorf("run ended %v with error %q, want CANCELLED with \"changed my mind\"", run.GetStatus(), run.GetError())
			}
		})
	}
}

func TestWorkerRunsAtMostSlotsTasks(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			s := setupWorker(t, eng, sdk.WorkerConfig{Slots: 2})
			s.worker.Workflow(blockingWorkflow("slots", "slots.start"))
			var mu sync.Mutex
			running, most := 0, 0
			// A task waits (up to 10 s) until two run at once, so that the
			// slots are used whatever the machine's speed; a third never may.
			full := make(chan struct{})
			s.worker.Handle("test.block", func(context.Context, *sdk.Task) (map[string]any, error) {
				mu.Lock()
				running++
				if running == 2 && most < 2 {
					close(full)
				}
				most = max(most, running)
				mu.Unlock()
				select {
				case <-full:
				case <-time.After(10 * time.Second):
				}
				time.Sleep(50 * time.Millisecond)
				mu.Lock()
				running--
				mu.Unlock()
				return nil, nil
			})
			s.run(t)
			var runIDs []string
			for range 6 {
				runIDs = append(runIDs, pushOne(t, s.client, "slots.start", nil))
			}
			for _, id := range runIDs {
				if run := watch(t, s.client, id); run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
					t.Errorf("run %s ended %v, want SUCCEEDED", id, run.GetStatus())
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if most != 2 {
				t.Errorf("at most %d tasks ran at once, want 2 (the worker's slots)", most)
			}
		})
	}
}

func TestWorkerEndsTasksAtTheirDeadline(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			s := setupWorker(t, eng, sdk.WorkerConfig{})
			s.worker.Workflow(&switchyardv1.WorkflowSpec{
				Name: "deadline", OnEvents: []string{"deadline.start"},
				Tasks: []*switchyardv1.TaskSpec{{
					Name: "slow", Action: "test.slow",
					Timeout: durationpb.New(300 * time.Millisecond),
					Retry:   &switchyardv1.RetryPolicy{MaxAttempts: 1},
				}},
			})
			type seen struct {
				cause    error
				deadline time.Time
			}
			seenc := make(chan seen, 1)
			s.worker.Handle("test.slow", func(ctx context.Context, task *sdk.Task) (map[string]any, error) {
				select {
				case <-ctx.Done():
				case <-time.After(30 * time.Second):
				}
				seenc <- seen{context.Cause(ctx), task.Deadline}
				return nil, ctx.Err()
			})
			s.run(t)
			start := time.Now()
			run := watch(t, s.client, pushOne(t, s.client, "deadline.start", nil))
			got := <-seenc
			if !errors.Is(got.cause, sdk.ErrTaskDeadline) {
				t.Errorf("task context ended with cause %v, want ErrTaskDeadline", got.cause)
			}
			if d := got.deadline.Sub(start); d < 299*time.Millisecond || d > 10*time.Second {
				t.Errorf("deadline %v after the push, want 300ms after the assignment", d)
			}
			if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_FAILED {
				t.Errorf("run ended %v, want FAILED", run.GetStatus())
			}
		})
	}
}
