package store_test

import (
	"context"
	"testing"

	"github.com/switchyard/switchyard/internal/store"
)

// The retention cases: pruning (in retention_test.go and store_test.go for
// webhook deliveries) and the leases that let one process at a time prune.
var retentionCases = []suiteCase{
	{"RunPruneTakesEndedRunsWithTheirTasks", testRunPruneTakesEndedRunsWithTheirTasks},
	{"RunPruneInBatches", testRunPruneInBatches},
	{"EventPruneKeepsEventsThatRunsReferTo", testEventPruneKeepsEventsThatRunsReferTo},
	{"EventPruneInBatches", testEventPruneInBatches},
	{"ReplayPrune", testReplayPrune},
	{"WebhookDeliveryPrune", testWebhookDeliveryPrune},
	{"PruneReachesEveryTenant", testPruneEveryTenant},
	{"LeaseAcquire", testLeaseAcquire},
	{"LeaseAcquireRace", testLeaseAcquireRace},
	{"LeaseGetUnknown", testLeaseGetUnknown},
}

func testPruneEveryTenant(t *testing.T, f *fixture) {
	ended := func(tenant, id string, finished int64) *store.Run {
		r := runOf(tenant, id, 1)
		r.Status, r.FinishedAt = store.RunSucceeded, store.TimeMicros(finished)
		return r
	}
	insertRunsOf(f, ended(tenantA, "ra", 10), ended(tenantB, "rb", 20), ended(tenantB, "rb-new", 200))
	insertTasksOf(f, taskOf(tenantA, "ra", "ta", store.TaskSucceeded), taskOf(tenantB, "rb", "tb", store.TaskSucceeded))
	insertEventsOf(f, eventOf(tenantA, "ea", "k", "", 10), eventOf(tenantB, "eb", "k", "", 20), eventOf(tenantB, "eb-new", "k", "", 200))
	insertWebhooksOf(f, nil, deliveryOf(tenantA, "w1", "da", 10), deliveryOf(tenantB, "w2", "db", 20), deliveryOf(tenantB, "w2", "db-new", 200))
	type pruned struct{ runs, tasks, events, deliveries int64 }
	got := writeResult(f, func(ctx context.Context, q store.Q) (p pruned, err error) {
		if p.runs, p.tasks, err = q.RunPrune(ctx, at(100), 10); err != nil {
			return p, err
		}
		if p.events, err = q.EventPrune(ctx, at(100), 10); err != nil {
			return p, err
		}
		p.deliveries, err = q.WebhookDeliveryPrune(ctx, at(100))
		return p, err
	})
	wantEqual(t, "pruned", got, pruned{runs: 2, tasks: 2, events: 2, deliveries: 2})
	wantEqual(t, "runs left", ids(t, f.st, "runs"), []string{"rb-new"})
	wantEqual(t, "events left", ids(t, f.st, "events"), []string{"eb-new"})
	wantEqual(t, "deliveries left", ids(t, f.st, "webhook_deliveries"), []string{"db-new"})
}

func testLeaseGetUnknown(t *testing.T, f *fixture) {
	_, err := readErr(f, func(ctx context.Context, q store.Q) (*store.Lease, error) { return q.LeaseGet(ctx, "never-taken") })
	wantErr(t, "a lease never taken", err, store.ErrNotFound)
}
