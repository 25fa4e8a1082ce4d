package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/uptrace/bun/driver/pgdriver"
)

// The store's errors. Every error a store method returns wraps one of these or
// is an unexpected failure (a bug or a broken database).
var (
	// ErrNotFound means the row does not exist for this tenant.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a uniqueness rule refused the write.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable means the database cannot serve now (pool exhausted,
	// unreachable, busy); the operation may be retried.
	ErrUnavailable = errors.New("database unavailable")
)

// translate turns driver errors into the store's sentinels, in this one place.
func translate(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrConflict), errors.Is(err, ErrUnavailable):
		return err
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		code := pgErr.Field('C')
		switch {
		case code == "23505":
			return fmt.Errorf("%w: %s", ErrConflict, pgErr.Field('M'))
		case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"), strings.HasPrefix(code, "57P"), code == "40001", code == "40P01":
			// connection exceptions, insufficient resources, shutdown,
			// serialization failures and deadlocks: retryable.
			return fmt.Errorf("%w: %s", ErrUnavailable, pgErr.Field('M'))
		case code == "57014":
			return fmt.Errorf("query cancelled: %w", context.DeadlineExceeded)
		}
		return err
	}
	var netErr net.Error
	// A connection the server closed under a query ends it with EOF.
	if errors.As(err, &netErr) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "UNIQUE constraint failed"):
		return fmt.Errorf("%w: %s", ErrConflict, msg)
	case strings.Contains(msg, "SQLITE_BUSY"), strings.Contains(msg, "database is locked"):
		return fmt.Errorf("%w: %s", ErrUnavailable, msg)
	case errors.Is(err, sql.ErrConnDone), strings.Contains(msg, "driver: bad connection"):
		return fmt.Errorf("%w: %s", ErrUnavailable, msg)
	}
	return err
}
