package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/migrations"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// TestMigrationsPending counts every embedded migration on a database never
// migrated, none after Migrate, and one whose record is gone.
func TestMigrationsPending(t *testing.T) {
	all := len(migrations.Migrations.Sorted())
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		ctx := context.Background()
		cfg := store.Config{DataDir: t.TempDir()}
		if eng.Name == "postgres" {
			cfg = store.Config{DatabaseURL: storetest.NewSchema(t)}
		}
		st, err := store.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if n, err := st.MigrationsPending(ctx); err != nil || n != all {
			t.Fatalf("pending on a fresh database: %d, %v; want %d, nil", n, err, all)
		}
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if n, err := st.MigrationsPending(ctx); err != nil || n != 0 {
			t.Fatalf("pending after Migrate: %d, %v; want 0, nil", n, err)
		}
		last := migrations.Migrations.Sorted()[all-1].Name
		if _, err := st.DB().NewDelete().Table("bun_migrations").Where("name = ?", last).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if n, err := st.MigrationsPending(ctx); err != nil || n != 1 {
			t.Fatalf("pending with %s unrecorded: %d, %v; want 1, nil", last, n, err)
		}
	})
}

// TestMigrationsPendingUnreachable: a database that does not answer is
// ErrUnavailable, not a count.
func TestMigrationsPendingUnreachable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{DatabaseURL: "postgres://postgres@127.0.0.1:1/none", AcquireTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, err := st.MigrationsPending(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("pending on an unreachable database: %d, %v; want ErrUnavailable", n, err)
	}
}
