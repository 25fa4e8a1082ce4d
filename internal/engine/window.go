package engine

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"cel.dev/cel-go/cel"

	"github.com/switchyard/switchyard/internal/store"
)

// Debounce and batch windows live in the database (event_windows): a matching
// event is added to its trigger's open window for its group key in the
// transaction that stores it, and the window fires in the transaction that
// deletes it, so that of any number of server processes exactly one fires it.
// A batch that reaches its size fires in the push that filled it; every other
// window fires when its time comes, from the window scheduler.

// windowRule is a trigger's compiled debounce or batch.
type windowRule struct {
	index   int    // the trigger's position in the spec's event_triggers
	kind    string // store.WindowDebounce or store.WindowBatch
	key     cel.Program
	quiet   time.Duration // debounce only
	maxWait time.Duration
	size    int // batch only
}

// compileWindow compiles the debounce or batch of the spec's i-th event
// trigger, if it has one.
func (et *eventTrigger) compileWindow(i int, t EventTrigger) error {
	var w *windowRule
	var key string
	switch {
	case t.Debounce != nil:
		w = &windowRule{index: i, kind: store.WindowDebounce, quiet: t.Debounce.QuietPeriod, maxWait: t.Debounce.MaxWait}
		key = t.Debounce.Key
	case t.Batch != nil:
		w = &windowRule{index: i, kind: store.WindowBatch, maxWait: t.Batch.MaxWait, size: int(t.Batch.MaxEvents)}
		key = t.Batch.Key
	default:
		return nil
	}
	if key != "" {
		p, err := compileConcurrencyKey(key)
		if err != nil {
			return fmt.Errorf("window key: %w", err)
		}
		w.key = p
	}
	et.window = w
	return nil
}

// groupKey is the window key's value for an event; "" without a key.
func (w *windowRule) groupKey(vars eventVars) (string, error) {
	if w.key == nil {
		return "", nil
	}
	k, err := evalConcurrencyKey(w.key, vars)
	if err != nil {
		return "", fmt.Errorf("window key: %w", err)
	}
	return k, nil
}

// windowAdd is an event on its way into a window.
type windowAdd struct {
	tenantID string
	eventID  string
	t        triggered
}

// addToWindows adds events to their windows in the caller's transaction, in a
// fixed order of windows (so that concurrent transactions lock them in the
// same order) and, within one window, in the order given. It returns the runs
// of the batches that filled up.
func (e *Engine) addToWindows(ctx context.Context, q store.Q, sig *signals, adds []windowAdd, now time.Time) ([]*plannedRun, error) {
	slices.SortStableFunc(adds, func(a, b windowAdd) int {
		return cmp.Or(cmp.Compare(a.tenantID, b.tenantID), cmp.Compare(a.t.wf.row.Name, b.t.wf.row.Name),
			cmp.Compare(a.t.via.window.index, b.t.via.window.index), cmp.Compare(a.t.groupKey, b.t.groupKey))
	})
	var plans []*plannedRun
	for _, a := range adds {
		rule := a.t.via.window
		fireAt := now.Add(rule.maxWait)
		if rule.kind == store.WindowDebounce {
			fireAt = now.Add(rule.quiet)
		}
		w, err := q.WindowAdd(ctx, &store.EventWindow{ID: newID(), TenantID: a.tenantID, Workflow: a.t.wf.row.Name, TriggerIndex: rule.index,
			GroupKey: a.t.groupKey, Kind: rule.kind, FirstAt: store.TimeOf(now), FireAt: store.TimeOf(fireAt), Deadline: store.TimeOf(now.Add(rule.maxWait))}, a.eventID)
		if err != nil {
			return nil, err
		}
		if rule.kind != store.WindowBatch || w.Size < rule.size {
			sig.add(atSignal(signalWindow, w.FireAt.Time))
			continue
		}
		p, err := e.fireWindow(ctx, q, a.t.wf, w, now)
		if err != nil {
			return nil, err
		}
		if p != nil {
			plans = append(plans, p)
		}
	}
	return plans, nil
}

