package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// MaxPayloadBytes bounds an event's payload, encoded as JSON.
const MaxPayloadBytes = 512 << 10

// EventInput is one event a producer pushes. Field limits that a schema can state
// (key syntax, lengths, counts) are checked before the engine by the API's
// validation rules; the engine checks what only it can (the encoded payload size).
type EventInput struct {
	Key            string
	Payload        map[string]any // a JSON object; nil means {}
	Metadata       map[string]string
	Scope          string
	Priority       int32
	OccurredAt     time.Time // zero means the time of storing
	IdempotencyKey string
}

// Event is a stored event.
type Event struct {
	ID             string
	Key            string
	Payload        map[string]any
	Metadata       map[string]string
	Scope          string
	Priority       int32
	OccurredAt     time.Time
	CreatedAt      time.Time
	IdempotencyKey string
	// RunIDs are the runs the event started, replays included (GetEvent and
	// pushes only).
	RunIDs []string
	// Skipped are the triggers that matched but started no run at the push.
	Skipped []SkippedTrigger
	// WokeRunIDs are the runs whose durable waits the event satisfied
	// (GetEvent only).
	WokeRunIDs []string `json:",omitempty"`
}

// PushResult is the outcome of pushing one event.
type PushResult struct {
	Event *Event
	// RunIDs are the runs the event started.
	RunIDs []string
	// Deduplicated is true when the idempotency key matched an earlier event and
	// nothing was stored.
	Deduplicated bool
}

// objectOf is a user's JSON object (a payload, an input, an output; nil is
// {}) as its column holds it: field names it in a refusal, and it is at most
// [MaxPayloadBytes] encoded.
func objectOf(field string, m map[string]any) (store.Object, error) {
	o, err := store.ObjectOf(m)
	if err != nil {
		return store.Object{}, invalid(field, field+".json", "not representable as JSON: %v", err)
	}
	if n := len(o.Text()); n > MaxPayloadBytes {
		return store.Object{}, invalid(field, field+".max_bytes", "is %d bytes encoded as JSON; the limit is %d", n, MaxPayloadBytes)
	}
	return o, nil
}

func eventRow(tenantID string, in EventInput, now time.Time) (*store.Event, error) {
	payload, err := objectOf("payload", in.Payload)
	if err != nil {
		return nil, err
	}
	metadata := in.Metadata
	if metadata == nil {
		metadata = map[string]string{}
	}
	occurred := now
	if !in.OccurredAt.IsZero() {
		occurred = in.OccurredAt
	}
	return &store.Event{
		ID:             newID(),
		TenantID:       tenantID,
		Key:            in.Key,
		Payload:        payload,
		Metadata:       store.JSONOf(metadata),
		Scope:          in.Scope,
		Priority:       in.Priority,
		OccurredAt:     store.TimeOf(occurred),
		CreatedAt:      store.TimeOf(now),
		IdempotencyKey: in.IdempotencyKey,
		Skipped:        store.SkippedTriggers{},
	}, nil
}

func eventFromRow(row *store.Event) *Event {
	ev := &Event{
		ID:             row.ID,
		Key:            row.Key,
		Scope:          row.Scope,
		Priority:       row.Priority,
		OccurredAt:     row.OccurredAt.Time,
		CreatedAt:      row.CreatedAt.Time,
		IdempotencyKey: row.IdempotencyKey,
		Metadata:       maps.Clone(row.Metadata.V),
		Payload:        row.Payload.Map(),
		Skipped:        append([]SkippedTrigger{}, row.Skipped...),
	}
	return ev
}

// GetEvent returns one event of the tenant.
func (e *Engine) GetEvent(ctx context.Context, tenantID, id string) (*Event, error) {
	var row *store.Event
	var runs map[string][]string
	var woke []string
	err := e.store.Read(ctx, func(ctx context.Context, q store.Q) error {
		var err error
		if row, err = q.EventGet(ctx, tenantID, id); err != nil {
			return err
		}
		if runs, err = q.RunIDsByEvents(ctx, tenantID, []string{id}); err != nil {
			return err
		}
		woke, err = q.WaitRunIDsByEvent(ctx, tenantID, id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, &Error{Kind: KindNotFound, Message: fmt.Sprintf("event %s not found", id)}
	}
	if err != nil {
		return nil, err
	}
	ev := eventFromRow(row)
	ev.RunIDs = append([]string{}, runs[id]...)
	ev.WokeRunIDs = woke
	return ev, nil
}

// EventFilter selects events for ListEvents.
type EventFilter struct {
	Key           string
	Scope         string
	CreatedAfter  time.Time // inclusive; zero means unbounded
	CreatedBefore time.Time // exclusive; zero means unbounded
}

// ListEvents returns one page of the tenant's events, newest first, and the token
// of the next page ("" on the last).
func (e *Engine) ListEvents(ctx context.Context, tenantID string, f EventFilter, page Page) ([]*Event, string, error) {
	p := &store.EventListParams{TenantID: tenantID, Key: f.Key, Scope: f.Scope,
		ListPage: store.ListPage{CreatedAfter: f.CreatedAfter, CreatedBefore: f.CreatedBefore}}
	return listPage(ctx, e, "events", page, f,
		func(ctx context.Context, q store.Q, after string, limit int) ([]*store.Event, error) {
			p.BeforeID, p.Limit = after, limit
			return q.EventList(ctx, p)
		},
		func(r *store.Event) string { return r.ID }, always(eventFromRow))
}
