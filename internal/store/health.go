package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/switchyard/switchyard/internal/store/migrations"
)

// migrationsTable is where bun/migrate records applied migrations (its default).
const migrationsTable = "bun_migrations"

// MigrationsPending counts the migrations this build embeds that the database
// has not applied; a database never migrated has them all pending. It also
// tells whether the database answers: an unreachable one is an error wrapping
// [ErrUnavailable].
func (s *Store) MigrationsPending(ctx context.Context) (int, error) {
	var applied []string
	err := s.Read(ctx, func(ctx context.Context, q Q) error {
		return q.db.NewSelect().Table(migrationsTable).Column("name").Scan(ctx, &applied)
	})
	if err != nil && !undefinedTable(err) {
		return 0, fmt.Errorf("read applied migrations: %w", err)
	}
	done := make(map[string]bool, len(applied))
	for _, name := range applied {
		done[name] = true
	}
	pending := 0
	for _, m := range migrations.Migrations.Sorted() {
		if !done[m.Name] {
			pending++
		}
	}
	return pending, nil
}

// undefinedTable reports an error about a table that does not exist.
func undefinedTable(err error) bool {
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		return pgErr.Field('C') == "42P01"
	}
	return strings.Contains(err.Error(), "no such table")
}
