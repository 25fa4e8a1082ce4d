package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// RateLimit is a named limit a tenant declares: at most MaxUnits units start
// per Period, for each key the tasks that use it give (one key, "", for a
// static limit).
type RateLimit struct {
	bun.BaseModel `bun:"table:flow_rate_limits"`

	TenantID  string `bun:"tenant_id,pk"`
	Name      string `bun:"name,pk"`
	MaxUnits  int32  `bun:"max_units"`
	PeriodUS  int64  `bun:"period_us"`
	CreatedAt Time   `bun:"created_at"`
	UpdatedAt Time   `bun:"updated_at"`
}

// Period is the limit's window.
func (l *RateLimit) Period() time.Duration { return time.Duration(l.PeriodUS) * time.Microsecond }

// TaskRateLimit is one limit a task consumes from: Units of the limit's
// window for Key.
type TaskRateLimit struct {
	Limit string `json:"limit"`
	Key   string `json:"key"`
	Units int32  `json:"units"`
}

// RateWindow is the recent use of one key of a limit: start times (Unix
// microseconds, ascending) with the units each took.
type RateWindow struct {
	bun.BaseModel `bun:"table:rate_limit_windows"`

	TenantID  string           `bun:"tenant_id,pk"`
	Name      string           `bun:"name,pk"`
	Key       string           `bun:"limit_key,pk"`
	Log       JSON[[][2]int64] `bun:"log"`
	UpdatedAt Time             `bun:"updated_at"`
}

// RateLimitPut creates or changes a limit; CreatedAt stays the first one's.
func (q Q) RateLimitPut(ctx context.Context, l *RateLimit) error {
	err := q.db.NewInsert().Model(l).
		On("CONFLICT (tenant_id, name) DO UPDATE").
		Set("max_units = EXCLUDED.max_units, period_us = EXCLUDED.period_us, updated_at = EXCLUDED.updated_at").
		Returning("created_at").Scan(ctx)
	if err != nil {
		return fmt.Errorf("put rate limit %s: %w", l.Name, err)
	}
	return nil
}

// RateLimitGet returns one limit of the tenant.
func (q Q) RateLimitGet(ctx context.Context, tenantID, name string) (*RateLimit, error) {
	return getOne[RateLimit](ctx, q, false, "rate limit "+name, "tenant_id = ? AND name = ?", tenantID, name)
}

// RateLimitList returns up to limit of the tenant's limits whose name is
// after the given one, by name.
func (q Q) RateLimitList(ctx context.Context, tenantID, after string, limit int) ([]*RateLimit, error) {
	var out []*RateLimit
	sel := q.db.NewSelect().Model(&out).Where("tenant_id = ? AND name > ?", tenantID, after).OrderExpr("name")
	if limit > 0 {
		sel.Limit(int64(limit))
	}
	if err := sel.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list rate limits: %w", err)
	}
	return out, nil
}

// RateLimitGetMany returns the named limits of the tenant that exist, by name.
func (q Q) RateLimitGetMany(ctx context.Context, tenantID string, names []string) (map[string]*RateLimit, error) {
	out := map[string]*RateLimit{}
	if len(names) == 0 {
		return out, nil
	}
	var rows []*RateLimit
	if err := q.db.NewSelect().Model(&rows).Where("tenant_id = ? AND name IN (?)", tenantID, bun.List(names)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("get rate limits: %w", err)
	}
	for _, l := range rows {
		out[l.Name] = l
	}
	return out, nil
}

// RateLimitDelete deletes a limit and its windows; ErrNotFound when there is
// none.
func (q Q) RateLimitDelete(ctx context.Context, tenantID, name string) error {
	res, err := q.db.NewDelete().Model((*RateLimit)(nil)).Where("tenant_id = ? AND name = ?", tenantID, name).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete rate limit %s: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("delete rate limit %s: %w", name, ErrNotFound)
	}
	_, err = q.db.NewDelete().Model((*RateWindow)(nil)).Where("tenant_id = ? AND name = ?", tenantID, name).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete windows of rate limit %s: %w", name, err)
	}
	return nil
}

