package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// QueueStats is the ready queue of one action, across tenants: tasks queued
// whose backoff has passed.
type QueueStats struct {
	Action string
	Depth  int64
	// OldestReadyAt is when the longest-waiting of them became ready.
	OldestReadyAt time.Time
}

// WorkerStats sums up the workers whose Listen stream is open, across tenants.
type WorkerStats struct {
	Connected int64
	// Slots is how many tasks they may hold at once.
	Slots int64
	// SlotsInUse is how many tasks they hold.
	SlotsInUse int64
}

// Stats returns the ready queue of every action that has one as of now, and
// the connected workers' numbers, across tenants, read in one transaction.
func (e *Engine) Stats(ctx context.Context, now time.Time) ([]QueueStats, WorkerStats, error) {
	var queues []store.QueueStats
	var workers *store.WorkerStats
	err := e.store.Read(ctx, func(ctx context.Context, q store.Q) error {
		var err error
		if queues, err = q.StatsQueues(ctx, now); err != nil {
			return err
		}
		workers, err = q.StatsWorkers(ctx)
		return err
	})
	if err != nil {
		return nil, WorkerStats{}, fmt.Errorf("stats: %w", err)
	}
	out := make([]QueueStats, len(queues))
	for i, s := range queues {
		out[i] = QueueStats{Action: s.Action, Depth: s.Depth, OldestReadyAt: s.OldestAvailableAt.Time}
	}
	return out, WorkerStats{Connected: workers.Connected, Slots: workers.Slots, SlotsInUse: workers.SlotsInUse}, nil
}
