package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// MaxChildren bounds the child runs one SpawnChildren call starts.
const MaxChildren = 1000

// ChildSpec is one child run to start.
type ChildSpec struct {
	Workflow string
	Input    map[string]any
	Priority *int32    // nil means the parent run's
	RunAt    time.Time // zero or past means now
}

// SpawnParams is a running attempt's SpawnChildren call.
type SpawnParams struct {
	WorkerID string
	TaskID   string
	Attempt  int32
	Name     string // the step's name
	Children []ChildSpec
}

// SpawnChildren starts child runs of a running attempt's run, all or none,
// fenced by (task, attempt, worker), and records them as the task's SPAWN
// step. A step recorded before returns the runs it started (deduplicated);
// each child is also unique on (task, step name "/" index), so a parent that
// runs again never starts one twice.
func (e *Engine) SpawnChildren(ctx context.Context, tenantID string, p SpawnParams) (runIDs []string, deduplicated bool, err error) {
	if len(p.Children) == 0 || len(p.Children) > MaxChildren {
		return nil, false, invalid("children", "children.count", "between 1 and %d children, not %d", MaxChildren, len(p.Children))
	}
	inputs := make([]store.Object, len(p.Children))
	for i, c := range p.Children {
		if inputs[i], err = objectOf(fmt.Sprintf("children[%d].input", i), c.Input); err != nil {
			return nil, false, err
		}
	}
	err = e.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
		runIDs, deduplicated = nil, false
		run, _, t, err := lockTask(ctx, q, tenantID, p.TaskID)
		if err != nil {
			return err
		}
		if err := fenceAttempt(t, p.Attempt, p.WorkerID); err != nil {
			return err
		}
		if step, err := q.StepGet(ctx, t.ID, p.Name); err == nil {
			if step.Kind != store.StepSpawn {
				return invalid("name", "step.kind", "step %q of task %s was recorded by %s, not by SpawnChildren", p.Name, t.ID, step.Kind)
			}
			runIDs, deduplicated = step.ChildRunIDs.V, true
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		now := e.now()
		keys := make([]string, len(p.Children))
		for i := range p.Children {
			keys[i] = p.Name + "/" + strconv.Itoa(i)
		}
		existing, err := q.RunIDsByChildKeys(ctx, t.ID, keys)
		if err != nil {
			return err
		}
		idx, err := e.triggers.index(ctx, q, tenantID)
		if err != nil {
			return err
		}
		runIDs = make([]string, len(p.Children))
		var plans []*plannedRun
		for i, c := range p.Children {
			if id, ok := existing[keys[i]]; ok {
				runIDs[i] = id
				continue
			}
			wf := idx.byName[c.Workflow]
			if wf == nil {
				return &Error{Kind: KindNotFound, Message: fmt.Sprintf("children[%d]: workflow %s not found", i, c.Workflow)}
			}
			pr, err := planChild(wf, c, i, inputs[i], run, tenantID, now)
			if err != nil {
				return err
			}
			pr.run.ParentTaskID, pr.run.ChildKey = t.ID, keys[i]
			plans = append(plans, pr)
			runIDs[i] = pr.run.ID
		}
		if len(plans) > 0 {
			if _, err := e.startRuns(ctx, q, sig, plans, now); err != nil {
				return err
			}
		}
		if !run.HasChildren {
			if err := q.RunSetHasChildren(ctx, run.ID); err != nil {
				return err
			}
		}
		_, _, err = q.StepInsert(ctx, &store.Step{TenantID: tenantID, TaskID: t.ID, Name: p.Name, Kind: store.StepSpawn,
			ChildRunIDs: store.JSONOf(runIDs), CreatedAt: store.TimeOf(now)})
		return err
	})
	if err = answer(err, &Error{Kind: KindNotFound, Message: fmt.Sprintf("task %s not found", p.TaskID)}, "spawn children of task %s", p.TaskID); err != nil {
		return nil, false, err
	}
	return runIDs, deduplicated, nil
}

// planChild plans child i of parent, c, with its input: the parent run's
// priority unless c names one, started at c.RunAt (at most a year ahead).
func planChild(wf *compiledWorkflow, c ChildSpec, i int, input store.Object, parent *store.Run, tenantID string, now time.Time) (*plannedRun, error) {
	key, err := wf.concurrencyKey(inputVars(input))
	if err != nil {
		return nil, invalid(fmt.Sprintf("children[%d].input", i), "concurrency.key", "the workflow's concurrency key cannot be evaluated on the input: %v", err)
	}
	priority := parent.Priority
	if c.Priority != nil {
		priority = *c.Priority
	}
	var scheduledAt store.Time
	if !c.RunAt.IsZero() {
		if c.RunAt.After(now.Add(maxRunDelay)) {
			return nil, invalid(fmt.Sprintf("children[%d].run_at", i), "run_at.max", "is more than a year (366 days) ahead")
		}
		scheduledAt = store.TimeOf(c.RunAt)
	}
	pr := newRun{wf: wf, input: input, priority: priority, trigger: store.TriggerManual, scheduledAt: scheduledAt, concurrencyKey: key}.plan(tenantID, now)
	pr.run.ParentRunID = parent.ID
	return pr, nil
}

