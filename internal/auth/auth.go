// Package auth turns bearer tokens into the tenant and role a call acts for.
// Tokens are random secrets shown once; only their SHA-256 is stored, bound to a
// tenant. Every RPC but health and reflection passes through [Interceptor].
package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/switchyard/switchyard/internal/engine"
)

// Principal is who a call acts for, taken from its credentials.
type Principal struct {
	TenantID string
	TokenID  string
	Role     string
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal of an authenticated call, or nil.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// ErrUnauthenticated is returned for missing, unknown or expired credentials.
var ErrUnauthenticated = errors.New("unauthenticated")

// cacheTTL bounds how long a looked-up token is trusted without asking the
// database again. A revocation reaches every server's cache at once
// ([Authenticator.Forget]) and an expiry is checked on every call, so this is
// only the delay before a revoked token stops working on a server that missed
// the revocation's signal.
const cacheTTL = time.Minute

// Tokens is what an [Authenticator] needs of the engine.
type Tokens interface {
	// TokenByHash returns the token whose secret has hash ([engine.TokenHash]);
	// an unknown hash is an [*engine.Error] of kind not found.
	TokenByHash(ctx context.Context, hash string) (*engine.Token, error)
	// TouchToken records that the token id was used at.
	TouchToken(ctx context.Context, id string, at time.Time) error
}

// Authenticator checks bearer tokens against the engine's, caching answers
// briefly so that a push costs no extra query.
type Authenticator struct {
	tokens Tokens
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	principal *Principal
	expiresAt time.Time // zero means never
	until     time.Time
}

// NewAuthenticator returns an authenticator over t; now is the clock (nil means
// time.Now).
func NewAuthenticator(t Tokens, now func() time.Time) *Authenticator {
	if now == nil {
		now = time.Now
	}
	return &Authenticator{tokens: t, now: now, cache: make(map[string]cached)}
}

// Authenticate returns the principal of an `Authorization` header value.
func (a *Authenticator) Authenticate(ctx context.Context, header string) (*Principal, error) {
	scheme, secret, ok := strings.Cut(header, " ")
	if header == "" {
		return nil, fmt.Errorf("%w: missing Authorization header (want \"Bearer <token>\")", ErrUnauthenticated)
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		return nil, fmt.Errorf("%w: malformed Authorization header (want \"Bearer <token>\")", ErrUnauthenticated)
	}
	hash := engine.TokenHash(strings.TrimSpace(secret))
	now := a.now()
	a.mu.Lock()
	c, hit := a.cache[hash]
	a.mu.Unlock()
	if !hit || now.After(c.until) {
		tok, err := a.tokens.TokenByHash(ctx, hash)
		if ee := engine.ErrorOf(err); ee != nil && ee.Kind == engine.KindNotFound {
			return nil, fmt.Errorf("%w: unknown token", ErrUnauthenticated)
		}
		if err != nil {
			return nil, fmt.Errorf("authenticate: %w", err)
		}
		if !tok.RevokedAt.IsZero() {
			return nil, fmt.Errorf("%w: token revoked", ErrUnauthenticated)
		}
		a.touch(ctx, tok, now)
		c = cached{
			principal: &Principal{TenantID: tok.TenantID, TokenID: tok.ID, Role: tok.Role},
			expiresAt: tok.ExpiresAt,
			until:     now.Add(cacheTTL),
		}
		a.mu.Lock()
		if len(a.cache) > 100_000 {
			clear(a.cache)
		}
		a.cache[hash] = c
		a.mu.Unlock()
	}
	if !c.expiresAt.IsZero() && !now.Before(c.expiresAt) {
		return nil, fmt.Errorf("%w: token expired", ErrUnauthenticated)
	}
	return c.principal, nil
}

// Forget drops the cached answers for the token tokenID, which was revoked:
// its next call asks the database.
func (a *Authenticator) Forget(tokenID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for hash, c := range a.cache {
		if c.principal.TokenID == tokenID {
			delete(a.cache, hash)
		}
	}
}

// lastUsedResolution is how stale a token's last use may get before a use
// writes it again.
const lastUsedResolution = time.Minute

// touch records a token's use when its stored last use is stale, without
// holding up the call; a failure only leaves the time stale.
func (a *Authenticator) touch(ctx context.Context, tok *engine.Token, now time.Time) {
	if now.Sub(tok.LastUsedAt) < lastUsedResolution {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = a.tokens.TouchToken(ctx, tok.ID, now)
	}()
}

// Bootstrapper is what [Bootstrap] needs of the engine.
type Bootstrapper interface {
	// BootstrapToken stores a token of the default tenant as
	// [engine.Engine.BootstrapToken] describes.
	BootstrapToken(ctx context.Context, role, name, secret string) (string, error)
}

// Bootstrap makes sure an admin token exists. With preset (from
// SWITCHYARD_ADMIN_TOKEN) it stores that token if it is not stored yet and
// returns "". Without, it creates a random admin token for the default tenant
// when the database has no token at all and returns its secret, to be shown once;
// otherwise it returns "".
func Bootstrap(ctx context.Context, b Bootstrapper, preset string) (string, error) {
	return b.BootstrapToken(ctx, RoleAdmin, "bootstrap admin", preset)
}
