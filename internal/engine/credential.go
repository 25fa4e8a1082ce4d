package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// DefaultTenant is the tenant of a fresh installation; its admins operate
// every tenant.
const DefaultTenant = store.DefaultTenant

// secretPrefix marks Switchyard tokens so secret scanners and people recognise them.
const secretPrefix = "sy_"

// NewTokenSecret returns a fresh random token secret.
func NewTokenSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return secretPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// TokenHash is the stored form of a token secret: the only form the database
// holds, and the one a presented secret is looked up by.
func TokenHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// TokenByHash returns the token whose secret has hash, of any tenant; an
// unknown hash is KindNotFound.
func (e *Engine) TokenByHash(ctx context.Context, hash string) (*Token, error) {
	row, err := read(ctx, e.store, func(ctx context.Context, q store.Q) (*store.Token, error) { return q.TokenGetByHash(ctx, hash) })
	// The database found the row by its hash; the hashes are compared again in
	// constant time, so that no database comparison (a collation, a
	// case-insensitive index) decides alone.
	if err == nil && subtle.ConstantTimeCompare([]byte(row.TokenHash), []byte(hash)) != 1 {
		err = store.ErrNotFound
	}
	if err = answer(err, &Error{Kind: KindNotFound, Message: "unknown token"}, "token by hash"); err != nil {
		return nil, err
	}
	return tokenFromRow(row), nil
}

// TouchToken records that the token id was used at.
func (e *Engine) TouchToken(ctx context.Context, id string, at time.Time) error {
	return e.write(ctx, func(ctx context.Context, q store.Q, _ *signals) error { return q.TokenTouch(ctx, id, at) })
}

// BootstrapToken makes sure the default tenant can be administered. With
// secret set, it stores a token of role with that secret unless one is stored
// already, and returns "". With secret "", it creates a token of role with a
// random secret when the database holds no token at all, and returns that
// secret, to be shown once; otherwise it returns "". On the first start it
// also gives the default tenant its creation time (see [store.Q.TenantStampCreated]).
func (e *Engine) BootstrapToken(ctx context.Context, role, name, secret string) (string, error) {
	var created string
	err := e.write(ctx, func(ctx context.Context, q store.Q, _ *signals) error {
		if err := q.TenantStampCreated(ctx, DefaultTenant, store.TimeOf(e.now())); err != nil {
			return err
		}
		s := secret
		if secret != "" {
			_, err := q.TokenGetByHash(ctx, TokenHash(secret))
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		} else {
			n, err := q.TokenCount(ctx)
			if err != nil || n > 0 {
				return err
			}
			s = NewTokenSecret()
			created = s
		}
		return q.TokenInsert(ctx, &store.Token{
			ID: newID(), TenantID: DefaultTenant, Name: name, Role: role,
			TokenHash: TokenHash(s), CreatedAt: store.TimeOf(e.now()),
		})
	})
	if err != nil {
		return "", fmt.Errorf("bootstrap %s token: %w", role, err)
	}
	return created, nil
}

// GetTenant returns the tenant id.
func (e *Engine) GetTenant(ctx context.Context, id string) (*Tenant, error) {
	row, err := read(ctx, e.store, func(ctx context.Context, q store.Q) (*store.Tenant, error) { return q.TenantGet(ctx, id) })
	if err = answer(err, notFoundTenant(id), "get tenant %s", id); err != nil {
		return nil, err
	}
	return tenantFromRow(row), nil
}
