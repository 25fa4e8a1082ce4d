package auth

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchyard/switchyard/internal/engine"
)

// Rate is a token bucket: on average PerSecond calls a second, and up to Burst
// calls at once after a quiet spell. It is the engine's [engine.RateLimit], the
// form in which a tenant stores its own limit.
type Rate = engine.RateLimit

// Tenants is what a [Limiter] needs of the engine: the tenants' own limits.
type Tenants interface {
	// GetTenant returns the tenant id.
	GetTenant(ctx context.Context, id string) (*engine.Tenant, error)
}

// defaultRates are the limits of each role's tokens in a tenant that sets none.
// Producers and workers carry the event and task traffic, so their limits sit
// above what one server can serve (about ten thousand pushes a second): they
// stop a runaway client, not real load. Viewers' reads (lists, mostly) cost
// more and come from people and dashboards; admins manage, and script.
var defaultRates = map[string]Rate{
	RoleAdmin:    {PerSecond: 1_000, Burst: 2_000},
	RoleProducer: {PerSecond: 10_000, Burst: 20_000},
	RoleWorker:   {PerSecond: 5_000, Burst: 10_000},
	RoleViewer:   {PerSecond: 200, Burst: 400},
}

// DefaultRateLimit returns the limit of a role's tokens in a tenant that sets
// none (the viewer's for an unknown role).
func DefaultRateLimit(role string) Rate {
	if r, ok := defaultRates[role]; ok {
		return r
	}
	return defaultRates[RoleViewer]
}

// tenantLimitTTL bounds how long a tenant's limit is used without asking the
// database again. A change reaches every server's cache at once
// ([Limiter.Forget]), so this is only the delay before a changed limit
// applies on a server that missed the change's signal.
const tenantLimitTTL = time.Minute

// tenantLimitRetry is how long a limit lookup that failed is not tried again;
// meanwhile the tenant's tokens get their role defaults.
const tenantLimitRetry = time.Second

// sweepInterval is how often full buckets are dropped: a full bucket is the
// same as none.
const sweepInterval = time.Minute

// RateLimitError refuses a call over the rate limit of its token (or webhook).
type RateLimitError struct {
	// Rate is the limit that was exceeded.
	Rate Rate
	// Scope says whose limit it is, such as "producer tokens" or "tokens of
	// tenant acme".
	Scope string
	// RetryAfter is how long until the bucket allows a call again.
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("rate limit of %d calls/s (burst %d) for %s exceeded; retry in %v", e.Rate.PerSecond, e.Rate.Burst, e.Scope, e.RetryAfter)
}

