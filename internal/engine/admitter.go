package engine

import (
	"context"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// runAdmitter starts stored runs that wait: SCHEDULED ones whose time came, WAITING ones whose group has room.
// It owns the moves out of those two states; the engine's run rules say what starting a run does.
type runAdmitter struct {
	store *store.Store
	write writeFunc
	now   func() time.Time
	runs  runRules
	ahead time.Duration // how far ahead admitDue looks for the next run due (IdleInterval)
}

// runRules are the engine's rules for a run's progress that the admitter
// applies once a run is admitted.
type runRules interface {
	// advance queues the tasks that became ready and ends the run when all succeeded.
	advance(ctx context.Context, q store.Q, sig *signals, run *store.Run, tasks []*store.Task, now time.Time) error
	// endRun ends an active run as failed or cancelled.
	endRun(ctx context.Context, q store.Q, sig *signals, run *store.Run, tasks []*store.Task, status, msg string, now time.Time) error
	// cancelActive cancels a stored run that is still active.
	cancelActive(ctx context.Context, q store.Q, sig *signals, r *store.Run, reason string, now time.Time) error
}

// admitStored moves a stored run on from SCHEDULED or WAITING (from) when it
// passes its gate; the move is a compare-and-set, so exactly one process makes
// it. g is the run's locked group (nil without a concurrency key).
func (a *runAdmitter) admitStored(ctx context.Context, q store.Q, sig *signals, g *gate, r *store.Run, from string, now time.Time) error {
	var displaced []*store.Run
	if g == nil {
		r.Status = store.RunActive
	} else if displaced = g.admit(r); r.Status == store.RunWaiting && from == store.RunWaiting {
		return nil // still waiting
	}
	r.UpdatedAt = store.TimeOf(now)
	if r.Status == store.RunCancelled {
		r.FinishedAt = r.UpdatedAt
	}
	ok, err := q.RunSetStatusIf(ctx, r, from)
	if err != nil || !ok {
		return err
	}
	sig.add(signalRun + r.ID)
	sig.record(change{msg: "run admitted", attrs: []any{"run_id", r.ID, "workflow", r.WorkflowName, "from", from, "status", r.Status}})
	for _, d := range displaced {
		if err := a.runs.cancelActive(ctx, q, sig, d, displacedReason(r), now); err != nil {
			return err
		}
	}
	if r.Status == store.RunWaiting {
		return nil
	}
	tasks, err := q.TaskListByRun(ctx, r.ID)
	if err != nil {
		return err
	}
	if r.Status == store.RunCancelled {
		return a.runs.endRun(ctx, q, sig, r, tasks, store.RunCancelled, r.Error, now)
	}
	return a.runs.advance(ctx, q, sig, r, tasks, now)
}

// admitDue starts (or queues behind their gates) the scheduled runs whose time
// came.
func (a *runAdmitter) admitDue(ctx context.Context) (time.Duration, error) {
	due, next, err := listDue(ctx, a.store, a.now(), a.ahead, store.Q.RunListDue, func(r *store.Run) time.Time { return r.ScheduledAt.Time })
	if err != nil {
		return busy, err
	}
	for _, r := range due {
		err := a.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
			now := a.now()
			if held, err := holdIfPaused(ctx, q, sig, r, now); err != nil || held {
				return err
			}
			var g *gate
			if r.ConcurrencyKey != "" {
				var err error
				if g, _, err = loadGate(ctx, q, groupOf(r), now); err != nil {
					return err
				}
			}
			run := *r
			return a.admitStored(ctx, q, sig, g, &run, store.RunScheduled, now)
		})
		if err != nil {
			return busy, err
		}
	}
	return next, nil
}

// admitWaiting starts the waiting runs of groups that have room, oldest first.
func (a *runAdmitter) admitWaiting(ctx context.Context) (time.Duration, error) {
	groups, err := read(ctx, a.store, func(ctx context.Context, q store.Q) ([]store.ConcurrencyGroup, error) {
		groups, err := q.RunWaitingGroups(ctx, 100)
		if err != nil {
			return nil, err
		}
		rr, err := q.RunWaitingRoundRobin(ctx, 100)
		return append(groups, rr...), err
	})
	if err != nil {
		return busy, err
	}
	if len(groups) == 0 {
		return nothingDue, nil
	}
	for _, k := range groups {
		err := a.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
			g, waiting, err := loadGate(ctx, q, k, a.now())
			if err != nil {
				return err
			}
			g.waiting = 0 // the first waiting run is first in line
			if k.Key == roundRobinGroup {
				return a.admitRoundRobin(ctx, q, sig, k, g, waiting)
			}
			now := a.now()
			for _, w := range waiting {
				if err := a.admitStored(ctx, q, sig, g, w, store.RunWaiting, now); err != nil {
					return err
				}
				if w.Status == store.RunWaiting {
					break // the oldest waits, so do the rest
				}
			}
			return nil
		})
		if err != nil {
			return busy, err
		}
	}
	return busy, nil
}
