package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

var flowLimitCases = []suiteCase{
	{"RateLimits", testRateLimits},
	{"RateWindows", testRateWindows},
	{"HeldTasks", testHeldTasks},
	{"RoundRobin", testRoundRobin},
}

func testRateLimits(t *testing.T, f *fixture) {
	put := func(tenant, name string, max int32, created int64) {
		f.write(func(ctx context.Context, q store.Q) error {
			return q.RateLimitPut(ctx, &store.RateLimit{TenantID: tenant, Name: name, MaxUnits: max, PeriodUS: 1_000_000,
				CreatedAt: store.TimeMicros(created), UpdatedAt: store.TimeMicros(created)})
		})
	}
	put(tenantA, "b", 10, 1)
	put(tenantA, "a", 5, 2)
	put(tenantB, "a", 7, 3)
	put(tenantA, "b", 20, 9) // a change keeps the first creation time
	got := read(f, func(ctx context.Context, q store.Q) (*store.RateLimit, error) {
		return q.RateLimitGet(ctx, tenantA, "b")
	})
	wantEqual(t, "changed limit", []int64{int64(got.MaxUnits), got.CreatedAt.Micros(), got.UpdatedAt.Micros(), got.Period().Microseconds()}, []int64{20, 1, 9, 1_000_000})
	names := func(after string, limit int) []string {
		return idsOf(read(f, func(ctx context.Context, q store.Q) ([]*store.RateLimit, error) {
			return q.RateLimitList(ctx, tenantA, after, limit)
		}),
			func(l *store.RateLimit) string { return l.Name })
	}
	wantEqual(t, "list of A", names("", 0), []string{"a", "b"})
	wantEqual(t, "list of A after a", names("a", 1), []string{"b"})
	many := read(f, func(ctx context.Context, q store.Q) (map[string]*store.RateLimit, error) {
		return q.RateLimitGetMany(ctx, tenantB, []string{"a", "b"})
	})
	wantEqual(t, "limits of B", sortedKeys(many), []string{"a"})
	f.write(func(ctx context.Context, q store.Q) error { return q.RateLimitDelete(ctx, tenantA, "a") })
	wantEqual(t, "list of A after delete", names("", 0), []string{"b"})
	_, err := readErr(f, func(ctx context.Context, q store.Q) (*store.RateLimit, error) {
		return q.RateLimitGet(ctx, tenantA, "a")
	})
	wantErr(t, "get deleted", err, store.ErrNotFound)
	err = f.st.Write(context.Background(), func(ctx context.Context, q store.Q) error { return q.RateLimitDelete(ctx, tenantA, "a") })
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v, want ErrNotFound", err)
	}
}

func testRateWindows(t *testing.T, f *fixture) {
	lock := func(now int64, ws ...*store.RateWindow) map[string][][2]int64 {
		rows := writeResult(f, func(ctx context.Context, q store.Q) ([]*store.RateWindow, error) {
			return q.RateWindowLock(ctx, ws, time.UnixMicro(now))
		})
		out := map[string][][2]int64{}
		for _, r := range rows {
			out[r.TenantID+"/"+r.Name+"/"+r.Key] = r.Log.V
		}
		return out
	}
	win := func(tenant, name, key string) *store.RateWindow {
		return &store.RateWindow{TenantID: tenant, Name: name, Key: key}
	}
	wantEqual(t, "new windows", lock(10, win(tenantA, "api", "k"), win(tenantA, "api", "other")),
		map[string][][2]int64{tenantA + "/api/k": {}, tenantA + "/api/other": {}})
	f.write(func(ctx context.Context, q store.Q) error {
		return q.RateWindowSave(ctx, []*store.RateWindow{
			{TenantID: tenantA, Name: "api", Key: "k", Log: store.JSONOf([][2]int64{{100, 2}, {200, 1}}), UpdatedAt: store.TimeMicros(20)},
			{TenantID: tenantA, Name: "api", Key: "other", Log: store.JSONOf([][2]int64{{150, 1}}), UpdatedAt: store.TimeMicros(40)},
		})
	})
	wantEqual(t, "windows read back", lock(30, win(tenantA, "api", "k"), win(tenantB, "api", "k")),
		map[string][][2]int64{tenantA + "/api/k": {{100, 2}, {200, 1}}, tenantB + "/api/k": {}})
	keys := idsOf(read(f, func(ctx context.Context, q store.Q) ([]*store.RateWindow, error) {
		return q.RateWindowList(ctx, tenantA, []string{"api"}, 10)
	}), func(w *store.RateWindow) string { return w.Key })
	wantEqual(t, "windows of A, most recently used first", keys, []string{"other", "k"})
	f.write(func(ctx context.Context, q store.Q) error {
		if err := q.RateLimitPut(ctx, &store.RateLimit{TenantID: tenantA, Name: "api", MaxUnits: 1, PeriodUS: 1}); err != nil {
			return err
		}
		return q.RateLimitDelete(ctx, tenantA, "api")
	})
	left := read(f, func(ctx context.Context, q store.Q) ([]*store.RateWindow, error) {
		return q.RateWindowList(ctx, tenantA, []string{"api"}, 10)
	})
	wantEqual(t, "windows of a deleted limit", len(left), 0)
}

