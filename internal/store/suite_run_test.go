package store_test

import (
	"context"
	"testing"

	"github.com/switchyard/switchyard/internal/store"
)

var runCases = []suiteCase{
	{"InsertManyDedupesByIdempotencyKey", testRunInsertMany},
	{"GetRoundTrip", testRunGet},
	{"GetMany", testRunGetMany},
	{"IDsByEvents", testRunIDsByEvents},
	{"ListFilters", testRunList},
	{"SetStatusIfIsCompareAndSet", testRunSetStatusIf},
	{"GetForUpdateSerializesChanges", testRunGetForUpdate},
}

// runOf is an active run of the tenant, created at created.
func runOf(tenant, id string, created int64) *store.Run {
	return &store.Run{
		ID: id, TenantID: tenant, WorkflowName: "wf", WorkflowVersion: 1, Status: store.RunActive,
		Input: mustObject(`{}`), CreatedAt: store.TimeMicros(created), UpdatedAt: store.TimeMicros(created), TriggerKind: store.TriggerManual,
	}
}

func insertRunsOf(f *fixture, runs ...*store.Run) map[string]bool {
	f.t.Helper()
	return writeResult(f, func(ctx context.Context, q store.Q) (map[string]bool, error) { return q.RunInsertMany(ctx, runs) })
}

// runStatus reads a run's stored status.
func runStatus(f *fixture, tenant, id string) string {
	f.t.Helper()
	return read(f, func(ctx context.Context, q store.Q) (*store.Run, error) { return q.RunGet(ctx, tenant, id) }).Status
}

func withIdem(r *store.Run, key string) *store.Run {
	r.IdempotencyKey = key
	return r
}

func testRunInsertMany(t *testing.T, f *fixture) {
	got := insertRunsOf(f, withIdem(runOf(tenantA, "a1", 1), "key1"), runOf(tenantA, "a2", 2))
	wantEqual(t, "first insert", sortedKeys(got), []string{"a1", "a2"})
	got = insertRunsOf(f, withIdem(runOf(tenantA, "a3", 3), "key1"), withIdem(runOf(tenantA, "a4", 4), "key2"),
		withIdem(runOf(tenantB, "b1", 5), "key1"))
	wantEqual(t, "second insert", sortedKeys(got), []string{"a4", "b1"})
	wantEqual(t, "no runs", insertRunsOf(f), map[string]bool{})
	err := f.st.Write(f.ctx, func(ctx context.Context, q store.Q) error {
		_, err := q.RunInsertMany(ctx, []*store.Run{runOf(tenantB, "a1", 6)})
		return err
	})
	wantErr(t, "run id of another run", err, store.ErrConflict)
	wantEqual(t, "stored runs", ids(t, f.st, "runs"), []string{"a1", "a2", "a4", "b1"})
}

func testRunGet(t *testing.T, f *fixture) {
	want := &store.Run{
		ID: "a1", TenantID: tenantA, WorkflowName: "wf", WorkflowVersion: 3, Status: store.RunWaiting, EventID: "ev",
		Input: mustObject(`{"x":1}`), Error: "", Priority: 2, IdempotencyKey: "idem", CreatedAt: store.TimeMicros(10), UpdatedAt: store.TimeMicros(11),
		TriggerKind: store.TriggerCron, ReplayOf: "r0", CronTick: store.TimeMicros(7), ScheduledAt: store.TimeMicros(9), ConcurrencyKey: "ck",
		ConcurrencyMax: 2, ConcurrencyStrategy: "QUEUE", TraceParent: "00-aa-bb-01",
	}
	insertRunsOf(f, want, runOf(tenantB, "b1", 1))
	gets := map[string]func(ctx context.Context, q store.Q, tenant, id string) (*store.Run, error){
		"RunGet": func(ctx context.Context, q store.Q, tenant, id string) (*store.Run, error) {
			return q.RunGet(ctx, tenant, id)
		},
		"RunGetForUpdate": func(ctx context.Context, q store.Q, tenant, id string) (*store.Run, error) {
			return q.RunGetForUpdate(ctx, tenant, id)
		},
		"RunGetByIdempotencyKey": func(ctx context.Context, q store.Q, tenant, id string) (*store.Run, error) {
			return q.RunGetByIdempotencyKey(ctx, tenant, map[string]string{"a1": "idem"}[id])
		},
	}
	for name, get := range gets {
		got := read(f, func(ctx context.Context, q store.Q) (*store.Run, error) { return get(ctx, q, tenantA, "a1") })
		wantEqual(t, name, got, want)
		for _, c := range []struct{ tenant, id string }{{tenantB, "a1"}, {tenantA, "b1"}, {tenantA, "missing"}} {
			_, err := readErr(f, func(ctx context.Context, q store.Q) (*store.Run, error) { return get(ctx, q, c.tenant, c.id) })
			wantErr(t, name+"("+c.tenant+", "+c.id+")", err, store.ErrNotFound)
		}
	}
}

