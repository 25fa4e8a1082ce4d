// Package storetest opens migrated stores for tests, on every engine the test
// machine has: SQLite always, Postgres when SWITCHYARD_TEST_DATABASE_URL is set.
// Each store lives in its own temporary directory or Postgres schema and is
// removed when the test ends, so tests never see each other's data.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/switchyard/switchyard/internal/store"
)

// DatabaseURLEnv names the variable that points the tests at a Postgres server.
const DatabaseURLEnv = "SWITCHYARD_TEST_DATABASE_URL"

// Engine opens stores on one database engine.
type Engine struct {
	Name string
	// Config returns cfg with its DatabaseURL and DataDir filled in: a new
	// temporary directory (SQLite) or schema (Postgres), removed when the test
	// ends, unless cfg names one.
	Config func(t testing.TB, cfg store.Config) store.Config
	// Open returns a migrated store over Config(t, cfg), closed when the test
	// ends.
	Open func(t testing.TB, cfg store.Config) *store.Store
}

// sqlite and postgres are the two engines.
var (
	sqlite   = Engine{Name: "sqlite", Config: sqliteConfig, Open: openSQLite}
	postgres = Engine{Name: "postgres", Config: postgresConfig, Open: openPostgres}
)

var skipOnce sync.Once

// Engines returns SQLite and, when configured, Postgres. Without Postgres it says
// once that the Postgres variants are skipped.
func Engines(t testing.TB) []Engine {
	engines := []Engine{sqlite}
	if os.Getenv(DatabaseURLEnv) != "" {
		engines = append(engines, postgres)
	} else {
		skipOnce.Do(func() {
			t.Logf("%s is not set: Postgres variants skipped", DatabaseURLEnv)
		})
	}
	return engines
}

// Postgres returns the Postgres engine, skipping the test when
// SWITCHYARD_TEST_DATABASE_URL is not set.
func Postgres(t testing.TB) Engine {
	if os.Getenv(DatabaseURLEnv) == "" {
		t.Skipf("%s is not set: Postgres test skipped", DatabaseURLEnv)
	}
	return postgres
}

func sqliteConfig(t testing.TB, cfg store.Config) store.Config {
	cfg.DatabaseURL = ""
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	return cfg
}

func openSQLite(t testing.TB, cfg store.Config) *store.Store {
	t.Helper()
	return openMigrated(t, sqliteConfig(t, cfg))
}

// postgresConfig names a fresh schema unless cfg has a URL. Stores opened with
// the same URL share the schema (for tests of several servers on one
// database).
func postgresConfig(t testing.TB, cfg store.Config) store.Config {
	t.Helper()
	if cfg.DatabaseURL == "" {
		cfg.DatabaseURL = NewSchema(t)
	}
	return cfg
}

// openPostgres opens a store in a fresh schema unless cfg names a URL.
func openPostgres(t testing.TB, cfg store.Config) *store.Store {
	t.Helper()
	return openMigrated(t, postgresConfig(t, cfg))
}

// NewSchema creates an empty Postgres schema, dropped when the test ends, and
// returns a database URL whose connections use it.
func NewSchema(t testing.TB) string {
	t.Helper()
	base := os.Getenv(DatabaseURLEnv)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "sy_test_" + hex.EncodeToString(b)
	if err := ensureTestDatabase(base); err != nil {
		t.Fatalf("%s: %v", DatabaseURLEnv, err)
	}
	admin, err := store.Open(context.Background(), store.Config{DatabaseURL: base, MaxConns: 1})
	if err != nil {
		t.Fatalf("open postgres %s: %v", base, err)
	}
	t.Cleanup(func() { admin.Close() })
	if _, err := admin.DB().ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.DB().ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", DatabaseURLEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// ensureTestDatabase creates the database SWITCHYARD_TEST_DATABASE_URL names
// when it does not exist, once per test process; every test that needs it
// then fails with the same one-line reason when that is impossible.
var ensureTestDatabase = onceByURL(func(url string) error {
	_, err := store.EnsureDatabase(context.Background(), url)
	return err
})

// onceByURL runs fn once per process and returns its result ever after.
func onceByURL(fn func(string) error) func(string) error {
	var once sync.Once
	var err error
	return func(url string) error {
		once.Do(func() { err = fn(url) })
		return err
	}
}

func openMigrated(t testing.TB, cfg store.Config) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	if err := st.Migrate(context.Background()); err != nil {
		st.Close()
		t.Fatalf("migrate: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
