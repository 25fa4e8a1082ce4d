package store

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// ConcurrencyLock locks the (tenant, workflow, key) concurrency group until the
// transaction ends, creating its lock row on first use: runs of one group are
// admitted one transaction at a time, on every server process. Callers lock
// groups in a fixed order (and before any run), so that lockers never deadlock.
func (q Q) ConcurrencyLock(ctx context.Context, tenantID, workflow, key string, now int64) error {
	_, err := q.db.NewRaw(`INSERT INTO concurrency_locks (tenant_id, workflow_name, concurrency_key, locked_at)
		VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id, workflow_name, concurrency_key) DO UPDATE SET locked_at = excluded.locked_at`,
		tenantID, workflow, key, now).Exec(ctx)
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
func (q Q) RunListDue(ctx context.Context, now int64, limit int) ([]*Run, error) {
	var runs []*Run
	err := q.db.NewSelect().Model(&runs).
		Where("status = ? AND scheduled_at <= ?", RunScheduled, now).
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
// runs.
func (q Q) RunWaitingGroups(ctx context.Context, limit int) ([]ConcurrencyGroup, error) {
	var groups []ConcurrencyGroup
	err := q.db.NewSelect().Model((*Run)(nil)).Distinct().
		Column("tenant_id", "workflow_name", "concurrency_key").
		Where("status = ?", RunWaiting).Limit(int64(limit)).Scan(ctx, &groups)
	if err != nil {
		return nil, fmt.Errorf("waiting concurrency groups: %w", err)
	}
	return groups, nil
}

// CronSchedule is one cron trigger of a workflow's current version, with the
// next tick it fires.
type CronSchedule struct {
	bun.BaseModel `bun:"table:cron_schedules"`

	TenantID   string `bun:"tenant_id,pk"`
	Workflow   string `bun:"workflow_name,pk"`
	Schedule   string `bun:"schedule,pk"`
	TimeZone   string `bun:"time_zone,pk"`
	NextTickAt int64  `bun:"next_tick_at"`
}

// CronList returns a workflow's schedules.
func (q Q) CronList(ctx context.Context, tenantID, workflow string) ([]*CronSchedule, error) {
	var out []*CronSchedule
	if err := q.db.NewSelect().Model(&out).Where("tenant_id = ? AND workflow_name = ?", tenantID, workflow).Scan(ctx); err != nil {
		return nil, fmt.Errorf("cron schedules of %s: %w", workflow, err)
	}
	return out, nil
}

// CronReplace makes schedules the workflow's schedules.
func (q Q) CronReplace(ctx context.Context, tenantID, workflow string, schedules []*CronSchedule) error {
	_, err := q.db.NewDelete().Model((*CronSchedule)(nil)).Where("tenant_id = ? AND workflow_name = ?", tenantID, workflow).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete cron schedules of %s: %w", workflow, err)
	}
	if len(schedules) == 0 {
		return nil
	}
	if _, err := q.db.NewInsert().Model(&schedules).Exec(ctx); err != nil {
		return fmt.Errorf("insert cron schedules of %s: %w", workflow, err)
	}
	return nil
}

// CronListDue returns schedules of every tenant whose next tick came, earliest
// first.
func (q Q) CronListDue(ctx context.Context, now int64, limit int) ([]*CronSchedule, error) {
	var out []*CronSchedule
	err := q.db.NewSelect().Model(&out).Where("next_tick_at <= ?", now).OrderExpr("next_tick_at").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("due cron schedules: %w", err)
	}
	return out, nil
}

// CronAdvance moves a schedule's next tick from s.NextTickAt to next, and
// reports whether it did: only one transaction (of any process) moves a tick, so
// only one fires it.
func (q Q) CronAdvance(ctx context.Context, s *CronSchedule, next int64) (bool, error) {
	res, err := q.db.NewUpdate().Model((*CronSchedule)(nil)).Set("next_tick_at = ?", next).
		Where("tenant_id = ? AND workflow_name = ? AND schedule = ? AND time_zone = ? AND next_tick_at = ?",
			s.TenantID, s.Workflow, s.Schedule, s.TimeZone, s.NextTickAt).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("advance cron schedule: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Replay records a replay made with an idempotency key.
type Replay struct {
	bun.BaseModel `bun:"table:replays"`

	TenantID       string `bun:"tenant_id,pk"`
	IdempotencyKey string `bun:"idempotency_key,pk"`
	Source         string `bun:"source"`  // what was replayed, and how
	RunIDs         string `bun:"run_ids"` // a JSON array
	CreatedAt      int64  `bun:"created_at"`
}

// ReplayInsert records r unless the tenant used its key before; it reports
// whether it did.
func (q Q) ReplayInsert(ctx context.Context, r *Replay) (bool, error) {
	res, err := q.db.NewInsert().Model(r).On("CONFLICT (tenant_id, idempotency_key) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("record replay: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReplayGet returns the tenant's replay made with key.
func (q Q) ReplayGet(ctx context.Context, tenantID, key string) (*Replay, error) {
	r := new(Replay)
	if err := q.db.NewSelect().Model(r).Where("tenant_id = ? AND idempotency_key = ?", tenantID, key).Scan(ctx); err != nil {
		return nil, fmt.Errorf("get replay: %w", translate(err))
	}
	return r, nil
}
