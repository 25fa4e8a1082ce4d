package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// resolveBatch bounds the tasks one look of the resolver takes on.
const resolveBatch = 100

// resolveWorkers is how many of them it resolves at once, each task in its
// own transaction: a resolution is a dozen statements in a row, so one at a
// time bounds the wake-ups to what one connection's round trips allow. Tasks
// of one run take turns on the run's lock, behind the keys' locks (sorted).
const resolveWorkers = 4

// resolveWaits is the wait resolver's job, on every server: woken by a
// push that satisfied waits, a run that ended, a new deadline, and its own
// timer at the earliest deadline. It arms declared waits, times out and
// wakes what came due, decides the waits whose rows changed and hands their
// tasks back. Each task is resolved in its own transaction under its run's
// lock; rows change only from open, so a wait resolves once whichever server
// gets there.
func (e *Engine) resolveWaits(ctx context.Context) (time.Duration, error) {
	now := e.now()
	work, err := read(ctx, e.store, func(ctx context.Context, q store.Q) ([]store.WaitWork, error) {
		return q.WaitListWork(ctx, now, resolveBatch)
	})
	if err != nil {
		return busy, err
	}
	if len(work) == 0 {
		next, err := read(ctx, e.store, func(ctx context.Context, q store.Q) (time.Time, error) { return q.WaitNextDeadline(ctx) })
		if err != nil || next.IsZero() {
			return nothingDue, err
		}
		return max(next.Sub(e.now()), time.Millisecond), nil
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	next := make(chan store.WaitWork)
	for range min(resolveWorkers, len(work)) {
		wg.Go(func() {
			for w := range next {
				err := e.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
					return e.resolveTask(ctx, q, sig, w, e.now())
				})
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, w := range work {
		if ctx.Err() != nil {
			break
		}
		next <- w
	}
	close(next)
	wg.Wait()
	return busy, errors.Join(errs...)
}

// resolveTask does the resolver's work on one task's waits.
func (e *Engine) resolveTask(ctx context.Context, q store.Q, sig *signals, w store.WaitWork, now time.Time) error {
	rows, err := q.WaitListByTask(ctx, w.TaskID)
	if err != nil {
		return err
	}
	var keys []store.WaitLockKey
	for _, r := range rows {
		if r.State == store.WaitPending && r.Kind == store.WaitKindEvent {
			keys = append(keys, lockKeyOf(r.TenantID, r.Key))
		}
	}
	// The keys' locks come before the run's (see store.Q.WaitKeysLock).
	if err := q.WaitKeysLock(ctx, keys, false); err != nil {
		return err
	}
	run, tasks, t, err := lockTask(ctx, q, w.TenantID, w.TaskID)
	if errors.Is(err, store.ErrNotFound) {
		// The run is gone (pruned): nothing waits any more.
		return q.WaitCancelOpen(ctx, w.RunID, w.TaskID, "", now)
	}
	if err != nil {
		return err
	}
	if rows, err = q.WaitListByTask(ctx, t.ID); err != nil {
		return err
	}
	if err := e.armPending(ctx, q, sig, run, t, rows, now); err != nil {
		return err
	}
	if err := timeOutDue(ctx, q, rows, now); err != nil {
		return err
	}
	steps := map[string][]*store.Wait{}
	var order []string
	for _, r := range rows {
		if steps[r.Step] == nil {
			order = append(order, r.Step)
		}
		steps[r.Step] = append(steps[r.Step], r)
	}
	for _, step := range order {
		if err := e.resolveStep(ctx, q, sig, run, tasks, t, step, steps[step], now); err != nil {
			return err
		}
	}
	return syncRunWaiting(ctx, q, run, tasks)
}

// armPending arms a declared wait's pending rows: it looks back for events
// since the task became ready and opens the rest.
func (e *Engine) armPending(ctx context.Context, q store.Q, sig *signals, run *store.Run, t *store.Task, rows []*store.Wait, now time.Time) error {
	var pending []*store.Wait
	for _, r := range rows {
		if r.State == store.WaitPending {
			pending = append(pending, r)
		}
	}
	if len(pending) == 0 || run.Status != store.RunActive || t.Status != store.TaskWaiting {
		return nil
	}
	if err := e.armWaits(ctx, q, run, pending, now); err != nil {
		return err
	}
	for _, r := range pending {
		if err := q.WaitArm(ctx, r); err != nil {
			return err
		}
	}
	signalDeadline(sig, pending)
	return nil
}

// timeOutDue resolves the open rows whose deadline passed: a sleep is
// satisfied, an event condition timed out.
func timeOutDue(ctx context.Context, q store.Q, rows []*store.Wait, now time.Time) error {
	for _, r := range rows {
		if r.State != store.WaitOpen || r.Deadline.IsZero() || r.Deadline.After(now) {
			continue
		}
		var done []string
		var err error
		if r.Kind == store.WaitKindSleep {
			done, err = q.WaitSatisfy(ctx, []string{r.ID}, "", now)
		} else {
			done, err = q.WaitTimeOut(ctx, []string{r.ID}, now)
		}
		if err != nil {
			return err
		}
		if len(done) == 1 {
			r.State, r.ResolvedAt = store.WaitTimedOut, store.TimeOf(now)
			if r.Kind == store.WaitKindSleep {
				r.State = store.WaitSatisfied
			}
		}
	}
	return nil
}

// resolveStep decides one wait of the task; when it is resolved and the
// task waits on it, the result is recorded and the task moves on.
func (e *Engine) resolveStep(ctx context.Context, q store.Q, sig *signals, run *store.Run, tasks []*store.Task, t *store.Task, step string, rows []*store.Wait, now time.Time) error {
	handled := true
	for _, r := range rows {
		handled = handled && (r.Handled || r.State == store.WaitOpen)
	}
	if handled {
		return nil
	}
	done, winner, _ := decideWait(rows)
	if done && winner != nil {
		if err := q.WaitCancelOpen(ctx, run.ID, t.ID, step, now); err != nil {
			return err
		}
		cancelLosers(rows, winner, now)
	}
	if err := q.WaitSetHandled(ctx, t.ID, step); err != nil {
		return err
	}
	if !done || t.Status != store.TaskWaiting || run.Status != store.RunActive {
		return nil
	}
	res, err := e.recordWaitResult(ctx, q, t, step, rows, now)
	if err != nil {
		return err
	}
	sig.add(signalRun + run.ID)
	if step == declaredStep {
		return e.declaredResolved(ctx, q, sig, run, tasks, t, res, now)
	}
	t.Resumes++
	e.queue(t, now)
	sig.add(signalTasks)
	sig.record(taskQueued(t))
	return q.TaskUpdate(ctx, t)
}
