package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/uptrace/bun"
)

// Held writes: the Q that [Q.HoldWrites] returns keeps what [Q.TaskUpdate],
// [Q.RunSetStatus] and [Q.RunSetWaiting] would write until [Q.FlushWrites]
// sends it all, each row once with its latest state, as one script: one
// round trip for a transaction that changes many rows. Reads through it do
// not see held writes, so it suits a transaction that reads everything it
// needs first (under its locks) and then only writes.

// heldWrites are the rows a transaction changed and has not written yet, in
// the order each was first changed, each with its latest state.
type heldWrites struct {
	tasks   []*Task
	runs    []*Run
	waiting map[string]bool // run id → waiting, see RunSetWaiting
	at      map[string]int  // "task:"/"run:" + id → index in tasks or runs
}

// HoldWrites returns q with its task and run writes held until FlushWrites.
func (q Q) HoldWrites() Q {
	q.held = &heldWrites{at: map[string]int{}, waiting: map[string]bool{}}
	return q
}

func (h *heldWrites) holdTask(t *Task) {
	if i, ok := h.at["task:"+t.ID]; ok {
		h.tasks[i] = t
		return
	}
	h.at["task:"+t.ID] = len(h.tasks)
	h.tasks = append(h.tasks, t)
}

func (h *heldWrites) holdRun(r *Run) {
	if i, ok := h.at["run:"+r.ID]; ok {
		h.runs[i] = r
		return
	}
	h.at["run:"+r.ID] = len(h.runs)
	h.runs = append(h.runs, r)
}

// FlushWrites sends the held writes, runs first (in the order of their ids),
// then tasks in the order of their ids, in one round trip, and holds nothing
// more until the next write. It does nothing for a q that holds nothing.
func (q Q) FlushWrites(ctx context.Context) error {
	h := q.held
	if h == nil || len(h.tasks)+len(h.runs)+len(h.waiting) == 0 {
		return nil
	}
	var script strings.Builder
	direct := Q{db: q.db, channel: q.channel}
	slices.SortStableFunc(h.runs, func(a, b *Run) int { return strings.Compare(a.ID, b.ID) })
	for _, r := range h.runs {
		script.WriteString(direct.runSetStatus(r).String())
		script.WriteString(";\n")
	}
	for _, want := range []bool{true, false} {
		var ids []string
		for id, w := range h.waiting {
			if w == want {
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 {
			slices.Sort(ids)
			script.WriteString(direct.runSetWaiting(ids, want).String())
			script.WriteString(";\n")
		}
	}
	// Tasks in the order of their ids, the order in which every statement
	// that locks several tasks locks them, so that none waits for another
	// in a circle (runs are locked before, by the reads under their locks).
	slices.SortStableFunc(h.tasks, func(a, b *Task) int { return strings.Compare(a.ID, b.ID) })
	for _, t := range h.tasks {
		script.WriteString(direct.taskUpdate(t).String())
		script.WriteString(";\n")
	}
	n := len(h.tasks) + len(h.runs) + len(h.waiting)
	h.tasks, h.runs, h.at, h.waiting = nil, nil, map[string]int{}, map[string]bool{}
	if _, err := q.db.ExecContext(ctx, script.String()); err != nil {
		return fmt.Errorf("write %d held rows: %w", n, err)
	}
	return nil
}

// runSetWaiting is the update of RunSetWaiting for runs.
func (q Q) runSetWaiting(ids []string, waiting bool) *bun.UpdateQuery {
	return q.db.NewUpdate().Model((*Run)(nil)).Set("waiting = ?", waiting).Where("id IN (?)", bun.List(ids))
}
