package engine

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// Admission decides when a run starts. A run whose scheduled time is ahead is
// SCHEDULED; a run of a workflow with a concurrency rule passes its group's gate
// (under the group's lock, so the limit holds across server processes); every
// other run starts at once. Until a run starts its tasks stay PENDING.

// queue makes t ready for a worker from at. Queued tasks are taken lowest rank
// first: the rank is the time the task became ready, moved earlier by
// PriorityAging for each priority level. So a higher priority goes first, equal
// priorities go in order, and a task is passed by tasks of higher priority that
// became ready at most (difference in priority × PriorityAging) after it:
// nothing waits forever.
func (e *Engine) queue(t *store.Task, at time.Time) {
	t.Status, t.AvailableAt = store.TaskQueued, store.TimeOf(at)
	t.QueueRank = t.AvailableAt.Micros() - int64(t.Priority)*e.cfg.PriorityAging.Microseconds()
}

// readyTasks returns the pending tasks whose parents all succeeded (or were
// skipped).
func readyTasks(tasks []*store.Task) []*store.Task {
	status := make(map[string]string, len(tasks))
	for _, t := range tasks {
		status[t.Name] = t.Status
	}
	var ready []*store.Task
	for _, t := range tasks {
		if t.Status != store.TaskPending {
			continue
		}
		ok := true
		for _, p := range t.Parents.V {
			ok = ok && (status[p] == store.TaskSucceeded || status[p] == store.TaskSkipped)
		}
		if ok {
			ready = append(ready, t)
		}
	}
	return ready
}

// gate is a concurrency group's state while runs are admitted to it.
type gate struct {
	active  []*store.Run
	waiting int
}

// loadGate locks a concurrency group and reads its state: the active runs and
// the waiting ones, oldest first.
func loadGate(ctx context.Context, q store.Q, k store.ConcurrencyGroup, now time.Time) (*gate, []*store.Run, error) {
	if err := q.ConcurrencyLock(ctx, k.TenantID, k.Workflow, k.Key, now); err != nil {
		return nil, nil, err
	}
	var runs []*store.Run
	var err error
	if k.Key == roundRobinGroup {
		runs, err = q.RunListRoundRobin(ctx, k.TenantID, k.Workflow)
	} else {
		runs, err = q.RunListInGroup(ctx, k.TenantID, k.Workflow, k.Key)
	}
	if err != nil {
		return nil, nil, err
	}
	g := &gate{}
	var waiting []*store.Run
	for _, x := range runs {
		if x.Status == store.RunActive {
			g.active = append(g.active, x)
		} else {
			waiting = append(waiting, x)
		}
	}
	g.waiting = len(waiting)
	return g, waiting, nil
}

func groupOf(r *store.Run) store.ConcurrencyGroup {
	if r.ConcurrencyStrategy == StrategyGroupRoundRobin {
		return store.ConcurrencyGroup{TenantID: r.TenantID, Workflow: r.WorkflowName, Key: roundRobinGroup}
	}
	return store.ConcurrencyGroup{TenantID: r.TenantID, Workflow: r.WorkflowName, Key: r.ConcurrencyKey}
}

// admit sets r's status by its strategy and returns the active runs it
// displaces (CANCEL_IN_PROGRESS), oldest first.
func (g *gate) admit(r *store.Run) (displaced []*store.Run) {
	limit := int(r.ConcurrencyMax)
	switch r.ConcurrencyStrategy {
	case StrategyCancelInProgress:
		for len(g.active) >= limit {
			displaced = append(displaced, g.active[0])
			g.active = g.active[1:]
		}
	case StrategyCancelNewest:
		if len(g.active) >= limit {
			r.Status = store.RunCancelled
			r.Error = fmt.Sprintf("cancelled at start: %d run(s) with concurrency key %q are active (limit %d, strategy CANCEL_NEWEST)", len(g.active), r.ConcurrencyKey, limit)
			return nil
		}
	default: // QUEUE: wait behind the limit and behind runs already waiting
		if len(g.active) >= limit || g.waiting > 0 {
			r.Status = store.RunWaiting
			g.waiting++
			return nil
		}
	}
	r.Status = store.RunActive
	g.active = append(g.active, r)
	return displaced
}

func displacedReason(by *store.Run) string {
	return fmt.Sprintf("cancelled by newer run %s with concurrency key %q (strategy CANCEL_IN_PROGRESS)", by.ID, by.ConcurrencyKey)
}

