package engine

import (
	"context"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// service is a part of the engine that works in the background: [Engine.Start]
// runs each in its own goroutine, and Run returns when ctx ends.
type service interface {
	Run(ctx context.Context)
}

// busy is what a job returns when it did something, or when something it
// watches is under way: it runs again after its interval.
const busy = time.Duration(0)

// nothingDue is what a job returns when it found nothing to do and knows of
// nothing coming due.
const nothingDue = time.Duration(math.MaxInt64)

// periodic is a service that runs a job after each wait, and whenever its
// wake-up channel receives, until ctx ends. A job that found nothing to do
// returns how soon something it knows of comes due (nothingDue when it knows of
// nothing): its wait then doubles from interval up to idle (so a server with
// nothing to do queries its database rarely), but never past that time. A
// wake-up, a job that did something and a failed job (logged) bring the wait
// back to interval.
type periodic struct {
	name     string
	interval time.Duration
	idle     time.Duration   // the longest wait; interval when not longer
	wake     <-chan struct{} // nil: waits only
	job      func(ctx context.Context) (time.Duration, error)
	log      *slog.Logger
}

// every returns a periodic service logging to the engine's logger whose wait
// grows up to the engine's IdleInterval.
func (e *Engine) every(name string, interval time.Duration, wake <-chan struct{}, job func(ctx context.Context) (time.Duration, error)) periodic {
	return periodic{name: name, interval: interval, idle: max(interval, e.cfg.IdleInterval), wake: wake, job: job, log: e.log}
}

// Run runs the job after every wait and wake-up until ctx ends.
func (p periodic) Run(ctx context.Context) {
	wait := p.interval
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		woken := false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.wake:
			woken = true
		}
		due, err := p.job(ctx)
		if err != nil && ctx.Err() == nil {
			p.log.WarnContext(ctx, p.name, "error", err.Error())
		}
		wait = p.next(wait, due, woken || err != nil)
		t.Reset(wait)
	}
}

// next is the wait after a run that waited prev and returned due.
func (p periodic) next(prev, due time.Duration, reset bool) time.Duration {
	if due == busy {
		return p.interval
	}
	wait := p.interval
	if !reset {
		wait = min(2*prev, p.idle)
	}
	return max(min(wait, due), time.Millisecond)
}

// splitDue splits items listed in the order of their time (at) into those
// whose time came by now and the wait until the first of the others: busy when
// some came, nothingDue when none is listed.
func splitDue[T any](items []T, at func(T) time.Time, now time.Time) (due []T, next time.Duration) {
	i := slices.IndexFunc(items, func(it T) bool { return at(it).After(now) })
	switch {
	case i < 0:
		due = items
	case i > 0:
		due = items[:i]
	default:
		return nil, at(items[0]).Sub(now)
	}
	if len(due) == 0 {
		return nil, nothingDue
	}
	return due, busy
}

// listDue lists what comes due up to ahead from now (by list, in the order of
// at, at most 100) and splits it with splitDue: one query tells what is due and
// when the next is.
func listDue[T any](ctx context.Context, st *store.Store, now time.Time, ahead time.Duration,
	list func(q store.Q, ctx context.Context, until time.Time, limit int) ([]T, error), at func(T) time.Time,
) ([]T, time.Duration, error) {
	listed, err := read(ctx, st, func(ctx context.Context, q store.Q) ([]T, error) { return list(q, ctx, now.Add(ahead), 100) })
	if err != nil {
		return nil, busy, err
	}
	due, next := splitDue(listed, at, now)
	return due, next, nil
}
