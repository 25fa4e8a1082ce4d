package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// CronSchedule is one cron trigger of a workflow's current version, with the
// next tick it fires.
type CronSchedule struct {
	bun.BaseModel `bun:"table:cron_schedules"`

	TenantID   string `bun:"tenant_id,pk"`
	Workflow   string `bun:"workflow_name,pk"`
	Schedule   string `bun:"schedule,pk"`
	TimeZone   string `bun:"time_zone,pk"`
	NextTickAt Time   `bun:"next_tick_at"`
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
func (q Q) CronListDue(ctx context.Context, now time.Time, limit int) ([]*CronSchedule, error) {
	var out []*CronSchedule
	err := q.db.NewSelect().Model(&out).Where("next_tick_at <= ?", TimeOf(now)).OrderExpr("next_tick_at").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("due cron schedules: %w", err)
	}
	return out, nil
}

// CronAdvance moves a schedule's next tick from s.NextTickAt to next, and
// reports whether it did: only one transaction (of any process) moves a tick, so
// only one fires it.
func (q Q) CronAdvance(ctx context.Context, s *CronSchedule, next time.Time) (bool, error) {
	res, err := q.db.NewUpdate().Model((*CronSchedule)(nil)).Set("next_tick_at = ?", TimeOf(next)).
		Where("tenant_id = ? AND workflow_name = ? AND schedule = ? AND time_zone = ? AND next_tick_at = ?",
			s.TenantID, s.Workflow, s.Schedule, s.TimeZone, s.NextTickAt).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("advance cron schedule: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
