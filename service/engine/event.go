package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchyard/switchyard/service/store"
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

// PushEvent stores one event and the runs it triggers in one transaction.
func (e *Engine) PushEvent(ctx context.Context, tenantID string, in EventInput) (*PushResult, error) {
	results, err := e.push(ctx, tenantID, []EventInput{in}, false)
	if err != nil {
		return nil, err
	}
	return results[0], nil
}

// PushEvents stores events all-or-nothing in one transaction. Each is
// deduplicated by its idempotency key, against stored events and against earlier
// items of the same call; an item that reuses a key for a different request
// fails the whole call with [KindAlreadyExists].
func (e *Engine) PushEvents(ctx context.Context, tenantID string, inputs []EventInput) ([]*PushResult, error) {
	return e.push(ctx, tenantID, inputs, true)
}

// push stores inputs in one transaction; batch says whether errors name the item
// (events[i]) they are about.
func (e *Engine) push(ctx context.Context, tenantID string, inputs []EventInput, batch bool) ([]*PushResult, error) {
	now := micros(e.now())
	rows := make([]*store.Event, len(inputs))
	results := make([]*PushResult, len(inputs))
	firstByKey := make(map[string]int)
	var toInsert []*store.Event
	var sameAs = make(map[int]int) // in-call duplicates: item -> first item with the key
	for i, in := range inputs {
		row, err := eventRow(tenantID, in, now)
		if err != nil {
			if batch {
				err = prefixField(err, fmt.Sprintf("events[%d]", i))
			}
			return nil, err
		}
		rows[i] = row
		if k := row.IdempotencyKey; k != "" {
			if first, seen := firstByKey[k]; seen {
				if !sameRequest(rows[first], row) {
					return nil, keyReused(k, "", fmt.Sprintf("events[%d]", first))
				}
				sameAs[i] = first
				continue
			}
			firstByKey[k] = i
		}
		toInsert = append(toInsert, row)
	}

	err := e.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
		inserted, err := q.EventInsertMany(ctx, toInsert)
		if err != nil {
			return err
		}
		var skippedKeys []string
		for _, row := range toInsert {
			if !inserted[row.ID] {
				skippedKeys = append(skippedKeys, row.IdempotencyKey)
			}
		}
		var existing map[string]*store.Event
		if len(skippedKeys) > 0 {
			if existing, err = q.EventGetByIdempotencyKeys(ctx, tenantID, skippedKeys); err != nil {
				return err
			}
		}
		for i, row := range rows {
			if _, dup := sameAs[i]; dup {
				continue
			}
			if inserted[row.ID] {
				results[i] = &PushResult{Event: eventFromRow(row), RunIDs: []string{}}
				continue
			}
			orig, ok := existing[row.IdempotencyKey]
			if !ok {
				// The row that held the key vanished between the insert and the read.
				return fmt.Errorf("%w: idempotency key %q is being written concurrently", store.ErrUnavailable, row.IdempotencyKey)
			}
			if !sameRequest(orig, row) {
				return keyReused(row.IdempotencyKey, orig.ID, "")
			}
			results[i] = &PushResult{Event: eventFromRow(orig), RunIDs: []string{}, Deduplicated: true}
		}
		return e.trigger(ctx, q, sig, tenantID, rows, inserted, results, now)
	})
	if err != nil {
		return nil, fmt.Errorf("push events: %w", err)
	}
	for i, first := range sameAs {
		r := *results[first]
		r.Deduplicated = true
		results[i] = &r
	}
	return results, nil
}

// trigger starts the runs of the events just inserted and fills in the runs that
// deduplicated events started originally.
func (e *Engine) trigger(ctx context.Context, q store.Q, sig *signals, tenantID string, rows []*store.Event, inserted map[string]bool, results []*PushResult, now int64) error {
	idx, err := e.triggers.index(ctx, q, tenantID)
	if err != nil {
		return err
	}
	var runs []*store.Run
	var tasks []*store.Task
	var dedupedIDs []string
	for i, row := range rows {
		if results[i] == nil {
			continue // an in-call duplicate, filled in after commit
		}
		if results[i].Deduplicated {
			dedupedIDs = append(dedupedIDs, results[i].Event.ID)
			continue
		}
		if !inserted[row.ID] {
			continue
		}
		for _, wf := range idx.match(row.Key) {
			run, ts := planRun(tenantID, wf, row.ID, row.Payload, row.Priority, now)
			runs = append(runs, run)
			tasks = append(tasks, ts...)
			results[i].RunIDs = append(results[i].RunIDs, run.ID)
		}
	}
	if len(runs) > 0 {
		if _, err := q.RunInsertMany(ctx, runs); err != nil {
			return err
		}
		if err := q.TaskInsertMany(ctx, tasks); err != nil {
			return err
		}
		sig.add(signalTasks)
	}
	if len(dedupedIDs) > 0 {
		byEvent, err := q.RunIDsByEvents(ctx, tenantID, dedupedIDs)
		if err != nil {
			return err
		}
		for _, r := range results {
			if r != nil && r.Deduplicated {
				r.RunIDs = append([]string{}, byEvent[r.Event.ID]...)
			}
		}
	}
	return nil
}

