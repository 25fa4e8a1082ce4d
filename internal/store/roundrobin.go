package store

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// StrategyGroupRoundRobin is the stored concurrency strategy whose group is
// the whole workflow: its runs' keys take turns for the workflow's room.
const StrategyGroupRoundRobin = "GROUP_ROUND_ROBIN"

// RunListRoundRobin returns the active and waiting GROUP_ROUND_ROBIN runs of a
// workflow, oldest first.
func (q Q) RunListRoundRobin(ctx context.Context, tenantID, workflow string) ([]*Run, error) {
	var runs []*Run
	err := q.db.NewSelect().Model(&runs).
		Where("tenant_id = ? AND workflow_name = ? AND concurrency_strategy = ? AND status IN (?)",
			tenantID, workflow, StrategyGroupRoundRobin, bun.List([]string{RunActive, RunWaiting})).
		OrderExpr("id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("round-robin runs of %s: %w", workflow, err)
	}
	return runs, nil
}

// RunWaitingRoundRobin returns the workflows of every tenant with waiting
// GROUP_ROUND_ROBIN runs, as groups with an empty key.
func (q Q) RunWaitingRoundRobin(ctx context.Context, limit int) ([]ConcurrencyGroup, error) {
	var groups []ConcurrencyGroup
	err := q.db.NewSelect().Model((*Run)(nil)).Distinct().
		ColumnExpr("tenant_id, workflow_name, '' AS concurrency_key").
		Where("status = ? AND concurrency_strategy = ?", RunWaiting, StrategyGroupRoundRobin).
		Limit(int64(limit)).Scan(ctx, &groups)
	if err != nil {
		return nil, fmt.Errorf("waiting round-robin workflows: %w", err)
	}
	return groups, nil
}

// ConcurrencyLastKey returns the key whose run a locked round-robin group
// admitted last ("" before the first).
func (q Q) ConcurrencyLastKey(ctx context.Context, k ConcurrencyGroup) (string, error) {
	var key string
	err := q.db.NewSelect().Table("concurrency_locks").Column("last_key").
		Where("tenant_id = ? AND workflow_name = ? AND concurrency_key = ?", k.TenantID, k.Workflow, k.Key).Scan(ctx, &key)
	if err != nil {
		return "", fmt.Errorf("last key of %s: %w", k.Workflow, translate(err))
	}
	return key, nil
}

// ConcurrencySetLastKey records the key whose run a locked round-robin group
// admitted last.
func (q Q) ConcurrencySetLastKey(ctx context.Context, k ConcurrencyGroup, last string) error {
	_, err := q.db.NewUpdate().Table("concurrency_locks").Set("last_key = ?", last).
		Where("tenant_id = ? AND workflow_name = ? AND concurrency_key = ?", k.TenantID, k.Workflow, k.Key).Exec(ctx)
	if err != nil {
		return fmt.Errorf("set last key of %s: %w", k.Workflow, err)
	}
	return nil
}
