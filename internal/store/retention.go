package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// endedStatuses are the statuses of runs that have ended; a run in any other
// status is never pruned.
var endedStatuses = bun.List([]string{RunSucceeded, RunFailed, RunCancelled, RunSkipped})

// RunPrune deletes up to limit runs of every tenant that ended before the
// time, oldest first, with all their tasks (and their steps and waits) and
// their links to the events of their debounce or batch windows; it returns how many runs and tasks it
// deleted. A run and its tasks go in one transaction, so a run is
// never seen without its tasks; an ended run never changes status again.
func (q Q) RunPrune(ctx context.Context, before time.Time, limit int) (runs, tasks int64, err error) {
	var ids []string
	err = q.db.NewSelect().Model((*Run)(nil)).Column("id").
		Where("status IN (?) AND finished_at < ?", endedStatuses, TimeOf(before)).
		OrderExpr("finished_at").Limit(int64(limit)).Scan(ctx, &ids)
	if err != nil {
		return 0, 0, fmt.Errorf("prune runs: select: %w", err)
	}
	if len(ids) == 0 {
		return 0, 0, nil
	}
	if _, err := q.db.NewDelete().Model((*Step)(nil)).
		Where("task_id IN (SELECT t.id FROM tasks AS t WHERE t.run_id IN (?))", bun.List(ids)).Exec(ctx); err != nil {
		return 0, 0, fmt.Errorf("prune runs: steps: %w", err)
	}
	if _, err := q.db.NewDelete().Model((*Wait)(nil)).Where("run_id IN (?)", bun.List(ids)).Exec(ctx); err != nil {
		return 0, 0, fmt.Errorf("prune runs: waits: %w", err)
	}
	res, err := q.db.NewDelete().Model((*Task)(nil)).Where("run_id IN (?)", bun.List(ids)).Exec(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("prune runs: tasks: %w", err)
	}
	tasks, _ = res.RowsAffected()
	if _, err := q.db.NewDelete().Model((*WindowEvent)(nil)).Where("run_id IN (?)", bun.List(ids)).Exec(ctx); err != nil {
		return 0, 0, fmt.Errorf("prune runs: window events: %w", err)
	}
	res, err = q.db.NewDelete().Model((*Run)(nil)).Where("id IN (?)", bun.List(ids)).Exec(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("prune runs: %w", err)
	}
	runs, _ = res.RowsAffected()
	return runs, tasks, nil
}

// EventPrune deletes up to limit events of every tenant stored before the time
// that no run refers to any more, oldest first, and returns how many
// it deleted. An event's idempotency key is thereby kept at least until the
// time and as long as any run the event started.
func (q Q) EventPrune(ctx context.Context, before time.Time, limit int) (int64, error) {
	old := q.db.NewSelect().TableExpr("events AS e").Column("e.id").
		Where("e.created_at < ?", TimeOf(before)).
		Where("NOT EXISTS (SELECT 1 FROM runs AS r WHERE r.tenant_id = e.tenant_id AND r.event_id = e.id)").
		OrderExpr("e.created_at").Limit(int64(limit))
	res, err := q.db.NewDelete().Model((*Event)(nil)).Where("id IN (?)", old).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// ReplayPrune deletes up to limit replay records of every tenant made before
// the time, oldest first, and returns how many it deleted; their
// idempotency keys may then be used again.
func (q Q) ReplayPrune(ctx context.Context, before time.Time, limit int) (int64, error) {
	old := q.db.NewSelect().TableExpr("replays AS rp").Column("rp.tenant_id", "rp.idempotency_key").
		Where("rp.created_at < ?", TimeOf(before)).OrderExpr("rp.created_at").Limit(int64(limit))
	res, err := q.db.NewDelete().Model((*Replay)(nil)).Where("(tenant_id, idempotency_key) IN (?)", old).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune replays: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// Lease is a named lease on work that one server process at a time should do
// (pruning, for one). It belongs to the installation, not to a tenant.
type Lease struct {
	bun.BaseModel `bun:"table:leases"`

	Name      string `bun:"name,pk"`
	Holder    string `bun:"holder"`
	ExpiresAt Time   `bun:"expires_at"`
}

// LeaseAcquire takes the named lease for holder until the time when
// it is free, expired at now, or already holder's (which renews it), and reports
// whether holder now has it. It is one compare-and-set statement: of several
// processes asking at once, at most one gets a lease.
func (q Q) LeaseAcquire(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	res, err := q.db.NewRaw(`INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.expires_at <= ? OR leases.holder = excluded.holder`,
		name, holder, TimeOf(until), TimeOf(now)).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("acquire lease %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// LeaseRelease gives the named lease up if holder has it, so that another
// process may take it without waiting for it to expire.
func (q Q) LeaseRelease(ctx context.Context, name, holder string) error {
	_, err := q.db.NewDelete().Model((*Lease)(nil)).Where("name = ? AND holder = ?", name, holder).Exec(ctx)
	if err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}

// LeaseGet returns the named lease, expired or not.
func (q Q) LeaseGet(ctx context.Context, name string) (*Lease, error) {
	return getOne[Lease](ctx, q, false, "lease "+name, "name = ?", name)
}
