package store_test

import (
	"context"
	"testing"

	"github.com/switchyard/switchyard/internal/store"
)

var flowCases = []suiteCase{
	{"PauseSetListDelete", testWorkflowPause},
	{"PausedRunsListedAndReleased", testRunPaused},
	{"WindowAddMovesFireAtUpToDeadline", testWindowAdd},
	{"WindowClosesOnceAndLinksEvents", testWindowClose},
	{"RunSelectFiltersAndCounts", testRunSelect},
	{"BulkOperationProgress", testBulkOperation},
	{"RunListOpen", testRunListOpen},
	{"RunPruneDropsWindowLinks", testRunPruneDropsWindowLinks},
}

func testWorkflowPause(t *testing.T, f *fixture) {
	f.write(func(ctx context.Context, q store.Q) error {
		return q.WorkflowPauseSet(ctx, &store.WorkflowPause{TenantID: tenantA, Workflow: "wf", PausedAt: store.TimeMicros(10)})
	})
	f.write(func(ctx context.Context, q store.Q) error {
		return q.WorkflowPauseSet(ctx, &store.WorkflowPause{TenantID: tenantA, Workflow: "wf", SkipCron: true, PausedAt: store.TimeMicros(20)})
	})
	list := func(tenant string) map[string]*store.WorkflowPause {
		return read(f, func(ctx context.Context, q store.Q) (map[string]*store.WorkflowPause, error) {
			return q.WorkflowPauseList(ctx, tenant)
		})
	}
	wantEqual(t, "A's pauses", list(tenantA), map[string]*store.WorkflowPause{
		"wf": {TenantID: tenantA, Workflow: "wf", SkipCron: true, PausedAt: store.TimeMicros(10)}})
	wantEqual(t, "B's pauses", list(tenantB), map[string]*store.WorkflowPause{})
	_, err := readErr(f, func(ctx context.Context, q store.Q) (*store.WorkflowPause, error) {
		return q.WorkflowPauseGet(ctx, tenantB, "wf")
	})
	wantErr(t, "B's pause of wf", err, store.ErrNotFound)
	deleted := writeResult(f, func(ctx context.Context, q store.Q) (bool, error) { return q.WorkflowPauseDelete(ctx, tenantA, "wf") })
	again := writeResult(f, func(ctx context.Context, q store.Q) (bool, error) { return q.WorkflowPauseDelete(ctx, tenantA, "wf") })
	wantEqual(t, "deleted, deleted again", []bool{deleted, again}, []bool{true, false})
}

func pausedRun(tenant, id string) *store.Run {
	r := runOf(tenant, id, 1)
	r.Status = store.RunPaused
	return r
}

func testRunPaused(t *testing.T, f *fixture) {
	insertRunsOf(f, pausedRun(tenantA, "a2"), pausedRun(tenantA, "a1"), runOf(tenantA, "a3", 1), pausedRun(tenantB, "b1"))
	f.write(func(ctx context.Context, q store.Q) error {
		return q.WorkflowPauseSet(ctx, &store.WorkflowPause{TenantID: tenantB, Workflow: "wf", PausedAt: store.TimeMicros(1)})
	})
	paused := read(f, func(ctx context.Context, q store.Q) ([]*store.Run, error) {
		return q.RunListPaused(ctx, tenantA, "wf", 10)
	})
	wantEqual(t, "A's paused runs, oldest first", idsOf(paused, func(r *store.Run) string { return r.ID }), []string{"a1", "a2"})
	n := read(f, func(ctx context.Context, q store.Q) (int64, error) { return q.RunCountPaused(ctx, tenantA, "wf") })
	wantEqual(t, "A's paused count", n, int64(2))
	released := read(f, func(ctx context.Context, q store.Q) ([]store.WorkflowRef, error) {
		return q.RunPausedWorkflows(ctx, 10)
	})
	wantEqual(t, "workflows with released runs (B's is still paused)", released, []store.WorkflowRef{{TenantID: tenantA, Workflow: "wf"}})
}

func window(id, group string, fireAt, deadline int64) *store.EventWindow {
	return &store.EventWindow{ID: id, TenantID: tenantA, Workflow: "wf", GroupKey: group, Kind: store.WindowDebounce,
		FirstAt: store.TimeMicros(1), FireAt: store.TimeMicros(fireAt), Deadline: store.TimeMicros(deadline)}
}

func addToWindow(f *fixture, w *store.EventWindow, eventID string) *store.EventWindow {
	f.t.Helper()
	return writeResult(f, func(ctx context.Context, q store.Q) (*store.EventWindow, error) { return q.WindowAdd(ctx, w, eventID) })
}

