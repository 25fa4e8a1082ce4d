package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// ConcurrencyLock locks the (tenant, workflow, key) concurrency group until the
// transaction ends, creating its lock row on first use: runs of one group are
// admitted one transaction at a time, on every server process. Callers lock
// groups in a fixed order (and before any run), so that lockers never deadlock.
func (q Q) ConcurrencyLock(ctx context.Context, tenantID, workflow, key string, now time.Time) error {
	_, err := q.db.NewRaw(`INSERT INTO concurrency_locks (tenant_id, workflow_name, concurrency_key, locked_at)
		VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id, workflow_name, concurrency_key) DO UPDATE SET locked_at = excluded.locked_at`,
		tenantID, workflow, key, TimeOf(now)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("lock concurrency group %s/%s: %w", workflow, key, err)
	}
	return nil
}

// RunListInGroup returns the active and waiting runs of a concurrency group,
// oldest first.
func (q Q) RunListInGroup(ctx context.Context, tenantID, workflow, key string) ([]*Run, error) {
	var runs []*Run
	err := q.db.NewSelect().Model(&runs).
		Where("tenant_id = ? AND workflow_name = ? AND concurrency_key = ? AND status IN (?)",
			tenantID, workflow, key, bun.List([]string{RunActive, RunWaiting})).
		OrderExpr("id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("runs of concurrency group %s/%s: %w", workflow, key, err)
	}
	return runs, nil
}

// RunListDue returns runs of every tenant whose scheduled time came, oldest
// first.
func (q Q) RunListDue(ctx context.Context, now time.Time, limit int) ([]*Run, error) {
	var runs []*Run
	err := q.db.NewSelect().Model(&runs).
		Where("status = ? AND scheduled_at <= ?", RunScheduled, TimeOf(now)).
		OrderExpr("scheduled_at, id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("due runs: %w", err)
	}
	return runs, nil
}

// ConcurrencyGroup names the runs that share a concurrency key.
type ConcurrencyGroup struct {
	TenantID string `bun:"tenant_id"`
	Workflow string `bun:"workflow_name"`
	Key      string `bun:"concurrency_key"`
}

// RunWaitingGroups returns concurrency groups of every tenant that have waiting
// runs (GROUP_ROUND_ROBIN runs wait in their workflow's group:
// [Q.RunWaitingRoundRobin]).
func (q Q) RunWaitingGroups(ctx context.Context, limit int) ([]ConcurrencyGroup, error) {
	var groups []ConcurrencyGroup
	err := q.db.NewSelect().Model((*Run)(nil)).Distinct().
		Column("tenant_id", "workflow_name", "concurrency_key").
		Where("status = ? AND concurrency_strategy <> ?", RunWaiting, StrategyGroupRoundRobin).Limit(int64(limit)).Scan(ctx, &groups)
	if err != nil {
		return nil, fmt.Errorf("waiting concurrency groups: %w", err)
	}
	return groups, nil
}
