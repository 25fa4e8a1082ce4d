package store_test

import (
	"context"
	"flag"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// storePool lends migrated stores of one engine to the suite's cases, each
// store to one case at a time and emptied of the previous case's rows: every
// case has a database of its own, and the suite migrates a few rather than one
// per case, which would take most of its time (SQLite under the race detector
// most of all).
type storePool struct {
	free chan *store.Store
}

func newStorePool(t *testing.T, eng storetest.Engine) *storePool {
	t.Helper()
	// As many as cases run at once, up to 8: a case waits for a free store,
	// and migrating more takes longer than the cases do.
	size := min(flag.Lookup("test.parallel").Value.(flag.Getter).Get().(int), 8)
	p := &storePool{free: make(chan *store.Store, size)}
	for i := range size {
		st := eng.Open(t, store.Config{})
		if i == 0 {
			// emptyStore restores the default tenant only: a migration that
			// seeds other rows must be restored there too.
			wantEqual(t, "rows of a migrated database", rowCounts(t, st), map[string]int64{"tenants": 1})
		}
		p.free <- st
	}
	return p
}

// take lends a store to t until t ends.
func (p *storePool) take(t *testing.T) *store.Store {
	st := <-p.free
	t.Cleanup(func() {
		defer func() { p.free <- st }()
		emptyStore(t, st)
	})
	return st
}

// emptyStore deletes every row but the migrations' own, leaving the store as
// migrating left it: with the default tenant.
func emptyStore(t *testing.T, st *store.Store) {
	t.Helper()
	tables := appTables(t, st)
	// DELETE rather than TRUNCATE: on tables this small it is many times
	// faster, as it creates no new files. Rows go before the rows they refer
	// to: tasks before runs, tenants last.
	slices.SortFunc(tables, func(a, b string) int { return deleteOrder(a) - deleteOrder(b) })
	var stmts strings.Builder
	for _, table := range tables {
		stmts.WriteString("DELETE FROM " + table + ";\n")
	}
	stmts.WriteString("INSERT INTO tenants (tenant_id, name, created_at) VALUES ('" + store.DefaultTenant + "', 'default', 0)")
	if _, err := st.DB().ExecContext(context.Background(), stmts.String()); err != nil {
		t.Fatalf("empty the database for the next case: %v", err)
	}
}

func deleteOrder(table string) int {
	return map[string]int{"tasks": -1, "tenants": 1}[table]
}

// appTables lists the store's tables but the migrations' own.
func appTables(t *testing.T, st *store.Store) []string {
	t.Helper()
	query := "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
	if !st.Postgres() {
		query = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
	}
	var tables []string
	if err := st.DB().NewRaw(query).Scan(context.Background(), &tables); err != nil {
		t.Fatalf("list tables: %v", err)
	}
	tables = slices.DeleteFunc(tables, func(name string) bool { return strings.HasPrefix(name, "bun_") })
	slices.Sort(tables)
	return tables
}

// rowCounts counts the rows of each of the store's tables that has any, but
// the migrations' own.
func rowCounts(t *testing.T, st *store.Store) map[string]int64 {
	t.Helper()
	counts := map[string]int64{}
	for _, table := range appTables(t, st) {
		n, err := st.DB().NewSelect().Table(table).Count(context.Background())
		if err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		if n > 0 {
			counts[table] = int64(n)
		}
	}
	return counts
}
