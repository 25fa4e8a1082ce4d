package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/service"
)

// callInterceptor is the outermost interceptor: it gives each call a request id
// (returned in the X-Request-Id header), turns panics into internal errors,
// converts every error of the interceptors and handlers inside it into its
// Connect code (service.Errors, the one mapping), and logs one line per call:
// procedure, protocol ("rest" for the REST routes), code, duration, request id
// and, when the call is traced, the trace id.
type callInterceptor struct {
	log  *slog.Logger
	errs service.Errors
}

func newCallInterceptor(log *slog.Logger, errs service.Errors) *callInterceptor {
	return &callInterceptor{log: log, errs: errs}
}

func (i *callInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (res connect.AnyResponse, err error) {
		id := uuid.NewString()
		ctx = service.WithRequestID(ctx, id)
		start := time.Now()
		defer func() {
			if r := recover(); r != nil {
				res, err = nil, i.panicked(ctx, r)
			}
			if err != nil {
				err = i.errs.Convert(ctx, err)
				var ce *connect.Error
				if errors.As(err, &ce) {
					ce.Meta().Set(service.RequestIDHeader, id)
				}
			} else if res != nil {
				res.Header().Set(service.RequestIDHeader, id)
			}
			i.logCall(ctx, req.Spec().Procedure, req.Peer().Protocol, id, start, err)
		}()
		return next(ctx, req)
	}
}

func (i *callInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i *callInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) (err error) {
		id := uuid.NewString()
		ctx = service.WithRequestID(ctx, id)
		conn.ResponseHeader().Set(service.RequestIDHeader, id)
		start := time.Now()
		defer func() {
			if r := recover(); r != nil {
				err = i.panicked(ctx, r)
			}
			err = i.errs.Convert(ctx, err)
			i.logCall(ctx, conn.Spec().Procedure, conn.Peer().Protocol, id, start, err)
		}()
		return next(ctx, conn)
	}
}

// WrapHTTP serves a plain HTTP endpoint (the webhook receiver) with what the
// interceptor gives every RPC: a request id in its context and in the
// X-Request-Id header, a panic turned into an internal error (answered 500
// unless the endpoint answered already), and one log line whose procedure is
// the request's path, protocol "http", and code the code of the error serve
// returns (serve answers the request itself, and returns the error it answered
// with).
func (i *callInterceptor) WrapHTTP(serve func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := uuid.NewString()
		ctx := service.WithRequestID(r.Context(), id)
		w.Header().Set(service.RequestIDHeader, id)
		rw := &answerWatch{ResponseWriter: w}
		start := time.Now()
		var err error
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				err = i.errs.Convert(ctx, i.panicked(ctx, p))
				if !rw.answered {
					http.Error(w, connect.CodeOf(err).String()+": "+errorMessage(err), http.StatusInternalServerError)
				}
			}
			i.logCall(ctx, r.URL.Path, "http", id, start, err)
		}()
		err = serve(rw, r.WithContext(ctx))
	})
}

// answerWatch notes whether a handler began its answer.
type answerWatch struct {
	http.ResponseWriter
	answered bool
}

func (w *answerWatch) WriteHeader(status int) {
	w.answered = true
	w.ResponseWriter.WriteHeader(status)
}

func (w *answerWatch) Write(b []byte) (int, error) {
	w.answered = true
	return w.ResponseWriter.Write(b)
}

// Unwrap gives [http.ResponseController] the writer underneath.
func (w *answerWatch) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func errorMessage(err error) string {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Message()
	}
	return err.Error()
}

func (i *callInterceptor) panicked(ctx context.Context, r any) error {
	i.log.ErrorContext(ctx, "panic in handler", "request_id", service.RequestID(ctx), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	return fmt.Errorf("panic: %v", r)
}

// frequentProcedures are the calls a worker makes for every task or every few
// seconds: their successes are logged at debug, so that the info log of a busy
// server holds what an operator reads. Their failures are logged like any other.
var frequentProcedures = map[string]bool{
	switchyardv1connect.WorkerServiceHeartbeatProcedure:    true,
	switchyardv1connect.WorkerServiceAcknowledgeProcedure:  true,
	switchyardv1connect.WorkerServiceCompleteTaskProcedure: true,
	switchyardv1connect.WorkerServiceFailTaskProcedure:     true,
	switchyardv1connect.DurableServiceRecordStepProcedure:  true,
}

func (i *callInterceptor) logCall(ctx context.Context, procedure, protocol, id string, start time.Time, err error) {
	code := "ok"
	level := slog.LevelInfo
	switch {
	case err == nil:
		if frequentProcedures[procedure] {
			level = slog.LevelDebug
		}
	case connect.CodeOf(err) == connect.CodeInternal:
		code, level = connect.CodeOf(err).String(), slog.LevelError
	default:
		code = connect.CodeOf(err).String()
	}
	if !i.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("procedure", procedure),
		slog.String("protocol", protocolOf(ctx, protocol)),
		slog.String("code", code),
		slog.Duration("duration", time.Since(start)),
		slog.String("request_id", id),
	}
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()))
	}
	i.log.LogAttrs(ctx, level, "rpc", attrs...)
}
