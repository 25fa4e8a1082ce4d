package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Worker is a registered worker.
type Worker struct {
	bun.BaseModel `bun:"table:workers"`

	ID              string                  `bun:"id,pk"`
	TenantID        string                  `bun:"tenant_id"`
	Name            string                  `bun:"name"`
	Actions         JSON[[]string]          `bun:"actions"`
	Slots           int32                   `bun:"slots"`
	Labels          JSON[map[string]string] `bun:"labels"`
	Connected       bool                    `bun:"connected"`
	LastHeartbeatAt Time                    `bun:"last_heartbeat_at"`
	CreatedAt       Time                    `bun:"created_at"`
	// StreamID names the worker's latest Listen stream, on whichever server.
	StreamID string `bun:"stream_id"`
	// StreamAckedSeq is the latest keep-alive of that stream the worker
	// acknowledged; 0 until it acknowledges one.
	StreamAckedSeq int64 `bun:"stream_acked_seq"`
	// Acknowledges is set by the worker's first Acknowledge and never
	// cleared: every stream of the worker is then expected to acknowledge.
	Acknowledges bool `bun:"acknowledges"`
	// IdempotencyKey, when set, is unique in the tenant: a registration
	// repeated with it finds this worker.
	IdempotencyKey string `bun:"idempotency_key"`
}

// WorkerInsert stores a worker.
func (q Q) WorkerInsert(ctx context.Context, w *Worker) error {
	if _, err := q.db.NewInsert().Model(w).Exec(ctx); err != nil {
		return fmt.Errorf("insert worker: %w", translate(err))
	}
	return nil
}

// WorkerInsertOnce stores a worker unless the tenant has one with its
// idempotency key already, and returns the one stored: w, or the earlier one.
func (q Q) WorkerInsertOnce(ctx context.Context, w *Worker) (*Worker, error) {
	if w.IdempotencyKey == "" {
		return w, q.WorkerInsert(ctx, w)
	}
	res, err := q.db.NewInsert().Model(w).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("insert worker: %w", translate(err))
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return w, err
	}
	return getOne[Worker](ctx, q, false, "worker by idempotency key", "tenant_id = ? AND idempotency_key = ?", w.TenantID, w.IdempotencyKey)
}

// WorkerGet returns one worker of the tenant.
func (q Q) WorkerGet(ctx context.Context, tenantID, id string) (*Worker, error) {
	return getOne[Worker](ctx, q, false, "worker "+id, "tenant_id = ? AND id = ?", tenantID, id)
}

// WorkerTouch records a sign of life. It returns ErrNotFound for an unknown
// worker.
func (q Q) WorkerTouch(ctx context.Context, tenantID, id string, now time.Time) error {
	return q.workerUpdate(ctx, q.db.NewUpdate().Model((*Worker)(nil)).Set("last_heartbeat_at = ?", TimeOf(now)).
		Where("tenant_id = ? AND id = ?", tenantID, id), id)
}

// WorkerConnect records that the worker opened Listen stream streamID (the
// newest of its streams, on any server), which has acknowledged nothing yet.
func (q Q) WorkerConnect(ctx context.Context, tenantID, id, streamID string, now time.Time) error {
	return q.workerUpdate(ctx, q.db.NewUpdate().Model((*Worker)(nil)).
		Set("last_heartbeat_at = ?, connected = TRUE, stream_id = ?, stream_acked_seq = 0", TimeOf(now), streamID).
		Where("tenant_id = ? AND id = ?", tenantID, id), id)
}

// WorkerDisconnect records that stream streamID closed, unless the worker has
// opened a newer stream meanwhile (on this server or another): a worker that
// moved to another server stays connected.
func (q Q) WorkerDisconnect(ctx context.Context, tenantID, id, streamID string, now time.Time) error {
	_, err := q.db.NewUpdate().Model((*Worker)(nil)).
		Set("last_heartbeat_at = ?, connected = FALSE", TimeOf(now)).
		Where("tenant_id = ? AND id = ? AND stream_id = ?", tenantID, id, streamID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("disconnect worker %s: %w", id, err)
	}
	return nil
}

func (q Q) workerUpdate(ctx context.Context, upd *bun.UpdateQuery, id string) error {
	res, err := upd.Exec(ctx)
	if err != nil {
		return fmt.Errorf("touch worker %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("touch worker %s: %w", id, ErrNotFound)
	}
	return nil
}

// WorkerList returns the tenant's workers, newest first.
func (q Q) WorkerList(ctx context.Context, tenantID, beforeID string, limit int) ([]*Worker, error) {
	return list[Worker](ctx, q, "workers", ListPage{BeforeID: beforeID, Limit: limit}, byTenant(tenantID))
}

// WorkerLoad is what the dispatcher reads of a worker before it claims.
type WorkerLoad struct {
	// LastHeartbeatAt is the worker's last heartbeat.
	LastHeartbeatAt Time `bun:"last_heartbeat_at"`
	// Running is how many attempts the worker holds.
	Running int `bun:"running"`
	// Acknowledges and StreamAckedSeq are the worker's columns of those names.
	Acknowledges   bool  `bun:"acknowledges"`
	StreamAckedSeq int64 `bun:"stream_acked_seq"`
}

// WorkerLoad returns what the dispatcher needs of a worker (its last
// heartbeat, the attempts it holds, whether its stream acknowledges), in one
// statement.
func (q Q) WorkerLoad(ctx context.Context, tenantID, id string) (*WorkerLoad, error) {
	var load WorkerLoad
	err := q.db.NewSelect().Model((*Worker)(nil)).
		Column("last_heartbeat_at", "acknowledges", "stream_acked_seq").
		ColumnExpr("(SELECT COUNT(*) FROM tasks AS t WHERE t.worker_id = worker.id AND t.status = ?) AS running", TaskRunning).
		Where("tenant_id = ? AND id = ?", tenantID, id).
		Scan(ctx, &load)
	if err != nil {
		return nil, fmt.Errorf("load of worker %s: %w", id, translate(err))
	}
	return &load, nil
}
