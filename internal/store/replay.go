package store

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// Replay records a replay made with an idempotency key.
type Replay struct {
	bun.BaseModel `bun:"table:replays"`

	TenantID       string         `bun:"tenant_id,pk"`
	IdempotencyKey string         `bun:"idempotency_key,pk"`
	Source         string         `bun:"source"`  // what was replayed, and how
	RunIDs         JSON[[]string] `bun:"run_ids"` // the runs it started
	CreatedAt      Time           `bun:"created_at"`
}

// ReplayInsert records r unless the tenant used its key before; it reports
// whether it did.
func (q Q) ReplayInsert(ctx context.Context, r *Replay) (bool, error) {
	res, err := q.db.NewInsert().Model(r).On("CONFLICT (tenant_id, idempotency_key) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("record replay: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReplayGet returns the tenant's replay made with key.
func (q Q) ReplayGet(ctx context.Context, tenantID, key string) (*Replay, error) {
	return getOne[Replay](ctx, q, false, "replay", "tenant_id = ? AND idempotency_key = ?", tenantID, key)
}