// childResult is how a child run ended: its status, error and the outputs of
// its tasks that no other task depends on.
func childResult(ctx context.Context, q store.Q, tenantID, runID string) (*ChildResult, error) {
	run, err := q.RunGet(ctx, tenantID, runID)
	if err != nil {
		return nil, err
	}
	tasks, err := q.TaskListByRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	res := &ChildResult{RunID: runID, Status: run.Status, Error: run.Error, Outputs: map[string]map[string]any{}}
	for _, t := range tasks {
		isParent := slices.ContainsFunc(tasks, func(o *store.Task) bool { return slices.Contains(o.Parents.V, t.Name) })
		if !isParent && t.Status == store.TaskSucceeded {
			res.Outputs[t.Name] = t.Output.Map()
		}
	}
	return res, nil
}

// maxCancelDepth bounds how deep a cancellation follows child runs in one
// transaction.
const maxCancelDepth = 8

type cancelDepthKey struct{}

// durableRunEnding is what ending a run (any final status) does to durable
// state, in the same transaction: the waits of its tasks are cancelled, its
// child runs that have not ended are cancelled (when it did not succeed),
// and the waits of its parent's task on it are satisfied.
func (e *Engine) durableRunEnding(ctx context.Context, q store.Q, sig *signals, run *store.Run, tasks []*store.Task, status string, now time.Time) error {
	if slices.ContainsFunc(tasks, func(t *store.Task) bool { return t.Status == store.TaskWaiting }) {
		if err := q.WaitCancelOpen(ctx, run.ID, "", "", now); err != nil {
			return err
		}
	}
	if run.HasChildren && status != store.RunSucceeded {
		depth, _ := ctx.Value(cancelDepthKey{}).(int)
		if depth < maxCancelDepth {
			ids, err := q.RunIDsOpenChildren(ctx, run.ID)
			if err != nil {
				return err
			}
			cctx := context.WithValue(ctx, cancelDepthKey{}, depth+1)
			for _, id := range ids {
				if _, err := e.cancelIfOpen(cctx, q, sig, run.TenantID, id, "parent run "+run.ID+" ended "+status, now); err != nil {
					return err
				}
			}
		}
	}
	if run.ParentRunID != "" {
		n, err := q.WaitSatisfyChild(ctx, run.ID, now)
		if err != nil {
			return err
		}
		if n > 0 {
			sig.add(signalWaits)
		}
	}
	return nil
}

// addWaits gives runs read with their tasks (GetRun) their waits: every
// condition on each task, the open ones on the run.
func addWaits(ctx context.Context, q store.Q, runs []*Run) error {
	ids := pluck(runs, func(r *Run) string { return r.ID })
	rows, err := q.WaitListByRuns(ctx, ids, false)
	if err != nil || len(rows) == 0 {
		return err
	}
	byTask := map[string]*Task{}
	byRun := map[string]*Run{}
	for _, r := range runs {
		byRun[r.ID] = r
		for _, t := range r.Tasks {
			byTask[t.ID] = t
		}
	}
	open := map[string][]*WaitInfo{}
	for _, w := range rows {
		info := waitInfo(w)
		if t := byTask[w.TaskID]; t != nil {
			t.Waits = append(t.Waits, info)
		}
		if info.State == WaitStateOpen {
			open[w.RunID] = append(open[w.RunID], info)
		}
	}
	for id, r := range byRun {
		setWaits(r, open[id])
	}
	return nil
}

// openWaits returns the open waits of the listed runs that are active, by
// run id.
func openWaits(ctx context.Context, q store.Q, rows []*store.Run) (map[string][]*WaitInfo, error) {
	var ids []string
	for _, r := range rows {
		if r.Status == store.RunActive {
			ids = append(ids, r.ID)
		}
	}
	out := map[string][]*WaitInfo{}
	if len(ids) == 0 {
		return out, nil
	}
	waits, err := q.WaitListByRuns(ctx, ids, true)
	if err != nil {
		return nil, err
	}
	for _, w := range waits {
		out[w.RunID] = append(out[w.RunID], waitInfo(w))
	}
	return out, nil
}

// setWaits sets a run's open waits and its earliest deadline.
func setWaits(r *Run, open []*WaitInfo) {
	r.Waits = open
	r.WaitingUntil = time.Time{}
	for _, w := range open {
		if !w.Deadline.IsZero() && (r.WaitingUntil.IsZero() || w.Deadline.Before(r.WaitingUntil)) {
			r.WaitingUntil = w.Deadline
		}
	}
}
