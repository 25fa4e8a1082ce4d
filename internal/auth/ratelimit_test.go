package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// fakeClock is a clock that moves only when told.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time          { return c.now }
func (c *fakeClock) Advance(d time.Duration) { c.now = c.now.Add(d) }

// spend calls Allow n times and returns how many were allowed and the first
// refusal.
func spend(t *testing.T, l *auth.Limiter, p *auth.Principal, n int) (int, *auth.RateLimitError) {
	t.Helper()
	allowed := 0
	var first *auth.RateLimitError
	for range n {
		err := l.Allow(context.Background(), p)
		var rl *auth.RateLimitError
		switch {
		case err == nil:
			allowed++
		case errors.As(err, &rl):
			if first == nil {
				first = rl
			}
		default:
			t.Fatalf("allow: %v, want nil or a *RateLimitError", err)
		}
	}
	return allowed, first
}

func TestLimiterRoleDefaults(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	l := auth.NewLimiter(auth.LimiterConfig{
		Defaults: map[string]auth.Rate{auth.RoleViewer: {PerSecond: 4, Burst: 10}, auth.RoleWorker: {PerSecond: 3}},
		Now:      clock.Now,
	})
	viewer := &auth.Principal{TenantID: "default", TokenID: "v1", Role: auth.RoleViewer}

	allowed, refused := spend(t, l, viewer, 15)
	if allowed != 10 || refused == nil {
		t.Fatalf("15 calls at once: %d allowed, refusal %v; want the burst of 10, then a refusal", allowed, refused)
	}
	if refused.RetryAfter != 250*time.Millisecond || refused.Rate != (auth.Rate{PerSecond: 4, Burst: 10}) {
		t.Errorf("refusal %+v, want 4/s burst 10, retry after 250ms", refused)
	}
	const want = "rate limit of 4 calls/s (burst 10) for viewer tokens exceeded; retry in 250ms"
	if refused.Error() != want {
		t.Errorf("message %q, want %q", refused.Error(), want)
	}

	// Refusals spend nothing: after the advised wait exactly one call is
	// allowed, and after a whole second four.
	clock.Advance(refused.RetryAfter)
	if allowed, _ := spend(t, l, viewer, 2); allowed != 1 {
		t.Errorf("after the advised wait: %d allowed, want 1", allowed)
	}
	clock.Advance(time.Second)
	if allowed, _ := spend(t, l, viewer, 10); allowed != 4 {
		t.Errorf("a second later: %d allowed, want 4", allowed)
	}

	// Each token has a bucket of its own.
	other := &auth.Principal{TenantID: "default", TokenID: "v2", Role: auth.RoleViewer}
	if allowed, _ := spend(t, l, other, 10); allowed != 10 {
		t.Errorf("another viewer token: %d allowed, want its own burst of 10", allowed)
	}

	// Burst 0 means the rate; roles the config leaves out keep their default.
	worker := &auth.Principal{TenantID: "default", TokenID: "w", Role: auth.RoleWorker}
	if allowed, _ := spend(t, l, worker, 5); allowed != 3 {
		t.Errorf("worker with 3/s and no burst: %d allowed, want 3", allowed)
	}
	producer := &auth.Principal{TenantID: "default", TokenID: "p", Role: auth.RoleProducer}
	def := auth.DefaultRateLimit(auth.RoleProducer)
	if allowed, refused := spend(t, l, producer, def.Burst+1); allowed != def.Burst || refused.Rate != def {
		t.Errorf("producer: %d allowed, refusal %v; want the default burst of %d", allowed, refused, def.Burst)
	}
}

func TestLimiterTenantLimit(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			st := eng.Open(t, store.Config{})
			ctx := context.Background()
			write := func(tenant *store.Tenant) {
				t.Helper()
				err := st.Write(ctx, func(ctx context.Context, q store.Q) error {
					if _, err := q.TenantGet(ctx, tenant.ID); err == nil {
						return q.TenantUpdate(ctx, tenant)
					}
					return q.TenantInsert(ctx, tenant)
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			write(&store.Tenant{ID: "acme", Name: "acme", RatePerSecond: 2, RateBurst: 3})
			clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
			l := auth.NewLimiter(auth.LimiterConfig{Tenants: engine.New(engine.Config{Store: st}), Now: clock.Now})
			p := &auth.Principal{TenantID: "acme", TokenID: "t", Role: auth.RoleAdmin}

			allowed, refused := spend(t, l, p, 5)
			if allowed != 3 || refused == nil || refused.RetryAfter != 500*time.Millisecond {
				t.Fatalf("acme at 2/s burst 3: %d allowed, refusal %v; want 3, then retry after 500ms", allowed, refused)
			}
			const want = "rate limit of 2 calls/s (burst 3) for tokens of tenant acme exceeded; retry in 500ms"
			if refused.Error() != want {
				t.Errorf("message %q, want %q", refused.Error(), want)
			}

			// A changed limit that no signal announced applies once the
			// cache expires (a minute), to the existing bucket too: a larger
			// burst fills at the new rate.
			write(&store.Tenant{ID: "acme", Name: "acme", RatePerSecond: 100, RateBurst: 100})
			clock.Advance(30 * time.Second)
			if _, refused := spend(t, l, p, 20); refused == nil || refused.Rate.PerSecond != 2 {
				t.Fatalf("within the cache window: refusal %v, want the old limit of 2/s", refused)
			}
			clock.Advance(31 * time.Second)
			spend(t, l, p, 1)
			clock.Advance(time.Second)
			if allowed, _ := spend(t, l, p, 101); allowed != 100 {
				t.Errorf("after the cache window: %d allowed, want the new burst of 100", allowed)
			}

			// Back to the role defaults, announced: Forget applies it at once.
			write(&store.Tenant{ID: "acme", Name: "acme"})
			l.Forget("acme")
			spend(t, l, p, 1)
			clock.Advance(2 * time.Second)
			admin := auth.DefaultRateLimit(auth.RoleAdmin)
			if allowed, refused := spend(t, l, p, admin.Burst+1); allowed != admin.Burst || refused.Rate != admin {
				t.Errorf("without a tenant limit: %d allowed, refusal %v; want the admin default", allowed, refused)
			}
		})
	}
}

func TestLimiterWebhooks(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	l := auth.NewLimiter(auth.LimiterConfig{Defaults: map[string]auth.Rate{auth.RoleProducer: {PerSecond: 1, Burst: 2}}, Now: clock.Now})
	for _, id := range []string{"hook-a", "hook-b"} {
		for i := range 2 {
			if err := l.AllowWebhook(context.Background(), "default", id); err != nil {
				t.Fatalf("%s delivery %d: %v", id, i, err)
			}
		}
	}
	err := l.AllowWebhook(context.Background(), "default", "hook-a")
	var rl *auth.RateLimitError
	if !errors.As(err, &rl) || rl.Error() != "rate limit of 1 calls/s (burst 2) for webhooks exceeded; retry in 1s" {
		t.Errorf("third delivery: %v, want the webhook limit", err)
	}
	var none *auth.Limiter
	if err := none.Allow(context.Background(), &auth.Principal{}); err != nil {
		t.Errorf("a nil limiter refused: %v", err)
	}
}
