package engine

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// maxLimitedClaims bounds the claims of one dispatch round that rate limits
// may cause: a claim whose tasks a limit holds back is followed by another
// for the slots left, so that tasks behind them (other keys, no limit) start.
const maxLimitedClaims = 2

// windowID names one key's window of a limit.
type windowID struct{ tenant, name, key string }

// claimWithinLimits claims queued tasks for a worker (see [store.Q.TaskClaim])
// and starts only those whose rate limits have room, in the order they were
// in line; each other one goes back to the queue, keeping its attempt and its
// place, until its limits have room, and says why it waits. It returns the
// tasks that start and the earliest time a held task may start (zero when
// none waits).
func claimWithinLimits(ctx context.Context, q store.Q, p store.TaskClaimParams) (started []*store.Task, wakeAt time.Time, err error) {
	for range maxLimitedClaims {
		claimed, err := q.TaskClaim(ctx, &p)
		if err != nil || len(claimed) == 0 {
			return started, wakeAt, err
		}
		ok, held, err := admitClaimed(ctx, q, p.TenantID, claimed, p.Now)
		if err != nil {
			return nil, time.Time{}, err
		}
		started = append(started, ok...)
		for _, t := range held {
			if wakeAt.IsZero() || t.AvailableAt.Before(wakeAt) {
				wakeAt = t.AvailableAt.Time
			}
		}
		if len(held) == 0 || len(claimed) < p.Limit {
			break
		}
		p.Limit -= len(ok)
	}
	return started, wakeAt, nil
}

// admitClaimed decides which claimed tasks start under their rate limits.
func admitClaimed(ctx context.Context, q store.Q, tenantID string, claimed []*store.Task, now time.Time) (started, held []*store.Task, err error) {
	var names []string
	for _, t := range claimed {
		for _, l := range t.RateLimits.V {
			names = append(names, l.Limit)
		}
	}
	if len(names) == 0 {
		return claimed, nil, nil
	}
	limits, err := q.RateLimitGetMany(ctx, tenantID, names)
	if err != nil {
		return nil, nil, err
	}
	windows, err := lockWindows(ctx, q, tenantID, claimed, limits, now)
	if err != nil {
		return nil, nil, err
	}
	slices.SortFunc(claimed, func(a, b *store.Task) int {
		return cmp.Or(cmp.Compare(a.QueueRank, b.QueueRank), cmp.Compare(a.ID, b.ID))
	})
	// planned is the windows with the held tasks' expected starts added: each
	// held task waits until the time its turn is expected, not all of them
	// until the first room, so that a long queue is looked at about once per
	// task rather than once per period.
	planned := make(map[windowID]*rateWindow, len(windows))
	for id, w := range windows {
		planned[id] = &rateWindow{log: slices.Clone(w.log)}
	}
	var cleared []string
	for _, t := range claimed {
		if _, reason := holdUntil(tenantID, t, limits, windows, now); reason != "" {
			until, reason := holdUntil(tenantID, t, limits, planned, now)
			consume(tenantID, t, limits, planned, until)
			t.AvailableAt, t.WaitReason = store.TimeOf(until), reason
			held = append(held, t)
			continue
		}
		consume(tenantID, t, limits, windows, now)
		consume(tenantID, t, limits, planned, now)
		if t.WaitReason != "" {
			cleared = append(cleared, t.ID)
			t.WaitReason = ""
		}
		started = append(started, t)
	}
	if err := saveRateWindows(ctx, q, windows, now); err != nil {
		return nil, nil, err
	}
	for _, t := range held {
		if err := q.TaskRateLimited(ctx, t); err != nil {
			return nil, nil, err
		}
	}
	return started, held, q.TaskClearWaitReason(ctx, cleared)
}

// consume counts a task's units in its limits' windows at t.
func consume(tenantID string, t *store.Task, limits map[string]*store.RateLimit, windows map[windowID]*rateWindow, at time.Time) {
	for _, l := range t.RateLimits.V {
		if lim := limits[l.Limit]; lim != nil && l.Units <= lim.MaxUnits {
			windows[windowID{tenantID, l.Limit, l.Key}].add(at, lim.Period(), int64(lim.MaxUnits), int64(l.Units))
		}
	}
}

