package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// A bulk operation cancels or replays the runs a selector selects, created
// before the operation started, in id order: each batch is one transaction
// that locks the operation's row, processes the next bulkBatch runs after its
// cursor and stores its progress, so any server process may take the next
// batch and none processes a run twice.

// bulkBatch is how many runs one transaction of a bulk operation processes.
const bulkBatch = 100

// RunSelector selects runs for a bulk operation; zero fields select any.
type RunSelector struct {
	Workflow      string
	Statuses      []string // API statuses (QUEUED and RUNNING both select active runs)
	CreatedAfter  time.Time
	CreatedBefore time.Time
	EventKey      string
	EventMetadata map[string]string
}

// BulkOperation is a bulk cancel or replay and its progress.
type BulkOperation struct {
	ID         string
	Kind       string // store.BulkCancel or store.BulkReplay
	Selector   RunSelector
	Matched    int64
	Processed  int64
	Affected   int64
	Done       bool
	CreatedAt  time.Time
	FinishedAt time.Time
}

// Kinds of bulk operation.
const (
	BulkCancel = store.BulkCancel
	BulkReplay = store.BulkReplay
)

func bulkFromRow(op *store.BulkOperation) *BulkOperation {
	s := op.Selector.V
	sel := RunSelector{Workflow: s.Workflow, CreatedAfter: s.CreatedAfter.Time, CreatedBefore: s.CreatedBefore.Time, EventKey: s.EventKey, EventMetadata: s.EventMetadata}
	for _, st := range s.Statuses {
		if st == store.RunActive {
			sel.Statuses = append(sel.Statuses, RunQueued, RunRunning)
			continue
		}
		sel.Statuses = append(sel.Statuses, st)
	}
	return &BulkOperation{ID: op.ID, Kind: op.Kind, Selector: sel, Matched: op.Matched, Processed: op.Processed, Affected: op.Affected,
		Done: op.Done, CreatedAt: op.CreatedAt.Time, FinishedAt: op.FinishedAt.Time}
}

// storedSelector is a selector in stored statuses.
func storedSelector(s RunSelector) store.RunSelector {
	out := store.RunSelector{Workflow: s.Workflow, CreatedAfter: store.TimeOf(s.CreatedAfter), CreatedBefore: store.TimeOf(s.CreatedBefore),
		EventKey: s.EventKey, EventMetadata: s.EventMetadata}
	seen := map[string]bool{}
	for _, st := range s.Statuses {
		if st == RunQueued || st == RunRunning {
			st = store.RunActive
		}
		if !seen[st] {
			seen[st] = true
			out.Statuses = append(out.Statuses, st)
		}
	}
	return out
}

// StartBulkOperation starts cancelling (with reason) or replaying (in mode)
// the runs sel selects; the work goes on in the background. The operation
// returned says how many runs matched.
func (e *Engine) StartBulkOperation(ctx context.Context, tenantID, kind string, sel RunSelector, reason, mode string) (*BulkOperation, error) {
	if reason == "" {
		reason = "cancelled in bulk"
	}
	now := e.now()
	op := &store.BulkOperation{ID: newID(), TenantID: tenantID, Kind: kind, Selector: store.JSONOf(storedSelector(sel)), Reason: reason, Mode: mode, CreatedAt: store.TimeOf(now)}
	err := e.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
		n, err := countSelected(ctx, q, &store.RunSelectParams{TenantID: tenantID, Selector: op.Selector.V, Before: now})
		if err != nil {
			return err
		}
		op.Matched = n
		sig.add(signalBulk)
		return q.BulkInsert(ctx, op)
	})
	if err != nil {
		return nil, fmt.Errorf("start bulk operation: %w", err)
	}
	return bulkFromRow(op), nil
}

// countSelected counts the runs p selects.
func countSelected(ctx context.Context, q store.Q, p *store.RunSelectParams) (int64, error) {
	if len(p.Selector.EventMetadata) == 0 {
		return q.RunSelectCount(ctx, p)
	}
	var n int64
	p.Limit = 1000
	for {
		runs, events, err := q.RunSelect(ctx, p)
		if err != nil {
			return 0, err
		}
		for _, r := range runs {
			if metadataMatches(events[r.ID], p.Selector.EventMetadata) {
				n++
			}
		}
		if len(runs) < p.Limit {
			return n, nil
		}
		p.AfterID = runs[len(runs)-1].ID
	}
}

