package store

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// RunPaused is the status of a run held while its workflow is paused; its
// tasks stay PENDING until the workflow is resumed.
const RunPaused = "PAUSED"

// WorkflowPause is a paused workflow.
type WorkflowPause struct {
	bun.BaseModel `bun:"table:workflow_pauses"`

	TenantID string `bun:"tenant_id,pk"`
	Workflow string `bun:"workflow_name,pk"`
	SkipCron bool   `bun:"skip_cron"`
	PausedAt Time   `bun:"paused_at"`
}

// WorkflowPauseSet pauses a workflow, or changes how a paused one treats cron
// ticks (keeping when it was paused).
func (q Q) WorkflowPauseSet(ctx context.Context, p *WorkflowPause) error {
	_, err := q.db.NewInsert().Model(p).
		On("CONFLICT (tenant_id, workflow_name) DO UPDATE").Set("skip_cron = EXCLUDED.skip_cron").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("pause workflow %s: %w", p.Workflow, err)
	}
	return nil
}

// WorkflowPauseDelete ends a workflow's pause and reports whether it was paused.
func (q Q) WorkflowPauseDelete(ctx context.Context, tenantID, workflow string) (bool, error) {
	res, err := q.db.NewDelete().Model((*WorkflowPause)(nil)).
		Where("tenant_id = ? AND workflow_name = ?", tenantID, workflow).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("resume workflow %s: %w", workflow, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// WorkflowPauseList returns the tenant's paused workflows, by name.
func (q Q) WorkflowPauseList(ctx context.Context, tenantID string) (map[string]*WorkflowPause, error) {
	var rows []*WorkflowPause
	if err := q.db.NewSelect().Model(&rows).Where("tenant_id = ?", tenantID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("paused workflows: %w", err)
	}
	out := make(map[string]*WorkflowPause, len(rows))
	for _, r := range rows {
		out[r.Workflow] = r
	}
	return out, nil
}

// RunListPaused returns up to limit of a workflow's paused runs, oldest first.
func (q Q) RunListPaused(ctx context.Context, tenantID, workflow string, limit int) ([]*Run, error) {
	var runs []*Run
	err := q.db.NewSelect().Model(&runs).
		Where("tenant_id = ? AND workflow_name = ? AND status = ?", tenantID, workflow, RunPaused).
		OrderExpr("id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("paused runs of %s: %w", workflow, err)
	}
	return runs, nil
}

// RunPausedWorkflows returns workflows of every tenant that hold paused runs
// but are no longer paused: the runs a resume released and that are still to
// be started.
func (q Q) RunPausedWorkflows(ctx context.Context, limit int) ([]WorkflowRef, error) {
	var out []WorkflowRef
	err := q.db.NewSelect().Model((*Run)(nil)).Distinct().Column("tenant_id", "workflow_name").
		Where("status = ?", RunPaused).
		Where("NOT EXISTS (SELECT 1 FROM workflow_pauses AS p WHERE p.tenant_id = run.tenant_id AND p.workflow_name = run.workflow_name)").
		Limit(int64(limit)).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("released paused runs: %w", err)
	}
	return out, nil
}

// WorkflowRef names a workflow of a tenant.
type WorkflowRef struct {
	TenantID string `bun:"tenant_id"`
	Workflow string `bun:"workflow_name"`
}

// WorkflowPauseGet returns a workflow's pause; [ErrNotFound] when it is not
// paused.
func (q Q) WorkflowPauseGet(ctx context.Context, tenantID, workflow string) (*WorkflowPause, error) {
	return getOne[WorkflowPause](ctx, q, false, "pause of "+workflow, "tenant_id = ? AND workflow_name = ?", tenantID, workflow)
}

// RunCountPaused counts a workflow's paused runs.
func (q Q) RunCountPaused(ctx context.Context, tenantID, workflow string) (int64, error) {
	n, err := q.db.NewSelect().Model((*Run)(nil)).
		Where("tenant_id = ? AND workflow_name = ? AND status = ?", tenantID, workflow, RunPaused).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count paused runs of %s: %w", workflow, err)
	}
	return int64(n), nil
}