// LimiterConfig configures a [Limiter].
type LimiterConfig struct {
	// Tenants holds the tenants' own limits; nil means only role defaults.
	Tenants Tenants
	// Defaults are the limits per role; a role it does not list (or lists with
	// PerSecond 0) gets its [DefaultRateLimit]; Burst 0 means PerSecond.
	Defaults map[string]Rate
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Limiter gives every token (and every webhook) a token bucket of its own.
// The bucket's size is the tenant's own limit when it sets one, else the
// role's default. Tenants' limits are cached for 10 seconds, so a call costs no
// query. Buckets live in the process: several servers each allow the full
// rate.
type Limiter struct {
	tenants  Tenants
	defaults map[string]Rate
	now      func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	limits    map[string]tenantLimit
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	rate Rate
}

type tenantLimit struct {
	rate  Rate // zero: the role defaults
	until time.Time
}

// NewLimiter returns a limiter configured by cfg.
func NewLimiter(cfg LimiterConfig) *Limiter {
	defaults := maps.Clone(defaultRates)
	for role, r := range cfg.Defaults {
		if r.PerSecond > 0 {
			defaults[role] = Rate{PerSecond: r.PerSecond, Burst: cmp.Or(max(r.Burst, 0), r.PerSecond)}
		}
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Limiter{
		tenants: cfg.Tenants, defaults: defaults, now: now,
		buckets: make(map[string]*bucket), limits: make(map[string]tenantLimit), lastSweep: now(),
	}
}

// Allow spends one call of p's token, or returns a [*RateLimitError] saying
// how long to wait. A nil limiter allows everything.
func (l *Limiter) Allow(ctx context.Context, p *Principal) error {
	if l == nil {
		return nil
	}
	return l.allow(ctx, "token:"+p.TokenID, p.TenantID, p.Role, "tokens")
}

// AllowWebhook spends one delivery to a webhook of the tenant. Webhooks have
// the producer limit, or the tenant's own.
func (l *Limiter) AllowWebhook(ctx context.Context, tenantID, webhookID string) error {
	if l == nil {
		return nil
	}
	return l.allow(ctx, "webhook:"+webhookID, tenantID, RoleProducer, "webhooks")
}

func (l *Limiter) allow(ctx context.Context, key, tenantID, role, what string) error {
	r, scope := l.tenantLimit(ctx, tenantID, l.now()), what+" of tenant "+tenantID
	if r.PerSecond <= 0 {
		r, scope = l.roleLimit(role), role+" "+what
		if what != "tokens" {
			scope = what
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// Read under the lock, so that the buckets see time only go forward.
	now := l.now()
	if now.Sub(l.lastSweep) >= sweepInterval {
		l.sweep(now)
	}
	b := l.buckets[key]
	switch {
	case b == nil:
		b = &bucket{lim: rate.NewLimiter(rate.Limit(r.PerSecond), r.Burst), rate: r}
		l.buckets[key] = b
	case b.rate != r:
		b.lim.SetLimitAt(now, rate.Limit(r.PerSecond))
		b.lim.SetBurstAt(now, r.Burst)
		b.rate = r
	}
	res := b.lim.ReserveN(now, 1)
	delay := res.DelayFrom(now)
	if delay == 0 {
		return nil
	}
	res.CancelAt(now)
	return &RateLimitError{Rate: r, Scope: scope, RetryAfter: ceilMillisecond(delay)}
}

func (l *Limiter) roleLimit(role string) Rate {
	if r, ok := l.defaults[role]; ok {
		return r
	}
	return DefaultRateLimit(role)
}

// tenantLimit returns the tenant's own limit (zero when it sets none) from the
// cache, refreshing a stale entry; while one call refreshes it, the others use
// the stale one.
func (l *Limiter) tenantLimit(ctx context.Context, tenantID string, now time.Time) Rate {
	if l.tenants == nil {
		return Rate{}
	}
	l.mu.Lock()
	cached, ok := l.limits[tenantID]
	if ok && now.Before(cached.until) {
		l.mu.Unlock()
		return cached.rate
	}
	if ok {
		l.limits[tenantID] = tenantLimit{rate: cached.rate, until: now.Add(tenantLimitTTL)}
	}
	l.mu.Unlock()

	t, err := l.tenants.GetTenant(ctx, tenantID)
	entry := tenantLimit{until: now.Add(tenantLimitTTL)}
	switch {
	case err != nil:
		// The call goes on: it fails by itself if the database is down, and a
		// rate limit is no reason to fail it.
		entry = tenantLimit{rate: cached.rate, until: now.Add(tenantLimitRetry)}
	case t.RateLimit.PerSecond > 0:
		entry.rate = Rate{PerSecond: t.RateLimit.PerSecond, Burst: max(t.RateLimit.Burst, 1)}
	}
	l.mu.Lock()
	l.limits[tenantID] = entry
	l.mu.Unlock()
	return entry.rate
}

// Forget drops the cached limit of the tenant tenantID, which changed: its
// next call asks the database.
func (l *Limiter) Forget(tenantID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.limits, tenantID)
}

// sweep drops the buckets that are full again; l.mu is held.
func (l *Limiter) sweep(now time.Time) {
	for key, b := range l.buckets {
		if b.lim.TokensAt(now) >= float64(b.rate.Burst) {
			delete(l.buckets, key)
		}
	}
	l.lastSweep = now
}

// ceilMillisecond rounds d up to a whole millisecond, so that a client that
// waits that long finds a call in the bucket.
func ceilMillisecond(d time.Duration) time.Duration {
	return (d + time.Millisecond - 1).Truncate(time.Millisecond)
}
