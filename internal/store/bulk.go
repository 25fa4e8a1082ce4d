package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Kinds of bulk operation.
const (
	BulkCancel = "CANCEL"
	BulkReplay = "REPLAY"
)

// RunSelector selects runs for a bulk operation; zero fields select any.
type RunSelector struct {
	Workflow      string            `json:"workflow,omitempty"`
	Statuses      []string          `json:"statuses,omitempty"` // stored statuses
	CreatedAfter  Time              `json:"created_after,omitempty"`
	CreatedBefore Time              `json:"created_before,omitempty"`
	EventKey      string            `json:"event_key,omitempty"`
	EventMetadata map[string]string `json:"event_metadata,omitempty"`
}

// BulkOperation is a bulk cancel or replay and its progress.
type BulkOperation struct {
	bun.BaseModel `bun:"table:bulk_operations"`

	ID        string            `bun:"id,pk"`
	TenantID  string            `bun:"tenant_id"`
	Kind      string            `bun:"kind"`
	Selector  JSON[RunSelector] `bun:"selector"`
	Reason    string            `bun:"reason"`
	Mode      string            `bun:"mode"`
	Matched   int64             `bun:"matched"`
	Processed int64             `bun:"processed"`
	Affected  int64             `bun:"affected"`
	// Cursor is the id of the last run processed: the rest have higher ids.
	Cursor     string `bun:"cursor"`
	Done       bool   `bun:"done"`
	CreatedAt  Time   `bun:"created_at"`
	FinishedAt Time   `bun:"finished_at"`
}

// BulkInsert stores a new operation.
func (q Q) BulkInsert(ctx context.Context, op *BulkOperation) error {
	if _, err := q.db.NewInsert().Model(op).Exec(ctx); err != nil {
		return fmt.Errorf("insert bulk operation: %w", err)
	}
	return nil
}

// BulkGet returns one operation of the tenant; with lock, it is locked until
// the transaction ends, so that its batches take turns across processes.
func (q Q) BulkGet(ctx context.Context, tenantID, id string, lock bool) (*BulkOperation, error) {
	return getOne[BulkOperation](ctx, q, lock, "bulk operation "+id, "tenant_id = ? AND id = ?", tenantID, id)
}

// BulkListOpen returns operations of every tenant that are not done, oldest
// first.
func (q Q) BulkListOpen(ctx context.Context, limit int) ([]*BulkOperation, error) {
	var out []*BulkOperation
	if err := q.db.NewSelect().Model(&out).Where("NOT done").OrderExpr("created_at, id").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("open bulk operations: %w", err)
	}
	return out, nil
}

// BulkUpdate stores an operation's progress.
func (q Q) BulkUpdate(ctx context.Context, op *BulkOperation) error {
	_, err := q.db.NewUpdate().Model(op).Column("matched", "processed", "affected", "cursor", "done", "finished_at").WherePK().Exec(ctx)
	if err != nil {
		return fmt.Errorf("update bulk operation %s: %w", op.ID, err)
	}
	return nil
}

// RunSelectParams selects one batch of runs for a bulk operation.
type RunSelectParams struct {
	TenantID string
	Selector RunSelector
	// Before bounds the runs to those created before it: the operation's start.
	Before  time.Time
	AfterID string // only ids above it
	Limit   int
}

// RunSelect returns a batch of the runs a selector selects, by id, and the
// trigger event of each (by run id) when the selector looks at events. Event
// metadata is compared by the caller: the rows come with their events.
func (q Q) RunSelect(ctx context.Context, p *RunSelectParams) ([]*Run, map[string]*Event, error) {
	var runs []*Run
	sel := q.db.NewSelect().Model(&runs).Where("run.id > ?", p.AfterID)
	selectRuns(sel, p)
	if err := sel.OrderExpr("run.id").Limit(int64(p.Limit)).Scan(ctx); err != nil {
		return nil, nil, fmt.Errorf("select runs: %w", err)
	}
	if len(p.Selector.EventMetadata) == 0 {
		return runs, nil, nil
	}
	ids := make([]string, 0, len(runs))
	for _, r := range runs {
		if r.EventID != "" {
			ids = append(ids, r.EventID)
		}
	}
	events, err := q.EventGetMany(ctx, p.TenantID, ids)
	if err != nil {
		return nil, nil, err
	}
	byRun := make(map[string]*Event, len(runs))
	for _, r := range runs {
		if ev := events[r.EventID]; ev != nil {
			byRun[r.ID] = ev
		}
	}
	return runs, byRun, nil
}

// RunSelectCount counts the runs a selector selects, event metadata aside.
func (q Q) RunSelectCount(ctx context.Context, p *RunSelectParams) (int64, error) {
	sel := q.db.NewSelect().Model((*Run)(nil))
	selectRuns(sel, p)
	n, err := sel.Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count runs: %w", err)
	}
	return int64(n), nil
}

// selectRuns adds the conditions of p's selector but event metadata to sel.
func selectRuns(sel *bun.SelectQuery, p *RunSelectParams) {
	sel.Where("run.tenant_id = ?", p.TenantID).Where("run.created_at < ?", TimeOf(p.Before))
	s := p.Selector
	whereEqual(sel, "run.workflow_name", s.Workflow)
	if len(s.Statuses) > 0 {
		sel.Where("run.status IN (?)", bun.List(s.Statuses))
	}
	if !s.CreatedAfter.IsZero() {
		sel.Where("run.created_at >= ?", s.CreatedAfter)
	}
	if !s.CreatedBefore.IsZero() {
		sel.Where("run.created_at < ?", s.CreatedBefore)
	}
	if s.EventKey != "" {
		sel.Where("EXISTS (SELECT 1 FROM events AS e WHERE e.tenant_id = run.tenant_id AND e.id = run.event_id AND e.key = ?)", s.EventKey)
	}
}

// RunListOpen returns up to limit of a workflow's runs that have not ended,
// oldest first.
func (q Q) RunListOpen(ctx context.Context, tenantID, workflow string, limit int) ([]*Run, error) {
	var runs []*Run
	err := q.db.NewSelect().Model(&runs).
		Where("tenant_id = ? AND workflow_name = ? AND status IN (?)", tenantID, workflow, bun.List(OpenRunStatuses)).
		OrderExpr("id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("open runs of %s: %w", workflow, err)
	}
	return runs, nil
}

// OpenRunStatuses are the stored statuses of a run that has not ended.
var OpenRunStatuses = []string{RunActive, RunWaiting, RunScheduled, RunPaused}
