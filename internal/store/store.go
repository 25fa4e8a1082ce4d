// Package store is Switchyard's only way to a database. It holds the bun models,
// the queries, the migrations and every difference between the two engines it
// runs on: an embedded SQLite file (the default) and Postgres.
//
// Every operation borrows one connection from a bounded pool, waiting at most
// [Config.AcquireTimeout] for it: an exhausted pool or an unreachable database is
// [ErrUnavailable], never a hang. The caller's context deadline reaches every
// query. Reads go through [Store.Read], writes through [Store.Write], which runs
// its function in one transaction.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/pgdriver"
	"github.com/uptrace/bun/migrate"
	"go.opentelemetry.io/otel/trace"
	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"

	"github.com/switchyard/switchyard/internal/store/migrations"
)

// Config says which database to open and how to bound its use.
type Config struct {
	// DatabaseURL is a postgres:// URL. Empty means the embedded SQLite file in
	// DataDir.
	DatabaseURL string
	// DataDir holds the SQLite file when DatabaseURL is empty.
	DataDir string
	// MaxConns bounds the pool (Postgres; SQLite always uses one writer). Zero means 16.
	MaxConns int
	// AcquireTimeout bounds the wait for a pooled connection. Zero means 5s.
	AcquireTimeout time.Duration
	// QueryTimeout bounds an operation whose context has no deadline. Zero means 30s.
	QueryTimeout time.Duration
	// TracerProvider records every query as a span under the span of its
	// context; nil means the OpenTelemetry global, a no-op unless the process
	// set one.
	TracerProvider trace.TracerProvider
}

// Store is a migrated database.
type Store struct {
	transactions   atomic.Int64 // see Transactions
	statements     atomic.Int64 // see Statements
	db             *bun.DB
	postgres       bool
	channel        string
	acquireTimeout time.Duration
	queryTimeout   time.Duration
}

// Open connects to the database the config names; it does not migrate.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 16
	}
	if cfg.AcquireTimeout <= 0 {
		cfg.AcquireTimeout = 5 * time.Second
	}
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = 30 * time.Second
	}
	s := &Store{acquireTimeout: cfg.AcquireTimeout, queryTimeout: cfg.QueryTimeout}
	switch {
	case cfg.DatabaseURL == "":
		if cfg.DataDir == "" {
			return nil, errors.New("open store: neither a database URL nor a data directory")
		}
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		path := filepath.Join(cfg.DataDir, "switchyard.db")
		dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=cache_size(-65536)&_txlock=immediate"
		sqldb, err := sql.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		// One connection: SQLite has one writer, and queueing in the pool is
		// cheaper and fairer than retrying on SQLITE_BUSY. Its page cache
		// is 64 MiB (SQLite's default is 2 MiB): the upper levels of the
		// indexes of a few million rows stay in memory, so a push does not
		// read them from the file.
		sqldb.SetMaxOpenConns(1)
		s.db = bun.NewDB(sqldb, sqlitedialect.New())
	case strings.HasPrefix(cfg.DatabaseURL, "postgres://") || strings.HasPrefix(cfg.DatabaseURL, "postgresql://"):
		u, err := url.Parse(cfg.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("open postgres: bad URL: %w", err)
		}
		q := u.Query()
		if q.Get("sslmode") == "" && isLoopback(u.Hostname()) {
			q.Set("sslmode", "disable")
		}
		if q.Get("dial_timeout") == "" && q.Get("connect_timeout") == "" {
			q.Set("dial_timeout", "5s")
		}
		u.RawQuery = q.Encode()
		sqldb := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(u.String())))
		sqldb.SetMaxOpenConns(cfg.MaxConns)
		sqldb.SetMaxIdleConns(cfg.MaxConns)
		sqldb.SetConnMaxIdleTime(5 * time.Minute)
		s.db = bun.NewDB(sqldb, pgdialect.New())
		s.postgres = true
		s.channel = notifyChannel(cfg.DatabaseURL)
	default:
		return nil, fmt.Errorf("open store: unsupported database URL %q (want postgres://…)", redact(cfg.DatabaseURL))
	}
	s.db = s.db.WithQueryHook(newQueryTracer(cfg.TracerProvider))
	s.db = s.db.WithQueryHook(txCounter{&s.transactions, &s.statements})
	return s, nil
}

func isLoopback(host string) bool {
	return host == "" || host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparseable>"
	}
	return u.Redacted()
}

// Postgres reports whether the store runs on Postgres rather than SQLite.
func (s *Store) Postgres() bool { return s.postgres }

// DB is the underlying bun database, for tests that need to hold connections or
// inspect rows directly.
func (s *Store) DB() *bun.DB { return s.db }

// Close closes the pool.
func (s *Store) Close() error { return s.db.Close() }

