package engine

import (
	"errors"
	"fmt"
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

// Error is an error the caller caused, with what the API needs to describe it.
type Error struct {
	Kind       Kind
	Message    string
	Violations []Violation
	// Details are stable key/value facts about the failure (such as the id of
	// the event an idempotency key belongs to).
	Details map[string]string
}

func (e *Error) Error() string { return e.Message }

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
