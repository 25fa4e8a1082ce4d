package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// resolveBatch bounds the tasks one look of the resolver takes on, all in
// one transaction whose statements serve the whole batch.
const resolveBatch = 200

// resolveWaits is the wait resolver's job, on every server: woken by a
// push that satisfied waits, a run that ended, a new deadline, and its own
// timer at the earliest deadline. It arms declared waits, times out and
// wakes what came due, decides the waits whose rows changed and hands their
// tasks back, a batch of tasks per transaction under their runs' locks;
// rows change only from open, so a wait resolves once whichever server gets
// there.
func (e *Engine) resolveWaits(ctx context.Context) (time.Duration, error) {
	now := e.now()
	var work []store.WaitWork
	var next time.Time
	err := e.store.Read(ctx, func(ctx context.Context, q store.Q) (err error) {
		work, next, err = q.WaitListWork(ctx, now, resolveBatch)
		return err
	})
	if err != nil {
		return busy, err
	}
	if len(work) == 0 {
		if next.IsZero() {
			return nothingDue, nil
		}
		return max(next.Sub(e.now()), time.Millisecond), nil
	}
	resolved := 0
	err = e.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
		// What the resolver writes is decided again from the waits' rows,
		// whose outcomes were stored (flushed) by the pushes, deadlines and
		// ends that decided them: a database crash that loses this commit
		// loses nothing the resolver does not redo.
		if err := q.TxCommitUnflushed(ctx); err != nil {
			return err
		}
		var err error
		resolved, err = e.resolveTasks(ctx, q, sig, work, e.now())
		return err
	})
	if err == nil && resolved == 0 {
		// Other transactions (another server's resolver) hold every run of
		// the work: look again once they are likely done.
		return resolveHeldRetry, nil
	}
	return busy, err
}

// resolveHeldRetry is how soon the resolver looks again when other
// transactions held the runs of all the work it found.
const resolveHeldRetry = 20 * time.Millisecond

// waitingTask is a task of a batch of the resolver, with its run (locked),
// the run's tasks and the task's wait rows, oldest first.
type waitingTask struct {
	run   *store.Run
	tasks []*store.Task
	t     *store.Task
	rows  []*store.Wait
}

// decidedWait is a resolved wait of a waiting task, to record and act on.
type decidedWait struct {
	*waitingTask
	step string
	rows []*store.Wait
	res  *WaitResult
}

// resolveTasks does the resolver's work on a batch of tasks in one
// transaction: the keys' locks of their pending rows (before any other
// lock), their runs' locks in one statement (a run another transaction
// holds is left for the next look), their tasks and rows in one statement
// each; then it decides in memory and writes each kind of change in one
// statement for the batch. It returns how many of the work's runs it
// locked or found gone.
func (e *Engine) resolveTasks(ctx context.Context, q store.Q, sig *signals, work []store.WaitWork, now time.Time) (int, error) {
	taskIDs := pluck(work, func(w store.WaitWork) string { return w.TaskID })
	before, err := q.WaitListByTasks(ctx, taskIDs)
	if err != nil {
		return 0, err
	}
	keys, locked := pendingKeys(before)
	// The keys' locks come before the runs' (see store.Q.WaitKeysLock).
	if err := q.WaitKeysLock(ctx, keys, false); err != nil {
		return 0, err
	}
	runIDs := slices.Compact(slices.Sorted(slices.Values(pluck(work, func(w store.WaitWork) string { return w.RunID }))))
	runs, err := q.RunLockMany(ctx, runIDs)
	if err != nil {
		return 0, err
	}
	gone, err := cancelOfGoneRuns(ctx, q, work, runs, before, now)
	if err != nil {
		return 0, err
	}
	runIDs = pluck(runs, func(r *store.Run) string { return r.ID })
	tasksByRun, err := q.TaskListByRuns(ctx, runIDs)
	if err != nil {
		return 0, err
	}
	batch := waitingTasks(work, runs, tasksByRun)
	rows, err := q.WaitListByTasks(ctx, pluck(batch, func(w *waitingTask) string { return w.t.ID }))
	if err != nil {
		return 0, err
	}
	byTask := map[string][]*store.Wait{}
	for _, r := range rows {
		byTask[r.TaskID] = append(byTask[r.TaskID], r)
	}
	for _, w := range batch {
		w.rows = byTask[w.t.ID]
	}
	if batch, err = e.armBatch(ctx, q, sig, batch, locked, now); err != nil {
		return 0, err
	}
	if batch, err = timeOutBatch(ctx, q, batch, now); err != nil {
		return 0, err
	}
	decided, cancel, handled := decideBatch(batch, now)
	if err := e.resultsOf(ctx, q, decided); err != nil {
		return 0, err
	}
	hq := q.HoldWrites()
	steps, err := e.resumeBatch(ctx, hq, sig, decided, now)
	if err != nil {
		return 0, err
	}
	for _, w := range batch {
		if err := syncRunWaiting(ctx, hq, w.run, w.tasks); err != nil {
			return 0, err
		}
	}
	if err := q.WaitCancel(ctx, cancel, now); err != nil {
		return 0, err
	}
	if err := q.WaitSetHandledMany(ctx, handled); err != nil {
		return 0, err
	}
	if err := q.StepInsertMany(ctx, steps); err != nil {
		return 0, err
	}
	return len(runs) + gone, hq.FlushWrites(ctx)
}

