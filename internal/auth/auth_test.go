package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			st := eng.Open(t, store.Config{})
			ctx := context.Background()
			now := time.Unix(1_800_000_000, 0)
			clock := func() time.Time { return now }
			insert := func(id, secret string, expires time.Time, revoked int64) {
				tok := &store.Token{ID: id, TenantID: store.DefaultTenant, Name: id, Role: auth.RoleAdmin, TokenHash: engine.TokenHash(secret),
					CreatedAt: store.TimeMicros(1), RevokedAt: store.TimeMicros(revoked), ExpiresAt: store.TimeOf(expires)}
				if err := st.Write(ctx, func(ctx context.Context, q store.Q) error { return q.TokenInsert(ctx, tok) }); err != nil {
					t.Fatal(err)
				}
			}
			insert("valid", "sy_valid", time.Time{}, 0)
			insert("expiring", "sy_expiring", now.Add(time.Minute), 0)
			insert("revoked", "sy_revoked", time.Time{}, 2)
			a := auth.NewAuthenticator(engine.New(engine.Config{Store: st}), clock)

			tests := []struct {
				header string
				want   string // "" means accepted
			}{
				{"Bearer sy_valid", ""},
				{"bearer sy_valid", ""},
				{"", "missing Authorization header"},
				{"sy_valid", "malformed Authorization header"},
				{"Basic sy_valid", "malformed Authorization header"},
				{"Bearer ", "malformed Authorization header"},
				{"Bearer sy_unknown", "unknown token"},
				{"Bearer sy_revoked", "token revoked"},
				{"Bearer sy_expiring", ""},
			}
			for _, tt := range tests {
				p, err := a.Authenticate(ctx, tt.header)
				if tt.want == "" {
					if err != nil || p.TenantID != store.DefaultTenant || p.Role != auth.RoleAdmin {
						t.Errorf("%q: %v, %v; want the default tenant's admin", tt.header, p, err)
					}
					continue
				}
				if !errors.Is(err, auth.ErrUnauthenticated) || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%q: %v, want unauthenticated: %s", tt.header, err, tt.want)
				}
			}

			now = now.Add(2 * time.Minute)
			if _, err := a.Authenticate(ctx, "Bearer sy_expiring"); !errors.Is(err, auth.ErrUnauthenticated) || !strings.Contains(err.Error(), "expired") {
				t.Errorf("expired token: %v, want unauthenticated: token expired", err)
			}

			// A deleted token keeps working until the cache entry ages out.
			if _, err := a.Authenticate(ctx, "Bearer sy_valid"); err != nil {
				t.Fatal(err)
			}
			if _, err := st.DB().NewDelete().Model((*store.Token)(nil)).Where("id = ?", "valid").Exec(ctx); err != nil {
				t.Fatal(err)
			}
			a.Forget("revoked") // another token: the cached answer stays
			now = now.Add(59 * time.Second)
			if _, err := a.Authenticate(ctx, "Bearer sy_valid"); err != nil {
				t.Errorf("within the cache window: %v, want accepted", err)
			}
			now = now.Add(2 * time.Second)
			if _, err := a.Authenticate(ctx, "Bearer sy_valid"); !errors.Is(err, auth.ErrUnauthenticated) {
				t.Errorf("after the cache window (a minute): %v, want unauthenticated", err)
			}

			// A revoked token's cached answer is forgotten at once.
			insert("again", "sy_again", time.Time{}, 0)
			if _, err := a.Authenticate(ctx, "Bearer sy_again"); err != nil {
				t.Fatal(err)
			}
			if _, err := st.DB().NewUpdate().Model((*store.Token)(nil)).Set("revoked_at = ?", store.TimeOf(now)).Where("id = ?", "again").Exec(ctx); err != nil {
				t.Fatal(err)
			}
			a.Forget("again")
			if _, err := a.Authenticate(ctx, "Bearer sy_again"); !errors.Is(err, auth.ErrUnauthenticated) || !strings.Contains(err.Error(), "revoked") {
				t.Errorf("after Forget: %v, want unauthenticated: token revoked", err)
			}
		})
	}
}

func TestBootstrap(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			st := eng.Open(t, store.Config{})
			e := engine.New(engine.Config{Store: st})
			ctx := context.Background()
			first, err := auth.Bootstrap(ctx, e, "")
			if err != nil || !strings.HasPrefix(first, "sy_") || len(first) < 40 {
				t.Fatalf("first bootstrap: %q, %v; want a new sy_ token", first, err)
			}
			again, err := auth.Bootstrap(ctx, e, "")
			if err != nil || again != "" {
				t.Fatalf("second bootstrap: %q, %v; want nothing new", again, err)
			}
			for range 2 { // a preset token is stored once, then left alone
				if created, err := auth.Bootstrap(ctx, e, "sy_preset"); err != nil || created != "" {
					t.Fatalf("preset bootstrap: %q, %v", created, err)
				}
			}
			a := auth.NewAuthenticator(e, nil)
			for _, secret := range []string{first, "sy_preset"} {
				if _, err := a.Authenticate(ctx, "Bearer "+secret); err != nil {
					t.Fatalf("token %s...: %v", secret[:6], err)
				}
			}
			var hashes []string
			if err := st.DB().NewSelect().Model((*store.Token)(nil)).Column("token_hash").Scan(ctx, &hashes); err != nil {
				t.Fatal(err)
			}
			for _, h := range hashes {
				if strings.HasPrefix(h, "sy_") {
					t.Fatalf("a token secret is stored in clear: %s", h)
				}
			}
			if len(hashes) != 2 {
				t.Fatalf("%d tokens stored, want 2", len(hashes))
			}
		})
	}
}
