package engine

import (
	"context"
	"errors"
	"testing"

	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// TestReportsShareTransaction commits one group of reports (as concurrent
// reports are grouped): it is one transaction, and each report gets its own
// answer and effect: completions and a failure applied, a repeat of an
// accepted report accepted again, a report of an attempt the worker does not
// hold refused, an unknown task and another tenant's task not found. The
// assignments carry their runs' workflow and input, read in the claim.
func TestReportsShareTransaction(t *testing.T) {
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			tenant := store.DefaultTenant
			e, runs, workerID := handoverSetup(t, eng, 4)
			got := make(chan *Assignment, len(runs))
			opened := make(chan struct{})
			lctx, stop := context.WithCancel(ctx)
			defer stop()
			go func() {
				_ = e.Listen(lctx, tenant, workerID, func(m *Message) error {
					switch {
					case m.Keepalive != nil && m.Keepalive.Seq == 1:
						close(opened)
					case m.Assignment != nil:
						got <- m.Assignment
					}
					return nil
				})
			}()
			<-opened
			e.disp.dispatchOnce(ctx)
			byRun := map[string]*Assignment{}
			for range runs {
				a := <-got
				if a.Workflow != "w" || a.Input == nil {
					t.Errorf("assignment of run %s: workflow %q, input %v; want w and the run's input", a.RunID, a.Workflow, a.Input)
				}
				byRun[a.RunID] = a
			}
			done := func(runID string) attemptReport {
				a := byRun[runID]
				return attemptReport{TaskID: a.TaskID, Attempt: a.Attempt, WorkerID: workerID, Success: true, Output: store.Object{}}
			}
			failed := attemptReport{TaskID: byRun[runs[2]].TaskID, Attempt: byRun[runs[2]].Attempt, WorkerID: workerID, Error: "broke"}
			stale := done(runs[3])
			stale.Attempt++
			items := []*reportItem{
				{tenantID: tenant, report: done(runs[0])},
				{tenantID: tenant, report: done(runs[1])},
				{tenantID: tenant, report: done(runs[0])}, // a repeat
				{tenantID: tenant, report: failed},
				{tenantID: tenant, report: stale},
				{tenantID: tenant, report: attemptReport{TaskID: "missing", Attempt: 1, WorkerID: workerID, Success: true}},
				{tenantID: "another-tenant", report: done(runs[3])},
			}
			before := e.store.Transactions()
			if err := e.commitReports(ctx, items); err != nil {
				t.Fatalf("commit reports: %v", err)
			}
			if n := e.store.Transactions() - before; n != 1 {
				t.Errorf("the group took %d transactions, want 1", n)
			}
			var ee *Error
			for i, it := range items[:4] {
				if it.err != nil {
					t.Errorf("report %d: %v, want accepted", i, it.err)
				}
			}
			if !errors.As(items[4].err, &ee) || ee.Kind != KindFailedPrecondition {
				t.Errorf("report of an attempt not held: %v, want failed precondition", items[4].err)
			}
			for _, it := range items[5:] {
				if !errors.Is(it.err, store.ErrNotFound) {
					t.Errorf("report of task %s for tenant %s: %v, want not found", it.report.TaskID, it.tenantID, it.err)
				}
			}
			for i, want := range []string{RunSucceeded, RunSucceeded, RunFailed, RunRunning} {
				run, err := e.GetRun(ctx, tenant, runs[i])
				if err != nil {
					t.Fatal(err)
				}
				if run.Status != want {
					t.Errorf("run %d: %s, want %s", i, run.Status, want)
				}
			}
		})
	}
}
