package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchyard/switchyard/internal/store"
)

// compiledWorkflow is one workflow version with its expressions compiled. It is
// built once per version and shared by every index of its tenant that holds it.
type compiledWorkflow struct {
	row         *store.Workflow
	spec        WorkflowSpec
	triggers    []*eventTrigger
	concurrency cel.Program // nil without a concurrency rule
	taskLimits  [][]compiledLimit
	cancels     []*cancelTrigger
	pause       *store.WorkflowPause // nil unless the workflow is paused
}

// eventTrigger is one event trigger of a compiled workflow.
type eventTrigger struct {
	wf     *compiledWorkflow
	key    string // the key or pattern
	scope  string
	filter cel.Program   // nil without a filter
	limit  *triggerLimit // nil without a rate limit
	window *windowRule   // nil unless the trigger debounces or batches
}

// compileWorkflow compiles a stored workflow version. Stored specs were checked
// when they were put, so an error here means the stored row is damaged.
func compileWorkflow(row *store.Workflow) (*compiledWorkflow, error) {
	wf := &compiledWorkflow{row: row}
	if err := decodeStored(fmt.Sprintf("workflow %s version %d", row.Name, row.Version), row.Spec, &wf.spec); err != nil {
		return nil, err
	}
	for _, k := range wf.spec.OnEvents {
		wf.triggers = append(wf.triggers, &eventTrigger{wf: wf, key: k})
	}
	for i, t := range wf.spec.EventTriggers {
		et := &eventTrigger{wf: wf, key: t.Key, scope: t.Scope}
		var err error
		if et.limit, err = compileTriggerLimit(row, i, t.RateLimit); err != nil {
			return nil, err
		}
		if err := et.compileWindow(i, t); err != nil {
			return nil, fmt.Errorf("workflow %s version %d: %w", row.Name, row.Version, err)
		}
		if t.Filter != "" {
			p, err := compileFilter(t.Filter)
			if err != nil {
				return nil, fmt.Errorf("workflow %s version %d: filter: %w", row.Name, row.Version, err)
			}
			et.filter = p
		}
		wf.triggers = append(wf.triggers, et)
	}
	if c := wf.spec.Concurrency; c != nil {
		p, err := compileConcurrencyKey(c.Key)
		if err != nil {
			return nil, fmt.Errorf("workflow %s version %d: concurrency key: %w", row.Name, row.Version, err)
		}
		wf.concurrency = p
	}
	if err := wf.compileTaskLimits(); err != nil {
		return nil, err
	}
	if err := wf.compileCancels(); err != nil {
		return nil, fmt.Errorf("workflow %s version %d: %w", row.Name, row.Version, err)
	}
	return wf, nil
}

// concurrencyKey evaluates the workflow's concurrency key for a run; "" when
// the workflow has no rule.
func (wf *compiledWorkflow) concurrencyKey(vars func() eventVars) (string, error) {
	if wf.concurrency == nil {
		return "", nil
	}
	return evalConcurrencyKey(wf.concurrency, vars())
}

// triggerIndex holds a tenant's current workflows and an index of their event
// triggers by key pattern. It is rebuilt when the tenant's workflow generation
// (bumped by every workflow change, on any server process) differs from the one
// it was built at, so a push always sees the workflows committed before it.
type triggerIndex struct {
	generation int64
	keys       keyIndex[*eventTrigger]
	cancels    keyIndex[*cancelTrigger]
	byName     map[string]*compiledWorkflow
	paused     map[string]*store.WorkflowPause
}

// triggerCache holds the indexes of the tenants this process has seen.
type triggerCache struct {
	mu      sync.Mutex
	indexes map[string]*triggerIndex
}