// Migrate applies every migration not yet applied. Several processes may call it
// at once: they take turns through bun's migration lock.
func (s *Store) Migrate(ctx context.Context) error {
	m := migrate.NewMigrator(s.db, migrations.Migrations)
	// Servers starting at once on an empty Postgres race to create the
	// migration tables (CREATE TABLE IF NOT EXISTS is not safe against a
	// concurrent creator); the loser finds them there on the next try.
	for try := 1; ; try++ {
		err := m.Init(ctx)
		if err == nil {
			break
		}
		if try == 5 || ctx.Err() != nil {
			return fmt.Errorf("migrate: init: %w", err)
		}
		time.Sleep(time.Duration(try) * 50 * time.Millisecond)
	}
	for {
		err := m.Lock(ctx)
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("migrate: lock: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	defer func() { _ = m.Unlock(context.WithoutCancel(ctx)) }()
	if _, err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.Read(ctx, func(ctx context.Context, q Q) error {
		_, err := q.db.ExecContext(ctx, "SELECT 1")
		return err
	})
}

// Q runs queries on one borrowed connection or inside one transaction. Its
// methods are the store's queries, named noun first.
type Q struct {
	db      bun.IDB
	channel string
	held    *heldWrites // see HoldWrites
}

// Read runs fn on one pooled connection.
func (s *Store) Read(ctx context.Context, fn func(ctx context.Context, q Q) error) error {
	return s.with(ctx, func(ctx context.Context, conn bun.Conn) error {
		return fn(context.WithValue(ctx, autocommitKey{}, true), Q{db: conn, channel: s.channel})
	})
}

// Transactions is how many database transactions the store has run (each
// [Store.Write], each statement of a [Store.Read], and the listener's pings):
// what an idle server costs its database.
func (s *Store) Transactions() int64 { return s.transactions.Load() }

// Statements is how many statements the store has sent to the database
// (BEGIN and COMMIT included), each a round trip: with [Store.Transactions],
// what an operation costs its database.
func (s *Store) Statements() int64 { return s.statements.Load() }

// Write runs fn in one transaction, committed when fn returns nil and rolled
// back otherwise (also when ctx ends first).
func (s *Store) Write(ctx context.Context, fn func(ctx context.Context, q Q) error) error {
	return s.with(ctx, func(ctx context.Context, conn bun.Conn) error {
		return conn.RunInTx(ctx, nil, func(txCtx context.Context, tx bun.Tx) error {
			return fn(withCallerSpan(txCtx, ctx), Q{db: tx, channel: s.channel})
		})
	})
}

func (s *Store) with(ctx context.Context, fn func(ctx context.Context, conn bun.Conn) error) error {
	if err := ctx.Err(); err != nil {
		return translate(err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.queryTimeout)
		defer cancel()
	}
	conn, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	err = fn(ctx, conn)
	if err != nil && errors.Is(translate(err), ErrUnavailable) {
		if cause := ended(ctx); cause != nil {
			// The context cut a query off, and the driver said so in its own
			// words (on Postgres, a network timeout): the cause is the
			// context, not the database.
			return fmt.Errorf("%w: %v", cause, err)
		}
	}
	return translate(err)
}

// ended returns why ctx ended, or nil while it has not. A passed deadline
// counts before the context's own timer fires: the driver's network deadline,
// set from it, may fire first.
func ended(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if deadline, ok := ctx.Deadline(); ok && !time.Now().Before(deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// acquire borrows a connection, waiting at most the acquire timeout.
func (s *Store) acquire(ctx context.Context) (bun.Conn, error) {
	actx, cancel := context.WithTimeout(ctx, s.acquireTimeout)
	defer cancel()
	conn, err := s.db.Conn(actx)
	if err == nil {
		return conn, nil
	}
	if ctx.Err() != nil {
		return bun.Conn{}, translate(ctx.Err())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return bun.Conn{}, fmt.Errorf("%w: no database connection free within %s", ErrUnavailable, s.acquireTimeout)
	}
	return bun.Conn{}, translate(err)
}

// TxCommitUnflushed lets the transaction's commit return before Postgres has
// flushed it to disk (synchronous_commit off); SQLite's commits never wait for
// a flush (WAL with synchronous NORMAL). Only for writes whose loss in a
// database crash the engine recovers from: a crash loses at most the last
// such commits, never one that a later flushed commit depends on (each flush
// writes everything before it), and what it loses is as if the transaction had
// not run.
func (q Q) TxCommitUnflushed(ctx context.Context) error {
	if !q.postgres() {
		return nil
	}
	if _, err := q.db.ExecContext(ctx, "SET LOCAL synchronous_commit TO OFF"); err != nil {
		return fmt.Errorf("commit unflushed: %w", err)
	}
	return nil
}

func (q Q) postgres() bool { return q.db.Dialect().Name() == dialect.PG }