// pendingKeys are the lock keys of the pending event rows among rows (a
// declared wait armed by the resolver), and them as a set.
func pendingKeys(rows []*store.Wait) ([]store.WaitLockKey, map[store.WaitLockKey]bool) {
	var keys []store.WaitLockKey
	set := map[store.WaitLockKey]bool{}
	for _, r := range rows {
		if r.State == store.WaitPending && r.Kind == store.WaitKindEvent {
			k := lockKeyOf(r.TenantID, r.Key)
			if !set[k] {
				set[k] = true
				keys = append(keys, k)
			}
		}
	}
	return keys, set
}

// cancelOfGoneRuns cancels the waits of the tasks of work whose run is gone
// (pruned): nothing waits any more. A run not among the locked ones may also
// be held by another transaction: it is left for the next look.
func cancelOfGoneRuns(ctx context.Context, q store.Q, work []store.WaitWork, runs []*store.Run, rows []*store.Wait, now time.Time) (int, error) {
	have := map[string]bool{}
	for _, r := range runs {
		have[r.ID] = true
	}
	var missing []string
	for _, w := range work {
		if !have[w.RunID] {
			missing = append(missing, w.RunID)
		}
	}
	if len(missing) == 0 {
		return 0, nil
	}
	exist, err := q.RunIDsExisting(ctx, missing)
	if err != nil {
		return 0, err
	}
	var cancel, handled []string
	gone := map[string]bool{}
	for _, r := range rows {
		if have[r.RunID] || exist[r.RunID] {
			continue
		}
		gone[r.RunID] = true
		handled = append(handled, r.ID)
		if r.State == store.WaitOpen || r.State == store.WaitPending {
			cancel = append(cancel, r.ID)
		}
	}
	if err := q.WaitCancel(ctx, cancel, now); err != nil {
		return 0, err
	}
	return len(gone), q.WaitSetHandledMany(ctx, handled)
}

// waitingTasks are the tasks of work whose runs are locked, each once, in
// the order of work but those of runs that spawned child runs last: a run
// that ends may cancel its children, and a child whose task the batch
// resolved before has it cancelled after (not the other way round).
func waitingTasks(work []store.WaitWork, runs []*store.Run, tasksByRun map[string][]*store.Task) []*waitingTask {
	byID := map[string]*store.Run{}
	for _, r := range runs {
		byID[r.ID] = r
	}
	var out []*waitingTask
	seen := map[string]bool{}
	for _, w := range work {
		run := byID[w.RunID]
		if run == nil || seen[w.TaskID] {
			continue
		}
		seen[w.TaskID] = true
		tasks := tasksByRun[run.ID]
		if i := slices.IndexFunc(tasks, func(t *store.Task) bool { return t.ID == w.TaskID }); i >= 0 {
			out = append(out, &waitingTask{run: run, tasks: tasks, t: tasks[i]})
		}
	}
	slices.SortStableFunc(out, func(a, b *waitingTask) int {
		if a.run.HasChildren == b.run.HasChildren {
			return 0
		}
		if a.run.HasChildren {
			return 1
		}
		return -1
	})
	return out
}

