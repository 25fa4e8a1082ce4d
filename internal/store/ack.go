package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// AttemptRef names one attempt of a task.
type AttemptRef struct {
	TaskID  string
	Attempt int32
}

// TaskAcknowledge records that the worker received the attempts, at now. Only
// attempts that are running and still the worker's are marked, once: a repeat,
// or an attempt that moved on meanwhile, changes nothing. It returns how many
// were marked.
func (q Q) TaskAcknowledge(ctx context.Context, workerID string, refs []AttemptRef, now time.Time) (int, error) {
	if len(refs) == 0 {
		return 0, nil
	}
	// A row-value IN needs a subquery on SQLite: VALUES is one on both.
	rows := strings.TrimSuffix(strings.Repeat("(?, ?), ", len(refs)), ", ")
	args := make([]any, 0, 2*len(refs))
	for _, r := range refs {
		args = append(args, r.TaskID, r.Attempt)
	}
	// The rows are locked in the order of their ids (Postgres), as every
	// statement that locks several tasks does.
	lock := ""
	if q.postgres() {
		lock = " ORDER BY t.id FOR UPDATE"
	}
	res, err := q.db.NewUpdate().Model((*Task)(nil)).Set("acked_at = ?", TimeOf(now)).
		Where("id IN (SELECT t.id FROM tasks AS t WHERE t.worker_id = ? AND t.status = ? AND t.acked_at = 0 AND (t.id, t.attempt) IN (VALUES "+rows+")"+lock+")",
			append([]any{workerID, TaskRunning}, args...)...).
		Where("worker_id = ? AND status = ? AND acked_at = 0", workerID, TaskRunning).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("acknowledge tasks of worker %s: %w", workerID, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// TaskListUnackedParams says when an assignment counts as not received.
type TaskListUnackedParams struct {
	// SentBefore: attempts sent before it and not acknowledged are listed.
	SentBefore time.Time
	Limit      int
}

// TaskListUnacked returns running attempts of every tenant that were sent
// before p.SentBefore and not acknowledged, of workers whose current (or last)
// stream acknowledged a keep-alive: workers that never acknowledge anything
// are not held to it, nor are attempts claimed before sending was recorded
// (sent_at 0). Oldest first.
func (q Q) TaskListUnacked(ctx context.Context, p *TaskListUnackedParams) ([]*Task, error) {
	var tasks []*Task
	err := q.db.NewSelect().Model(&tasks).
		Where("task.status = ? AND task.acked_at = 0 AND task.sent_at > 0 AND task.sent_at < ?", TaskRunning, TimeOf(p.SentBefore)).
		Where("task.worker_id IN (SELECT w.id FROM workers AS w WHERE w.acknowledges)").
		OrderExpr("task.sent_at").Limit(int64(p.Limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list unacknowledged tasks: %w", err)
	}
	return tasks, nil
}

// WorkerAcknowledge records that the worker received keep-alive seq of stream
// streamID (0: none), when that stream is the worker's open one, and reports
// whether it is. It returns ErrNotFound for an unknown worker.
func (q Q) WorkerAcknowledge(ctx context.Context, tenantID, id, streamID string, seq uint64) (open bool, err error) {
	res, err := q.db.NewUpdate().Model((*Worker)(nil)).
		Set("stream_acked_seq = CASE WHEN stream_acked_seq < ? THEN ? ELSE stream_acked_seq END", int64(seq), int64(seq)).
		Set("acknowledges = TRUE").
		Where("tenant_id = ? AND id = ? AND stream_id = ? AND connected", tenantID, id, streamID).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("acknowledge stream of worker %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	// Not the open stream: the worker still acknowledges.
	res, err = q.db.NewUpdate().Model((*Worker)(nil)).Set("acknowledges = TRUE").
		Where("tenant_id = ? AND id = ?", tenantID, id).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("acknowledge stream of worker %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, fmt.Errorf("acknowledge stream of worker %s: %w", id, ErrNotFound)
	}
	return false, nil
}

// WorkerStreamDoubt clears the acknowledged keep-alive of a worker's stream,
// so that the stream gets no new work until the worker acknowledges a later
// keep-alive: called when an assignment sent on it went unacknowledged.
func (q Q) WorkerStreamDoubt(ctx context.Context, tenantID, id string) error {
	if _, err := q.db.NewUpdate().Model((*Worker)(nil)).Set("stream_acked_seq = 0").
		Where("tenant_id = ? AND id = ?", tenantID, id).Exec(ctx); err != nil {
		return fmt.Errorf("doubt stream of worker %s: %w", id, translate(err))
	}
	return nil
}
