package engine

import (
	"context"
	"fmt"
	"time"

	"cel.dev/cel-go/cel"

	"github.com/switchyard/switchyard/internal/store"
)

// What happens to a run a trigger's rate limit has no room for.
const (
	// OverLimitQueue throttles: the run is stored SCHEDULED for the first
	// time the limit has room; runs keep their order.
	OverLimitQueue = "QUEUE"
	// OverLimitSkip skips: the run is stored SKIPPED, with the reason.
	OverLimitSkip = "SKIP"
)

// TriggerRateLimit allows an event trigger at most MaxRuns run starts per
// Period for each value of Key (a CEL expression over the event, as a
// filter; empty for one key).
//
// Each start is counted in a window of the database (see [rateWindow]), locked
// while the runs of a push are admitted, so the limit holds across server
// processes. A throttled run reserves its slot: it is SCHEDULED at the
// first time the window has room for it, and starts then (within the
// scheduler's interval, [Config.ScheduleInterval]); the slots of one key
// never put more than MaxRuns into one period.
type TriggerRateLimit struct {
	Key       string        `json:"key,omitempty"`
	MaxRuns   int32         `json:"max_runs"`
	Period    time.Duration `json:"period"`
	OverLimit string        `json:"over_limit"`
}

// normalize checks and completes a trigger's rate limit; field is its path.
func (l *TriggerRateLimit) normalize(field string) error {
	if l.Key != "" {
		if _, err := compileConcurrencyKey(l.Key); err != nil {
			return invalid(field+".key", "rate_limit.compile", "%v", err)
		}
	}
	if l.MaxRuns < 1 || l.MaxRuns > 100_000 {
		return invalid(field+".max_runs", "rate_limit.max_runs", "%d is not between 1 and 100000", l.MaxRuns)
	}
	if l.Period < minRateLimitPeriod || l.Period > maxRateLimitPeriod || l.Period%time.Microsecond != 0 {
		return invalid(field+".period", "rate_limit.period", "%s is not a whole number of microseconds between %s and %s", l.Period, minRateLimitPeriod, maxRateLimitPeriod)
	}
	switch l.OverLimit {
	case "":
		l.OverLimit = OverLimitQueue
	case OverLimitQueue, OverLimitSkip:
	default:
		return invalid(field+".over_limit", "rate_limit.over_limit", "%q is not QUEUE or SKIP", l.OverLimit)
	}
	return nil
}

// triggerLimit is a trigger's rate limit, compiled.
type triggerLimit struct {
	spec   TriggerRateLimit
	key    cel.Program // nil: one key
	window string      // the name of its windows
}

// compileTriggerLimit compiles the rate limit of a workflow's i-th event
// trigger; nil without one.
func compileTriggerLimit(row *store.Workflow, i int, l *TriggerRateLimit) (*triggerLimit, error) {
	if l == nil {
		return nil, nil
	}
	tl := &triggerLimit{spec: *l, window: fmt.Sprintf("trigger:%s#%d", row.Name, i)}
	if l.Key != "" {
		p, err := compileConcurrencyKey(l.Key)
		if err != nil {
			return nil, fmt.Errorf("workflow %s version %d: trigger rate limit key: %w", row.Name, row.Version, err)
		}
		tl.key = p
	}
	return tl, nil
}

// keyOf evaluates the limit's key for an event.
func (l *triggerLimit) keyOf(vars func() eventVars) (string, error) {
	if l == nil || l.key == nil {
		return "", nil
	}
	k, err := evalConcurrencyKey(l.key, vars())
	if err != nil {
		return "", fmt.Errorf("rate limit key: %w", err)
	}
	return k, nil
}

// throttlePlans applies the trigger rate limits of planned runs, in order:
// a run the window has room for starts now; one it has none for is
// scheduled at its slot (QUEUE) or skipped (SKIP).
func throttlePlans(ctx context.Context, q store.Q, plans []*plannedRun, now time.Time) error {
	var ids []windowID
	for _, p := range plans {
		if p.limit != nil {
			ids = append(ids, windowOf(p))
		}
	}
	if len(ids) == 0 {
		return nil
	}
	windows, err := lockRateWindows(ctx, q, ids, now)
	if err != nil {
		return err
	}
	for _, p := range plans {
		if p.limit != nil {
			throttle(p, windows[windowOf(p)], now)
		}
	}
	return saveRateWindows(ctx, q, windows, now)
}

// windowOf names the window of a planned run's trigger limit.
func windowOf(p *plannedRun) windowID {
	return windowID{tenant: p.run.TenantID, name: p.limit.window, key: p.limitKey}
}

// throttle admits one planned run through its trigger's window.
func throttle(p *plannedRun, w *rateWindow, now time.Time) {
	l := p.limit.spec
	at, _ := w.earliest(now, l.Period, int64(l.MaxRuns), 1)
	what := fmt.Sprintf("at most %d runs per %s", l.MaxRuns, l.Period)
	if p.limitKey != "" {
		what += fmt.Sprintf(" for key %q", p.limitKey)
	}
	switch {
	case !at.After(now):
		w.add(now, l.Period, int64(l.MaxRuns), 1)
	case l.OverLimit == OverLimitSkip:
		cancelPlanned(p, "skipped by the trigger's rate limit: "+what, now)
		p.run.Status = store.RunSkipped
	default:
		w.add(at, l.Period, int64(l.MaxRuns), 1)
		p.run.ScheduledAt = store.TimeOf(at)
		p.run.WaitReason = fmt.Sprintf("throttled by the trigger's rate limit (%s) until %s", what, at.UTC().Format(time.RFC3339Nano))
	}
}