// armBatch arms the declared waits' pending rows of the batch: it looks
// back for events since each task became ready and opens the rest, in one
// round trip for the batch. A task with a pending event row whose key's
// lock the batch does not hold (stored after the batch's first look) is left
// for the next look.
func (e *Engine) armBatch(ctx context.Context, q store.Q, sig *signals, batch []*waitingTask, locked map[store.WaitLockKey]bool, now time.Time) ([]*waitingTask, error) {
	var armed []*store.Wait
	out := batch[:0:0]
	for _, w := range batch {
		var pending []*store.Wait
		later := false
		for _, r := range w.rows {
			if r.State == store.WaitPending {
				pending = append(pending, r)
				later = later || (r.Kind == store.WaitKindEvent && !locked[lockKeyOf(r.TenantID, r.Key)])
			}
		}
		if later {
			continue
		}
		out = append(out, w)
		if len(pending) == 0 || w.run.Status != store.RunActive || w.t.Status != store.TaskWaiting {
			continue
		}
		if err := e.armWaits(ctx, q, w.run, pending, now); err != nil {
			return nil, err
		}
		armed = append(armed, pending...)
	}
	if err := q.WaitArmMany(ctx, armed); err != nil {
		return nil, err
	}
	signalDeadline(sig, armed)
	return out, nil
}

// timeOutBatch resolves the batch's open rows whose deadline passed: a
// sleep is satisfied, an event condition timed out; one statement for each.
// A task with a row that a push satisfied meanwhile is left for the next
// look (the row is there to handle).
func timeOutBatch(ctx context.Context, q store.Q, batch []*waitingTask, now time.Time) ([]*waitingTask, error) {
	var sleeps, events []string
	for _, w := range batch {
		for _, r := range w.rows {
			if r.State != store.WaitOpen || r.Deadline.IsZero() || r.Deadline.After(now) {
				continue
			}
			if r.Kind == store.WaitKindSleep {
				sleeps = append(sleeps, r.ID)
			} else {
				events = append(events, r.ID)
			}
		}
	}
	if len(sleeps)+len(events) == 0 {
		return batch, nil
	}
	slept, err := q.WaitSatisfy(ctx, sleeps, "", now)
	if err != nil {
		return nil, err
	}
	timedOut, err := q.WaitTimeOut(ctx, events, now)
	if err != nil {
		return nil, err
	}
	done := map[string]string{}
	for _, id := range slept {
		done[id] = store.WaitSatisfied
	}
	for _, id := range timedOut {
		done[id] = store.WaitTimedOut
	}
	out := batch[:0:0]
	for _, w := range batch {
		missed := false
		for _, r := range w.rows {
			if r.State != store.WaitOpen || r.Deadline.IsZero() || r.Deadline.After(now) {
				continue
			}
			if s, ok := done[r.ID]; ok {
				r.State, r.ResolvedAt = s, store.TimeOf(now)
			} else {
				missed = true
			}
		}
		if !missed {
			out = append(out, w)
		}
	}
	return out, nil
}

// decideBatch decides the waits of the batch whose rows changed: it returns
// the resolved waits of tasks that wait on them, the open rows to cancel
// (the losers of ANY waits) and the rows now taken into account.
func decideBatch(batch []*waitingTask, now time.Time) (decided []*decidedWait, cancel, handled []string) {
	for _, w := range batch {
		var order []string
		steps := map[string][]*store.Wait{}
		for _, r := range w.rows {
			if steps[r.Step] == nil {
				order = append(order, r.Step)
			}
			steps[r.Step] = append(steps[r.Step], r)
		}
		for _, step := range order {
			rows := steps[step]
			if !slices.ContainsFunc(rows, func(r *store.Wait) bool { return !r.Handled && r.State != store.WaitOpen }) {
				continue
			}
			done, winner, _ := decideWait(rows)
			if done && winner != nil {
				for _, r := range rows {
					if r.State == store.WaitOpen || r.State == store.WaitPending {
						cancel = append(cancel, r.ID)
					}
				}
				cancelLosers(rows, winner, now)
			}
			for _, r := range rows {
				if r.State != store.WaitOpen && !r.Handled {
					r.Handled = true
					handled = append(handled, r.ID)
				}
			}
			if done && w.t.Status == store.TaskWaiting && w.run.Status == store.RunActive {
				decided = append(decided, &decidedWait{waitingTask: w, step: step, rows: rows})
			}
		}
	}
	return decided, cancel, handled
}

