package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// QueueStats is the ready queue of one action, across tenants: tasks QUEUED
// whose backoff (available_at) has passed.
type QueueStats struct {
	Action string `bun:"action"`
	Depth  int64  `bun:"depth"`
	// OldestAvailableAt is when the longest-waiting of them became ready.
	OldestAvailableAt Time `bun:"oldest_available_at"`
}

// StatsQueues returns the ready queue of every action that has one, across
// tenants, as of now.
func (q Q) StatsQueues(ctx context.Context, now time.Time) ([]QueueStats, error) {
	var out []QueueStats
	err := q.db.NewSelect().Model((*Task)(nil)).
		ColumnExpr("action, COUNT(*) AS depth, MIN(available_at) AS oldest_available_at").
		Where("status = ? AND available_at <= ?", TaskQueued, TimeOf(now)).
		Group("action").OrderExpr("action").
		Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("queue stats: %w", err)
	}
	return out, nil
}

// WorkerStats sums up the workers whose Listen stream is open, across tenants.
type WorkerStats struct {
	Connected int64 `bun:"connected"`
	// Slots is how many tasks they may hold at once.
	Slots int64 `bun:"slots"`
	// SlotsInUse is how many tasks they hold (RUNNING).
	SlotsInUse int64 `bun:"slots_in_use"`
}

// StatsWorkers returns the connected workers' numbers, in one statement.
func (q Q) StatsWorkers(ctx context.Context) (*WorkerStats, error) {
	out := new(WorkerStats)
	err := q.db.NewSelect().Model((*Worker)(nil)).
		ColumnExpr("COUNT(*) AS connected, COALESCE(SUM(slots), 0) AS slots").
		ColumnExpr(`(SELECT COUNT(*) FROM tasks AS t JOIN workers AS w ON w.id = t.worker_id
			WHERE t.status = ? AND w.connected) AS slots_in_use`, TaskRunning).
		Where("connected").
		Scan(ctx, out)
	if err != nil {
		return nil, fmt.Errorf("worker stats: %w", err)
	}
	return out, nil
}

// Pool is the connection pool, for its statistics (sql.DB.Stats).
func (s *Store) Pool() *sql.DB { return s.db.DB }