// fireWindow closes a window, if no other transaction did, and plans the run
// of its events: a debounce's last event, or a batch's events as the input;
// the run meets the trigger's rate limit, if it has one.
// wf is the workflow's current version (nil when it was deleted: the events
// start nothing).
func (e *Engine) fireWindow(ctx context.Context, q store.Q, wf *compiledWorkflow, w *store.EventWindow, now time.Time) (*plannedRun, error) {
	runID := ""
	if wf != nil {
		runID = newID()
	}
	ok, ids, err := q.WindowClose(ctx, w.ID, runID)
	if err != nil || !ok || wf == nil || len(ids) == 0 {
		return nil, err
	}
	events, err := q.EventGetMany(ctx, w.TenantID, ids)
	if err != nil {
		return nil, err
	}
	last := events[ids[len(ids)-1]]
	if last == nil {
		return nil, fmt.Errorf("window %s: event %s is missing", w.ID, ids[len(ids)-1])
	}
	n := newRun{wf: wf, eventID: last.ID, input: last.Payload, priority: last.Priority, trigger: store.TriggerEvent}
	vars := func() eventVars { return rowVars(last) }
	if w.Kind == store.WindowBatch {
		if n.input, err = batchInput(ids, events); err != nil {
			return nil, err
		}
		n.eventID = ""
		vars = inputVars(n.input)
	}
	limit := wf.windowLimit(w.TriggerIndex)
	var limitKey string
	if n.concurrencyKey, err = wf.concurrencyKey(vars); err == nil {
		limitKey, err = limit.keyOf(vars)
	}
	if err != nil {
		e.log.WarnContext(ctx, "event window started no run", "workflow", wf.row.Name, "error", err.Error())
		return nil, nil
	}
	p := n.plan(w.TenantID, now)
	p.setID(runID)
	p.limit, p.limitKey = limit, limitKey
	return p, nil
}

// windowLimit returns the rate limit of the workflow's windowed trigger at
// index (the trigger's position in the spec), nil when it has none.
func (wf *compiledWorkflow) windowLimit(index int) *triggerLimit {
	for _, t := range wf.triggers {
		if t.window != nil && t.window.index == index {
			return t.limit
		}
	}
	return nil
}

// batchInput is a batch run's input: {"events": [...]} with each event's id,
// key, payload, metadata and occurred_at, in order.
func batchInput(ids []string, events map[string]*store.Event) (store.Object, error) {
	list := make([]any, 0, len(ids))
	for _, id := range ids {
		ev := events[id]
		if ev == nil {
			continue // pruned meanwhile
		}
		md := map[string]any{}
		for k, v := range ev.Metadata.V {
			md[k] = v
		}
		list = append(list, map[string]any{"id": ev.ID, "key": ev.Key, "payload": ev.Payload.Map(), "metadata": md,
			"occurred_at": ev.OccurredAt.Time.UTC().Format(time.RFC3339Nano)})
	}
	return store.ObjectOf(map[string]any{"events": list})
}

// setID gives a planned run (and its tasks) the id id.
func (p *plannedRun) setID(id string) {
	p.run.ID = id
	for _, t := range p.tasks {
		t.RunID = id
	}
}

// fireDueWindows fires the windows whose time came, each in its own
// transaction, and returns the wait until the next one's time (the window
// also wakes the servers then).
func (e *Engine) fireDueWindows(ctx context.Context) (time.Duration, error) {
	for range 10 {
		due, next, err := listDue(ctx, e.store, e.now(), e.cfg.IdleInterval,
			func(q store.Q, ctx context.Context, until time.Time, limit int) ([]*store.EventWindow, error) {
				return q.WindowListDue(ctx, until, limit)
			}, func(w *store.EventWindow) time.Time { return w.FireAt.Time })
		if err != nil || len(due) == 0 {
			return next, err
		}
		for _, w := range due {
			err := e.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
				idx, err := e.triggers.index(ctx, q, w.TenantID)
				if err != nil {
					return err
				}
				now := e.now()
				p, err := e.fireWindow(ctx, q, idx.byName[w.Workflow], w, now)
				if err != nil || p == nil {
					return err
				}
				_, err = e.startRuns(ctx, q, sig, []*plannedRun{p}, now)
				return err
			})
			if err != nil {
				return busy, fmt.Errorf("event window of %s: %w", w.Workflow, err)
			}
		}
	}
	return busy, nil
}