func testHeldTasks(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "r1", 1), runOf(tenantA, "r2", 2))
	t1, t2, t3 := taskOf(tenantA, "r1", "t1", store.TaskQueued), taskOf(tenantA, "r2", "t2", store.TaskQueued), taskOf(tenantA, "r2", "t3", store.TaskQueued)
	t1.RateLimits = store.JSONOf([]store.TaskRateLimit{{Limit: "api", Key: "c", Units: 2}})
	insertTasksOf(f, t1, t2, t3)
	claimed := writeResult(f, func(ctx context.Context, q store.Q) ([]*store.Task, error) {
		return q.TaskClaim(ctx, &store.TaskClaimParams{TenantID: tenantA, WorkerID: "w", Actions: []string{"act"}, Limit: 3, Now: time.UnixMicro(10)})
	})
	wantEqual(t, "claimed", len(claimed), 3)
	for _, c := range claimed {
		if c.ID == "t1" {
			wantEqual(t, "rate limits read back", c.RateLimits.V, []store.TaskRateLimit{{Limit: "api", Key: "c", Units: 2}})
		}
		if c.ID == "t3" {
			continue
		}
		c.AvailableAt, c.WaitReason = store.TimeMicros(5000), "rate limited by api until then"
		f.write(func(ctx context.Context, q store.Q) error { return q.TaskRateLimited(ctx, c) })
	}
	back := tasksOfRun(f, "r1")[0]
	wantEqual(t, "held task", []any{back.Status, back.Attempt, back.WorkerID, back.AvailableAt.Micros(), back.WaitReason, back.StartedAt.Micros()},
		[]any{store.TaskQueued, int32(0), "", int64(5000), "rate limited by api until then", int64(0)})
	reasons := read(f, func(ctx context.Context, q store.Q) (map[string]string, error) {
		return q.TaskWaitReasons(ctx, []string{"r1", "r2", "none"})
	})
	wantEqual(t, "wait reasons", reasons, map[string]string{"r1": "rate limited by api until then", "r2": "rate limited by api until then"})
	f.write(func(ctx context.Context, q store.Q) error {
		return q.TaskReleaseHeld(ctx, tenantA, time.UnixMicro(100))
	})
	wantEqual(t, "released", tasksOfRun(f, "r1")[0].AvailableAt.Micros(), int64(100))
	f.write(func(ctx context.Context, q store.Q) error { return q.TaskClearWaitReason(ctx, []string{"t1"}) })
	wantEqual(t, "cleared", tasksOfRun(f, "r1")[0].WaitReason, "")
}

func testRoundRobin(t *testing.T, f *fixture) {
	rr := func(tenant, id, workflow, key, status string) *store.Run {
		r := groupRun(tenant, id, workflow, key, status)
		r.ConcurrencyStrategy = store.StrategyGroupRoundRobin
		return r
	}
	insertRunsOf(f,
		rr(tenantA, "r2", "wf", "b", store.RunWaiting),
		rr(tenantA, "r1", "wf", "a", store.RunActive),
		rr(tenantA, "r3", "wf", "a", store.RunSucceeded),
		rr(tenantA, "r4", "wf2", "a", store.RunWaiting),
		groupRun(tenantA, "q1", "wf", "a", store.RunWaiting),
	)
	listed := idsOf(read(f, func(ctx context.Context, q store.Q) ([]*store.Run, error) {
		return q.RunListRoundRobin(ctx, tenantA, "wf")
	}),
		func(r *store.Run) string { return r.ID })
	wantEqual(t, "round-robin runs of wf", listed, []string{"r1", "r2"})
	groups := read(f, func(ctx context.Context, q store.Q) ([]store.ConcurrencyGroup, error) {
		return q.RunWaitingRoundRobin(ctx, 10)
	})
	wantEqual(t, "waiting round-robin workflows", len(groups), 2)
	queueGroups := read(f, func(ctx context.Context, q store.Q) ([]store.ConcurrencyGroup, error) {
		return q.RunWaitingGroups(ctx, 10)
	})
	wantEqual(t, "waiting QUEUE groups leave round robin out", queueGroups, []store.ConcurrencyGroup{{TenantID: tenantA, Workflow: "wf", Key: "a"}})
	k := store.ConcurrencyGroup{TenantID: tenantA, Workflow: "wf"}
	f.write(func(ctx context.Context, q store.Q) error {
		return q.ConcurrencyLock(ctx, k.TenantID, k.Workflow, k.Key, time.UnixMicro(1))
	})
	wantEqual(t, "last key before any", read(f, func(ctx context.Context, q store.Q) (string, error) { return q.ConcurrencyLastKey(ctx, k) }), "")
	f.write(func(ctx context.Context, q store.Q) error { return q.ConcurrencySetLastKey(ctx, k, "b") })
	wantEqual(t, "last key", read(f, func(ctx context.Context, q store.Q) (string, error) { return q.ConcurrencyLastKey(ctx, k) }), "b")
}