func testRunGetMany(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "a1", 1), runOf(tenantA, "a2", 2), runOf(tenantA, "a3", 3), runOf(tenantB, "b1", 4))
	many := func(tenant string) []string {
		return sortedKeys(read(f, func(ctx context.Context, q store.Q) (map[string]*store.Run, error) {
			return q.RunGetMany(ctx, tenant, []string{"a1", "a3", "b1", "missing"})
		}))
	}
	wantEqual(t, "tenant A", many(tenantA), []string{"a1", "a3"})
	wantEqual(t, "tenant B", many(tenantB), []string{"b1"})
}

func testRunIDsByEvents(t *testing.T, f *fixture) {
	r := func(tenant, id, event string) *store.Run {
		run := runOf(tenant, id, 1)
		run.EventID, run.TriggerKind = event, store.TriggerEvent
		return run
	}
	insertRunsOf(f, r(tenantA, "a2", "e1"), r(tenantA, "a1", "e1"), r(tenantA, "a3", "e2"), r(tenantB, "b1", "e1"))
	byEvents := func(tenant string, events ...string) map[string][]string {
		return read(f, func(ctx context.Context, q store.Q) (map[string][]string, error) {
			return q.RunIDsByEvents(ctx, tenant, events)
		})
	}
	wantEqual(t, "tenant A", byEvents(tenantA, "e1", "e2", "e3"), map[string][]string{"e1": {"a1", "a2"}, "e2": {"a3"}})
	wantEqual(t, "tenant B", byEvents(tenantB, "e1", "e2"), map[string][]string{"e1": {"b1"}})
	wantEqual(t, "no events", byEvents(tenantA), map[string][]string{})
}

func testRunList(t *testing.T, f *fixture) {
	r := func(tenant, id, workflow, status, event, trigger string, created int64) *store.Run {
		run := runOf(tenant, id, created)
		run.WorkflowName, run.Status, run.EventID, run.TriggerKind = workflow, status, event, trigger
		return run
	}
	insertRunsOf(f,
		r(tenantA, "a1", "wf1", store.RunSucceeded, "e1", store.TriggerEvent, 100),
		r(tenantA, "a2", "wf1", store.RunActive, "e1", store.TriggerEvent, 200),
		r(tenantA, "a3", "wf2", store.RunActive, "", store.TriggerManual, 300),
		r(tenantA, "a4", "wf2", store.RunFailed, "", store.TriggerCron, 400),
		r(tenantA, "a5", "wf1", store.RunActive, "e2", store.TriggerEvent, 500),
		r(tenantB, "b1", "wf1", store.RunActive, "e1", store.TriggerEvent, 100),
	)
	// a3 has a running task, so it shows RUNNING; a2 and a5 show QUEUED.
	insertTasksOf(f, taskOf(tenantA, "a3", "t1", store.TaskRunning), taskOf(tenantA, "a2", "t2", store.TaskQueued),
		taskOf(tenantB, "b1", "t3", store.TaskRunning))
	tests := []struct {
		name string
		p    store.RunListParams
		want []string
	}{
		{"all", store.RunListParams{}, []string{"a5", "a4", "a3", "a2", "a1"}},
		{"cursor", store.RunListParams{ListPage: store.ListPage{BeforeID: "a4", Limit: 2}}, []string{"a3", "a2"}},
		{"workflow", store.RunListParams{Workflow: "wf2"}, []string{"a4", "a3"}},
		{"stored status", store.RunListParams{Status: store.RunActive}, []string{"a5", "a3", "a2"}},
		{"status QUEUED", store.RunListParams{Status: store.RunQueuedDerived}, []string{"a5", "a2"}},
		{"status RUNNING", store.RunListParams{Status: store.RunRunningDerived}, []string{"a3"}},
		{"event", store.RunListParams{EventID: "e1"}, []string{"a2", "a1"}},
		{"trigger", store.RunListParams{Trigger: store.TriggerEvent}, []string{"a5", "a2", "a1"}},
		{"created range", store.RunListParams{ListPage: store.ListPage{CreatedAfter: at(200), CreatedBefore: at(500)}}, []string{"a4", "a3", "a2"}},
		{"workflow and status", store.RunListParams{Workflow: "wf1", Status: store.RunQueuedDerived}, []string{"a5", "a2"}},
		{"tenant B", store.RunListParams{TenantID: tenantB, Status: store.RunRunningDerived}, []string{"b1"}},
	}
	for _, tt := range tests {
		if tt.p.TenantID == "" {
			tt.p.TenantID = tenantA
		}
		if tt.p.Limit == 0 {
			tt.p.Limit = 10
		}
		got := read(f, func(ctx context.Context, q store.Q) ([]*store.Run, error) { return q.RunList(ctx, &tt.p) })
		wantEqual(t, tt.name, idsOf(got, func(r *store.Run) string { return r.ID }), tt.want)
	}
}

