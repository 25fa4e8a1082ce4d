package store

import (
	"context"
	"fmt"
	"strings"
)

// ExecRaw runs a statement on q's connection or transaction, for tests that
// provoke the database's own errors.
func (q Q) ExecRaw(ctx context.Context, query string, args ...any) error {
	_, err := q.db.ExecContext(ctx, query, args...)
	return err
}

// ScanRaw runs a query on q's connection or transaction and scans its one row
// into dest, for tests that provoke the database's own errors.
func (q Q) ScanRaw(ctx context.Context, query string, dest ...any) error {
	return q.db.QueryRowContext(ctx, query).Scan(dest...)
}

// WaitCandidatesPlan is how the database runs WaitListCandidates' query:
// EXPLAIN ANALYZE's text on Postgres, EXPLAIN QUERY PLAN's details on SQLite.
func (q Q) WaitCandidatesPlan(ctx context.Context, tenantID, key string, matches []string) (string, error) {
	query := q.waitCandidates(tenantID, key, matches).String()
	explain, col := "EXPLAIN (ANALYZE, COSTS OFF) ", 0
	if !q.postgres() {
		explain, col = "EXPLAIN QUERY PLAN ", 3
	}
	rows, err := q.db.QueryContext(ctx, explain+query)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		cols, err := rows.Columns()
		if err != nil {
			return "", err
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		fmt.Fprintf(&plan, "%s\n", vals[col])
	}
	return plan.String(), rows.Err()
}