func testWindowAdd(t *testing.T, f *fixture) {
	first := addToWindow(f, window("w1", "g", 100, 250), "e1")
	second := addToWindow(f, window("w2", "g", 200, 9999), "e2")
	third := addToWindow(f, window("w3", "g", 300, 9999), "e3")
	other := addToWindow(f, window("w4", "h", 50, 9999), "e4")
	wantEqual(t, "ids (one window per group)", []string{first.ID, second.ID, third.ID, other.ID}, []string{"w1", "w1", "w1", "w4"})
	wantEqual(t, "sizes", []int{first.Size, second.Size, third.Size, other.Size}, []int{1, 2, 3, 1})
	wantEqual(t, "fire times (the deadline caps the third)", []int64{first.FireAt.Micros(), second.FireAt.Micros(), third.FireAt.Micros()}, []int64{100, 200, 250})
	due := read(f, func(ctx context.Context, q store.Q) ([]*store.EventWindow, error) {
		return q.WindowListDue(ctx, at(250), 10)
	})
	wantEqual(t, "due windows, earliest first", idsOf(due, func(w *store.EventWindow) string { return w.ID }), []string{"w4", "w1"})
}

func testWindowClose(t *testing.T, f *fixture) {
	insertEventsOf(f, eventOf(tenantA, "e1", "k", "", 1), eventOf(tenantA, "e2", "k", "", 2))
	addToWindow(f, window("w1", "g", 100, 200), "e2")
	addToWindow(f, window("w2", "g", 100, 200), "e1")
	type closed struct {
		OK  bool
		IDs []string
	}
	closeW := func() closed {
		return writeResult(f, func(ctx context.Context, q store.Q) (closed, error) {
			ok, ids, err := q.WindowClose(ctx, "w1", "r1")
			return closed{ok, ids}, err
		})
	}
	wantEqual(t, "first close", closeW(), closed{true, []string{"e2", "e1"}})
	wantEqual(t, "second close", closeW(), closed{false, nil})
	ids := read(f, func(ctx context.Context, q store.Q) ([]string, error) { return q.RunEventIDs(ctx, "r1") })
	wantEqual(t, "the run's events, in window order", ids, []string{"e2", "e1"})
	byEvent := read(f, func(ctx context.Context, q store.Q) (map[string][]string, error) {
		return q.RunIDsByEvents(ctx, tenantA, []string{"e1", "e2"})
	})
	wantEqual(t, "runs by event", byEvent, map[string][]string{"e1": {"r1"}, "e2": {"r1"}})
	byEventB := read(f, func(ctx context.Context, q store.Q) (map[string][]string, error) {
		return q.RunIDsByEvents(ctx, tenantB, []string{"e1", "e2"})
	})
	wantEqual(t, "runs by event for B", byEventB, map[string][]string{})
}

func testRunSelect(t *testing.T, f *fixture) {
	eu, us := eventOf(tenantA, "e1", "order.placed", "", 1), eventOf(tenantA, "e2", "order.placed", "", 1)
	eu.Metadata, us.Metadata = store.JSONOf(map[string]string{"region": "eu"}), store.JSONOf(map[string]string{"region": "us"})
	insertEventsOf(f, eu, us, eventOf(tenantA, "e3", "other", "", 1))
	runs := []*store.Run{runOf(tenantA, "r1", 10), runOf(tenantA, "r2", 20), runOf(tenantA, "r3", 30), runOf(tenantA, "r4", 40), runOf(tenantB, "b1", 10)}
	runs[0].EventID, runs[1].EventID, runs[2].EventID = "e1", "e2", "e3"
	runs[3].Status = store.RunCancelled
	insertRunsOf(f, runs...)
	sel := func(s store.RunSelector, after string, limit int) []string {
		got := read(f, func(ctx context.Context, q store.Q) ([]*store.Run, error) {
			rows, _, err := q.RunSelect(ctx, &store.RunSelectParams{TenantID: tenantA, Selector: s, Before: at(35), AfterID: after, Limit: limit})
			return rows, err
		})
		return idsOf(got, func(r *store.Run) string { return r.ID })
	}
	count := func(s store.RunSelector) int64 {
		return read(f, func(ctx context.Context, q store.Q) (int64, error) {
			return q.RunSelectCount(ctx, &store.RunSelectParams{TenantID: tenantA, Selector: s, Before: at(35)})
		})
	}
	wantEqual(t, "all before the start (r4 is after it)", sel(store.RunSelector{}, "", 10), []string{"r1", "r2", "r3"})
	wantEqual(t, "a page after r1", sel(store.RunSelector{}, "r1", 1), []string{"r2"})
	wantEqual(t, "by event key", sel(store.RunSelector{EventKey: "order.placed"}, "", 10), []string{"r1", "r2"})
	wantEqual(t, "by creation time", sel(store.RunSelector{CreatedAfter: store.TimeMicros(20), CreatedBefore: store.TimeMicros(30)}, "", 10), []string{"r2"})
	wantEqual(t, "by status (the cancelled r4 is after the start)", sel(store.RunSelector{Statuses: []string{store.RunCancelled}}, "", 10), []string{})
	wantEqual(t, "count by event key", count(store.RunSelector{EventKey: "order.placed"}), int64(2))
	events := read(f, func(ctx context.Context, q store.Q) (map[string]*store.Event, error) {
		_, ev, err := q.RunSelect(ctx, &store.RunSelectParams{TenantID: tenantA, Selector: store.RunSelector{EventMetadata: map[string]string{"region": "eu"}}, Before: at(35), Limit: 10})
		return ev, err
	})
	wantEqual(t, "events of the runs, for metadata", []string{events["r1"].Metadata.V["region"], events["r2"].Metadata.V["region"]}, []string{"eu", "us"})
}