func testRunSetStatusIf(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "a1", 1), runOf(tenantA, "a2", 1))
	setIf := func(r *store.Run, from string) bool {
		return writeResult(f, func(ctx context.Context, q store.Q) (bool, error) { return q.RunSetStatusIf(ctx, r, from) })
	}
	done := &store.Run{ID: "a1", Status: store.RunFailed, Error: "boom", UpdatedAt: store.TimeMicros(5), FinishedAt: store.TimeMicros(5)}
	wantEqual(t, "ACTIVE to FAILED from WAITING", setIf(done, store.RunWaiting), false)
	wantEqual(t, "status after the refused move", runStatus(f, tenantA, "a1"), store.RunActive)
	wantEqual(t, "ACTIVE to FAILED from ACTIVE", setIf(done, store.RunActive), true)
	want := runOf(tenantA, "a1", 1)
	want.Status, want.Error, want.UpdatedAt, want.FinishedAt = store.RunFailed, "boom", store.TimeMicros(5), store.TimeMicros(5)
	got := read(f, func(ctx context.Context, q store.Q) (*store.Run, error) { return q.RunGet(ctx, tenantA, "a1") })
	wantEqual(t, "run after the move", got, want)
	wantEqual(t, "the same move again", setIf(done, store.RunActive), false)

	// Of concurrent cancellers of one run, exactly one moves it.
	moved := concurrently(t, 8, func(int) (ok bool, err error) {
		err = f.st.Write(f.ctx, func(ctx context.Context, q store.Q) (err error) {
			ok, err = q.RunSetStatusIf(ctx, &store.Run{ID: "a2", Status: store.RunCancelled, FinishedAt: store.TimeMicros(9), UpdatedAt: store.TimeMicros(9)}, store.RunActive)
			return err
		})
		return ok, err
	})
	wantEqual(t, "concurrent cancels that moved the run", countTrue(moved), 1)
	wantEqual(t, "status after concurrent cancels", runStatus(f, tenantA, "a2"), store.RunCancelled)

	f.write(func(ctx context.Context, q store.Q) error {
		return q.RunSetStatus(ctx, &store.Run{ID: "a2", Status: store.RunSucceeded, UpdatedAt: store.TimeMicros(10), FinishedAt: store.TimeMicros(10)})
	})
	wantEqual(t, "status after RunSetStatus", runStatus(f, tenantA, "a2"), store.RunSucceeded)
}

// testRunGetForUpdate has concurrent transactions read a run under its lock and
// end it only if it is still active: exactly one ends it.
func testRunGetForUpdate(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "a1", 1))
	ended := concurrently(t, 8, func(i int) (won bool, err error) {
		err = f.st.Write(f.ctx, func(ctx context.Context, q store.Q) error {
			r, err := q.RunGetForUpdate(ctx, tenantA, "a1")
			if err != nil || r.Status != store.RunActive {
				return err
			}
			won = true
			r.Status, r.FinishedAt = store.RunCancelled, store.TimeMicros(int64(i+1))
			return q.RunSetStatus(ctx, r)
		})
		return won, err
	})
	wantEqual(t, "transactions that saw the run active", countTrue(ended), 1)
}
