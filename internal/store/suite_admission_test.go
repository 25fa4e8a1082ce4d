package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/switchyard/switchyard/internal/store"
)

var admissionCases = []suiteCase{
	{"ListInGroup", testRunListInGroup},
	{"ListDue", testRunListDue},
	{"WaitingGroups", testRunWaitingGroups},
	{"LockQueue", func(t *testing.T, f *fixture) { testConcurrencyLock(t, f, "QUEUE", store.RunWaiting) }},
	{"LockCancelNewest", func(t *testing.T, f *fixture) { testConcurrencyLock(t, f, "CANCEL_NEWEST", store.RunCancelled) }},
	{"LockCancelInProgress", func(t *testing.T, f *fixture) { testConcurrencyLock(t, f, "CANCEL_IN_PROGRESS", store.RunCancelled) }},
}

// groupRun is a run of a concurrency group in a status.
func groupRun(tenant, id, workflow, key, status string) *store.Run {
	r := runOf(tenant, id, 1)
	r.WorkflowName, r.ConcurrencyKey, r.Status, r.ConcurrencyMax, r.ConcurrencyStrategy = workflow, key, status, 2, "QUEUE"
	return r
}

func testRunListInGroup(t *testing.T, f *fixture) {
	insertRunsOf(f,
		groupRun(tenantA, "g2", "wf", "k", store.RunWaiting),
		groupRun(tenantA, "g1", "wf", "k", store.RunActive),
		groupRun(tenantA, "g3", "wf", "k", store.RunScheduled),
		groupRun(tenantA, "g4", "wf", "k", store.RunSucceeded),
		groupRun(tenantA, "g5", "wf", "k", store.RunCancelled),
		groupRun(tenantA, "other-key", "wf", "k2", store.RunActive),
		groupRun(tenantA, "other-wf", "wf2", "k", store.RunActive),
		groupRun(tenantB, "other-tenant", "wf", "k", store.RunActive),
	)
	inGroup := func(tenant string) []string {
		return idsOf(read(f, func(ctx context.Context, q store.Q) ([]*store.Run, error) {
			return q.RunListInGroup(ctx, tenant, "wf", "k")
		}),
			func(r *store.Run) string { return r.ID })
	}
	wantEqual(t, "group wf/k of A", inGroup(tenantA), []string{"g1", "g2"})
	wantEqual(t, "group wf/k of B", inGroup(tenantB), []string{"other-tenant"})
}

func testRunListDue(t *testing.T, f *fixture) {
	scheduled := func(tenant, id, status string, at int64) *store.Run {
		r := runOf(tenant, id, 1)
		r.Status, r.ScheduledAt = status, store.TimeMicros(at)
		return r
	}
	insertRunsOf(f,
		scheduled(tenantA, "s1", store.RunScheduled, 300),
		scheduled(tenantA, "s3", store.RunScheduled, 100),
		scheduled(tenantA, "s2", store.RunScheduled, 100),
		scheduled(tenantA, "s4", store.RunScheduled, 1001),
		scheduled(tenantA, "s5", store.RunWaiting, 50),
		scheduled(tenantB, "sb", store.RunScheduled, 200),
	)
	due := func(limit int) []string {
		return idsOf(read(f, func(ctx context.Context, q store.Q) ([]*store.Run, error) { return q.RunListDue(ctx, at(1000), limit) }),
			func(r *store.Run) string { return r.ID })
	}
	wantEqual(t, "due of every tenant", due(10), []string{"s2", "s3", "sb", "s1"})
	wantEqual(t, "due, limit 2", due(2), []string{"s2", "s3"})
}

func testRunWaitingGroups(t *testing.T, f *fixture) {
	insertRunsOf(f,
		groupRun(tenantA, "w1", "wf", "k1", store.RunWaiting),
		groupRun(tenantA, "w2", "wf", "k1", store.RunWaiting),
		groupRun(tenantA, "w3", "wf", "k2", store.RunWaiting),
		groupRun(tenantA, "a1", "wf", "k3", store.RunActive),
		groupRun(tenantB, "w4", "wf", "k1", store.RunWaiting),
	)
	groups := read(f, func(ctx context.Context, q store.Q) ([]store.ConcurrencyGroup, error) {
		return q.RunWaitingGroups(ctx, 10)
	})
	got := idsOf(groups, func(g store.ConcurrencyGroup) string { return g.TenantID + "/" + g.Workflow + "/" + g.Key })
	slices.Sort(got)
	wantEqual(t, "groups with waiting runs", got, []string{"default/wf/k1", "default/wf/k2", "tenant-b/wf/k1"})
}

// testConcurrencyLock starts runs of one concurrency group (limit 2) from
// concurrent transactions, each admitting its run under the group's lock the
// way the engine's gate does for the strategy: exactly 2 runs end up active and
// the rest in the strategy's status. Without the lock, concurrent transactions
// on Postgres would see the same active runs and admit too many.
func testConcurrencyLock(t *testing.T, f *fixture, strategy, others string) {
	const starters, limit = 8, 2
	// Tenant B's group of the same name is another group: its run is admitted.
	insertRunsOf(f, groupRun(tenantB, "b1", "wf", "k", store.RunActive))
	concurrently(t, starters, func(i int) (bool, error) {
		return true, f.st.Write(f.ctx, func(ctx context.Context, q store.Q) error {
			if err := q.ConcurrencyLock(ctx, tenantA, "wf", "k", at(int64(i))); err != nil {
				return err
			}
			group, err := q.RunListInGroup(ctx, tenantA, "wf", "k")
			if err != nil {
				return err
			}
			r := groupRun(tenantA, fmt.Sprintf("r%d", i), "wf", "k", "")
			r.ConcurrencyStrategy = strategy
			r.Status, err = admit(ctx, q, r, group, limit)
			if err != nil {
				return err
			}
			_, err = q.RunInsertMany(ctx, []*store.Run{r})
			return err
		})
	})
	runs := read(f, func(ctx context.Context, q store.Q) ([]*store.Run, error) {
		return q.RunList(ctx, &store.RunListParams{TenantID: tenantA, Workflow: "wf", ListPage: store.ListPage{Limit: 100}})
	})
	count := map[string]int{}
	for _, r := range runs {
		count[r.Status]++
	}
	wantEqual(t, "runs by status", count, map[string]int{store.RunActive: limit, others: starters - limit})
	wantEqual(t, "B's run", runStatus(f, tenantB, "b1"), store.RunActive)
}

// admit decides a new run's status from its group's active and waiting runs,
// cancelling the oldest active ones for CANCEL_IN_PROGRESS.
func admit(ctx context.Context, q store.Q, r *store.Run, group []*store.Run, limit int) (string, error) {
	var active []*store.Run
	for _, g := range group {
		if g.Status == store.RunActive {
			active = append(active, g)
		}
	}
	full := len(active) >= limit
	switch r.ConcurrencyStrategy {
	case "QUEUE":
		if full || len(group) > len(active) {
			return store.RunWaiting, nil
		}
	case "CANCEL_NEWEST":
		if full {
			return store.RunCancelled, nil
		}
	case "CANCEL_IN_PROGRESS":
		for ; len(active) >= limit; active = active[1:] {
			old := *active[0]
			old.Status = store.RunCancelled
			ok, err := q.RunSetStatusIf(ctx, &old, store.RunActive)
			if err != nil || !ok {
				return "", fmt.Errorf("cancel run %s in progress: moved %v, error %v", old.ID, ok, err)
			}
		}
	}
	return store.RunActive, nil
}