func keyReused(key, eventID, item string) *Error {
	e := &Error{Kind: KindAlreadyExists, Details: map[string]string{"idempotency_key": key}}
	if eventID != "" {
		e.Message = fmt.Sprintf("idempotency key %q was already used by event %s for a different request (key, payload, metadata, scope or priority differ)", key, eventID)
		e.Details["event_id"] = eventID
	} else {
		e.Message = fmt.Sprintf("idempotency key %q is used by %s of this call for a different request", key, item)
	}
	return e
}

// sameRequest reports whether two rows record the same push request: what a
// retry must repeat exactly. Times the server filled in are not compared.
func sameRequest(a, b *store.Event) bool {
	return a.Key == b.Key && a.Payload == b.Payload && a.Metadata == b.Metadata &&
		a.Scope == b.Scope && a.Priority == b.Priority
}

func eventRow(tenantID string, in EventInput, now int64) (*store.Event, error) {
	payload := in.Payload
	if payload == nil {
		payload = map[string]any{}
	}
	payloadJSON, err := canonicalJSON(payload)
	if err != nil {
		return nil, invalid("payload", "payload.json", "not representable as JSON: %v", err)
	}
	if len(payloadJSON) > MaxPayloadBytes {
		return nil, invalid("payload", "payload.max_bytes", "is %d bytes encoded as JSON; the limit is %d", len(payloadJSON), MaxPayloadBytes)
	}
	metadata := in.Metadata
	if metadata == nil {
		metadata = map[string]string{}
	}
	metadataJSON, err := canonicalJSON(metadata)
	if err != nil {
		return nil, invalid("metadata", "metadata.json", "not representable as JSON: %v", err)
	}
	occurred := now
	if !in.OccurredAt.IsZero() {
		occurred = micros(in.OccurredAt)
	}
	return &store.Event{
		ID:             newID(),
		TenantID:       tenantID,
		Key:            in.Key,
		Payload:        payloadJSON,
		Metadata:       metadataJSON,
		Scope:          in.Scope,
		Priority:       in.Priority,
		OccurredAt:     occurred,
		CreatedAt:      now,
		IdempotencyKey: in.IdempotencyKey,
	}, nil
}

// canonicalJSON encodes v with sorted object keys and no HTML escaping, so equal
// values always encode to equal strings.
func canonicalJSON(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return string(bytes.TrimRight(buf.Bytes(), "\n")), nil
}

func eventFromRow(row *store.Event) *Event {
	ev := &Event{
		ID:             row.ID,
		Key:            row.Key,
		Scope:          row.Scope,
		Priority:       row.Priority,
		OccurredAt:     fromMicros(row.OccurredAt),
		CreatedAt:      fromMicros(row.CreatedAt),
		IdempotencyKey: row.IdempotencyKey,
	}
	// Both columns hold JSON the engine wrote itself.
	_ = json.Unmarshal([]byte(row.Payload), &ev.Payload)
	_ = json.Unmarshal([]byte(row.Metadata), &ev.Metadata)
	return ev
}

// GetEvent returns one event of the tenant.
func (e *Engine) GetEvent(ctx context.Context, tenantID, id string) (*Event, error) {
	var row *store.Event
	err := e.store.Read(ctx, func(ctx context.Context, q store.Q) error {
		var err error
		row, err = q.EventGet(ctx, tenantID, id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, &Error{Kind: KindNotFound, Message: fmt.Sprintf("event %s not found", id)}
	}
	if err != nil {
		return nil, err
	}
	return eventFromRow(row), nil
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
	p := &store.EventListParams{TenantID: tenantID, Key: f.Key, Scope: f.Scope}
	if !f.CreatedAfter.IsZero() {
		p.CreatedAfter = micros(f.CreatedAfter)
	}
	if !f.CreatedBefore.IsZero() {
		p.CreatedBefore = micros(f.CreatedBefore)
	}
	after, limit, err := page.decode(f)
	if err != nil {
		return nil, "", err
	}
	p.BeforeID, p.Limit = after, limit+1
	var rows []*store.Event
	err = e.store.Read(ctx, func(ctx context.Context, q store.Q) error {
		var err error
		rows, err = q.EventList(ctx, p)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list events: %w", err)
	}
	rows, next := trimPage(rows, limit, page, f, func(r *store.Event) string { return r.ID })
	events := make([]*Event, len(rows))
	for i, row := range rows {
		events[i] = eventFromRow(row)
	}
	return events, next, nil
}
