package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

var tokenCases = []suiteCase{
	{"GetByTenantIDAndHash", testTokenGet},
	{"ListPages", testTokenList},
	{"RevokeOnce", testTokenRevoke},
	{"TouchAndCount", testTokenTouchAndCount},
	{"TimesAtStoredPrecision", testTokenTimes},
}

var tenantCases = []suiteCase{
	{"InsertAndGet", testTenantInsert},
	{"Update", testTenantUpdate},
	{"ListPages", testTenantList},
}

func tokenOf(tenant, id string) *store.Token {
	return &store.Token{ID: id, TenantID: tenant, Name: "token " + id, Role: "admin", TokenHash: "hash-" + id, CreatedAt: store.TimeMicros(1)}
}

func insertTokensOf(f *fixture, tokens ...*store.Token) {
	f.t.Helper()
	f.write(func(ctx context.Context, q store.Q) error {
		for _, tok := range tokens {
			if err := q.TokenInsert(ctx, tok); err != nil {
				return err
			}
		}
		return nil
	})
}

func getToken(f *fixture, fn func(ctx context.Context, q store.Q) (*store.Token, error)) (*store.Token, error) {
	return readErr(f, fn)
}

func testTokenGet(t *testing.T, f *fixture) {
	want := &store.Token{ID: "t1", TenantID: tenantA, Name: "ci", Role: "writer", TokenHash: "h1", CreatedAt: store.TimeMicros(2), ExpiresAt: store.TimeMicros(3), LastUsedAt: store.TimeMicros(4), RevokedAt: store.TimeMicros(0)}
	insertTokensOf(f, want, tokenOf(tenantB, "t2"))
	gets := map[string]func(ctx context.Context, q store.Q) (*store.Token, error){
		"TokenGet":       func(ctx context.Context, q store.Q) (*store.Token, error) { return q.TokenGet(ctx, tenantA, "t1") },
		"TokenGetByID":   func(ctx context.Context, q store.Q) (*store.Token, error) { return q.TokenGetByID(ctx, "t1") },
		"TokenGetByHash": func(ctx context.Context, q store.Q) (*store.Token, error) { return q.TokenGetByHash(ctx, "h1") },
	}
	for name, get := range gets {
		got, err := getToken(f, get)
		wantEqual(t, name, got, want)
		wantEqual(t, name+" error", err, nil)
	}
	missing := map[string]func(ctx context.Context, q store.Q) (*store.Token, error){
		"A's token read by B": func(ctx context.Context, q store.Q) (*store.Token, error) { return q.TokenGet(ctx, tenantB, "t1") },
		"unknown id":          func(ctx context.Context, q store.Q) (*store.Token, error) { return q.TokenGetByID(ctx, "t9") },
		"unknown hash":        func(ctx context.Context, q store.Q) (*store.Token, error) { return q.TokenGetByHash(ctx, "h9") },
	}
	for name, get := range missing {
		_, err := getToken(f, get)
		wantErr(t, name, err, store.ErrNotFound)
	}
	dup := tokenOf(tenantB, "t3")
	dup.TokenHash = "h1"
	err := f.st.Write(f.ctx, func(ctx context.Context, q store.Q) error { return q.TokenInsert(ctx, dup) })
	wantErr(t, "a hash in use, in another tenant", err, store.ErrConflict)
}

func testTokenList(t *testing.T, f *fixture) {
	insertTokensOf(f, tokenOf(tenantA, "t1"), tokenOf(tenantA, "t2"), tokenOf(tenantA, "t3"), tokenOf(tenantB, "t4"))
	wantNewestFirstPages(t, f, "t", store.Q.TokenList, func(tok *store.Token) string { return tok.ID })
}

func testTokenRevoke(t *testing.T, f *fixture) {
	insertTokensOf(f, tokenOf(tenantA, "t1"), tokenOf(tenantA, "t2"))
	revoke := func(tenant, id string, now int64) {
		f.write(func(ctx context.Context, q store.Q) error { return q.TokenRevoke(ctx, tenant, id, at(now)) })
	}
	revoke(tenantA, "t1", 10)
	revoke(tenantA, "t1", 20)
	revoke(tenantB, "t2", 30)
	revokedAt := func(id string) int64 {
		return read(f, func(ctx context.Context, q store.Q) (*store.Token, error) { return q.TokenGetByID(ctx, id) }).RevokedAt.Micros()
	}
	wantEqual(t, "t1 revoked at its first revocation", revokedAt("t1"), int64(10))
	wantEqual(t, "t2 after B's revocation", revokedAt("t2"), int64(0))
}

