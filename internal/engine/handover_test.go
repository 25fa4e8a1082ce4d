package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// handoverSetup returns an engine (not started: the tests dispatch by hand)
// with n runs of a one-task workflow queued, and a worker for them with n
// slots.
func handoverSetup(t *testing.T, eng storetest.Engine, n int) (e *Engine, runs []string, workerID string) {
	t.Helper()
	ctx := context.Background()
	e = New(Config{Store: eng.Open(t, store.Config{})})
	tenant := store.DefaultTenant
	spec := WorkflowSpec{Name: "w", Tasks: []TaskSpec{{Name: "t", Action: "act"}}}
	if _, _, err := e.PutWorkflow(ctx, tenant, spec); err != nil {
		t.Fatal(err)
	}
	for range n {
		id, _, err := e.RunWorkflow(ctx, tenant, "w", RunInput{})
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, id)
	}
	workerID, _, err := e.RegisterWorker(ctx, tenant, RegisterWorkerParams{Name: "w1", Actions: []string{"act"}, Slots: int32(n)})
	if err != nil {
		t.Fatal(err)
	}
	return e, runs, workerID
}

// TestUndeliveredAssignmentsGoBack claims three tasks for a worker whose stream
// breaks on the first send: all three go back to the queue as if never taken
// (attempt 0, no worker), and the worker, which opened a newer stream
// meanwhile, stays connected.
func TestUndeliveredAssignmentsGoBack(t *testing.T) {
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			tenant := store.DefaultTenant
			e, runs, workerID := handoverSetup(t, eng, 3)
			broken := errors.New("stream broke")
			listening := make(chan struct{})
			ended := make(chan error, 1)
			go func() {
				ended <- e.Listen(ctx, tenant, workerID, func(m *Message) error {
					if m.Keepalive != nil {
						close(listening)
						return nil
					}
					<-time.After(50 * time.Millisecond) // the other claims queue up meanwhile
					return broken
				})
			}()
			<-listening
			e.disp.dispatchOnce(ctx)
			if err := <-ended; !errors.Is(err, broken) {
				t.Fatalf("listen ended with %v, want the send error", err)
			}
			for _, id := range runs {
				run, err := e.GetRun(ctx, tenant, id)
				if err != nil {
					t.Fatal(err)
				}
				if task := run.Tasks[0]; task.Status != store.TaskQueued || task.Attempt != 0 || task.WorkerID != "" {
					t.Errorf("task of run %s after the stream broke: %s, attempt %d, worker %q; want queued, attempt 0, no worker", id, task.Status, task.Attempt, task.WorkerID)
				}
			}

			// A newer stream (here the same process; it may be another server)
			// replaces the first: the first one's end does not disconnect it.
			firstCtx, stopFirst := context.WithCancel(ctx)
			first := make(chan error, 1)
			opened := make(chan struct{}, 2)
			keepOpen := func(m *Message) error {
				if m.Keepalive != nil {
					opened <- struct{}{}
				}
				return nil
			}
			go func() { first <- e.Listen(firstCtx, tenant, workerID, keepOpen) }()
			<-opened
			secondCtx, stopSecond := context.WithCancel(ctx)
			defer stopSecond()
			go func() { _ = e.Listen(secondCtx, tenant, workerID, keepOpen) }()
			<-opened
			stopFirst()
			<-first
			ws, _, err := e.ListWorkers(ctx, tenant, Page{})
			if err != nil {
				t.Fatal(err)
			}
			if len(ws) != 1 || !ws[0].Active {
				t.Fatalf("workers after the older stream ended: %+v, want the worker active", ws)
			}
		})
	}
}

// TestHeldAttemptsSentAgain gives a worker an attempt, ends its stream as if
// the assignment had been lost with it, and opens a new one: the new stream
// carries the attempt again (same task and attempt) before any new claim. A
// stream that breaks while sending such an attempt again leaves it the
// worker's, instead of handing it back to the queue.
func TestHeldAttemptsSentAgain(t *testing.T) {
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			tenant := store.DefaultTenant
			e, runs, workerID := handoverSetup(t, eng, 1)
			runID := runs[0]
			// listen opens a stream whose assignments arrive on the returned
			// channel; send answers each with sendErr.
			listen := func(sendErr error) (<-chan *Assignment, <-chan error, context.CancelFunc) {
				lctx, stop := context.WithCancel(ctx)
				got := make(chan *Assignment, 4)
				ended := make(chan error, 1)
				opened := make(chan struct{})
				go func() {
					ended <- e.Listen(lctx, tenant, workerID, func(m *Message) error {
						switch {
						case m.Keepalive != nil:
							select {
							case <-opened:
							default:
								close(opened)
							}
						case m.Assignment != nil:
							got <- m.Assignment
							return sendErr
						}
						return nil
					})
				}()
				<-opened
				return got, ended, stop
			}

			first, firstEnded, stopFirst := listen(nil)
			e.disp.dispatchOnce(ctx)
			a := <-first
			stopFirst()
			<-firstEnded

			second, _, stopSecond := listen(nil)
			select {
			case again := <-second:
				if again.TaskID != a.TaskID || again.Attempt != a.Attempt || again.RunID != runID {
					t.Fatalf("the new stream sent task %s attempt %d, want task %s attempt %d again", again.TaskID, again.Attempt, a.TaskID, a.Attempt)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("the new stream did not send the held attempt %s/%d again", a.TaskID, a.Attempt)
			}
			stopSecond()

			broken := errors.New("stream broke")
			third, thirdEnded, stopThird := listen(broken)
			defer stopThird()
			<-third
			if err := <-thirdEnded; !errors.Is(err, broken) {
				t.Fatalf("listen ended with %v, want the send error", err)
			}
			run, err := e.GetRun(ctx, tenant, runID)
			if err != nil {
				t.Fatal(err)
			}
			if task := run.Tasks[0]; task.Status != store.TaskRunning || task.Attempt != a.Attempt || task.WorkerID != workerID {
				t.Errorf("task after a failed send of the held attempt: %s, attempt %d, worker %q; want running, attempt %d, worker %s", task.Status, task.Attempt, task.WorkerID, a.Attempt, workerID)
			}
		})
	}
}