// metadataMatches reports whether ev's metadata has each entry of want.
func metadataMatches(ev *store.Event, want map[string]string) bool {
	if len(want) == 0 {
		return true
	}
	if ev == nil {
		return false
	}
	for k, v := range want {
		if got, ok := ev.Metadata.V[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// GetBulkOperation returns one of the tenant's bulk operations.
func (e *Engine) GetBulkOperation(ctx context.Context, tenantID, id string) (*BulkOperation, error) {
	op, err := read(ctx, e.store, func(ctx context.Context, q store.Q) (*store.BulkOperation, error) {
		return q.BulkGet(ctx, tenantID, id, false)
	})
	if err = answer(err, &Error{Kind: KindNotFound, Message: fmt.Sprintf("bulk operation %s not found", id)}, "get bulk operation %s", id); err != nil {
		return nil, err
	}
	return bulkFromRow(op), nil
}

// WatchBulkOperation calls send with the operation's state, then with each new
// state, until it is done or ctx ends; send(nil) every keep-alive interval.
func (e *Engine) WatchBulkOperation(ctx context.Context, tenantID, id string, send func(*BulkOperation) error) error {
	return watchState(ctx, e, id, time.Second,
		func(ctx context.Context) (*BulkOperation, error) { return e.GetBulkOperation(ctx, tenantID, id) },
		func(last, cur *BulkOperation) bool { return cur.Processed != last.Processed || cur.Done != last.Done },
		func(op *BulkOperation) bool { return op.Done }, send)
}

// runBulkOperations runs the open bulk operations to their end, a batch per
// transaction.
func (e *Engine) runBulkOperations(ctx context.Context) (time.Duration, error) {
	open, err := read(ctx, e.store, func(ctx context.Context, q store.Q) ([]*store.BulkOperation, error) { return q.BulkListOpen(ctx, 10) })
	if err != nil || len(open) == 0 {
		return nothingDue, err
	}
	for _, op := range open {
		for done := false; !done; {
			if err := e.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
				var err error
				done, err = e.bulkStep(ctx, q, sig, op.TenantID, op.ID)
				return err
			}); err != nil {
				return busy, fmt.Errorf("bulk operation %s: %w", op.ID, err)
			}
		}
	}
	return busy, nil
}

// bulkStep processes the next batch of an operation and reports whether it is
// done.
func (e *Engine) bulkStep(ctx context.Context, q store.Q, sig *signals, tenantID, id string) (bool, error) {
	op, err := q.BulkGet(ctx, tenantID, id, true)
	if err != nil || op.Done {
		return true, err
	}
	runs, events, err := q.RunSelect(ctx, &store.RunSelectParams{TenantID: tenantID, Selector: op.Selector.V, Before: op.CreatedAt.Time, AfterID: op.Cursor, Limit: bulkBatch})
	if err != nil {
		return false, err
	}
	now := e.now()
	for _, r := range runs {
		op.Cursor = r.ID
		if !metadataMatches(events[r.ID], op.Selector.V.EventMetadata) {
			continue
		}
		op.Processed++
		ok, err := e.bulkApply(ctx, q, sig, op, r, now)
		if err != nil {
			return false, err
		}
		if ok {
			op.Affected++
		}
	}
	if len(runs) < bulkBatch {
		op.Done, op.FinishedAt = true, store.TimeOf(now)
	}
	sig.add(signalRun + op.ID) // wakes the operation's watchers
	return op.Done, q.BulkUpdate(ctx, op)
}

// bulkApply cancels or replays one run and reports whether it did.
func (e *Engine) bulkApply(ctx context.Context, q store.Q, sig *signals, op *store.BulkOperation, r *store.Run, now time.Time) (bool, error) {
	if op.Kind == store.BulkCancel {
		return e.cancelIfOpen(ctx, q, sig, r.TenantID, r.ID, op.Reason, now)
	}
	if !runEnded(r.Status) {
		return false, nil
	}
	p, err := e.planReplay(ctx, q, r, op.Mode, now)
	var refused *Error
	if errors.As(err, &refused) || errors.Is(err, store.ErrNotFound) {
		return false, nil // cannot be replayed this way (FROM_FAILED of a success), or its version is gone
	}
	if err != nil {
		return false, err
	}
	_, err = e.startRuns(ctx, q, sig, []*plannedRun{p}, now)
	return err == nil, err
}