func testTokenTouchAndCount(t *testing.T, f *fixture) {
	count := func() int {
		return read(f, func(ctx context.Context, q store.Q) (int, error) { return q.TokenCount(ctx) })
	}
	wantEqual(t, "tokens of a new database", count(), 0)
	insertTokensOf(f, tokenOf(tenantA, "t1"), tokenOf(tenantA, "t2"), tokenOf(tenantB, "t3"))
	wantEqual(t, "tokens of every tenant", count(), 3)
	f.write(func(ctx context.Context, q store.Q) error { return q.TokenTouch(ctx, "t3", at(60)) })
	got := read(f, func(ctx context.Context, q store.Q) (*store.Token, error) { return q.TokenGet(ctx, tenantB, "t3") })
	want := tokenOf(tenantB, "t3")
	want.LastUsedAt = store.TimeMicros(60)
	wantEqual(t, "token after touch", got, want)
}

func getTenant(f *fixture, id string) (*store.Tenant, error) {
	return readErr(f, func(ctx context.Context, q store.Q) (*store.Tenant, error) { return q.TenantGet(ctx, id) })
}

func testTenantInsert(t *testing.T, f *fixture) {
	want := &store.Tenant{ID: "c", Name: "C corp", CreatedAt: store.TimeMicros(5), RatePerSecond: 10, RateBurst: 20}
	f.write(func(ctx context.Context, q store.Q) error { return q.TenantInsert(ctx, want) })
	got, err := getTenant(f, "c")
	wantEqual(t, "TenantGet", got, want)
	wantEqual(t, "TenantGet error", err, nil)
	got, _ = getTenant(f, tenantA)
	wantEqual(t, "the default tenant", got, &store.Tenant{ID: tenantA, Name: "default"})
	err = f.st.Write(f.ctx, func(ctx context.Context, q store.Q) error {
		return q.TenantInsert(ctx, &store.Tenant{ID: "c", Name: "again"})
	})
	wantErr(t, "tenant id in use", err, store.ErrConflict)
	_, err = getTenant(f, "missing")
	wantErr(t, "unknown tenant", err, store.ErrNotFound)
}

func testTenantUpdate(t *testing.T, f *fixture) {
	update := func(tn *store.Tenant) error {
		return f.st.Write(f.ctx, func(ctx context.Context, q store.Q) error { return q.TenantUpdate(ctx, tn) })
	}
	wantEqual(t, "update B", update(&store.Tenant{ID: tenantB, Name: "B2", CreatedAt: store.TimeMicros(99), RatePerSecond: 3, RateBurst: 6}), nil)
	got, _ := getTenant(f, tenantB)
	wantEqual(t, "B after update (created_at kept)", got, &store.Tenant{ID: tenantB, Name: "B2", CreatedAt: store.TimeMicros(1), RatePerSecond: 3, RateBurst: 6})
	got, _ = getTenant(f, tenantA)
	wantEqual(t, "A after B's update", got, &store.Tenant{ID: tenantA, Name: "default"})
	wantErr(t, "update of an unknown tenant", update(&store.Tenant{ID: "missing", Name: "x"}), store.ErrNotFound)
}

func testTenantList(t *testing.T, f *fixture) {
	f.write(func(ctx context.Context, q store.Q) error {
		for _, id := range []string{"z-t", "a-t"} {
			if err := q.TenantInsert(ctx, &store.Tenant{ID: id, Name: id}); err != nil {
				return err
			}
		}
		return nil
	})
	list := func(after string, limit int) []string {
		return idsOf(read(f, func(ctx context.Context, q store.Q) ([]*store.Tenant, error) { return q.TenantList(ctx, after, limit) }),
			func(tn *store.Tenant) string { return tn.ID })
	}
	wantEqual(t, "all", list("", 10), []string{"a-t", tenantA, tenantB, "z-t"})
	wantEqual(t, "after default, 2", list(tenantA, 2), []string{tenantB, "z-t"})
}

// testTokenTimes: a time is stored to the microsecond and read back in UTC,
// equal to its TimeOf; the zero time is stored as 0 and read back zero.
func testTokenTimes(t *testing.T, f *fixture) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 123_456_789, time.FixedZone("+02", 2*3600))
	tok := tokenOf(tenantA, "t1")
	tok.CreatedAt, tok.ExpiresAt = store.TimeOf(created), store.TimeOf(time.Time{})
	insertTokensOf(f, tok)
	got := read(f, func(ctx context.Context, q store.Q) (*store.Token, error) { return q.TokenGet(ctx, tenantA, "t1") })
	wantEqual(t, "created", got.CreatedAt.Time, time.Date(2026, 1, 2, 1, 4, 5, 123_456_000, time.UTC))
	wantEqual(t, "created, as TimeOf made it", got.CreatedAt, tok.CreatedAt)
	wantEqual(t, "never expires", got.ExpiresAt.IsZero(), true)
	var stored int64
	f.write(func(ctx context.Context, q store.Q) error {
		return q.ScanRaw(ctx, "SELECT expires_at FROM api_tokens WHERE id = 't1'", &stored)
	})
	wantEqual(t, "stored zero time", stored, int64(0))
}
