package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// Kind classifies an engine [Error] by what the caller should do about it.
type Kind int

// The kinds of engine errors.
const (
	// KindInvalid: the request is malformed; do not retry it unchanged.
	KindInvalid Kind = iota + 1
	// KindNotFound: the named object does not exist for the caller's tenant.
	KindNotFound
	// KindAlreadyExists: an idempotency key was reused for a different request.
	KindAlreadyExists
	// KindUnauthenticated: no valid credentials.
	KindUnauthenticated
	// KindFailedPrecondition: the object is not in a state that allows the call
	// (such as a report for an attempt that is no longer the worker's).
	KindFailedPrecondition
	// KindUnavailable: the server cannot serve this now; retry (elsewhere).
	KindUnavailable
)

// Violation names one invalid field and why.
type Violation struct {
	// Field is the field's path, such as `payload` or `events[3].payload`.
	Field string
	// Rule is a short, stable identifier of the rule that failed.
	Rule string
	// Message says what is wrong in words.
	Message string
}

// Error is a failure the caller can act on, with what the API needs to
// describe it.
type Error struct {
	Kind       Kind
	Message    string
	Violations []Violation
	// Details are stable key/value facts about the failure (such as the id of
	// the event an idempotency key belongs to).
	Details map[string]string
	// RetryAfter, when set, is how long the caller should wait before retrying.
	RetryAfter time.Duration
	// Cause is what failed behind an error the caller did not cause (a
	// database that cannot serve), for the server's log, not for the caller.
	Cause error
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// unavailableRetry is the back-off suggested when the database cannot serve.
const unavailableRetry = 200 * time.Millisecond

// ErrorOf returns the engine error that err is, translating the store's: the
// [*Error] in err's chain; for a database that cannot serve now (pool
// exhausted, unreachable, busy), a KindUnavailable error with retry advice and
// err as its cause. It returns nil for any other error: the caller's own
// deadline or cancellation, or a failure nobody can act on (a bug, a broken
// database). This is the one place where store errors become engine errors.
func ErrorOf(err error) *Error {
	var ee *Error
	switch {
	case errors.As(err, &ee):
		return ee
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return nil
	case errors.Is(err, store.ErrUnavailable):
		return &Error{
			Kind: KindUnavailable, Message: "the database is unavailable or overloaded; retry with backoff",
			RetryAfter: unavailableRetry, Cause: err,
		}
	}
	return nil
}

func invalid(field, rule, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{
		Kind:       KindInvalid,
		Message:    field + ": " + msg,
		Violations: []Violation{{Field: field, Rule: rule, Message: msg}},
	}
}

// prefixField puts an item's position in front of the field paths of err, for
// errors about one item of a batch.
func prefixField(err error, prefix string) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	out := *e
	out.Violations = make([]Violation, len(e.Violations))
	for i, v := range e.Violations {
		v.Field = prefix + "." + v.Field
		out.Violations[i] = v
	}
	out.Message = prefix + ": " + e.Message
	return &out
}

// answer is a store error as an engine method returns it: nil stays nil, a
// missing row ([store.ErrNotFound]) is notFound, and any other error is
// wrapped, saying what failed (format and args).
func answer(err, notFound error, format string, args ...any) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return notFound
	default:
		return fmt.Errorf(format+": %w", append(args, err)...)
	}
}