// resultsOf computes the results of the decided waits, with the events that
// satisfied them read in one statement per tenant.
func (e *Engine) resultsOf(ctx context.Context, q store.Q, decided []*decidedWait) error {
	ids := map[string][]string{}
	for _, d := range decided {
		for _, r := range d.rows {
			if r.EventID != "" {
				ids[r.TenantID] = append(ids[r.TenantID], r.EventID)
			}
		}
	}
	events := map[string]*store.Event{}
	for tenantID, evIDs := range ids {
		got, err := q.EventGetMany(ctx, tenantID, slices.Compact(slices.Sorted(slices.Values(evIDs))))
		if err != nil {
			return err
		}
		for id, ev := range got {
			events[id] = ev
		}
	}
	for _, d := range decided {
		res, err := waitResultWith(ctx, q, d.rows, events)
		if err != nil {
			return err
		}
		d.res = res
	}
	return nil
}

// resumeBatch hands the tasks of the decided waits back (an SDK wait's task
// is queued, a declared wait's task goes on as it declares), through hq
// (its writes held), and returns the WAIT steps to record. A task that an
// earlier change of the batch moved on (its run ended) is left as it is.
func (e *Engine) resumeBatch(ctx context.Context, hq store.Q, sig *signals, decided []*decidedWait, now time.Time) ([]*store.Step, error) {
	var steps []*store.Step
	for _, d := range decided {
		run, t := d.run, d.t
		if t.Status != store.TaskWaiting || run.Status != store.RunActive {
			continue
		}
		text, err := json.Marshal(d.res)
		if err != nil {
			return nil, fmt.Errorf("encode wait result: %w", err)
		}
		steps = append(steps, &store.Step{TenantID: t.TenantID, TaskID: t.ID, Name: d.step, Kind: store.StepWait,
			WaitResult: string(text), CreatedAt: store.TimeOf(now)})
		sig.add(signalRun + run.ID)
		if d.step == declaredStep {
			if err := e.declaredResolved(ctx, hq, sig, run, d.tasks, t, d.res, now); err != nil {
				return nil, err
			}
			continue
		}
		t.Resumes++
		e.queue(t, now)
		sig.add(signalTasks)
		sig.record(taskQueued(t))
		if err := hq.TaskUpdate(ctx, t); err != nil {
			return nil, err
		}
	}
	return steps, nil
}

// waitResultWith is how a decided wait (its rows) ended, with the events
// that satisfied its rows among events (by id).
func waitResultWith(ctx context.Context, q store.Q, rows []*store.Wait, events map[string]*store.Event) (*WaitResult, error) {
	_, winner, timedOut := decideWait(rows)
	res := &WaitResult{TimedOut: timedOut, Conditions: make([]ConditionResult, 0, len(rows))}
	if winner != nil && rows[0].Mode == WaitAny {
		res.Winner = winner.Cond
	}
	sorted := slices.Clone(rows)
	slices.SortFunc(sorted, func(a, b *store.Wait) int { return cmp.Compare(a.Seq, b.Seq) })
	for _, w := range sorted {
		c := ConditionResult{Name: w.Cond, State: waitState(w.State), ResolvedAt: w.ResolvedAt.Time}
		if ev := events[w.EventID]; w.EventID != "" && ev != nil {
			c.Event = eventFromRow(ev)
		}
		if w.Kind == store.WaitKindChild {
			child, err := childResult(ctx, q, w.TenantID, w.ChildRunID)
			if err != nil {
				return nil, err
			}
			c.Child = child
		}
		res.Conditions = append(res.Conditions, c)
	}
	return res, nil
}
