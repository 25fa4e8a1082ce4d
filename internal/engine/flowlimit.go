package engine

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// Rate limits hold back the start of tasks. A tenant declares a limit by name
// ([Engine.PutRateLimit]): at most Max units start per Period, for each key.
// A task of a workflow consumes from limits by name ([TaskRateLimit]), each
// with a key (a CEL expression over the run's input; none for one key shared
// by all) and a number of units. A task over a limit is not started: it stays
// QUEUED, keeps its place in line and its attempt, and says why it waits
// ("rate limited by X until T") until the limit has room. The windows live in
// the database and are locked while a start is decided, so the limit holds
// across every server process that shares it.

// FlowLimit is a declared limit: at most Max units per Period for each key.
type FlowLimit struct {
	Name      string
	Max       int32
	Period    time.Duration
	CreatedAt time.Time
	UpdatedAt time.Time
	// Keys are the keys that used the limit lately, most recent first, with
	// their fill now (at most [maxRateLimitKeysShown]).
	Keys []FlowLimitKey
}

// FlowLimitKey is one key's fill: Used of the limit's units counted now,
// and when the oldest of them stops counting (zero when none counts).
type FlowLimitKey struct {
	Key      string
	Used     int64
	ResetsAt time.Time
}

// maxRateLimitKeysShown bounds the keys listed per limit.
const maxRateLimitKeysShown = 50

// Bounds of a declared limit.
const (
	maxRateLimitUnits  = 1_000_000
	minRateLimitPeriod = time.Millisecond
	maxRateLimitPeriod = 24 * time.Hour
)

var rateLimitName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

func checkRateLimit(l *FlowLimit) error {
	switch {
	case !rateLimitName.MatchString(l.Name):
		return invalid("name", "rate_limit.name", "%q is not 1 to 128 letters, digits and . _ -", l.Name)
	case l.Max < 1 || l.Max > maxRateLimitUnits:
		return invalid("max", "rate_limit.max", "%d is not between 1 and %d", l.Max, maxRateLimitUnits)
	case l.Period < minRateLimitPeriod || l.Period > maxRateLimitPeriod || l.Period%time.Microsecond != 0:
		return invalid("period", "rate_limit.period", "%s is not a whole number of microseconds between %s and %s", l.Period, minRateLimitPeriod, maxRateLimitPeriod)
	}
	return nil
}

// PutRateLimit declares a limit or changes it; a change holds from the next
// start on (the units already counted stay counted).
func (e *Engine) PutRateLimit(ctx context.Context, tenantID string, l FlowLimit) (*FlowLimit, error) {
	if err := checkRateLimit(&l); err != nil {
		return nil, err
	}
	now := store.TimeOf(e.now())
	row := &store.RateLimit{TenantID: tenantID, Name: l.Name, MaxUnits: l.Max, PeriodUS: l.Period.Microseconds(), CreatedAt: now, UpdatedAt: now}
	err := e.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
		if err := q.RateLimitPut(ctx, row); err != nil {
			return err
		}
		// A changed limit may let held tasks start: each is looked at again.
		sig.add(signalTasks)
		return q.TaskReleaseHeld(ctx, tenantID, now.Time)
	})
	if err != nil {
		return nil, fmt.Errorf("put rate limit %s: %w", l.Name, err)
	}
	return e.GetRateLimit(ctx, tenantID, l.Name)
}

// GetRateLimit returns a declared limit with its fill.
func (e *Engine) GetRateLimit(ctx context.Context, tenantID, name string) (*FlowLimit, error) {
	out, err := read(ctx, e.store, func(ctx context.Context, q store.Q) ([]*FlowLimit, error) {
		row, err := q.RateLimitGet(ctx, tenantID, name)
		if err != nil {
			return nil, err
		}
		return e.withFill(ctx, q, tenantID, []*store.RateLimit{row})
	})
	if err != nil {
		return nil, answer(err, &Error{Kind: KindNotFound, Message: fmt.Sprintf("rate limit %s not found", name)}, "get rate limit %s", name)
	}
	return out[0], nil
}

// ListRateLimits returns one page of the tenant's limits, by name, with their
// fill.
func (e *Engine) ListRateLimits(ctx context.Context, tenantID string, page Page) ([]*FlowLimit, string, error) {
	rows, next, err := listPage(ctx, e, "rate limits", page, struct{}{},
		func(ctx context.Context, q store.Q, after string, limit int) ([]*store.RateLimit, error) {
			return q.RateLimitList(ctx, tenantID, after, limit)
		},
		func(r *store.RateLimit) string { return r.Name }, always(func(r *store.RateLimit) *store.RateLimit { return r }))
	if err != nil {
		return nil, "", err
	}
	out, err := read(ctx, e.store, func(ctx context.Context, q store.Q) ([]*FlowLimit, error) {
		return e.withFill(ctx, q, tenantID, rows)
	})
	if err != nil {
		return nil, "", fmt.Errorf("list rate limits: %w", err)
	}
	return out, next, nil
}

// DeleteRateLimit removes a limit: tasks that name it are no longer held back
// by it.
func (e *Engine) DeleteRateLimit(ctx context.Context, tenantID, name string) error {
	err := e.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
		if err := q.RateLimitDelete(ctx, tenantID, name); err != nil {
			return err
		}
		sig.add(signalTasks)
		return q.TaskReleaseHeld(ctx, tenantID, e.now())
	})
	return answer(err, &Error{Kind: KindNotFound, Message: fmt.Sprintf("rate limit %s not found", name)}, "delete rate limit %s", name)
}

// withFill converts limits and reads the fill of their most recently used
// keys.
func (e *Engine) withFill(ctx context.Context, q store.Q, tenantID string, rows []*store.RateLimit) ([]*FlowLimit, error) {
	now := e.now()
	out := make([]*FlowLimit, len(rows))
	byName := make(map[string]*FlowLimit, len(rows))
	names := make([]string, len(rows))
	for i, r := range rows {
		out[i] = &FlowLimit{Name: r.Name, Max: r.MaxUnits, Period: r.Period(), CreatedAt: r.CreatedAt.Time, UpdatedAt: r.UpdatedAt.Time}
		byName[r.Name], names[i] = out[i], r.Name
	}
	windows, err := q.RateWindowList(ctx, tenantID, names, maxRateLimitKeysShown*len(names))
	if err != nil {
		return nil, err
	}
	for _, w := range windows {
		l := byName[w.Name]
		if len(l.Keys) >= maxRateLimitKeysShown {
			continue
		}
		rw := rateWindow{log: w.Log.V}
		k := FlowLimitKey{Key: w.Key, Used: rw.used(now, l.Period)}
		if k.Used > 0 {
			k.ResetsAt = rw.resetsAt(now, l.Period)
		}
		l.Keys = append(l.Keys, k)
	}
	return out, nil
}

// resetsAt returns when the oldest units counted at t stop counting.
func (w *rateWindow) resetsAt(t time.Time, period time.Duration) time.Time {
	from := t.UnixMicro() - period.Microseconds()
	for _, e := range w.log {
		if e[0] > from {
			return time.UnixMicro(e[0] + period.Microseconds()).UTC()
		}
	}
	return time.Time{}
}