// startRuns admits and stores planned runs in the caller's transaction. Runs
// whose idempotency key the tenant used before are not stored (and displace
// nothing); the ids of those stored are returned. Each run is traced under the
// span that asked for it.
func (e *Engine) startRuns(ctx context.Context, q store.Q, sig *signals, plans []*plannedRun, now time.Time) (inserted map[string]bool, err error) {
	spans := e.startRunSpans(ctx, plans)
	defer func() { endRunSpans(spans, plans, inserted, err) }()
	displacedBy, err := e.admitPlans(ctx, q, plans, now)
	if err != nil {
		return nil, err
	}
	runs := make([]*store.Run, len(plans))
	for i, p := range plans {
		runs[i] = p.run
	}
	inserted, err = q.RunInsertMany(ctx, runs)
	if err != nil {
		return nil, err
	}
	var tasks []*store.Task
	for _, p := range plans {
		if inserted[p.run.ID] {
			tasks = append(tasks, p.tasks...)
		}
	}
	if err := q.TaskInsertMany(ctx, tasks); err != nil {
		return nil, err
	}
	if err := e.startDeclared(ctx, q, sig, plans, inserted, now); err != nil {
		return nil, err
	}
	sig.add(signalTasks)
	for _, p := range plans {
		if inserted[p.run.ID] {
			recordStart(sig, p)
			if p.run.Status == store.RunScheduled {
				sig.add(signalDue)
			}
		}
	}
	for _, p := range plans {
		if !inserted[p.run.ID] {
			continue
		}
		for _, d := range displacedBy[p] {
			if err := e.cancelActive(ctx, q, sig, d, displacedReason(p.run), now); err != nil {
				return nil, err
			}
		}
	}
	return inserted, nil
}

// admitPlans sets each planned run's status: SCHEDULED when its time is ahead,
// else through its concurrency group's gate (locked here) or at once without
// one. It returns the stored runs each plan displaces.
func (e *Engine) admitPlans(ctx context.Context, q store.Q, plans []*plannedRun, now time.Time) (map[*plannedRun][]*store.Run, error) {
	if err := throttlePlans(ctx, q, plans, now); err != nil {
		return nil, err
	}
	groups := map[store.ConcurrencyGroup][]*plannedRun{}
	for _, p := range plans {
		switch r := p.run; {
		case r.Status == store.RunSkipped:
		case r.ScheduledAt.After(now):
			r.Status = store.RunScheduled
		case p.held:
			r.Status = store.RunPaused
		case r.ConcurrencyKey == "":
			e.activate(p, now)
		default:
			groups[groupOf(r)] = append(groups[groupOf(r)], p)
		}
	}
	// Groups are locked in one order, so that transactions never wait for each
	// other in a circle.
	keys := make([]store.ConcurrencyGroup, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b store.ConcurrencyGroup) int {
		return cmp.Or(cmp.Compare(a.TenantID, b.TenantID), cmp.Compare(a.Workflow, b.Workflow), cmp.Compare(a.Key, b.Key))
	})
	displacedBy := map[*plannedRun][]*store.Run{}
	for _, k := range keys {
		g, _, err := loadGate(ctx, q, k, now)
		if err != nil {
			return nil, err
		}
		newRuns := map[*store.Run]*plannedRun{}
		for _, p := range groups[k] {
			newRuns[p.run] = p
			for _, d := range g.admit(p.run) {
				if np := newRuns[d]; np != nil {
					cancelPlanned(np, displacedReason(p.run), now)
				} else {
					displacedBy[p] = append(displacedBy[p], d)
				}
			}
			switch p.run.Status {
			case store.RunActive:
				e.activate(p, now)
			case store.RunCancelled:
				cancelPlanned(p, p.run.Error, now)
			}
		}
		if err := admittedInTurn(ctx, q, k, groups[k]); err != nil {
			return nil, err
		}
	}
	return displacedBy, nil
}

// recordStart tells the observer about a new run and its queued tasks.
func recordStart(sig *signals, p *plannedRun) {
	sig.record(runCreated(p.run))
	if p.run.Status == store.RunCancelled || p.run.Status == store.RunSkipped {
		sig.record(runFinished(p.run))
	}
	for _, t := range p.tasks {
		if t.Status == store.TaskQueued {
			sig.record(taskQueued(t))
		}
	}
}

// activate starts a planned run: its ready tasks are queued, but for those
// that declare a wait or conditions, which startRuns starts once stored.
func (e *Engine) activate(p *plannedRun, now time.Time) {
	p.run.Status = store.RunActive
	for _, t := range readyTasks(p.tasks) {
		if t.Declared == "" {
			e.queue(t, now)
		}
	}
}

// cancelPlanned makes a planned run cancelled before it is stored.
func cancelPlanned(p *plannedRun, reason string, now time.Time) {
	p.run.Status, p.run.Error, p.run.FinishedAt = store.RunCancelled, reason, store.TimeOf(now)
	for _, t := range p.tasks {
		if t.Status != store.TaskSucceeded {
			t.Status, t.FinishedAt = store.TaskCancelled, store.TimeOf(now)
		}
	}
}

// cancelActive cancels a stored run that is still active.
func (e *Engine) cancelActive(ctx context.Context, q store.Q, sig *signals, r *store.Run, reason string, now time.Time) error {
	run, err := q.RunGetForUpdate(ctx, r.TenantID, r.ID)
	if err != nil {
		return err
	}
	if run.Status != store.RunActive {
		return nil
	}
	tasks, err := q.TaskListByRun(ctx, run.ID)
	if err != nil {
		return err
	}
	return e.endRun(ctx, q, sig, run, tasks, store.RunCancelled, reason, now)
}
