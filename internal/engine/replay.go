package engine

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// Replay modes.
const (
	ReplayWhole      = "WHOLE"
	ReplayFromFailed = "FROM_FAILED"
)

// ReplayResult is what a replay started.
type ReplayResult struct {
	RunIDs       []string
	Skipped      []SkippedTrigger
	Deduplicated bool
}

// recordReplay records a replay under its idempotency key (when there is one)
// and reports whether it is new. A repeat of the same replay returns the runs
// the first one started; the key used for another replay is KindAlreadyExists.
func recordReplay(ctx context.Context, q store.Q, tenantID, key, source string, runIDs []string, now time.Time) (orig []string, err error) {
	if key == "" {
		return nil, nil
	}
	ok, err := q.ReplayInsert(ctx, &store.Replay{TenantID: tenantID, IdempotencyKey: key, Source: source, RunIDs: store.JSONOf(runIDs), CreatedAt: store.TimeOf(now)})
	if err != nil || ok {
		return nil, err
	}
	prev, err := q.ReplayGet(ctx, tenantID, key)
	if err != nil {
		return nil, err
	}
	if err := sameReplay(prev, source); err != nil {
		return nil, err
	}
	return append([]string{}, prev.RunIDs.V...), nil
}

// ReplayEvent runs a stored event through the tenant's current triggers again;
// the runs it starts have trigger REPLAY and belong to the event.
func (e *Engine) ReplayEvent(ctx context.Context, tenantID, id, idempotencyKey string) (*ReplayResult, error) {
	var res *ReplayResult
	err := e.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
		ev, err := q.EventGet(ctx, tenantID, id)
		if err != nil {
			return err
		}
		idx, err := e.triggers.index(ctx, q, tenantID)
		if err != nil {
			return err
		}
		now := e.now()
		starts, skipped := idx.matchEvent(ev)
		res = &ReplayResult{RunIDs: []string{}, Skipped: skipped}
		plans := make([]*plannedRun, len(starts))
		for i, t := range starts {
			plans[i] = newRun{wf: t.wf, eventID: ev.ID, input: ev.Payload, priority: ev.Priority, trigger: store.TriggerReplay, concurrencyKey: t.concurrencyKey}.plan(tenantID, now)
			res.RunIDs = append(res.RunIDs, plans[i].run.ID)
		}
		orig, err := recordReplay(ctx, q, tenantID, idempotencyKey, "event "+id, res.RunIDs, now)
		if err != nil {
			return err
		}
		if orig != nil {
			res = &ReplayResult{RunIDs: orig, Deduplicated: true}
			return nil
		}
		_, err = e.startRuns(ctx, q, sig, plans, now)
		return err
	})
	if err = answer(err, &Error{Kind: KindNotFound, Message: fmt.Sprintf("event %s not found", id)}, "replay event %s", id); err != nil {
		return nil, err
	}
	return res, nil
}

// ReplayRun starts a new run of an ended run's workflow version with its input,
// its event and its concurrency key: whole, or from its failed tasks (tasks that
// succeeded are copied, outputs included, and do not run again).
func (e *Engine) ReplayRun(ctx context.Context, tenantID, id, mode, idempotencyKey string) (*Run, bool, error) {
	var replayID string
	var deduplicated bool
	err := e.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
		run, err := q.RunGet(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if !runEnded(run.Status) {
			return &Error{Kind: KindFailedPrecondition, Message: fmt.Sprintf("run %s has not ended; only an ended run can be replayed (cancel it first)", id)}
		}
		now := e.now()
		p, err := e.planReplay(ctx, q, run, mode, now)
		if err != nil {
			return err
		}
		orig, err := recordReplay(ctx, q, tenantID, idempotencyKey, "run "+id+" "+mode, []string{p.run.ID}, now)
		if err != nil {
			return err
		}
		if orig != nil {
			replayID, deduplicated = orig[0], true
			return nil
		}
		replayID = p.run.ID
		_, err = e.startRuns(ctx, q, sig, []*plannedRun{p}, now)
		return err
	})
	if err = answer(err, notFoundRun(id), "replay run %s", id); err != nil {
		return nil, false, err
	}
	r, err := e.GetRun(ctx, tenantID, replayID)
	return r, deduplicated, err
}

// keepSucceeded copies into a planned replay the tasks of run that succeeded,
// with their outputs, so that only the others run again.
func keepSucceeded(ctx context.Context, q store.Q, run *store.Run, p *plannedRun) error {
	if run.Status == store.RunSucceeded {
		return &Error{Kind: KindFailedPrecondition, Message: fmt.Sprintf("run %s succeeded: no failed task to replay from (replay it whole instead)", run.ID)}
	}
	old, err := q.TaskListByRun(ctx, run.ID)
	if err != nil {
		return err
	}
	for _, t := range p.tasks {
		i := slices.IndexFunc(old, func(o *store.Task) bool { return o.Name == t.Name && o.Status == store.TaskSucceeded })
		if i < 0 {
			continue
		}
		o := old[i]
		t.Status, t.Attempt, t.WorkerID, t.Output = store.TaskSucceeded, o.Attempt, o.WorkerID, o.Output
		t.StartedAt, t.FinishedAt, t.AvailableAt = o.StartedAt, o.FinishedAt, o.AvailableAt
	}
	return nil
}

// planReplay plans the replay of an ended run: its workflow version, input,
// event and concurrency key; held when the workflow is paused.
func (e *Engine) planReplay(ctx context.Context, q store.Q, run *store.Run, mode string, now time.Time) (*plannedRun, error) {
	row, err := q.WorkflowGet(ctx, run.TenantID, run.WorkflowName, run.WorkflowVersion)
	if err != nil {
		return nil, err
	}
	wf, err := compileWorkflow(row)
	if err != nil {
		return nil, err
	}
	idx, err := e.triggers.index(ctx, q, run.TenantID)
	if err != nil {
		return nil, err
	}
	p := newRun{wf: wf, eventID: run.EventID, input: run.Input, priority: run.Priority, trigger: store.TriggerReplay,
		replayOf: run.ID, concurrencyKey: run.ConcurrencyKey}.plan(run.TenantID, now)
	p.held = idx.paused[run.WorkflowName] != nil
	if mode == ReplayFromFailed {
		if err := keepSucceeded(ctx, q, run, p); err != nil {
			return nil, err
		}
	}
	return p, nil
}
