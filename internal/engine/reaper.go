package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// loseAttempt ends an attempt the engine gave up on (its worker went away, it
// timed out, or, with unacked, its worker did not acknowledge it and still has
// not): retried at once while attempts remain, failed otherwise.
func (d *dispatcher) loseAttempt(ctx context.Context, tenantID string, t *store.Task, reason string, unacked bool) {
	_, err := d.attempts.finishAttempt(ctx, tenantID, attemptReport{
		TaskID: t.ID, Attempt: t.Attempt, WorkerID: t.WorkerID,
		Error: reason, Retryable: true, Immediate: true, Unacknowledged: unacked,
	})
	var ee *Error
	if err != nil && !(errors.As(err, &ee) && ee.Kind == KindFailedPrecondition) {
		d.log.WarnContext(ctx, "lost attempt not requeued", "task_id", t.ID, "error", err.Error())
		return
	}
	if err == nil {
		d.log.InfoContext(ctx, "attempt lost", "task_id", t.ID, "attempt", t.Attempt, "worker_id", t.WorkerID, "reason", reason)
	}
}

// reap finds attempts whose timeout passed or whose worker stopped
// heartbeating, and assignments their worker did not acknowledge in time, and
// gives them to other workers; it runs every ReapInterval while this
// process's workers run attempts, and less often (up to IdleInterval) when
// they do not.
func (d *dispatcher) reap(ctx context.Context) (time.Duration, error) {
	now := d.now()
	lost, err := read(ctx, d.store, func(ctx context.Context, q store.Q) ([]*store.Task, error) {
		return q.TaskListLost(ctx, &store.TaskListLostParams{
			Now:                     now,
			ConnectedSilentSince:    now.Add(-d.cfg.deadAfter()),
			DisconnectedSilentSince: now.Add(-d.cfg.deadAfter() / 2),
			Limit:                   100,
		})
	})
	if err != nil {
		return busy, fmt.Errorf("find lost attempts: %w", err)
	}
	for _, t := range lost {
		reason := "worker went away (stream closed or heartbeats stopped)"
		if t.LeaseExpiresAt.Before(now) {
			reason = fmt.Sprintf("attempt timed out after %s", time.Duration(t.TimeoutMS)*time.Millisecond)
			d.obs.TaskTimedOut(t.Action)
		}
		d.loseAttempt(ctx, t.TenantID, t, reason, false)
	}
	if len(lost) == 0 && !d.running() {
		// Assignments of other processes' streams are theirs to watch.
		return nothingDue, nil
	}
	d.reapUnacked(ctx, now)
	return busy, nil
}

// running reports whether a worker whose stream this process holds runs an
// attempt: its lease, its acknowledgement and its worker's heartbeats are
// then watched every ReapInterval.
func (d *dispatcher) running() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.conns {
		if c.running.Load() > 0 {
			return true
		}
	}
	return false
}
