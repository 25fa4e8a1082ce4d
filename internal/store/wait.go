package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// Wait states, as stored.
const (
	// WaitPending is a declared wait's condition stored when its task became
	// ready and not yet armed (looked back and opened) by the resolver.
	WaitPending   = "pending"
	WaitOpen      = "open"
	WaitSatisfied = "satisfied"
	WaitTimedOut  = "timed_out"
	WaitCancelled = "cancelled"
)

// Wait kinds, as stored.
const (
	WaitKindSleep = "sleep"
	WaitKindEvent = "event"
	WaitKindChild = "child"
)

// Wait is one condition of a durable wait: the wait is every row of one
// (task, step).
type Wait struct {
	bun.BaseModel `bun:"table:waits,alias:w"`

	ID         string `bun:"id,pk"`
	TenantID   string `bun:"tenant_id"`
	RunID      string `bun:"run_id"`
	TaskID     string `bun:"task_id"`
	Step       string `bun:"step"`
	Cond       string `bun:"cond"` // the condition's name
	Seq        int32  `bun:"seq"`  // its position in the wait's spec
	Mode       string `bun:"mode"` // ANY or ALL
	Kind       string `bun:"kind"`
	Key        string `bun:"key"` // an event condition's key or pattern
	IsPattern  bool   `bun:"is_pattern"`
	Expression string `bun:"expression"`
	// Match is the indexed equality of an event condition,
	// "<payload path>=<JSON value>", or "" when it has none.
	Match        string `bun:"match"`
	ChildRunID   string `bun:"child_run_id"`
	Deadline     Time   `bun:"deadline"`
	LookbackFrom Time   `bun:"lookback_from"`
	State        string `bun:"state"`
	EventID      string `bun:"event_id"`
	// Handled says the resolver took the row's outcome into account.
	Handled    bool `bun:"handled"`
	ResolvedAt Time `bun:"resolved_at"`
	CreatedAt  Time `bun:"created_at"`

	// RunInput is the input of the row's run, as [Q.WaitListCandidates]
	// returns it (and nothing else).
	RunInput Object `bun:"run_input,scanonly"`
}

// WaitPatternKey is the lock key (see [Q.WaitKeysLock]) that every wait on a
// key pattern of a tenant shares.
const WaitPatternKey = "\x00pattern"

// WaitLockKey is an event key of a tenant as a lock (see [Q.WaitKeysLock]).
type WaitLockKey struct {
	TenantID string
	Key      string // an event key, or WaitPatternKey
}

// WaitKeysLock takes, until the transaction ends, the lock of each key
// (shared, for pushes of events with those keys; exclusive, for the
// creation of waits on them), in one order so that transactions never wait
// for each other in a circle. It is the first lock a transaction takes. On
// SQLite, whose writers take turns, it does nothing.
func (q Q) WaitKeysLock(ctx context.Context, keys []WaitLockKey, shared bool) error {
	if !q.postgres() || len(keys) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(keys))
	for _, k := range keys {
		h := fnv.New64a()
		_, _ = h.Write([]byte("wait\x00" + k.TenantID + "\x00" + k.Key))
		ids = append(ids, int64(h.Sum64())) //nolint:gosec // a lock id: any 64 bits do
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	fn := "pg_advisory_xact_lock"
	if shared {
		fn += "_shared"
	}
	if _, err := q.db.ExecContext(ctx, "SELECT "+fn+"(k) FROM (SELECT unnest(?::bigint[]) AS k ORDER BY 1) AS s", pgdialect.Array(ids)); err != nil {
		return fmt.Errorf("lock wait keys: %w", err)
	}
	return nil
}

// WaitInsertMany inserts wait rows.
func (q Q) WaitInsertMany(ctx context.Context, rows []*Wait) error {
	if len(rows) == 0 {
		return nil
	}
	if _, err := q.db.NewInsert().Model(&rows).Exec(ctx); err != nil {
		return fmt.Errorf("insert waits: %w", err)
	}
	return nil
}

// WaitListByTask returns a task's wait rows, oldest first (by creation, then
// position in the spec).
func (q Q) WaitListByTask(ctx context.Context, taskID string) ([]*Wait, error) {
	var rows []*Wait
	if err := q.db.NewSelect().Model(&rows).Where("task_id = ?", taskID).OrderExpr("created_at, seq").Scan(ctx); err != nil {
		return nil, fmt.Errorf("waits of task %s: %w", taskID, err)
	}
	return rows, nil
}