// lockWindows locks the windows the claimed tasks use, in one order (so that
// claims never wait for each other in a circle), and reads them.
func lockWindows(ctx context.Context, q store.Q, tenantID string, claimed []*store.Task, limits map[string]*store.RateLimit, now time.Time) (map[windowID]*rateWindow, error) {
	var ids []windowID
	for _, t := range claimed {
		for _, l := range t.RateLimits.V {
			if limits[l.Limit] != nil {
				ids = append(ids, windowID{tenantID, l.Limit, l.Key})
			}
		}
	}
	return lockRateWindows(ctx, q, ids, now)
}

// lockRateWindows locks and reads windows (in one order, whatever the order of
// ids, so that lockers never wait for each other in a circle).
func lockRateWindows(ctx context.Context, q store.Q, ids []windowID, now time.Time) (map[windowID]*rateWindow, error) {
	slices.SortFunc(ids, func(a, b windowID) int {
		return cmp.Or(cmp.Compare(a.tenant, b.tenant), cmp.Compare(a.name, b.name), cmp.Compare(a.key, b.key))
	})
	ids = slices.Compact(ids)
	rows := make([]*store.RateWindow, len(ids))
	for i, id := range ids {
		rows[i] = &store.RateWindow{TenantID: id.tenant, Name: id.name, Key: id.key}
	}
	locked, err := q.RateWindowLock(ctx, rows, now)
	if err != nil {
		return nil, err
	}
	windows := make(map[windowID]*rateWindow, len(ids))
	for _, row := range locked {
		windows[windowID{row.TenantID, row.Name, row.Key}] = &rateWindow{log: row.Log.V}
	}
	return windows, nil
}

// saveRateWindows writes locked windows back, in one statement.
func saveRateWindows(ctx context.Context, q store.Q, windows map[windowID]*rateWindow, now time.Time) error {
	rows := make([]*store.RateWindow, 0, len(windows))
	for id, w := range windows {
		rows = append(rows, &store.RateWindow{TenantID: id.tenant, Name: id.name, Key: id.key, Log: store.JSONOf(w.log), UpdatedAt: store.TimeOf(now)})
	}
	slices.SortFunc(rows, func(a, b *store.RateWindow) int {
		return cmp.Or(cmp.Compare(a.TenantID, b.TenantID), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Key, b.Key))
	})
	return q.RateWindowSave(ctx, rows)
}

// holdUntil returns when a task's limits all have room for it and, when that
// is later than now, why it waits; an empty reason means it starts now.
func holdUntil(tenantID string, t *store.Task, limits map[string]*store.RateLimit, windows map[windowID]*rateWindow, now time.Time) (time.Time, string) {
	until, by := now, ""
	for _, l := range t.RateLimits.V {
		lim := limits[l.Limit]
		if lim == nil {
			continue // not declared (or deleted): it holds nothing back
		}
		at, ok := windows[windowID{tenantID, l.Limit, l.Key}].earliest(now, lim.Period(), int64(lim.MaxUnits), int64(l.Units))
		if !ok {
			// More units than the limit allows in a period: the task waits
			// until the limit is raised, looking again every period.
			at = now.Add(lim.Period())
		}
		if at.After(until) {
			until, by = at, limitName(l)
		}
	}
	if by == "" {
		return now, ""
	}
	return until, fmt.Sprintf("rate limited by %s until %s", by, until.UTC().Format(time.RFC3339Nano))
}

// limitName names a limit and, when it has one, the key.
func limitName(l store.TaskRateLimit) string {
	if l.Key == "" {
		return l.Limit
	}
	return fmt.Sprintf("%s (key %q)", l.Limit, l.Key)
}

// wakeAt wakes the dispatcher at t, when tasks a rate limit held back may
// start (nothing when t is zero).
func (d *dispatcher) wakeAt(t, now time.Time) {
	if t.IsZero() {
		return
	}
	time.AfterFunc(t.Sub(now), func() { poke(d.hub.wake) })
}
