package service

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/engine"
)

// errorDomain names Switchyard in google.rpc.ErrorInfo details.
const errorDomain = "switchyard.dev"

// RequestIDHeader carries a call's request id in every response, so a user can
// quote it and an operator can find the call's log line.
const RequestIDHeader = "X-Request-Id"

type requestIDKey struct{}

// WithRequestID returns ctx carrying the call's request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the call's request id, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Errors converts every failure into the Connect error the client sees: the one
// place where domain errors become codes, identical on every protocol.
type Errors struct {
	Log *slog.Logger
}

// Convert returns err as a *connect.Error. Causes the client did not make are
// logged with the request id; an internal error carries only that id. What the
// error quotes of the request is cut to excerpts (see [Excerpt]).
func (m Errors) Convert(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(m.convert(ctx, err), &ce) {
		return excerptError(ce)
	}
	return err
}

func (m Errors) convert(ctx context.Context, err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce
	}
	if ee := engine.ErrorOf(err); ee != nil {
		if ee.Cause != nil {
			m.Log.WarnContext(ctx, ee.Message, "request_id", RequestID(ctx), "error", Excerpt(ee.Cause.Error()))
		}
		return engineError(ee)
	}
	var limited *auth.RateLimitError
	switch {
	case errors.As(err, &limited):
		return rateLimited(limited)
	case errors.Is(err, auth.ErrPermissionDenied):
		return connect.NewError(connect.CodePermissionDenied, errors.New(strings.TrimPrefix(err.Error(), auth.ErrPermissionDenied.Error()+": ")))
	case errors.Is(err, auth.ErrUnauthenticated):
		// The code already says "unauthenticated"; the message says why.
		return connect.NewError(connect.CodeUnauthenticated, errors.New(strings.TrimPrefix(err.Error(), auth.ErrUnauthenticated.Error()+": ")))
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, errors.New("the deadline passed before the call completed; nothing was stored unless a retry says so"))
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, errors.New("the call was cancelled"))
	}
	id := RequestID(ctx)
	m.Log.ErrorContext(ctx, "internal error", "request_id", id, "error", Excerpt(err.Error()))
	return connect.NewError(connect.CodeInternal, errors.New("internal error (request id "+id+")"))
}

var kindCodes = map[engine.Kind]connect.Code{
	engine.KindInvalid:            connect.CodeInvalidArgument,
	engine.KindNotFound:           connect.CodeNotFound,
	engine.KindAlreadyExists:      connect.CodeAlreadyExists,
	engine.KindUnauthenticated:    connect.CodeUnauthenticated,
	engine.KindFailedPrecondition: connect.CodeFailedPrecondition,
	engine.KindUnavailable:        connect.CodeUnavailable,
}

func engineError(ee *engine.Error) *connect.Error {
	code, ok := kindCodes[ee.Kind]
	if !ok {
		code = connect.CodeInternal
	}
	e := connect.NewError(code, errors.New(ee.Message))
	if len(ee.Violations) > 0 {
		vs := &validate.Violations{}
		for _, v := range ee.Violations {
			vs.Violations = append(vs.Violations, &validate.Violation{
				Field:   fieldPath(v.Field),
				RuleId:  proto.String(v.Rule),
				Message: proto.String(v.Message),
			})
		}
		addDetail(e, vs)
	}
	if len(ee.Details) > 0 {
		addDetail(e, &errdetails.ErrorInfo{Reason: reason(ee.Kind), Domain: errorDomain, Metadata: ee.Details})
	}
	if ee.RetryAfter > 0 {
		addDetail(e, &errdetails.RetryInfo{RetryDelay: durationpb.New(ee.RetryAfter)})
	}
	return e
}

func reason(k engine.Kind) string {
	if code, ok := kindCodes[k]; ok {
		return strings.ToUpper(code.String())
	}
	return "UNKNOWN"
}

// fieldPath turns "events[3].payload" into a protovalidate field path.
func fieldPath(path string) *validate.FieldPath {
	fp := &validate.FieldPath{}
	for part := range strings.SplitSeq(path, ".") {
		name, sub, hasSub := strings.Cut(part, "[")
		el := &validate.FieldPathElement{FieldName: proto.String(name)}
		if hasSub {
			if i, err := strconv.ParseUint(strings.TrimSuffix(sub, "]"), 10, 64); err == nil {
				el.Subscript = &validate.FieldPathElement_Index{Index: i}
			}
		}
		fp.Elements = append(fp.Elements, el)
	}
	return fp
}

func addDetail(e *connect.Error, msg proto.Message) {
	if d, err := connect.NewErrorDetail(msg); err == nil {
		e.AddDetail(d)
	}
}
