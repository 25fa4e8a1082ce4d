package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// The query shapes that many models share.

// getOne returns the one row of model R that where selects; none is
// [ErrNotFound]. With lock, the row is locked until the transaction ends (on
// Postgres; SQLite has one writer), so changes to it take turns. what names
// the row in an error.
func getOne[R any](ctx context.Context, q Q, lock bool, what, where string, args ...any) (*R, error) {
	r := new(R)
	sel := q.db.NewSelect().Model(r).Where(where, args...)
	if lock && q.postgres() {
		sel.For("UPDATE")
	}
	if err := sel.Scan(ctx); err != nil {
		return nil, fmt.Errorf("get %s: %w", what, translate(err))
	}
	return r, nil
}

// insertNew inserts rows (a pointer to a slice of models with tenant_id,
// idempotency_key and id columns), skipping a row whose idempotency key the
// tenant already used, and returns the ids actually inserted. what names the
// rows in an error.
func insertNew(ctx context.Context, q Q, rows any, what string) (map[string]bool, error) {
	var ids []string
	err := q.db.NewInsert().Model(rows).
		On("CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING").
		Returning("id").Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("insert %s: %w", what, err)
	}
	inserted := make(map[string]bool, len(ids))
	for _, id := range ids {
		inserted[id] = true
	}
	return inserted, nil
}

// ListPage is what the lists of events and runs share: a creation-time
// range, the cursor and the page size.
type ListPage struct {
	CreatedAfter  time.Time // inclusive; zero means unbounded
	CreatedBefore time.Time // exclusive; zero means unbounded
	BeforeID      string    // the cursor: only ids below it
	Limit         int
}

// list returns one page of the rows of model R that filter selects, newest
// (highest id) first; what names them in an error.
func list[R any](ctx context.Context, q Q, what string, p ListPage, filter func(*bun.SelectQuery)) ([]*R, error) {
	var rows []*R
	sel := q.db.NewSelect().Model(&rows)
	filter(sel)
	if !p.CreatedAfter.IsZero() {
		sel.Where("created_at >= ?", TimeOf(p.CreatedAfter))
	}
	if !p.CreatedBefore.IsZero() {
		sel.Where("created_at < ?", TimeOf(p.CreatedBefore))
	}
	if p.BeforeID != "" {
		sel.Where("id < ?", p.BeforeID)
	}
	if err := sel.OrderExpr("id DESC").Limit(int64(p.Limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	return rows, nil
}

// whereEqual selects the rows whose column equals value, when value is set.
func whereEqual(sel *bun.SelectQuery, column, value string) {
	if value != "" {
		sel.Where("? = ?", bun.Ident(column), value)
	}
}

// byTenant selects the rows of one tenant.
func byTenant(tenantID string) func(*bun.SelectQuery) {
	return func(sel *bun.SelectQuery) { sel.Where("tenant_id = ?", tenantID) }
}
