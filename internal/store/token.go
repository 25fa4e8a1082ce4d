package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// DefaultTenant is the tenant that exists in every database.
const DefaultTenant = "default"

// Token is an API credential. Only the SHA-256 of its secret is stored.
type Token struct {
	bun.BaseModel `bun:"table:api_tokens"`

	ID        string `bun:"id,pk"`
	TenantID  string `bun:"tenant_id"`
	Name      string `bun:"name"`
	Role      string `bun:"role"`
	TokenHash string `bun:"token_hash"`
	CreatedAt Time   `bun:"created_at"`
	ExpiresAt Time   `bun:"expires_at"` // zero means never
	// LastUsedAt is when the token was last used, to the minute; zero means never.
	LastUsedAt Time `bun:"last_used_at"`
	RevokedAt  Time `bun:"revoked_at"` // zero means not revoked
}

// TokenInsert stores a token.
func (q Q) TokenInsert(ctx context.Context, t *Token) error {
	if _, err := q.db.NewInsert().Model(t).Exec(ctx); err != nil {
		return fmt.Errorf("insert token: %w", translate(err))
	}
	return nil
}

// TokenCount counts the tokens of every tenant.
func (q Q) TokenCount(ctx context.Context) (int, error) {
	n, err := q.db.NewSelect().Model((*Token)(nil)).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count tokens: %w", err)
	}
	return int(n), nil
}

// TokenGetByHash returns the token whose secret hashes to hash.
func (q Q) TokenGetByHash(ctx context.Context, hash string) (*Token, error) {
	return getOne[Token](ctx, q, false, "token", "token_hash = ?", hash)
}

// TokenGet returns one token of the tenant.
func (q Q) TokenGet(ctx context.Context, tenantID, id string) (*Token, error) {
	return getOne[Token](ctx, q, false, "token "+id, "tenant_id = ? AND id = ?", tenantID, id)
}

// TokenGetByID returns a token of any tenant.
func (q Q) TokenGetByID(ctx context.Context, id string) (*Token, error) {
	return getOne[Token](ctx, q, false, "token "+id, "id = ?", id)
}

// TokenList returns the tenant's tokens, newest first.
func (q Q) TokenList(ctx context.Context, tenantID, beforeID string, limit int) ([]*Token, error) {
	return list[Token](ctx, q, "tokens", ListPage{BeforeID: beforeID, Limit: limit}, byTenant(tenantID))
}

// TokenRevoke revokes a token that is not revoked yet.
func (q Q) TokenRevoke(ctx context.Context, tenantID, id string, now time.Time) error {
	_, err := q.db.NewUpdate().Model((*Token)(nil)).Set("revoked_at = ?", TimeOf(now)).
		Where("tenant_id = ? AND id = ? AND revoked_at = 0", tenantID, id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	return nil
}

// TokenTouch records that a token was used at now.
func (q Q) TokenTouch(ctx context.Context, id string, now time.Time) error {
	if _, err := q.db.NewUpdate().Model((*Token)(nil)).Set("last_used_at = ?", TimeOf(now)).Where("id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("touch token %s: %w", id, err)
	}
	return nil
}

// Tenant is an isolated space of data and tokens.
type Tenant struct {
	bun.BaseModel `bun:"table:tenants"`

	ID        string `bun:"tenant_id,pk"`
	Name      string `bun:"name"`
	CreatedAt Time   `bun:"created_at"`
	// RatePerSecond and RateBurst are the rate limit of each of the tenant's
	// tokens; 0 means the token's role default.
	RatePerSecond int `bun:"rate_per_second"`
	RateBurst     int `bun:"rate_burst"`
}

// TenantInsert stores a tenant; an id in use is ErrConflict.
func (q Q) TenantInsert(ctx context.Context, t *Tenant) error {
	if _, err := q.db.NewInsert().Model(t).Exec(ctx); err != nil {
		return fmt.Errorf("insert tenant %s: %w", t.ID, translate(err))
	}
	return nil
}

// TenantStampCreated gives a tenant stored without a creation time (created_at
// 0: the default tenant, which a migration inserts) the time its first token
// was made, or at when it has none; a tenant with a time keeps it.
func (q Q) TenantStampCreated(ctx context.Context, id string, at Time) error {
	_, err := q.db.NewUpdate().Table("tenants").
		Set("created_at = COALESCE((SELECT MIN(created_at) FROM api_tokens WHERE tenant_id = ? AND created_at > 0), ?)", id, at).
		Where("tenant_id = ? AND created_at = 0", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("stamp tenant %s: %w", id, translate(err))
	}
	return nil
}

// TenantGet returns a tenant.
func (q Q) TenantGet(ctx context.Context, id string) (*Tenant, error) {
	return getOne[Tenant](ctx, q, false, "tenant "+id, "tenant_id = ?", id)
}

// TenantUpdate stores a tenant's name and rate limit; a missing tenant is
// ErrNotFound.
func (q Q) TenantUpdate(ctx context.Context, t *Tenant) error {
	res, err := q.db.NewUpdate().Model(t).Column("name", "rate_per_second", "rate_burst").WherePK().Exec(ctx)
	if err != nil {
		return fmt.Errorf("update tenant %s: %w", t.ID, translate(err))
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("update tenant %s: %w", t.ID, ErrNotFound)
	}
	return nil
}

// TenantList returns tenants by id, after the given one.
func (q Q) TenantList(ctx context.Context, afterID string, limit int) ([]*Tenant, error) {
	var ts []*Tenant
	sel := q.db.NewSelect().Model(&ts).OrderExpr("tenant_id").Limit(int64(limit))
	if afterID != "" {
		sel.Where("tenant_id > ?", afterID)
	}
	if err := sel.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return ts, nil
}
