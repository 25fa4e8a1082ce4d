package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/codes"

	"github.com/switchyard/switchyard/internal/engine/groupcommit"
	"github.com/switchyard/switchyard/internal/store"
)

// pushItem is one event on its way into the database.
type pushItem struct {
	tenantID string
	row      *store.Event
	label    string // "events[i]" within a bulk push, for messages

	result *PushResult
	err    error         // a refusal of this item alone (its idempotency key was reused)
	starts []triggered   // the workflows the event starts, if it is stored
	idx    *triggerIndex // the tenant's trigger index the event was matched with

	ctx context.Context // the caller's, for tracing
}

// PushEvent stores one event and the runs it triggers. Concurrent pushes share
// one transaction (group commit): each still gets its own result, its own
// deduplication answer and its own refusal, after the commit.
func (e *Engine) PushEvent(ctx context.Context, tenantID string, in EventInput) (*PushResult, error) {
	row, err := eventRow(tenantID, in, e.now())
	if err != nil {
		return nil, err
	}
	it := &pushItem{tenantID: tenantID, row: row, ctx: ctx}
	err = e.group.Do(ctx, it)
	switch {
	case err == nil:
		return it.result, it.err
	case errors.Is(err, groupcommit.ErrFull):
		return nil, fmt.Errorf("%w: %d pushes are waiting for the database already", store.ErrUnavailable, pushGroups.MaxPending)
	case ctx.Err() != nil:
		// The group may still commit this event; a retry with the same
		// idempotency key finds it.
		return nil, ctx.Err()
	default:
		return nil, fmt.Errorf("push event: %w", err)
	}
}

