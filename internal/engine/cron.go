package engine

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// Cron ticks fire exactly once however many server processes share the
// database: each schedule is a row holding its next tick, and a tick fires in
// the transaction that moves that row on from it (a compare-and-set), so the
// database lets one transaction fire it. A tick missed while every server was
// down is still the row's next tick: it fires once, and when the tick after it
// is older than CronCatchUp, the row moves to the first tick after now,
// skipping the rest. A tick that is merely late (a slow scan, an overloaded
// machine) is followed by the next one as usual.

// replaceCron makes the workflow's cron triggers its stored schedules. A
// schedule the previous version had keeps its next tick, so putting a new
// version neither skips nor repeats a tick.
func replaceCron(ctx context.Context, q store.Q, tenantID string, spec WorkflowSpec, now time.Time) error {
	old, err := q.CronList(ctx, tenantID, spec.Name)
	if err != nil {
		return err
	}
	next := map[CronTrigger]store.Time{}
	for _, s := range old {
		next[CronTrigger{Schedule: s.Schedule, TimeZone: s.TimeZone}] = s.NextTickAt
	}
	rows := make([]*store.CronSchedule, 0, len(spec.OnCron))
	for _, c := range spec.OnCron {
		at, ok := next[c]
		if !ok {
			sched, err := parseCron(c)
			if err != nil {
				return err // checked by normalize
			}
			at = store.TimeOf(sched.Next(now.UTC()))
		}
		rows = append(rows, &store.CronSchedule{TenantID: tenantID, Workflow: spec.Name, Schedule: c.Schedule, TimeZone: c.TimeZone, NextTickAt: at})
	}
	return q.CronReplace(ctx, tenantID, spec.Name, rows)
}

// cronScheduler fires due cron ticks, each exactly once across server
// processes. It owns the moving on of the cron_schedules rows' next ticks.
type cronScheduler struct {
	store    *store.Store
	write    writeFunc
	now      func() time.Time
	log      *slog.Logger
	catchUp  time.Duration // CronCatchUp
	ahead    time.Duration // how far ahead fire looks for the next tick (IdleInterval)
	triggers *triggerCache
	starter  runStarter
}

// runStarter admits and stores planned runs in the caller's transaction:
// [Engine.startRuns].
type runStarter interface {
	startRuns(ctx context.Context, q store.Q, sig *signals, plans []*plannedRun, now time.Time) (inserted map[string]bool, err error)
}

// fire fires the cron ticks that came, each in its own transaction, until none
// is due (a late schedule may have several ticks to catch up).
func (c *cronScheduler) fire(ctx context.Context) (time.Duration, error) {
	for range 10 {
		due, next, err := listDue(ctx, c.store, c.now(), c.ahead, store.Q.CronListDue, func(s *store.CronSchedule) time.Time { return s.NextTickAt.Time })
		if err != nil || next != busy {
			return next, err
		}
		for _, s := range due {
			if err := c.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
				return c.fireTick(ctx, q, sig, s)
			}); err != nil {
				return busy, fmt.Errorf("workflow %s, schedule %q: %w", s.Workflow, s.Schedule, err)
			}
		}
	}
	return busy, nil
}

// fireTick starts the run of one due tick, if this transaction is the one that
// moves the schedule on.
func (c *cronScheduler) fireTick(ctx context.Context, q store.Q, sig *signals, s *store.CronSchedule) error {
	now := c.now()
	sched, err := parseCron(CronTrigger{Schedule: s.Schedule, TimeZone: s.TimeZone})
	if err != nil {
		return err
	}
	next := sched.Next(s.NextTickAt.Time)
	if next.Before(now.Add(-c.catchUp)) {
		next = sched.Next(now.UTC()) // missed while no server ran: skip the rest
	}
	moved, err := q.CronAdvance(ctx, s, next)
	if err != nil || !moved {
		return err
	}
	idx, err := c.triggers.index(ctx, q, s.TenantID)
	if err != nil {
		return err
	}
	wf := idx.byName[s.Workflow]
	if wf == nil || (wf.pause != nil && wf.pause.SkipCron) {
		return nil // deleted meanwhile, or paused and skipping ticks
	}
	tick := s.NextTickAt.Time
	input, err := store.ObjectOf(map[string]any{"cron": s.Schedule, "time_zone": s.TimeZone, "tick": tick.Format(time.RFC3339)})
	if err != nil {
		return err
	}
	key, err := wf.concurrencyKey(inputVars(input))
	if err != nil {
		c.log.WarnContext(ctx, "cron tick skipped", "workflow", s.Workflow, "schedule", s.Schedule, "error", err.Error())
		return nil
	}
	p := newRun{wf: wf, input: input, trigger: store.TriggerCron, cronTick: s.NextTickAt, concurrencyKey: key}.plan(s.TenantID, now)
	_, err = c.starter.startRuns(ctx, q, sig, []*plannedRun{p}, now)
	return err
}
