package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchyard/switchyard/service/store"
	"github.com/switchyard/switchyard/service/store/storetest"
)

// TestUndeliveredAssignmentsGoBack claims three tasks for a worker whose stream
// breaks on the first send: all three go back to the queue as if never taken
// (attempt 0, no worker), and the worker, which opened a newer stream
// meanwhile, stays connected.
func TestUndeliveredAssignmentsGoBack(t *testing.T) {
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := New(Config{Store: eng.Open(t, store.Config{})})
			tenant := store.DefaultTenant
			spec := WorkflowSpec{Name: "w", Tasks: []TaskSpec{{Name: "t", Action: "act"}}}
			if _, _, err := e.PutWorkflow(ctx, tenant, spec); err != nil {
				t.Fatal(err)
			}
			var runs []string
			for range 3 {
				id, _, err := e.RunWorkflow(ctx, tenant, "w", RunInput{})
				if err != nil {
					t.Fatal(err)
				}
				runs = append(runs, id)
			}
			workerID, _, err := e.RegisterWorker(ctx, tenant, "w1", []string{"act"}, 3, nil)
			if err != nil {
				t.Fatal(err)
			}
			broken := errors.New("stream broke")
			listening := make(chan struct{})
			ended := make(chan error, 1)
			go func() {
				ended <- e.Listen(ctx, tenant, workerID, func(m *Message) error {
					if m.Keepalive {
						close(listening)
						return nil
					}
					<-time.After(50 * time.Millisecond) // the other claims queue up meanwhile
					return broken
				})
			}()
			<-listening
			e.dispatchOnce(ctx)
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
				if m.Keepalive {
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
