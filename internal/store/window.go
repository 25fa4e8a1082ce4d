package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Kinds of event window.
const (
	WindowDebounce = "DEBOUNCE"
	WindowBatch    = "BATCH"
)

// EventWindow is an open debounce or batch window of one event trigger for one
// group key.
type EventWindow struct {
	bun.BaseModel `bun:"table:event_windows,alias:ew"`

	ID           string `bun:"id,pk"`
	TenantID     string `bun:"tenant_id"`
	Workflow     string `bun:"workflow_name"`
	TriggerIndex int    `bun:"trigger_index"`
	GroupKey     string `bun:"group_key"`
	Kind         string `bun:"kind"`
	// Size is how many events the window holds.
	Size    int  `bun:"size"`
	FirstAt Time `bun:"first_at"`
	// FireAt is when the window fires: never after Deadline.
	FireAt   Time `bun:"fire_at"`
	Deadline Time `bun:"deadline"`
}

// WindowEvent is one event of a window; RunID is set once the window fired.
type WindowEvent struct {
	bun.BaseModel `bun:"table:window_events"`

	TenantID string `bun:"tenant_id"`
	WindowID string `bun:"window_id,pk"`
	EventID  string `bun:"event_id,pk"`
	Position int    `bun:"position"`
	RunID    string `bun:"run_id"`
}

// WindowAdd adds an event to the open window of w's trigger and group key, or
// opens w (with w.Size 1) when there is none, and returns the window as it is
// now. An added event moves the window's FireAt to w.FireAt, but never past its
// Deadline. Concurrent adds of any process take turns on the window's row.
func (q Q) WindowAdd(ctx context.Context, w *EventWindow, eventID string) (*EventWindow, error) {
	w.Size = 1
	out := new(EventWindow)
	err := q.db.NewInsert().Model(w).
		On("CONFLICT (tenant_id, workflow_name, trigger_index, group_key) DO UPDATE").
		Set("size = ew.size + 1").
		Set("fire_at = CASE WHEN EXCLUDED.fire_at < ew.deadline THEN EXCLUDED.fire_at ELSE ew.deadline END").
		Returning("*").Scan(ctx, out)
	if err != nil {
		return nil, fmt.Errorf("add event to window: %w", err)
	}
	_, err = q.db.NewInsert().Model(&WindowEvent{TenantID: w.TenantID, WindowID: out.ID, EventID: eventID, Position: out.Size}).Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("add event to window: %w", err)
	}
	return out, nil
}

// WindowListDue returns windows of every tenant whose time to fire came,
// earliest first.
func (q Q) WindowListDue(ctx context.Context, now time.Time, limit int) ([]*EventWindow, error) {
	var out []*EventWindow
	err := q.db.NewSelect().Model(&out).Where("fire_at <= ?", TimeOf(now)).OrderExpr("fire_at, id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("due event windows: %w", err)
	}
	return out, nil
}

// WindowClose deletes an open window, reports whether this call did (of
// several processes one does: that one fires it), links its events to runID
// and returns their ids in order.
func (q Q) WindowClose(ctx context.Context, id, runID string) (bool, []string, error) {
	res, err := q.db.NewDelete().Model((*EventWindow)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return false, nil, fmt.Errorf("close event window: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return false, nil, err
	}
	if _, err := q.db.NewUpdate().Model((*WindowEvent)(nil)).Set("run_id = ?", runID).Where("window_id = ?", id).Exec(ctx); err != nil {
		return false, nil, fmt.Errorf("link window events: %w", err)
	}
	var ids []string
	err = q.db.NewSelect().Model((*WindowEvent)(nil)).Column("event_id").Where("window_id = ?", id).OrderExpr("position").Scan(ctx, &ids)
	if err != nil {
		return false, nil, fmt.Errorf("events of window: %w", err)
	}
	return true, ids, nil
}

// EventGetMany returns the tenant's events with the given ids, by id.
func (q Q) EventGetMany(ctx context.Context, tenantID string, ids []string) (map[string]*Event, error) {
	var events []*Event
	if len(ids) > 0 {
		if err := q.db.NewSelect().Model(&events).Where("tenant_id = ? AND id IN (?)", tenantID, bun.List(ids)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("get events: %w", err)
		}
	}
	out := make(map[string]*Event, len(events))
	for _, ev := range events {
		out[ev.ID] = ev
	}
	return out, nil
}

// RunEventIDs returns the events a debounced or batched run was started for,
// in order; none for other runs.
func (q Q) RunEventIDs(ctx context.Context, runID string) ([]string, error) {
	ids := []string{}
	err := q.db.NewSelect().Model((*WindowEvent)(nil)).Column("event_id").Where("run_id = ?", runID).OrderExpr("position").Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("events of run %s: %w", runID, err)
	}
	return ids, nil
}

// WindowRunIDsByEvents returns the runs that windows started for each event,
// by event id.
func (q Q) WindowRunIDsByEvents(ctx context.Context, tenantID string, eventIDs []string) (map[string][]string, error) {
	out := make(map[string][]string)
	if len(eventIDs) == 0 {
		return out, nil
	}
	var rows []*WindowEvent
	err := q.db.NewSelect().Model(&rows).
		Where("tenant_id = ? AND event_id IN (?) AND run_id <> ''", tenantID, bun.List(eventIDs)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("window runs of events: %w", err)
	}
	for _, r := range rows {
		out[r.EventID] = append(out[r.EventID], r.RunID)
	}
	return out, nil
}
