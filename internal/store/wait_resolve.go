package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// The wait resolver's set-based statements: it resolves a batch of tasks in
// one transaction, and each statement here serves the whole batch.

// WaitListByTasks returns the wait rows of tasks, each task's oldest first
// (by creation, then position in the spec); one statement.
func (q Q) WaitListByTasks(ctx context.Context, taskIDs []string) ([]*Wait, error) {
	if len(taskIDs) == 0 {
		return nil, nil
	}
	var rows []*Wait
	err := q.db.NewSelect().Model(&rows).Where("task_id IN (?)", bun.List(taskIDs)).OrderExpr("task_id, created_at, seq").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("waits of %d tasks: %w", len(taskIDs), err)
	}
	return rows, nil
}

// WaitArmMany opens pending rows (state open) or resolves them at once, as
// [Q.WaitArm] does for each, in one round trip.
func (q Q) WaitArmMany(ctx context.Context, rows []*Wait) error {
	if len(rows) == 0 {
		return nil
	}
	var script strings.Builder
	for _, w := range rows {
		script.WriteString(q.db.NewUpdate().Model(w).Column("state", "match", "event_id", "resolved_at", "deadline", "lookback_from").
			WherePK().Where("state = ?", WaitPending).String())
		script.WriteString(";\n")
	}
	if _, err := q.db.ExecContext(ctx, script.String()); err != nil {
		return fmt.Errorf("arm %d waits: %w", len(rows), err)
	}
	return nil
}

// WaitCancel cancels the unresolved rows among ids at now; cancelled rows
// count as handled. One statement.
func (q Q) WaitCancel(ctx context.Context, ids []string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := q.db.NewUpdate().Model((*Wait)(nil)).
		Set("state = ?, resolved_at = ?, handled = TRUE", WaitCancelled, TimeOf(now)).
		Where("id IN (?) AND state IN (?)", bun.List(slices.Sorted(slices.Values(ids))), bun.List([]string{WaitOpen, WaitPending})).Exec(ctx)
	if err != nil {
		return fmt.Errorf("cancel %d waits: %w", len(ids), err)
	}
	return nil
}

// WaitSetHandledMany records that the resolver took the rows among ids into
// account (those still open excepted). One statement.
func (q Q) WaitSetHandledMany(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := q.db.NewUpdate().Model((*Wait)(nil)).Set("handled = TRUE").
		Where("id IN (?) AND state <> ?", bun.List(slices.Sorted(slices.Values(ids))), WaitOpen).Exec(ctx)
	if err != nil {
		return fmt.Errorf("mark %d waits handled: %w", len(ids), err)
	}
	return nil
}

// WaitSatisfyMany marks, for each event id, the open rows among its ids
// satisfied by that event at now, in one round trip: a row changes once.
func (q Q) WaitSatisfyMany(ctx context.Context, idsByEvent map[string][]string, now time.Time) error {
	var script strings.Builder
	for _, eventID := range slices.Sorted(func(yield func(string) bool) {
		for id := range idsByEvent {
			if !yield(id) {
				return
			}
		}
	}) {
		ids := idsByEvent[eventID]
		if len(ids) == 0 {
			continue
		}
		script.WriteString(q.db.NewUpdate().Model((*Wait)(nil)).
			Set("state = ?, event_id = ?, resolved_at = ?", WaitSatisfied, eventID, TimeOf(now)).
			Where("id IN (?) AND state = ?", bun.List(slices.Sorted(slices.Values(ids))), WaitOpen).String())
		script.WriteString(";\n")
	}
	if script.Len() == 0 {
		return nil
	}
	if _, err := q.db.ExecContext(ctx, script.String()); err != nil {
		return fmt.Errorf("satisfy waits with %d events: %w", len(idsByEvent), err)
	}
	return nil
}

// RunLockMany locks the runs with the given ids (of any tenant) that no
// other transaction holds (on Postgres; SQLite's writers take turns) until
// the transaction ends, in the order of their ids, and returns them; a run
// that another transaction holds, or that is gone, is left out. One
// statement.
func (q Q) RunLockMany(ctx context.Context, ids []string) ([]*Run, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var runs []*Run
	sel := q.db.NewSelect().Model(&runs).Where("id IN (?)", bun.List(ids)).OrderExpr("id")
	if q.postgres() {
		sel.For("UPDATE SKIP LOCKED")
	}
	if err := sel.Scan(ctx); err != nil {
		return nil, fmt.Errorf("lock %d runs: %w", len(ids), err)
	}
	return runs, nil
}

// RunIDsExisting returns which of the run ids (of any tenant) are stored.
func (q Q) RunIDsExisting(ctx context.Context, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	var found []string
	if err := q.db.NewSelect().Model((*Run)(nil)).Column("id").Where("id IN (?)", bun.List(ids)).Scan(ctx, &found); err != nil {
		return nil, fmt.Errorf("find %d runs: %w", len(ids), err)
	}
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}

// StepInsertMany records steps, each unless its name is recorded for its
// task already (the first record wins), numbered after their task's last
// step (in their order; a step already recorded leaves a gap): two
// statements whatever their number. The caller holds the locks of
// the tasks' runs, so that no other step of those tasks is recorded
// meanwhile.
func (q Q) StepInsertMany(ctx context.Context, steps []*Step) error {
	if len(steps) == 0 {
		return nil
	}
	var last []struct {
		TaskID string `bun:"task_id"`
		Seq    int64  `bun:"seq"`
	}
	taskIDs := slices.Compact(slices.Sorted(func(yield func(string) bool) {
		for _, s := range steps {
			if !yield(s.TaskID) {
				return
			}
		}
	}))
	err := q.db.NewSelect().Model((*Step)(nil)).ColumnExpr("task_id, MAX(seq) AS seq").
		Where("task_id IN (?)", bun.List(taskIDs)).Group("task_id").Scan(ctx, &last)
	if err != nil {
		return fmt.Errorf("record %d steps: %w", len(steps), err)
	}
	seq := make(map[string]int64, len(last))
	for _, l := range last {
		seq[l.TaskID] = l.Seq
	}
	for _, s := range steps {
		if s.Result == "" {
			s.Result = "null"
		}
		if s.ChildRunIDs.V == nil {
			s.ChildRunIDs.V = []string{}
		}
		seq[s.TaskID]++
		s.Seq = seq[s.TaskID]
	}
	if _, err := q.db.NewInsert().Model(&steps).On("CONFLICT (task_id, name) DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("record %d steps: %w", len(steps), err)
	}
	return nil
}