// index returns the tenant's current trigger index, reading the generation (one
// row) inside the caller's transaction and rebuilding when it moved.
func (c *triggerCache) index(ctx context.Context, q store.Q, tenantID string) (*triggerIndex, error) {
	gen, err := q.WorkflowsGeneration(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	old := c.indexes[tenantID]
	c.mu.Unlock()
	if old != nil && old.generation == gen {
		return old, nil
	}
	rows, err := q.WorkflowListCurrent(ctx, tenantID, "", 0)
	if err != nil {
		return nil, err
	}
	paused, err := q.WorkflowPauseList(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	idx := &triggerIndex{generation: gen, byName: make(map[string]*compiledWorkflow, len(rows)), paused: paused}
	for _, row := range rows {
		wf := old.reuse(row, paused[row.Name])
		if wf == nil {
			if wf, err = compileWorkflow(row); err != nil {
				return nil, err
			}
			wf.pause = paused[row.Name]
		}
		idx.byName[row.Name] = wf
		for _, t := range wf.triggers {
			idx.keys.add(t.key, t)
		}
		for _, c := range wf.cancels {
			idx.cancels.add(c.key, c)
		}
	}
	c.mu.Lock()
	if c.indexes == nil {
		c.indexes = make(map[string]*triggerIndex)
	}
	c.indexes[tenantID] = idx
	c.mu.Unlock()
	return idx, nil
}

// reuse returns the compiled form of row from an older index, if it holds the
// same version in the same pause.
func (idx *triggerIndex) reuse(row *store.Workflow, pause *store.WorkflowPause) *compiledWorkflow {
	if idx == nil {
		return nil
	}
	if wf := idx.byName[row.Name]; wf != nil && wf.row.Version == row.Version && samePause(wf.pause, pause) {
		return wf
	}
	return nil
}

// SkippedTrigger is a trigger whose key and scope matched an event but that
// started no run, and why.
type SkippedTrigger = store.SkippedTrigger

// triggered is a workflow an event starts, with the run's concurrency key; or,
// through a debounce or batch window (via), the window's group key.
type triggered struct {
	wf             *compiledWorkflow
	concurrencyKey string
	limit          *triggerLimit // the trigger's rate limit, if any
	limitKey       string
	via            *eventTrigger
	groupKey       string
}

// matchEvent returns the workflows an event starts (each once, however many of
// its triggers match) and the matching triggers that started nothing.
func (idx *triggerIndex) matchEvent(ev *store.Event) (starts []triggered, skipped []SkippedTrigger) {
	var vars eventVars
	lazyVars := func() eventVars {
		if vars == nil {
			vars = rowVars(ev)
		}
		return vars
	}
	type miss struct {
		wf   *compiledWorkflow
		skip SkippedTrigger
	}
	var misses []miss
	started := map[*compiledWorkflow]bool{}
	for _, t := range idx.keys.match(ev.Key) {
		if started[t.wf] || (t.scope != "" && t.scope != ev.Scope) {
			continue
		}
		reason := ""
		if t.filter != nil {
			ok, err := evalFilter(t.filter, lazyVars())
			switch {
			case err != nil:
				reason = err.Error()
			case !ok:
				reason = "filter is false"
			}
		}
		var key, group, limitKey string
		if reason == "" {
			var err error
			if t.window != nil {
				group, err = t.window.groupKey(lazyVars())
			} else {
				key, err = t.wf.concurrencyKey(lazyVars)
			}
			if err != nil {
				reason = err.Error()
			} else if limitKey, err = t.limit.keyOf(lazyVars); err != nil {
				reason = err.Error()
			}
		}
		if reason != "" {
			misses = append(misses, miss{t.wf, SkippedTrigger{Workflow: t.wf.row.Name, WorkflowVersion: t.wf.row.Version, Trigger: t.key, Reason: reason}})
			continue
		}
		started[t.wf] = true
		tr := triggered{wf: t.wf, concurrencyKey: key, limit: t.limit, limitKey: limitKey}
		if t.window != nil {
			tr.via, tr.groupKey = t, group
		}
		starts = append(starts, tr)
	}
	// A workflow that another of its triggers started skipped nothing.
	for _, m := range misses {
		if !started[m.wf] {
			skipped = append(skipped, m.skip)
		}
	}
	return starts, skipped
}

// rowVars are the CEL variables of a stored event.
func rowVars(ev *store.Event) eventVars {
	return newEventVars(ev.Key, ev.Payload.Map(), ev.Metadata.V, ev.Scope)
}

// inputVars are the CEL variables of a run started without an event.
func inputVars(input store.Object) func() eventVars {
	return func() eventVars {
		return newEventVars("", input.Map(), nil, "")
	}
}

// newRun says what starts a run and with what.
type newRun struct {
	wf             *compiledWorkflow
	eventID        string
	input          store.Object
	priority       int32
	trigger        string
	replayOf       string
	cronTick       store.Time
	scheduledAt    store.Time
	concurrencyKey string
	idempotencyKey string
	// parent, when not nil, is the span of the call that asked for the run,
	// which the context the run is stored in does not hold (a push in a group
	// commit): the run's span is its child, or a new trace's root when it is
	// not valid. When nil, the context's span is the parent.
	parent *trace.SpanContext
}

// plannedRun is a run and its tasks before they are stored.
type plannedRun struct {
	run    *store.Run
	tasks  []*store.Task
	parent *trace.SpanContext // see newRun.parent
	// limit is the rate limit of the trigger that started the run, if any,
	// and limitKey its key for the run.
	limit    *triggerLimit
	limitKey string
	held     bool // the workflow is paused: the run is stored PAUSED
}

// plan builds a run and its tasks, all pending: admission decides whether the
// run starts now, later or waits.
func (n newRun) plan(tenantID string, now time.Time) *plannedRun {
	wf := n.wf
	run := &store.Run{
		ID:              newID(),
		TenantID:        tenantID,
		WorkflowName:    wf.row.Name,
		WorkflowVersion: wf.row.Version,
		EventID:         n.eventID,
		Input:           n.input,
		Priority:        n.priority,
		IdempotencyKey:  n.idempotencyKey,
		CreatedAt:       store.TimeOf(now),
		UpdatedAt:       store.TimeOf(now),
		TriggerKind:     n.trigger,
		ReplayOf:        n.replayOf,
		CronTick:        n.cronTick,
		ScheduledAt:     n.scheduledAt,
		ConcurrencyKey:  n.concurrencyKey,
	}
	if n.concurrencyKey != "" {
		run.ConcurrencyMax = wf.spec.Concurrency.MaxRuns
		run.ConcurrencyStrategy = wf.spec.Concurrency.Strategy
	}
	tasks := make([]*store.Task, len(wf.spec.Tasks))
	for i, ts := range wf.spec.Tasks {
		parents := ts.Parents
		if parents == nil {
			parents = []string{}
		}
		tasks[i] = &store.Task{
			ID:               newID(),
			TenantID:         tenantID,
			RunID:            run.ID,
			Name:             ts.Name,
			Action:           ts.Action,
			Parents:          store.JSONOf(parents),
			Status:           store.TaskPending,
			MaxAttempts:      ts.Retry.MaxAttempts,
			InitialBackoffMS: ts.Retry.InitialBackoff.Milliseconds(),
			MaxBackoffMS:     ts.Retry.MaxBackoff.Milliseconds(),
			TimeoutMS:        ts.Timeout.Milliseconds(),
			Priority:         n.priority,
			AvailableAt:      store.TimeOf(now),
			CreatedAt:        store.TimeOf(now),
			RateLimits:       store.JSONOf(wf.limitsOf(i, n.input)),
			Declared:         declaredOf(ts),
		}
	}
	return &plannedRun{run: run, tasks: tasks, parent: n.parent, held: wf.pause != nil}
}
