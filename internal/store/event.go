package store

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// Event is a stored event. Times are Unix microseconds, the one time format both
// engines compare correctly.
type Event struct {
	bun.BaseModel `bun:"table:events"`

	ID             string                  `bun:"id,pk"`
	TenantID       string                  `bun:"tenant_id"`
	Key            string                  `bun:"key"`
	Payload        string                  `bun:"payload"` // a JSON object
	Metadata       JSON[map[string]string] `bun:"metadata"`
	Scope          string                  `bun:"scope"`
	Priority       int32                   `bun:"priority"`
	OccurredAt     int64                   `bun:"occurred_at"`
	CreatedAt      int64                   `bun:"created_at"`
	IdempotencyKey string                  `bun:"idempotency_key,nullzero"`
	// Skipped is a JSON array of the triggers that matched but started no run.
	Skipped string `bun:"skipped"`
}

// EventInsertMany inserts events in one statement. An event whose idempotency key
// the tenant already used is skipped; the ids of the events actually inserted are
// returned.
func (q Q) EventInsertMany(ctx context.Context, events []*Event) (map[string]bool, error) {
	if len(events) == 0 {
		return nil, nil
	}
	var ids []string
	err := q.db.NewInsert().
		Model(&events).
		On("CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING").
		Returning("id").
		Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	inserted := make(map[string]bool, len(ids))
	for _, id := range ids {
		inserted[id] = true
	}
	return inserted, nil
}

// EventGet returns one event of the tenant.
func (q Q) EventGet(ctx context.Context, tenantID, id string) (*Event, error) {
	ev := new(Event)
	err := q.db.NewSelect().Model(ev).Where("tenant_id = ? AND id = ?", tenantID, id).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("get event %s: %w", id, translate(err))
	}
	return ev, nil
}

// EventGetByIdempotencyKeys returns the tenant's events that carry any of the
// keys, by key.
func (q Q) EventGetByIdempotencyKeys(ctx context.Context, tenantID string, keys []string) (map[string]*Event, error) {
	var events []*Event
	err := q.db.NewSelect().Model(&events).
		Where("tenant_id = ? AND idempotency_key IN (?)", tenantID, bun.List(keys)).
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("get events by idempotency key: %w", err)
	}
	byKey := make(map[string]*Event, len(events))
	for _, ev := range events {
		byKey[ev.IdempotencyKey] = ev
	}
	return byKey, nil
}

// EventListParams filters and pages EventList.
type EventListParams struct {
	TenantID      string
	Key           string // exact match when set
	Scope         string // exact match when set
	CreatedAfter  int64  // inclusive, Unix µs; 0 means unbounded
	CreatedBefore int64  // exclusive, Unix µs; 0 means unbounded
	BeforeID      string // the cursor: only ids below it
	Limit         int
}

// EventList returns the tenant's events, newest (highest id) first.
func (q Q) EventList(ctx context.Context, p *EventListParams) ([]*Event, error) {
	var events []*Event
	sel := q.db.NewSelect().Model(&events).Where("tenant_id = ?", p.TenantID)
	if p.Key != "" {
		sel.Where("key = ?", p.Key)
	}
	if p.Scope != "" {
		sel.Where("scope = ?", p.Scope)
	}
	if err := newestFirst(sel, p.CreatedAfter, p.CreatedBefore, p.BeforeID, p.Limit).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return events, nil
}

// newestFirst adds what every list shares: a creation-time range (Unix µs, 0 for
// unbounded), the cursor (ids below beforeID) and the page size, newest first.
func newestFirst(sel *bun.SelectQuery, createdAfter, createdBefore int64, beforeID string, limit int) *bun.SelectQuery {
	if createdAfter != 0 {
		sel.Where("created_at >= ?", createdAfter)
	}
	if createdBefore != 0 {
		sel.Where("created_at < ?", createdBefore)
	}
	if beforeID != "" {
		sel.Where("id < ?", beforeID)
	}
	return sel.OrderExpr("id DESC").Limit(int64(limit))
}
