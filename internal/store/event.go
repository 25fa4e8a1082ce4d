package store

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Event is a stored event.
type Event struct {
	bun.BaseModel `bun:"table:events"`

	ID             string                  `bun:"id,pk"`
	TenantID       string                  `bun:"tenant_id"`
	Key            string                  `bun:"key"`
	Payload        Object                  `bun:"payload"`
	Metadata       JSON[map[string]string] `bun:"metadata"`
	Scope          string                  `bun:"scope"`
	Priority       int32                   `bun:"priority"`
	OccurredAt     Time                    `bun:"occurred_at"`
	CreatedAt      Time                    `bun:"created_at"`
	IdempotencyKey string                  `bun:"idempotency_key,nullzero"`
	// Skipped are the triggers that matched but started no run.
	Skipped SkippedTriggers `bun:"skipped"`
}

// SkippedTrigger is a trigger whose key and scope matched an event but that
// started no run, and why.
type SkippedTrigger struct {
	Workflow        string `json:"workflow"`
	WorkflowVersion int32  `json:"workflow_version"`
	Trigger         string `json:"trigger"`
	Reason          string `json:"reason"`
}

// SkippedTriggers is an event's skipped triggers, stored as a JSON array in
// encoding/json's form ("[]" when there are none).
type SkippedTriggers []SkippedTrigger

// Value encodes the triggers.
func (s SkippedTriggers) Value() (driver.Value, error) {
	if len(s) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal([]SkippedTrigger(s))
	return string(b), err
}

// Scan decodes a column's JSON array; a column that does not decode is an
// error wrapping [ErrJSONColumn].
func (s *SkippedTriggers) Scan(src any) error {
	var j JSON[[]SkippedTrigger]
	if err := j.Scan(src); err != nil {
		return err
	}
	*s = j.V
	return nil
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
	Key           string    // exact match when set
	Scope         string    // exact match when set
	CreatedAfter  time.Time // inclusive; zero means unbounded
	CreatedBefore time.Time // exclusive; zero means unbounded
	BeforeID      string    // the cursor: only ids below it
	Limit         int
}

// EventList returns the tenant's events, newest (highest id) first.
func (q Q) EventList(ctx context.Context, p *EventListParams) ([]*Event, error) {
	return list[Event](ctx, q, "events", listPage{p.CreatedAfter, p.CreatedBefore, p.BeforeID, p.Limit}, func(sel *bun.SelectQuery) {
		sel.Where("tenant_id = ?", p.TenantID)
		if p.Key != "" {
			sel.Where("key = ?", p.Key)
		}
		if p.Scope != "" {
			sel.Where("scope = ?", p.Scope)
		}
	})
}

// listPage is what every list shares: a creation-time range, the cursor and
// the page size.
type listPage struct {
	createdAfter  time.Time // inclusive; zero means unbounded
	createdBefore time.Time // exclusive; zero means unbounded
	beforeID      string    // the cursor: only ids below it
	limit         int
}

// list returns one page of the rows of model R that filter selects, newest
// (highest id) first; what names them in an error.
func list[R any](ctx context.Context, q Q, what string, p listPage, filter func(*bun.SelectQuery)) ([]*R, error) {
	var rows []*R
	sel := q.db.NewSelect().Model(&rows)
	filter(sel)
	if !p.createdAfter.IsZero() {
		sel.Where("created_at >= ?", TimeOf(p.createdAfter))
	}
	if !p.createdBefore.IsZero() {
		sel.Where("created_at < ?", TimeOf(p.createdBefore))
	}
	if p.beforeID != "" {
		sel.Where("id < ?", p.beforeID)
	}
	if err := sel.OrderExpr("id DESC").Limit(int64(p.limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	return rows, nil
}

// byTenant selects the rows of one tenant.
func byTenant(tenantID string) func(*bun.SelectQuery) {
	return func(sel *bun.SelectQuery) { sel.Where("tenant_id = ?", tenantID) }
}