// WaitListByRuns returns the wait rows of runs, oldest first; with openOnly,
// only those not yet resolved.
func (q Q) WaitListByRuns(ctx context.Context, runIDs []string, openOnly bool) ([]*Wait, error) {
	if len(runIDs) == 0 {
		return nil, nil
	}
	var rows []*Wait
	sel := q.db.NewSelect().Model(&rows).Where("run_id IN (?)", bun.List(runIDs))
	if openOnly {
		sel.Where("state IN (?)", bun.List([]string{WaitOpen, WaitPending}))
	}
	if err := sel.OrderExpr("created_at, seq").Scan(ctx); err != nil {
		return nil, fmt.Errorf("waits of runs: %w", err)
	}
	return rows, nil
}

// WaitListCandidates returns the tenant's open event waits that an event with
// key may satisfy: on the key, or on a pattern, with a match among matches
// ("" included for waits without an indexed match), each with its run's
// input (RunInput) for their conditions.
func (q Q) WaitListCandidates(ctx context.Context, tenantID, key string, matches []string) ([]*Wait, error) {
	var rows []*Wait
	err := q.waitCandidates(tenantID, key, matches).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("waits for events: %w", err)
	}
	slices.SortFunc(rows, func(a, b *Wait) int { return strings.Compare(a.ID, b.ID) })
	return rows, nil
}

// waitCandidates is WaitListCandidates' query: two selects, each within its
// partial index (an OR would leave both).
func (q Q) waitCandidates(tenantID, key string, matches []string) interface {
	Scan(ctx context.Context, dest ...any) error
	String() string
} {
	const runInput = "(SELECT r.input FROM runs AS r WHERE r.id = w.run_id) AS run_input"
	if q.postgres() {
		// Postgres 15 plans "match IN (...)" as a filter over every open
		// wait of the key, not as a condition of the index (3 ms a push with
		// 2,000 waits on the key), and a join on the list's values the same
		// way while the table's statistics are those of an empty one: a
		// lateral subquery that cannot be pulled up (OFFSET 0) probes the
		// index on all its columns once per value.
		matches = slices.Compact(slices.Sorted(slices.Values(matches)))
		const lateral = "SELECT w.*, " + runInput + " FROM unnest(?::text[]) AS m(v) CROSS JOIN LATERAL (SELECT * FROM waits WHERE "
		return q.db.NewRaw(lateral+"tenant_id = ? AND key = ? AND match = m.v AND state = ? AND kind = ? OFFSET 0) AS w"+
			" UNION ALL "+lateral+"tenant_id = ? AND match = m.v AND state = ? AND is_pattern OFFSET 0) AS w",
			pgdialect.Array(matches), tenantID, key, WaitOpen, WaitKindEvent,
			pgdialect.Array(matches), tenantID, WaitOpen)
	}
	exact := q.db.NewSelect().Model((*Wait)(nil)).ColumnExpr("w.*").ColumnExpr(runInput).
		Where("tenant_id = ? AND key = ? AND match IN (?) AND state = ? AND kind = ?", tenantID, key, bun.List(matches), WaitOpen, WaitKindEvent)
	pattern := q.db.NewSelect().Model((*Wait)(nil)).ColumnExpr("w.*").ColumnExpr(runInput).
		Where("tenant_id = ? AND match IN (?) AND state = ? AND is_pattern", tenantID, bun.List(matches), WaitOpen)
	return exact.UnionAll(pattern)
}

// WaitSatisfy marks the open rows among ids satisfied by an event (eventID,
// or "" for a sleep or child) at now, and returns those it marked: a row
// changes once.
func (q Q) WaitSatisfy(ctx context.Context, ids []string, eventID string, now time.Time) ([]string, error) {
	return q.waitResolve(ctx, ids, WaitSatisfied, eventID, now)
}

// WaitTimeOut marks the open rows among ids timed out at now and returns
// those it marked.
func (q Q) WaitTimeOut(ctx context.Context, ids []string, now time.Time) ([]string, error) {
	return q.waitResolve(ctx, ids, WaitTimedOut, "", now)
}

func (q Q) waitResolve(ctx context.Context, ids []string, state, eventID string, now time.Time) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	ids = slices.Sorted(slices.Values(ids))
	var done []string
	err := q.db.NewUpdate().Model((*Wait)(nil)).
		Set("state = ?, event_id = ?, resolved_at = ?", state, eventID, TimeOf(now)).
		Where("id IN (?) AND state = ?", bun.List(ids), WaitOpen).
		Returning("id").Scan(ctx, &done)
	if err != nil {
		return nil, fmt.Errorf("resolve waits: %w", err)
	}
	return done, nil
}

