package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// The error cases provoke each driver error for real and check the sentinel
// the store returns for it, and that a failed write leaves nothing behind. The
// cases of a store opened with limits of its own are in store_test.go
// (TestExhaustedPoolIsUnavailable, TestUnreachablePostgresIsUnavailable).
var errorCases = []suiteCase{
	{"WriteRollsBackOnError", testWriteRollsBackOnError},
	{"DeadlineReachesQueries", testDeadlineReachesQueries},
	{"NoRowsIsNotFound", testErrNoRows},
	{"UniqueViolationIsConflict", testErrUniqueViolation},
	{"LockConflictIsUnavailable", testErrLockConflict},
	{"QueryPastDeadlineIsDeadlineExceeded", testErrQueryPastDeadline},
}

// postgresErrorCases are the error cases of a database server: SQLite has none
// to lose.
var postgresErrorCases = []suiteCase{
	{"ConnectionLostIsUnavailable", testErrConnectionLost},
}

func testErrNoRows(t *testing.T, f *fixture) {
	err := f.st.Read(f.ctx, func(ctx context.Context, q store.Q) error {
		var id string
		return q.ScanRaw(ctx, "SELECT id FROM events WHERE id = 'missing'", &id)
	})
	wantErr(t, "a query without rows", err, store.ErrNotFound)
}

func testErrUniqueViolation(t *testing.T, f *fixture) {
	err := f.st.Write(f.ctx, func(ctx context.Context, q store.Q) error {
		return q.ExecRaw(ctx, "INSERT INTO tenants (tenant_id, name, created_at) VALUES ('default', 'again', 0)")
	})
	wantErr(t, "an insert under a taken primary key", err, store.ErrConflict)
}

// testErrLockConflict: on Postgres two transactions deadlock (each holds the
// row the other wants) and the one Postgres aborts is ErrUnavailable; on SQLite
// a write that finds another connection's write lock (with no busy wait) is.
func testErrLockConflict(t *testing.T, f *fixture) {
	if !f.st.Postgres() {
		testErrSQLiteBusy(t, f)
		return
	}
	var ready sync.WaitGroup
	ready.Add(2)
	errs := concurrently(t, 2, func(i int) (error, error) {
		order := []string{tenantA, tenantB}
		if i == 1 {
			order = []string{tenantB, tenantA}
		}
		return f.st.Write(f.ctx, func(ctx context.Context, q store.Q) error {
			err := q.ExecRaw(ctx, "UPDATE tenants SET name = name WHERE tenant_id = ?", order[0])
			ready.Done()
			ready.Wait()
			if err != nil {
				return err
			}
			return q.ExecRaw(ctx, "UPDATE tenants SET name = name WHERE tenant_id = ?", order[1])
		}), nil
	})
	if errs[0] == nil {
		errs[0], errs[1] = errs[1], errs[0]
	}
	wantErr(t, "the deadlock's victim", errs[0], store.ErrUnavailable)
	wantEqual(t, "the deadlock's survivor", errs[1], nil)
}

func testErrSQLiteBusy(t *testing.T, f *fixture) {
	// The store's one connection waits for no lock during the case.
	st := f.st
	var path string
	var busyTimeout int
	setBusyTimeout := func(ms int) error {
		return st.Read(f.ctx, func(ctx context.Context, q store.Q) error {
			return q.ExecRaw(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", ms))
		})
	}
	err := st.Read(f.ctx, func(ctx context.Context, q store.Q) error {
		if err := q.ScanRaw(ctx, "SELECT file FROM pragma_database_list WHERE name = 'main'", &path); err != nil {
			return err
		}
		return q.ScanRaw(ctx, "PRAGMA busy_timeout", &busyTimeout)
	})
	if err == nil {
		err = setBusyTimeout(0)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := setBusyTimeout(busyTimeout); err != nil {
			t.Errorf("restore the busy wait of %dms: %v", busyTimeout, err)
		}
	}()
	other, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(f.ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	err = st.Write(f.ctx, func(ctx context.Context, q store.Q) error { return nil })
	wantErr(t, "a write while another connection writes", err, store.ErrUnavailable)
	if _, err := conn.ExecContext(f.ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "a write once the other connection is done", st.Write(f.ctx, func(ctx context.Context, q store.Q) error { return nil }), nil)
}

// testErrQueryPastDeadline runs a query that outlasts its context: the error
// is the deadline's, and the store serves the next call.
func testErrQueryPastDeadline(t *testing.T, f *fixture) {
	query := "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
	if f.st.Postgres() {
		query = "SELECT pg_sleep(30)::text"
	}
	ctx, cancel := context.WithTimeout(f.ctx, 200*time.Millisecond)
	defer cancel()
	err := f.st.Read(ctx, func(ctx context.Context, q store.Q) error {
		var out any
		return q.ScanRaw(ctx, query, &out)
	})
	wantErr(t, "a query past its deadline", err, context.DeadlineExceeded)
	if errors.Is(err, store.ErrUnavailable) {
		t.Errorf("a query past its deadline: %v, want it not ErrUnavailable", err)
	}
	wantEqual(t, "Ping after the deadline", f.st.Ping(f.ctx), nil)
}

// testErrConnectionLost: a connection the server ends mid-operation is
// ErrUnavailable, and the pool replaces it.
func testErrConnectionLost(t *testing.T, f *fixture) {
	err := f.st.Read(f.ctx, func(ctx context.Context, q store.Q) error {
		var pid, one int
		if err := q.ScanRaw(ctx, "SELECT pg_backend_pid()", &pid); err != nil {
			return err
		}
		if _, err := f.st.DB().ExecContext(ctx, "SELECT pg_terminate_backend(?)", pid); err != nil {
			return err
		}
		return q.ScanRaw(ctx, "SELECT 1", &one)
	})
	wantErr(t, "a query on a terminated connection", err, store.ErrUnavailable)
	wantEqual(t, "Ping after the connection was lost", f.st.Ping(f.ctx), nil)
}
