package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"

	"connectrpc.com/connect"

	"github.com/switchyard/switchyard/internal/service"
)

// restKey marks the context of a call that came in on a REST route. Vanguard
// hands such calls to the Connect handlers as Connect requests, so only this
// mark tells them apart (for logs and metrics).
type restKey struct{}

// restCall is what the context of a REST call holds: whether its request was
// read (see [restReach]).
type restCall struct {
	read atomic.Bool
}

// maxRESTErrorBody bounds the transcoder error bodies that [markREST] holds
// back to look at; they are a few hundred bytes.
const maxRESTErrorBody = 64 << 10

// markREST marks every request it passes on as a REST call, and turns the
// transcoder's own failures to read a request into invalid_argument.
//
// The transcoder builds the request message from the path, the query string
// and the body before any handler runs. When it cannot (a query key that names
// no field, a path segment that is not UTF-8, a Timestamp with nanos out of
// range), it answers internal or unknown, HTTP 500, although the fault is the
// caller's. A call whose request was never read (see [restReach]) and that
// failed internal or unknown is therefore answered invalid_argument, HTTP 400.
// An unknown route is answered 404 not_found and a route's wrong method 405
// unimplemented (with Allow), in the JSON error shape of every other answer.
// A value of the path or query string it could not read is worded as the same
// value in a JSON body would be (see [restParams]). Failures with other codes
// (a body too large) keep theirs.
func markREST(log *slog.Logger, params restParams, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := &restCall{}
		rw := &restWriter{ResponseWriter: w, call: call}
		next.ServeHTTP(rw, r.WithContext(context.WithValue(r.Context(), restKey{}, call)))
		rw.finish(log, params, r)
	})
}

// restReach is the interceptor that records, for a REST call, that its
// request was read: Connect calls interceptors only once it has decoded the
// request (a stream's, once the stream opens). The transcoder may start a
// handler before it has read the request, so reaching the handler is not
// enough.
type restReach struct{}

func (restReach) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		markRead(ctx)
		return next(ctx, req)
	}
}

func (restReach) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (restReach) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		markRead(ctx)
		return next(ctx, conn)
	}
}

// markRead records that the request of a REST call was read.
func markRead(ctx context.Context) {
	if call, ok := ctx.Value(restKey{}).(*restCall); ok {
		call.read.Store(true)
	}
}

// isREST reports whether the call of ctx came in on a REST route.
func isREST(ctx context.Context) bool {
	_, ok := ctx.Value(restKey{}).(*restCall)
	return ok
}

// protocolOf names the protocol a call came in on: "rest" for the REST routes,
// else connect-go's name ("connect", "grpc", "grpcweb").
func protocolOf(ctx context.Context, peerProtocol string) string {
	if isREST(ctx) {
		return "rest"
	}
	return peerProtocol
}

// restWriter holds back an error answer of a REST call whose request was
// never read, so that [restWriter.finish] can correct its code.
type restWriter struct {
	http.ResponseWriter
	call    *restCall
	held    bool
	status  int
	body    bytes.Buffer
	dropped bool
}

func (w *restWriter) WriteHeader(status int) {
	if !w.call.read.Load() && status >= http.StatusBadRequest {
		w.held, w.status = true, status
		return
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *restWriter) Write(p []byte) (int, error) {
	if !w.held {
		return w.ResponseWriter.Write(p)
	}
	if w.body.Len()+len(p) > maxRESTErrorBody {
		w.dropped = true
	} else {
		w.body.Write(p)
	}
	return len(p), nil
}

// Flush passes on a flush of an answer that is not held back.
func (w *restWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok && !w.held {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *restWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish sends a held-back answer: as it was, unless its code is internal or
// unknown, which become invalid_argument, or it is not in the JSON error
// shape, or it is about a path or query value.
func (w *restWriter) finish(log *slog.Logger, params restParams, r *http.Request) {
	if !w.held {
		return
	}
	var st struct {
		Code    uint32 `json:"code"` // a number: connect.Code's JSON is its name
		Message string `json:"message"`
	}
	parsed := !w.dropped && json.Unmarshal(w.body.Bytes(), &st) == nil
	switch {
	case !parsed && w.status == http.StatusNotFound:
		w.writeStatus(http.StatusNotFound, connect.CodeNotFound, fmt.Sprintf("no REST route %s %s; the routes are in the API reference (proto/switchyard/v1, google.api.http)", r.Method, restExcerpt(r.URL.Path)))
		return
	case !parsed && w.status == http.StatusMethodNotAllowed:
		w.writeStatus(http.StatusMethodNotAllowed, connect.CodeUnimplemented, fmt.Sprintf("%s is not allowed on %s; allowed: %s", r.Method, restExcerpt(r.URL.Path), w.Header().Get("Allow")))
		return
	case parsed && connect.Code(st.Code) == connect.CodeInvalidArgument && params.reword(st.Message, r) != st.Message:
		w.writeStatus(w.status, connect.CodeInvalidArgument, params.reword(st.Message, r))
		return
	case parsed && connect.Code(st.Code) != connect.CodeInternal && connect.Code(st.Code) != connect.CodeUnknown:
		w.ResponseWriter.Header().Set("Content-Type", "application/json")
		w.ResponseWriter.WriteHeader(w.status)
		_, _ = w.ResponseWriter.Write(w.body.Bytes())
		return
	}
	if reworded := params.reword(st.Message, r); parsed && reworded != st.Message {
		w.writeStatus(http.StatusBadRequest, connect.CodeInvalidArgument, reworded)
		return
	}
	msg := "the request could not be read from its path, query string or body"
	if parsed && st.Message != "" && !strings.Contains(st.Message, "marshal") {
		msg += ": " + restExcerpt(st.Message)
	}
	log.DebugContext(r.Context(), "REST request not readable", "method", r.Method, "path", restExcerpt(r.URL.Path), "code", connect.CodeInvalidArgument, "cause", restExcerpt(st.Message))
	w.writeStatus(http.StatusBadRequest, connect.CodeInvalidArgument, msg)
}

// writeStatus sends a google.rpc.Status answer in place of the held one.
func (w *restWriter) writeStatus(status int, code connect.Code, msg string) {
	body, _ := json.Marshal(map[string]any{"code": uint32(code), "message": msg, "details": []any{}})
	h := w.ResponseWriter.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	w.ResponseWriter.WriteHeader(status)
	_, _ = w.ResponseWriter.Write(body)
}

// restExcerpt is s cut by [service.Excerpt], in valid UTF-8.
func restExcerpt(s string) string {
	return strings.ToValidUTF8(service.Excerpt(s), "\uFFFD")
}