func testBulkOperation(t *testing.T, f *fixture) {
	op := &store.BulkOperation{ID: "op1", TenantID: tenantA, Kind: store.BulkCancel, Selector: store.JSONOf(store.RunSelector{Workflow: "wf"}), CreatedAt: store.TimeMicros(5)}
	f.write(func(ctx context.Context, q store.Q) error { return q.BulkInsert(ctx, op) })
	open := read(f, func(ctx context.Context, q store.Q) ([]*store.BulkOperation, error) { return q.BulkListOpen(ctx, 10) })
	wantEqual(t, "open operations", idsOf(open, func(o *store.BulkOperation) string { return o.ID }), []string{"op1"})
	op.Processed, op.Affected, op.Cursor, op.Done, op.FinishedAt = 3, 2, "r3", true, store.TimeMicros(9)
	f.write(func(ctx context.Context, q store.Q) error { return q.BulkUpdate(ctx, op) })
	got := read(f, func(ctx context.Context, q store.Q) (*store.BulkOperation, error) {
		return q.BulkGet(ctx, tenantA, "op1", false)
	})
	wantEqual(t, "operation after an update", got, op)
	_, err := readErr(f, func(ctx context.Context, q store.Q) (*store.BulkOperation, error) {
		return q.BulkGet(ctx, tenantB, "op1", false)
	})
	wantErr(t, "B's view of A's operation", err, store.ErrNotFound)
	open = read(f, func(ctx context.Context, q store.Q) ([]*store.BulkOperation, error) { return q.BulkListOpen(ctx, 10) })
	wantEqual(t, "open operations once done", len(open), 0)
}

func testRunListOpen(t *testing.T, f *fixture) {
	done, waiting := runOf(tenantA, "a2", 1), runOf(tenantA, "a3", 1)
	done.Status, waiting.Status = store.RunSucceeded, store.RunWaiting
	insertRunsOf(f, runOf(tenantA, "a1", 1), done, waiting, pausedRun(tenantA, "a4"), runOf(tenantB, "b1", 1))
	open := read(f, func(ctx context.Context, q store.Q) ([]*store.Run, error) {
		return q.RunListOpen(ctx, tenantA, "wf", 10)
	})
	wantEqual(t, "A's open runs", idsOf(open, func(r *store.Run) string { return r.ID }), []string{"a1", "a3", "a4"})
}

func testRunPruneDropsWindowLinks(t *testing.T, f *fixture) {
	r := runOf(tenantA, "r1", 1)
	r.Status, r.FinishedAt = store.RunSucceeded, store.TimeMicros(10)
	insertRunsOf(f, r)
	addToWindow(f, window("w1", "g", 100, 200), "e1")
	f.write(func(ctx context.Context, q store.Q) error {
		_, _, err := q.WindowClose(ctx, "w1", "r1")
		return err
	})
	f.write(func(ctx context.Context, q store.Q) error {
		_, _, err := q.RunPrune(ctx, at(100), 10)
		return err
	})
	ids := read(f, func(ctx context.Context, q store.Q) ([]string, error) { return q.RunEventIDs(ctx, "r1") })
	wantEqual(t, "the pruned run's window events", ids, []string{})
}
