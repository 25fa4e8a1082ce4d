package store

import (
	"context"
	"fmt"

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
	CreatedAt int64  `bun:"created_at"` // Unix µs
	ExpiresAt int64  `bun:"expires_at"` // Unix µs; 0 means never
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
	t := new(Token)
	if err := q.db.NewSelect().Model(t).Where("token_hash = ?", hash).Scan(ctx); err != nil {
		return nil, fmt.Errorf("get token: %w", translate(err))
	}
	return t, nil
}