// RateWindowLock locks windows until the transaction ends, creating each
// empty on first use, and returns them (in no particular order): starts
// against one key are decided one transaction at a time, on every server
// process. ws name the windows (TenantID, Name, Key) in a fixed order (name,
// then key), so that lockers never deadlock; one statement locks them all.
func (q Q) RateWindowLock(ctx context.Context, ws []*RateWindow, now time.Time) ([]*RateWindow, error) {
	if len(ws) == 0 {
		return nil, nil
	}
	rows := make([]*RateWindow, len(ws))
	for i, w := range ws {
		rows[i] = &RateWindow{TenantID: w.TenantID, Name: w.Name, Key: w.Key, Log: JSONOf([][2]int64{}), UpdatedAt: TimeOf(now)}
	}
	var out []*RateWindow
	err := q.db.NewInsert().Model(&rows).
		On("CONFLICT (tenant_id, name, limit_key) DO UPDATE").Set("updated_at = EXCLUDED.updated_at").
		Returning("*").Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("lock %d rate windows: %w", len(ws), err)
	}
	return out, nil
}

// RateWindowSave writes the logs of locked windows, in one statement.
func (q Q) RateWindowSave(ctx context.Context, ws []*RateWindow) error {
	if len(ws) == 0 {
		return nil
	}
	_, err := q.db.NewInsert().Model(&ws).
		On("CONFLICT (tenant_id, name, limit_key) DO UPDATE").Set("log = EXCLUDED.log, updated_at = EXCLUDED.updated_at").Exec(ctx)
	if err != nil {
		return fmt.Errorf("save %d rate windows: %w", len(ws), err)
	}
	return nil
}

// RateWindowList returns up to limit windows of the named limits of the
// tenant, most recently used first.
func (q Q) RateWindowList(ctx context.Context, tenantID string, names []string, limit int) ([]*RateWindow, error) {
	var out []*RateWindow
	if len(names) == 0 {
		return out, nil
	}
	err := q.db.NewSelect().Model(&out).Where("tenant_id = ? AND name IN (?)", tenantID, bun.List(names)).
		OrderExpr("updated_at DESC, name, limit_key").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list rate windows: %w", err)
	}
	return out, nil
}

// TaskRateLimited puts a task just claimed back in the queue without using up
// its attempt, keeping its place in line, until the time a rate limit has
// room again; t.AvailableAt and t.WaitReason say when and why.
func (q Q) TaskRateLimited(ctx context.Context, t *Task) error {
	_, err := q.db.NewUpdate().Model((*Task)(nil)).
		Set("status = ?, attempt = attempt - 1, worker_id = '', started_at = 0, lease_expires_at = 0, sent_at = 0, available_at = ?, wait_reason = ?",
			TaskQueued, t.AvailableAt, t.WaitReason).
		Where("id = ? AND attempt = ? AND status = ?", t.ID, t.Attempt, TaskRunning).Exec(ctx)
	if err != nil {
		return fmt.Errorf("rate limit task %s: %w", t.ID, err)
	}
	return nil
}

// TaskClearWaitReason clears the wait reason of tasks that started.
func (q Q) TaskClearWaitReason(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := q.db.NewUpdate().Model((*Task)(nil)).Set("wait_reason = ''").Where("id IN (?)", bun.List(ids)).Exec(ctx); err != nil {
		return fmt.Errorf("clear wait reasons: %w", err)
	}
	return nil
}

// TaskWaitReasons returns, for the runs that have one, the wait reason of a
// queued task (the latest in text order when several wait).
func (q Q) TaskWaitReasons(ctx context.Context, runIDs []string) (map[string]string, error) {
	out := make(map[string]string)
	if len(runIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		RunID  string `bun:"run_id"`
		Reason string `bun:"reason"`
	}
	err := q.db.NewSelect().Model((*Task)(nil)).ColumnExpr("run_id, MAX(wait_reason) AS reason").
		Where("run_id IN (?) AND status = ? AND wait_reason <> ''", bun.List(runIDs), TaskQueued).Group("run_id").Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("wait reasons: %w", err)
	}
	for _, r := range rows {
		out[r.RunID] = r.Reason
	}
	return out, nil
}

// TaskReleaseHeld makes the tenant's tasks a rate limit holds back available
// now, so that their limits are looked at again (after a limit changed).
func (q Q) TaskReleaseHeld(ctx context.Context, tenantID string, now time.Time) error {
	_, err := q.db.NewUpdate().Model((*Task)(nil)).Set("available_at = ?", TimeOf(now)).
		Where("tenant_id = ? AND status = ? AND wait_reason <> '' AND available_at > ?", tenantID, TaskQueued, TimeOf(now)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("release held tasks: %w", err)
	}
	return nil
}
