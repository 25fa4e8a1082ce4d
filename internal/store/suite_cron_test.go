package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/switchyard/switchyard/internal/store"
)

var cronCases = []suiteCase{
	{"ReplaceAndList", testCronReplace},
	{"ListDue", testCronListDue},
	{"AdvanceExactlyOnce", testCronAdvance},
}

var replayCases = []suiteCase{
	{"InsertOncePerKeyAndGet", testReplayInsert},
}

func cronOf(tenant, workflow, schedule string, next int64) *store.CronSchedule {
	return &store.CronSchedule{TenantID: tenant, Workflow: workflow, Schedule: schedule, TimeZone: "UTC", NextTickAt: store.TimeMicros(next)}
}

func replaceCron(f *fixture, tenant, workflow string, schedules ...*store.CronSchedule) {
	f.t.Helper()
	f.write(func(ctx context.Context, q store.Q) error { return q.CronReplace(ctx, tenant, workflow, schedules) })
}

func testCronReplace(t *testing.T, f *fixture) {
	list := func(tenant, workflow string) []*store.CronSchedule {
		return read(f, func(ctx context.Context, q store.Q) ([]*store.CronSchedule, error) {
			return q.CronList(ctx, tenant, workflow)
		})
	}
	daily, hourly := cronOf(tenantA, "wf", "@daily", 100), cronOf(tenantA, "wf", "@hourly", 50)
	replaceCron(f, tenantA, "wf", daily, hourly)
	replaceCron(f, tenantA, "wf2", cronOf(tenantA, "wf2", "@daily", 70))
	replaceCron(f, tenantB, "wf", cronOf(tenantB, "wf", "@weekly", 80))
	got := list(tenantA, "wf")
	if len(got) == 2 && got[0].Schedule == "@hourly" {
		got[0], got[1] = got[1], got[0]
	}
	wantEqual(t, "schedules of A's wf", got, []*store.CronSchedule{daily, hourly})
	replaceCron(f, tenantA, "wf", cronOf(tenantA, "wf", "@hourly", 60))
	wantEqual(t, "schedules of A's wf after a replace", list(tenantA, "wf"), []*store.CronSchedule{cronOf(tenantA, "wf", "@hourly", 60)})
	replaceCron(f, tenantA, "wf")
	wantEqual(t, "schedules of A's wf after replacing with none", list(tenantA, "wf"), []*store.CronSchedule(nil))
	wantEqual(t, "schedules of A's wf2", list(tenantA, "wf2"), []*store.CronSchedule{cronOf(tenantA, "wf2", "@daily", 70)})
	wantEqual(t, "schedules of B's wf", list(tenantB, "wf"), []*store.CronSchedule{cronOf(tenantB, "wf", "@weekly", 80)})
}

func testCronListDue(t *testing.T, f *fixture) {
	replaceCron(f, tenantA, "wf", cronOf(tenantA, "wf", "a", 300), cronOf(tenantA, "wf", "b", 100), cronOf(tenantA, "wf", "c", 1001))
	replaceCron(f, tenantB, "wf", cronOf(tenantB, "wf", "d", 200), cronOf(tenantB, "wf", "e", 1000))
	due := func(limit int) []string {
		return idsOf(read(f, func(ctx context.Context, q store.Q) ([]*store.CronSchedule, error) {
			return q.CronListDue(ctx, at(1000), limit)
		}),
			func(s *store.CronSchedule) string { return s.Schedule })
	}
	wantEqual(t, "due of every tenant", due(10), []string{"b", "d", "a", "e"})
	wantEqual(t, "due, limit 2", due(2), []string{"b", "d"})
}

// testCronAdvance has concurrent callers move one schedule on from the tick
// they read, round after round: each round exactly one moves it; a caller
// holding an older tick never does.
func testCronAdvance(t *testing.T, f *fixture) {
	replaceCron(f, tenantA, "wf", cronOf(tenantA, "wf", "@hourly", 100))
	replaceCron(f, tenantB, "wf", cronOf(tenantB, "wf", "@hourly", 100))
	for round, tick := range []int64{100, 200, 300} {
		moved := concurrently(t, 8, func(int) (ok bool, err error) {
			err = f.st.Write(f.ctx, func(ctx context.Context, q store.Q) (err error) {
				ok, err = q.CronAdvance(ctx, cronOf(tenantA, "wf", "@hourly", tick), at(tick+100))
				return err
			})
			return ok, err
		})
		wantEqual(t, fmt.Sprint("callers that moved the tick in round ", round+1), countTrue(moved), 1)
	}
	stale := writeResult(f, func(ctx context.Context, q store.Q) (bool, error) {
		return q.CronAdvance(ctx, cronOf(tenantA, "wf", "@hourly", 200), at(300))
	})
	wantEqual(t, "advance from a past tick", stale, false)
	next := func(tenant string) int64 {
		return read(f, func(ctx context.Context, q store.Q) ([]*store.CronSchedule, error) {
			return q.CronList(ctx, tenant, "wf")
		})[0].NextTickAt.Micros()
	}
	wantEqual(t, "next tick of A", next(tenantA), int64(400))
	wantEqual(t, "next tick of B", next(tenantB), int64(100))
}

func testReplayInsert(t *testing.T, f *fixture) {
	insert := func(r *store.Replay) bool {
		return writeResult(f, func(ctx context.Context, q store.Q) (bool, error) { return q.ReplayInsert(ctx, r) })
	}
	first := &store.Replay{TenantID: tenantA, IdempotencyKey: "k", Source: "event e1", RunIDs: store.JSONOf([]string{"r1"}), CreatedAt: store.TimeMicros(10)}
	wantEqual(t, "first use of the key", insert(first), true)
	wantEqual(t, "second use of the key", insert(&store.Replay{TenantID: tenantA, IdempotencyKey: "k", Source: "event e2", RunIDs: store.JSONOf([]string{}), CreatedAt: store.TimeMicros(20)}), false)
	inB := &store.Replay{TenantID: tenantB, IdempotencyKey: "k", Source: "run r9", RunIDs: store.JSONOf([]string{"r10"}), CreatedAt: store.TimeMicros(30)}
	wantEqual(t, "the key in tenant B", insert(inB), true)
	get := func(tenant, key string) (*store.Replay, error) {
		return readErr(f, func(ctx context.Context, q store.Q) (*store.Replay, error) { return q.ReplayGet(ctx, tenant, key) })
	}
	got, _ := get(tenantA, "k")
	wantEqual(t, "replay of A", got, first)
	got, _ = get(tenantB, "k")
	wantEqual(t, "replay of B", got, inB)
	_, err := get(tenantA, "other")
	wantErr(t, "replay of an unused key", err, store.ErrNotFound)
}
