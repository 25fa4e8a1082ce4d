package engine

import (
	"context"
	"testing"

	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// TestAcknowledgedAttemptIsNotLostForWantOfIt claims a task, has the reaper's
// verdict "not acknowledged" race with the worker's acknowledgement, and checks
// that the acknowledgement wins: the attempt stays the worker's. Without it the
// attempt is lost and the task queued again for its next attempt.
func TestAcknowledgedAttemptIsNotLostForWantOfIt(t *testing.T) {
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			tenant := store.DefaultTenant
			e, runs, workerID := handoverSetup(t, eng, 2)
			var claimed []*store.Task
			err := e.store.Write(ctx, func(ctx context.Context, q store.Q) (err error) {
				claimed, err = q.TaskClaim(ctx, &store.TaskClaimParams{TenantID: tenant, WorkerID: workerID, Actions: []string{"act"}, Limit: 2, Now: e.now()})
				if err != nil {
					return err
				}
				_, err = q.TaskAcknowledge(ctx, workerID, []store.AttemptRef{{TaskID: claimed[0].ID, Attempt: 1}}, e.now())
				return err
			})
			if err != nil || len(claimed) != 2 {
				t.Fatalf("claim: %d tasks, %v; want 2", len(claimed), err)
			}
			for _, c := range claimed {
				e.disp.loseAttempt(ctx, tenant, c, "assignment not acknowledged", true)
			}
			want := map[string]struct {
				status  string
				attempt int32
			}{
				claimed[0].ID: {store.TaskRunning, 1}, // acknowledged: kept
				claimed[1].ID: {store.TaskQueued, 1},  // lost: queued for attempt 2
			}
			for _, runID := range runs {
				var tasks []*store.Task
				if err := e.store.Read(ctx, func(ctx context.Context, q store.Q) (err error) {
					tasks, err = q.TaskListByRun(ctx, runID)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				tk := tasks[0]
				if w := want[tk.ID]; tk.Status != w.status || tk.Attempt != w.attempt {
					t.Errorf("task %s: %s at attempt %d, want %s at attempt %d", tk.ID, tk.Status, tk.Attempt, w.status, w.attempt)
				}
			}
		})
	}
}