// WaitSatisfyChild marks the open waits on a child run satisfied, now that
// it ended, and reports how many it marked.
func (q Q) WaitSatisfyChild(ctx context.Context, childRunID string, now time.Time) (int, error) {
	res, err := q.db.NewUpdate().Model((*Wait)(nil)).
		Set("state = ?, resolved_at = ?", WaitSatisfied, TimeOf(now)).
		Where("child_run_id = ? AND kind = ? AND state = ?", childRunID, WaitKindChild, WaitOpen).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("satisfy waits on run %s: %w", childRunID, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// WaitCancelOpen cancels the unresolved rows of a task's wait step (every
// step when step is ""), or of every task of the run when taskID is "", at
// now; cancelled rows count as handled.
func (q Q) WaitCancelOpen(ctx context.Context, runID, taskID, step string, now time.Time) error {
	up := q.db.NewUpdate().Model((*Wait)(nil)).
		Set("state = ?, resolved_at = ?, handled = TRUE", WaitCancelled, TimeOf(now)).
		Where("run_id = ? AND state IN (?)", runID, bun.List([]string{WaitOpen, WaitPending}))
	if taskID != "" {
		up.Where("task_id = ?", taskID)
	}
	if step != "" {
		up.Where("step = ?", step)
	}
	if _, err := up.Exec(ctx); err != nil {
		return fmt.Errorf("cancel waits of run %s: %w", runID, err)
	}
	return nil
}

// WaitArm opens a pending row (state open) or resolves it at once.
func (q Q) WaitArm(ctx context.Context, w *Wait) error {
	_, err := q.db.NewUpdate().Model(w).Column("state", "match", "event_id", "resolved_at", "deadline", "lookback_from").
		WherePK().Where("state = ?", WaitPending).Exec(ctx)
	if err != nil {
		return fmt.Errorf("arm wait %s: %w", w.ID, err)
	}
	return nil
}

// WaitSetHandled records that the resolver took the rows of a task's wait
// step into account.
func (q Q) WaitSetHandled(ctx context.Context, taskID, step string) error {
	_, err := q.db.NewUpdate().Model((*Wait)(nil)).Set("handled = TRUE").
		Where("task_id = ? AND step = ? AND state <> ?", taskID, step, WaitOpen).Exec(ctx)
	if err != nil {
		return fmt.Errorf("mark waits of task %s handled: %w", taskID, err)
	}
	return nil
}

// WaitWork is a task whose wait the resolver has work on.
type WaitWork struct {
	TenantID string `bun:"tenant_id"`
	RunID    string `bun:"run_id"`
	TaskID   string `bun:"task_id"`
}

// WaitListWork returns up to limit tasks whose waits need the resolver (a
// row pending, resolved and not handled, or open past its deadline at now)
// and the earliest deadline of the open waits (zero when none has one), in
// one statement: what an idle resolver costs.
func (q Q) WaitListWork(ctx context.Context, now time.Time, limit int) ([]WaitWork, time.Time, error) {
	var rows []struct {
		WaitWork
		Next int64 `bun:"next"`
	}
	err := q.db.NewRaw(`
		SELECT * FROM (
			SELECT DISTINCT tenant_id, run_id, task_id, 0 AS next FROM (
				SELECT tenant_id, run_id, task_id FROM waits WHERE NOT handled AND state <> ?
				UNION ALL
				SELECT tenant_id, run_id, task_id FROM waits WHERE state = ? AND deadline > 0 AND deadline <= ?
			) AS x LIMIT ?
		) AS work
		UNION ALL
		SELECT '', '', '', COALESCE(MIN(deadline), 0) FROM waits WHERE state = ? AND deadline > 0`,
		WaitOpen, WaitOpen, TimeOf(now), limit, WaitOpen).Scan(ctx, &rows)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("list wait work: %w", err)
	}
	var work []WaitWork
	var next time.Time
	for _, r := range rows {
		if r.TaskID == "" {
			next = TimeMicros(r.Next).Time
			continue
		}
		work = append(work, r.WaitWork)
	}
	return work, next, nil
}

// WaitRunIDsByEvent returns the runs whose waits the tenant's event
// satisfied.
func (q Q) WaitRunIDsByEvent(ctx context.Context, tenantID, eventID string) ([]string, error) {
	ids := []string{}
	err := q.db.NewSelect().Model((*Wait)(nil)).Distinct().Column("run_id").
		Where("event_id = ? AND tenant_id = ?", eventID, tenantID).OrderExpr("run_id").Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("runs woken by event %s: %w", eventID, err)
	}
	return ids, nil
}

// EventListSince returns the tenant's events stored at or after since, newest
// first, at most limit: with key only those with that key.
func (q Q) EventListSince(ctx context.Context, tenantID, key string, since time.Time, limit int) ([]*Event, error) {
	var events []*Event
	sel := q.db.NewSelect().Model(&events).Where("tenant_id = ? AND created_at >= ?", tenantID, TimeOf(since))
	whereEqual(sel, "key", key)
	if err := sel.OrderExpr("id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("events since %s: %w", since, err)
	}
	return events, nil
}
