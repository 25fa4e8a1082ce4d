// Package auth turns bearer tokens into the tenant and role a call acts for.
// Tokens are random secrets shown once; only their SHA-256 is stored, bound to a
// tenant. Every RPC but health and reflection passes through [Interceptor].
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/switchyard/switchyard/internal/store"
)

// secretPrefix marks Switchyard tokens so secret scanners and people recognise them.
const secretPrefix = "sy_"

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

// NewSecret returns a fresh random token secret.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return secretPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// Hash is the stored form of a secret.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// ErrUnauthenticated is returned for missing, unknown or expired credentials.
var ErrUnauthenticated = errors.New("unauthenticated")

// cacheTTL bounds how long a looked-up token is trusted without asking the
// database again: the delay before a revoked or expired token stops working.
const cacheTTL = 5 * time.Second

// Authenticator checks bearer tokens against the store, caching answers briefly
// so that a push costs no extra query.
type Authenticator struct {
	store *store.Store
	now   func() time.Time

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	principal *Principal
	expiresAt int64 // token expiry, Unix µs; 0 means never
	until     time.Time
}

// NewAuthenticator returns an authenticator over s; now is the clock (nil means
// time.Now).
func NewAuthenticator(s *store.Store, now func() time.Time) *Authenticator {
	if now == nil {
		now = time.Now
	}
	return &Authenticator{store: s, now: now, cache: make(map[string]cached)}
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
	hash := Hash(strings.TrimSpace(secret))
	now := a.now()
	a.mu.Lock()
	c, hit := a.cache[hash]
	a.mu.Unlock()
	if !hit || now.After(c.until) {
		var tok *store.Token
		err := a.store.Read(ctx, func(ctx context.Context, q store.Q) error {
			var err error
			tok, err = q.TokenGetByHash(ctx, hash)
			return err
		})
		// The database found the row by its hash; the hashes are compared again
		// in constant time, so that no database comparison (a collation, a
		// case-insensitive index) decides alone.
		if err == nil && subtle.ConstantTimeCompare([]byte(tok.TokenHash), []byte(hash)) != 1 {
			err = store.ErrNotFound
		}
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("%w: unknown token", ErrUnauthenticated)
		}
		if err != nil {
			return nil, fmt.Errorf("authenticate: %w", err)
		}
		if tok.RevokedAt != 0 {
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
	if c.expiresAt != 0 && now.UnixMicro() >= c.expiresAt {
		return nil, fmt.Errorf("%w: token expired", ErrUnauthenticated)
	}
	return c.principal, nil
}

// lastUsedResolution is how stale a token's last use may get before a use
// writes it again.
const lastUsedResolution = time.Minute

// touch records a token's use when its stored last use is stale, without
// holding up the call; a failure only leaves the time stale.
func (a *Authenticator) touch(ctx context.Context, tok *store.Token, now time.Time) {
	if now.UnixMicro()-tok.LastUsedAt < lastUsedResolution.Microseconds() {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = a.store.Write(ctx, func(ctx context.Context, q store.Q) error { return q.TokenTouch(ctx, tok.ID, now.UnixMicro()) })
	}()
}

// Bootstrap makes sure an admin token exists. With preset (from
// SWITCHYARD_ADMIN_TOKEN) it stores that token if it is not stored yet and
// returns "". Without, it creates a random admin token for the default tenant
// when the database has no token at all and returns its secret, to be shown once;
// otherwise it returns "".
func Bootstrap(ctx context.Context, s *store.Store, preset string, now time.Time) (string, error) {
	var created string
	err := s.Write(ctx, func(ctx context.Context, q store.Q) error {
		secret := preset
		if preset != "" {
			_, err := q.TokenGetByHash(ctx, Hash(preset))
			if err == nil {
				return nil
			}
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		} else {
			n, err := q.TokenCount(ctx)
			if err != nil || n > 0 {
				return err
			}
			secret = NewSecret()
			created = secret
		}
		return q.TokenInsert(ctx, &store.Token{
			ID:        uuid.Must(uuid.NewV7()).String(),
			TenantID:  store.DefaultTenant,
			Name:      "bootstrap admin",
			Role:      RoleAdmin,
			TokenHash: Hash(secret),
			CreatedAt: now.UnixMicro(),
		})
	})
	if err != nil {
		return "", fmt.Errorf("bootstrap admin token: %w", err)
	}
	return created, nil
}
