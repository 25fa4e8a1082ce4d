package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// RateLimit is a token bucket: on average PerSecond calls a second, and up to
// Burst calls at once after a quiet spell.
type RateLimit struct {
	PerSecond int
	Burst     int
}

// Tenant is an isolated space of events, workflows, runs, workers and tokens.
type Tenant struct {
	ID        string
	Name      string
	CreatedAt time.Time
	// RateLimit is the limit of each of the tenant's tokens; zero means each
	// token has its role's default.
	RateLimit RateLimit
}

// TenantUpdate is what UpdateTenant changes; a nil field stays as it is.
type TenantUpdate struct {
	Name *string
	// RateLimit replaces the limit; a zero limit restores the role defaults.
	RateLimit *RateLimit
}

// Token is an API token, without its secret.
type Token struct {
	ID         string
	TenantID   string
	Name       string
	Role       string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used
	ExpiresAt  time.Time // zero: never expires
	RevokedAt  time.Time // zero: not revoked
}

func tenantFromRow(t *store.Tenant) *Tenant {
	return &Tenant{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt.Time,
		RateLimit: RateLimit{PerSecond: t.RatePerSecond, Burst: t.RateBurst}}
}

// rateLimit checks a tenant's rate limit and fills in its burst: 0 means
// PerSecond. A burst without a rate is invalid.
func rateLimit(r RateLimit) (RateLimit, error) {
	switch {
	case r.PerSecond < 0 || r.Burst < 0:
		return r, invalid("rate_limit", "rate_limit.non_negative", "is negative")
	case r.PerSecond == 0 && r.Burst > 0:
		return r, invalid("rate_limit.burst", "rate_limit.burst_without_rate", "is set without per_second; set both, or neither for the role defaults")
	case r.Burst == 0:
		r.Burst = r.PerSecond
	}
	return r, nil
}

func tokenFromRow(t *store.Token) *Token {
	return &Token{
		ID: t.ID, TenantID: t.TenantID, Name: t.Name, Role: t.Role,
		CreatedAt: t.CreatedAt.Time, LastUsedAt: t.LastUsedAt.Time,
		ExpiresAt: t.ExpiresAt.Time, RevokedAt: t.RevokedAt.Time,
	}
}

func notFoundTenant(id string) error {
	return &Error{Kind: KindNotFound, Message: fmt.Sprintf("tenant %s not found", id)}
}

// CreateTenant creates a tenant with a rate limit for each of its tokens
// (zero: the role defaults); an id in use is KindAlreadyExists.
func (e *Engine) CreateTenant(ctx context.Context, id, name string, limit RateLimit) (*Tenant, error) {
	if name == "" {
		name = id
	}
	limit, err := rateLimit(limit)
	if err != nil {
		return nil, err
	}
	row := &store.Tenant{ID: id, Name: name, CreatedAt: store.TimeOf(e.now()), RatePerSecond: limit.PerSecond, RateBurst: limit.Burst}
	err = e.write(ctx, func(ctx context.Context, q store.Q, _ *signals) error { return q.TenantInsert(ctx, row) })
	if errors.Is(err, store.ErrConflict) {
		return nil, &Error{Kind: KindAlreadyExists, Message: fmt.Sprintf("tenant %s already exists", id), Details: map[string]string{"tenant": id}}
	}
	if err != nil {
		return nil, fmt.Errorf("create tenant %s: %w", id, err)
	}
	return tenantFromRow(row), nil
}

// UpdateTenant changes a tenant's name or rate limit. Every server applies a
// new limit at once: their [Engine.OnTenantChanged] functions hear of it.
func (e *Engine) UpdateTenant(ctx context.Context, id string, u TenantUpdate) (*Tenant, error) {
	var limit RateLimit
	if u.RateLimit != nil {
		var err error
		if limit, err = rateLimit(*u.RateLimit); err != nil {
			return nil, err
		}
	}
	var row *store.Tenant
	err := e.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
		sig.add(signalTenant + id)
		var err error
		if row, err = q.TenantGet(ctx, id); err != nil {
			return err
		}
		if u.Name != nil {
			row.Name = cmp.Or(*u.Name, id)
		}
		if u.RateLimit != nil {
			row.RatePerSecond, row.RateBurst = limit.PerSecond, limit.Burst
		}
		return q.TenantUpdate(ctx, row)
	})
	if err = answer(err, notFoundTenant(id), "update tenant %s", id); err != nil {
		return nil, err
	}
	return tenantFromRow(row), nil
}

