package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// DefaultSlots is how many tasks a worker runs at once unless it says.
const DefaultSlots = 10

// Worker is a registered worker as ListWorkers shows it.
type Worker struct {
	ID              string
	Name            string
	Actions         []string
	Slots           int32
	SlotsInUse      int32
	Labels          map[string]string
	Active          bool // its Listen stream is open and it heartbeats
	LastHeartbeatAt time.Time
	CreatedAt       time.Time
}

// deadAfter is the liveness rule: a worker that has not heartbeated for three
// heartbeat intervals is taken for dead (one whose stream also closed, for
// half that), and its attempts go to other workers.
func (c Config) deadAfter() time.Duration { return 3 * c.HeartbeatInterval }

// RegisterWorker stores a worker and returns its id and heartbeat interval.
func (e *Engine) RegisterWorker(ctx context.Context, tenantID string, p RegisterWorkerParams) (string, time.Duration, error) {
	if p.Slots == 0 {
		p.Slots = DefaultSlots
	}
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	now := store.TimeOf(e.now())
	w := &store.Worker{ID: newID(), TenantID: tenantID, Name: p.Name, Actions: store.JSONOf(p.Actions), Slots: p.Slots, Labels: store.JSONOf(p.Labels),
		LastHeartbeatAt: now, CreatedAt: now, IdempotencyKey: p.IdempotencyKey}
	var stored *store.Worker
	err := e.write(ctx, func(ctx context.Context, q store.Q, _ *signals) (err error) {
		stored, err = q.WorkerInsertOnce(ctx, w)
		return err
	})
	if err != nil {
		return "", 0, fmt.Errorf("register worker: %w", err)
	}
	if err := sameWorker(stored, w); err != nil {
		return "", 0, err
	}
	return stored.ID, e.cfg.HeartbeatInterval, nil
}

// Listen serves a worker's stream: it sends assignments, cancellations and
// keep-alives through send until ctx ends or send fails. When the stream ends,
// the attempts the worker still holds are given to other workers.
func (e *Engine) Listen(ctx context.Context, tenantID, workerID string, send func(*Message) error) error {
	return e.disp.listen(ctx, tenantID, workerID, send)
}

// Acknowledge records what a worker received on its stream streamID: the
// attempts, and keep-alive keepaliveSeq (0: none). It reports whether the
// stream is still the worker's open one; the attempts are marked either way,
// since the worker has them. Repeating it changes nothing more.
func (e *Engine) Acknowledge(ctx context.Context, tenantID, workerID, streamID string, attempts []AttemptRef, keepaliveSeq uint64) (bool, error) {
	return e.disp.acknowledge(ctx, tenantID, workerID, streamID, attempts, keepaliveSeq)
}

// RegisterWorkerParams describes a worker to register.
type RegisterWorkerParams struct {
	Name    string
	Actions []string
	// Slots is how many tasks it runs at once; 0 means DefaultSlots.
	Slots  int32
	Labels map[string]string
	// IdempotencyKey, when set, makes a repeat of the registration return the
	// same worker.
	IdempotencyKey string
}

// Heartbeat records that a worker is alive.
func (e *Engine) Heartbeat(ctx context.Context, tenantID, workerID string) error {
	err := e.write(ctx, func(ctx context.Context, q store.Q, _ *signals) error {
		return q.WorkerTouch(ctx, tenantID, workerID, e.now())
	})
	if err = answer(err, &Error{Kind: KindNotFound, Message: fmt.Sprintf("worker %s not found: register again", workerID)}, "heartbeat"); err != nil {
		return err
	}
	e.disp.heard(workerID)
	return nil
}

// CompleteTask records a successful attempt and queues the children it unblocks.
func (e *Engine) CompleteTask(ctx context.Context, tenantID, workerID, taskID string, attempt int32, output map[string]any) error {
	out, err := objectOf("output", output)
	if err != nil {
		return err
	}
	_, err = e.finishAttempt(ctx, tenantID, attemptReport{TaskID: taskID, Attempt: attempt, WorkerID: workerID, Success: true, Output: out})
	return err
}

// FailTask records a failed attempt; it reports whether the task will be retried.
func (e *Engine) FailTask(ctx context.Context, tenantID, workerID, taskID string, attempt int32, msg string, retryable bool) (bool, error) {
	return e.finishAttempt(ctx, tenantID, attemptReport{TaskID: taskID, Attempt: attempt, WorkerID: workerID, Error: msg, Retryable: retryable})
}

// ListWorkers returns one page of the tenant's workers, newest first.
func (e *Engine) ListWorkers(ctx context.Context, tenantID string, page Page) ([]*Worker, string, error) {
	var inUse map[string]int32
	aliveSince := e.now().Add(-e.cfg.deadAfter())
	id := func(w *store.Worker) string { return w.ID }
	return listPage(ctx, e, "workers", page, struct{}{},
		func(ctx context.Context, q store.Q, after string, limit int) ([]*store.Worker, error) {
			rows, err := q.WorkerList(ctx, tenantID, after, limit)
			if err == nil {
				inUse, err = q.TaskSlotsInUse(ctx, pluck(rows, id))
			}
			return rows, err
		},
		id,
		always(func(w *store.Worker) *Worker {
			wk := &Worker{
				ID: w.ID, Name: w.Name, Slots: w.Slots, SlotsInUse: inUse[w.ID],
				LastHeartbeatAt: w.LastHeartbeatAt.Time, CreatedAt: w.CreatedAt.Time,
				Actions: w.Actions.V, Labels: w.Labels.V,
			}
			wk.Active = w.Connected && wk.LastHeartbeatAt.After(aliveSince)
			return wk
		}))
}
