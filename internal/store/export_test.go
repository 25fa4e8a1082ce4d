package store

import "context"

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