// ListTenants returns one page of tenants by id; with only set, just that one.
func (e *Engine) ListTenants(ctx context.Context, only string, page Page) ([]*Tenant, string, error) {
	return listPage(ctx, e, "tenants", page, only,
		func(ctx context.Context, q store.Q, after string, limit int) ([]*store.Tenant, error) {
			if only == "" {
				return q.TenantList(ctx, after, limit)
			}
			if after != "" {
				return nil, nil
			}
			t, err := q.TenantGet(ctx, only)
			return []*store.Tenant{t}, err
		},
		func(t *store.Tenant) string { return t.ID }, always(tenantFromRow))
}

// CreateToken creates a token of the tenant and returns it with its secret,
// which is not stored and cannot be shown again.
func (e *Engine) CreateToken(ctx context.Context, tenantID, role, name string, expiresAt time.Time) (*Token, string, error) {
	now := e.now()
	if !expiresAt.IsZero() && !expiresAt.After(now) {
		return nil, "", invalid("expires_at", "expires_at.future", "is not in the future")
	}
	secret := NewTokenSecret()
	row := &store.Token{ID: newID(), TenantID: tenantID, Name: name, Role: role, TokenHash: TokenHash(secret), CreatedAt: store.TimeOf(now), ExpiresAt: store.TimeOf(expiresAt)}
	err := e.write(ctx, func(ctx context.Context, q store.Q, _ *signals) error {
		if _, err := q.TenantGet(ctx, tenantID); err != nil {
			return err
		}
		return q.TokenInsert(ctx, row)
	})
	if err = answer(err, notFoundTenant(tenantID), "create token"); err != nil {
		return nil, "", err
	}
	return tokenFromRow(row), secret, nil
}

// WhoAmI returns the token tokenID of the tenant, and the tenant: what a
// caller authenticated with that token is.
func (e *Engine) WhoAmI(ctx context.Context, tenantID, tokenID string) (*Token, *Tenant, error) {
	var token *store.Token
	var tenant *store.Tenant
	err := e.store.Read(ctx, func(ctx context.Context, q store.Q) (err error) {
		if token, err = q.TokenGet(ctx, tenantID, tokenID); err != nil {
			return err
		}
		tenant, err = q.TenantGet(ctx, tenantID)
		return err
	})
	// The token was deleted since it was authenticated (tokens are cached).
	if err = answer(err, &Error{Kind: KindNotFound, Message: fmt.Sprintf("token %s not found", tokenID)}, "who am I"); err != nil {
		return nil, nil, err
	}
	return tokenFromRow(token), tenantFromRow(tenant), nil
}

// ListTokens returns one page of the tenant's tokens, newest first.
func (e *Engine) ListTokens(ctx context.Context, tenantID string, page Page) ([]*Token, string, error) {
	return listPage(ctx, e, "tokens", page, tenantID,
		func(ctx context.Context, q store.Q, after string, limit int) ([]*store.Token, error) {
			return q.TokenList(ctx, tenantID, after, limit)
		},
		func(t *store.Token) string { return t.ID }, always(tokenFromRow))
}

// OnTokenRevoked has fn called with the id of each token revoked, on this
// server or another, once the revocation committed (a server that misses the
// signal, in a crash of its database connection, does not call it).
func (e *Engine) OnTokenRevoked(fn func(tokenID string)) { e.hub.listen(signalRevoked, fn) }

// OnTenantChanged has fn called with the id of each tenant updated (its name
// or rate limit), on this server or another, once the change committed.
func (e *Engine) OnTenantChanged(fn func(tenantID string)) { e.hub.listen(signalTenant, fn) }

// RevokeToken revokes one of the tenant's tokens ("" means of any tenant); it
// stops working on every server at once: the servers' [Engine.OnTokenRevoked]
// functions hear of it. Revoking again changes nothing.
func (e *Engine) RevokeToken(ctx context.Context, tenantID, id string) (*Token, error) {
	var row *store.Token
	err := e.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
		sig.add(signalRevoked + id)
		if tenantID == "" {
			t, err := q.TokenGetByID(ctx, id)
			if err != nil {
				return err
			}
			tenantID = t.TenantID
		}
		if err := q.TokenRevoke(ctx, tenantID, id, e.now()); err != nil {
			return err
		}
		var err error
		row, err = q.TokenGet(ctx, tenantID, id)
		return err
	})
	if err = answer(err, &Error{Kind: KindNotFound, Message: fmt.Sprintf("token %s not found", id)}, "revoke token %s", id); err != nil {
		return nil, err
	}
	return tokenFromRow(row), nil
}