// PushEvents stores events all-or-nothing in one transaction. Each is
// deduplicated by its idempotency key, against stored events and against earlier
// items of the same call; an item that reuses a key for a different request
// fails the whole call with [KindAlreadyExists].
func (e *Engine) PushEvents(ctx context.Context, tenantID string, inputs []EventInput) ([]*PushResult, error) {
	now := e.now()
	items := make([]*pushItem, len(inputs))
	for i, in := range inputs {
		label := fmt.Sprintf("events[%d]", i)
		row, err := eventRow(tenantID, in, now)
		if err != nil {
			return nil, prefixField(err, label)
		}
		items[i] = &pushItem{tenantID: tenantID, row: row, label: label}
	}
	err := e.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
		if err := e.insertEvents(ctx, q, sig, items, now); err != nil {
			return err
		}
		for _, it := range items {
			if it.err != nil {
				return it.err // all or nothing
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("push events: %w", err)
	}
	results := make([]*PushResult, len(items))
	for i, it := range items {
		results[i] = it.result
	}
	return results, nil
}

// insertEvents writes items in the caller's transaction. An item whose
// idempotency key was used before (stored, or by an earlier item) for the same
// request gets that event, deduplicated; for another request it gets a refusal
// in its err. Items of several tenants may share the call. Only database
// failures are returned.
func (e *Engine) insertEvents(ctx context.Context, q store.Q, sig *signals, items []*pushItem, now time.Time) error {
	// The shared locks of the events' keys come first (durable waits).
	if err := lockWaitKeys(ctx, q, items); err != nil {
		return err
	}
	type tenantKey struct{ tenant, key string }
	first := map[tenantKey]*pushItem{}
	sameAs := map[*pushItem]*pushItem{} // later items with an earlier item's key
	var live []*pushItem
	var rows []*store.Event
	for _, it := range items {
		it.result, it.err = nil, nil
		if k := it.row.IdempotencyKey; k != "" {
			tk := tenantKey{it.tenantID, k}
			if f, ok := first[tk]; ok {
				sameAs[it] = f
				continue
			}
			first[tk] = it
		}
		live = append(live, it)
		rows = append(rows, it.row)
	}
	if err := e.matchEvents(ctx, q, live); err != nil {
		return err
	}
	inserted, err := q.EventInsertMany(ctx, rows)
	if err != nil {
		return err
	}
	skipped := map[string][]string{}
	for _, it := range live {
		if !inserted[it.row.ID] {
			skipped[it.tenantID] = append(skipped[it.tenantID], it.row.IdempotencyKey)
		}
	}
	existing := map[tenantKey]*store.Event{}
	for tenant, keys := range skipped {
		byKey, err := q.EventGetByIdempotencyKeys(ctx, tenant, keys)
		if err != nil {
			return err
		}
		for k, ev := range byKey {
			existing[tenantKey{tenant, k}] = ev
		}
	}
	for _, it := range live {
		if inserted[it.row.ID] {
			it.result = &PushResult{Event: eventFromRow(it.row), RunIDs: []string{}}
			continue
		}
		orig, ok := existing[tenantKey{it.tenantID, it.row.IdempotencyKey}]
		if !ok {
			// The row that held the key vanished between the insert and the read.
			return fmt.Errorf("%w: idempotency key %q is being written concurrently", store.ErrUnavailable, it.row.IdempotencyKey)
		}
		if it.err = sameEvent(orig, it.row, orig.ID); it.err != nil {
			continue
		}
		it.result = &PushResult{Event: eventFromRow(orig), RunIDs: []string{}, Deduplicated: true}
	}
	if err := e.trigger(ctx, q, sig, live, inserted, now); err != nil {
		return err
	}
	if err := e.satisfyWaits(ctx, q, sig, live, inserted, now); err != nil {
		return err
	}
	stored := len(inserted)
	deduplicated := len(items) - stored
	sig.record(change{observe: func(o Observer) { o.EventsPushed(stored, deduplicated) }})
	answerRepeats(sameAs)
	return nil
}

// answerRepeats answers the items that repeat the idempotency key of an earlier
// item of the same call (sameAs: repeat → earlier): the earlier item's answer,
// deduplicated, for the same request; a refusal for another.
func answerRepeats(sameAs map[*pushItem]*pushItem) {
	for it, f := range sameAs {
		var reused error
		switch {
		case f.label != "":
			reused = sameEventInCall(f.row, it.row, f.label)
		case f.result != nil:
			reused = sameEvent(f.row, it.row, f.result.Event.ID)
		}
		switch {
		case reused != nil:
			it.err = reused
		case f.err != nil:
			it.err = f.err
		default:
			r := *f.result
			r.RunIDs = append([]string{}, f.result.RunIDs...)
			r.Deduplicated = true
			it.result = &r
		}
	}
}

// matchEvents finds the workflows each event starts, and records on the event
// the triggers it skipped, before the events are stored.
func (e *Engine) matchEvents(ctx context.Context, q store.Q, items []*pushItem) error {
	indexes := map[string]*triggerIndex{}
	for _, it := range items {
		idx := indexes[it.tenantID]
		if idx == nil {
			var err error
			if idx, err = e.triggers.index(ctx, q, it.tenantID); err != nil {
				return err
			}
			indexes[it.tenantID] = idx
		}
		var skipped []SkippedTrigger
		it.idx = idx
		it.starts, skipped = idx.matchEvent(it.row)
		it.row.Skipped = skipped
	}
	return nil
}

// trigger starts the runs of the events just inserted and fills in the runs that
// deduplicated events started originally.
func (e *Engine) trigger(ctx context.Context, q store.Q, sig *signals, items []*pushItem, inserted map[string]bool, now time.Time) error {
	var plans []*plannedRun
	var windowed []windowAdd
	deduped := map[string][]*pushItem{}
	for _, it := range items {
		switch {
		case it.result == nil:
		case it.result.Deduplicated:
			deduped[it.tenantID] = append(deduped[it.tenantID], it)
		case inserted[it.row.ID]:
			for _, t := range it.starts {
				if t.via != nil {
					windowed = append(windowed, windowAdd{tenantID: it.tenantID, eventID: it.row.ID, t: t})
					continue
				}
				p := newRun{wf: t.wf, eventID: it.row.ID, input: it.row.Payload, priority: it.row.Priority, trigger: store.TriggerEvent, concurrencyKey: t.concurrencyKey,
					parent: it.callerSpan()}.plan(it.tenantID, now)
				p.limit, p.limitKey = t.limit, t.limitKey
				plans = append(plans, p)
				it.result.RunIDs = append(it.result.RunIDs, p.run.ID)
			}
			it.result.Event.RunIDs = it.result.RunIDs
		}
	}
	for tenantID, its := range deduped {
		byEvent, err := q.RunIDsByEvents(ctx, tenantID, pluck(its, func(it *pushItem) string { return it.result.Event.ID }))
		if err != nil {
			return err
		}
		for _, it := range its {
			it.result.RunIDs = append([]string{}, byEvent[it.result.Event.ID]...)
			it.result.Event.RunIDs = it.result.RunIDs
		}
	}
	fired, err := e.addToWindows(ctx, q, sig, windowed, now)
	if err != nil {
		return err
	}
	plans = append(plans, fired...)
	if err := e.cancelOnEvents(ctx, q, sig, items, inserted, now); err != nil {
		return err
	}
	if len(plans) == 0 {
		return nil
	}
	_, err = e.startRuns(ctx, q, sig, plans, now)
	return err
}

// pushGroups bounds the group commit of single pushes.
var pushGroups = groupcommit.Bounds{
	MaxSize:     256,  // events in one transaction
	MaxInFlight: 4,    // transactions committing at once
	MaxPending:  4096, // pushes waiting; more is overload, answered unavailable
}

// commitPushes writes a group of single pushes in one transaction, traced as
// one span.
func (e *Engine) commitPushes(ctx context.Context, items []*pushItem) error {
	ctx, span := e.startCommitSpan(ctx, items)
	defer span.End()
	err := e.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
		return e.insertEvents(ctx, q, sig, items, e.now())
	})
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}
