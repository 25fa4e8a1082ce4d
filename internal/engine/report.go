package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchyard/switchyard/internal/engine/groupcommit"
	"github.com/switchyard/switchyard/internal/store"
)

// Reports that end attempts (a worker's CompleteTask and FailTask, the
// reaper's lost attempts) share transactions like single pushes do: a report
// that arrives while others commit joins the next group, whose transaction
// locks the runs of all its reports in one statement and reads their tasks in
// another. Each report keeps its own answer: a stale or unknown one is refused
// alone and changes nothing, and a group that fails as a whole is applied
// again report by report, so that one report never fails another.

// reportGroups bounds the group commit of attempt reports.
var reportGroups = groupcommit.Bounds{
	MaxSize:     256,  // reports in one transaction
	MaxInFlight: 4,    // transactions committing at once
	MaxPending:  4096, // reports waiting; more is overload, answered unavailable
}

// reportItem is one attempt report on its way into the database.
type reportItem struct {
	tenantID string
	report   attemptReport

	willRetry bool
	err       error // the report's own answer: refused as stale, or unknown
}

// finishAttempt applies a report to its task ([Engine.applyReport]) in a
// transaction it may share with concurrent reports. It reports whether a
// failed task will be retried.
func (e *Engine) finishAttempt(ctx context.Context, tenantID string, r attemptReport) (willRetry bool, err error) {
	it := &reportItem{tenantID: tenantID, report: r}
	err = e.reports.Do(ctx, it)
	switch {
	case err == nil:
		err = it.err
	case errors.Is(err, groupcommit.ErrFull):
		err = fmt.Errorf("%w: %d reports are waiting for the database already", store.ErrUnavailable, reportGroups.MaxPending)
	}
	if err = answer(err, &Error{Kind: KindNotFound, Message: fmt.Sprintf("task %s not found", r.TaskID)}, "finish attempt %d of task %s", r.Attempt, r.TaskID); err != nil {
		return false, err
	}
	return it.willRetry, nil
}

// commitReports writes a group of reports in one transaction. When that
// fails, each report is written in its own, so that the group's failure is
// only the answer of the reports that fail alone.
func (e *Engine) commitReports(ctx context.Context, items []*reportItem) error {
	err := e.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
		return e.applyReports(ctx, q, sig, items)
	})
	if err == nil || len(items) == 1 || ctx.Err() != nil {
		return err
	}
	for _, it := range items {
		werr := e.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
			return e.applyReports(ctx, q, sig, []*reportItem{it})
		})
		if werr != nil {
			it.err = werr
		}
	}
	return nil
}

// applyReports applies reports in the caller's transaction, in their order,
// under the locks of their runs. A report's own refusal goes into its err;
// only database failures are returned. Everything is read first, under the
// locks; the task and run writes of all reports are held and sent at the end
// in one round trip (see [store.Q.HoldWrites]).
func (e *Engine) applyReports(ctx context.Context, q store.Q, sig *signals, items []*reportItem) error {
	q = q.HoldWrites()
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.report.TaskID
	}
	locked, err := lockRuns(ctx, q, ids)
	if err != nil {
		return err
	}
	for _, it := range items {
		it.willRetry, it.err = e.applyReport(ctx, q, sig, locked, it.tenantID, it.report)
		var ee *Error
		if it.err != nil && !errors.Is(it.err, store.ErrNotFound) && !errors.As(it.err, &ee) {
			return it.err
		}
	}
	return q.FlushWrites(ctx)
}

// lockedRuns are runs a transaction locked, with their tasks as read under
// the locks.
type lockedRuns struct {
	runs  map[string]*store.Run    // by id
	tasks map[string][]*store.Task // by run id, in creation order
	byID  map[string]*store.Task   // every task of the runs, by id
}

// lockRuns locks the runs of the tasks with the given ids and reads their
// tasks: changes to one run take turns, always in the order run, then tasks.
func lockRuns(ctx context.Context, q store.Q, taskIDs []string) (*lockedRuns, error) {
	runs, err := q.RunLockByTasks(ctx, taskIDs)
	if err != nil {
		return nil, err
	}
	l := &lockedRuns{runs: make(map[string]*store.Run, len(runs)), byID: make(map[string]*store.Task, len(taskIDs))}
	for _, r := range runs {
		l.runs[r.ID] = r
	}
	if l.tasks, err = q.TaskListByRuns(ctx, pluck(runs, func(r *store.Run) string { return r.ID })); err != nil {
		return nil, err
	}
	for _, ts := range l.tasks {
		for _, t := range ts {
			l.byID[t.ID] = t
		}
	}
	return l, nil
}

// task returns the tenant's task with the id, its run and the run's tasks, or
// nils when the tenant has no such task among the locked runs.
func (l *lockedRuns) task(tenantID, id string) (*store.Run, []*store.Task, *store.Task) {
	t := l.byID[id]
	if t == nil {
		return nil, nil, nil
	}
	run := l.runs[t.RunID]
	if run == nil || run.TenantID != tenantID || t.TenantID != tenantID {
		return nil, nil, nil
	}
	return run, l.tasks[run.ID], t
}
