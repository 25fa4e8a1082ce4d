package store

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"

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
	return insertNew(ctx, q, &events, "events")
}

// EventGet returns one event of the tenant.
func (q Q) EventGet(ctx context.Context, tenantID, id string) (*Event, error) {
	return getOne[Event](ctx, q, false, "event "+id, "tenant_id = ? AND id = ?", tenantID, id)
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
	TenantID string
	Key      string // exact match when set
	Scope    string // exact match when set
	ListPage
}

// EventList returns the tenant's events, newest (highest id) first.
func (q Q) EventList(ctx context.Context, p *EventListParams) ([]*Event, error) {
	return list[Event](ctx, q, "events", p.ListPage, func(sel *bun.SelectQuery) {
		sel.Where("tenant_id = ?", p.TenantID)
		whereEqual(sel, "key", p.Key)
		whereEqual(sel, "scope", p.Scope)
	})
}
