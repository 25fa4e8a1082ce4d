package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"

	"github.com/switchyard/switchyard/internal/store"
)

// Paths of the HTTP probes.
const (
	// LivePath answers 200 while the process serves HTTP at all (liveness).
	LivePath = "/healthz"
	// ReadyPath answers 200 while the server can take calls, else 503 with the
	// reason (readiness).
	ReadyPath = "/readyz"
)

// readyTimeout bounds the database check of one probe.
const readyTimeout = 2 * time.Second

// Health says whether this server can take calls, for orchestrators and load
// balancers. It answers grpc.health.v1.Health/Check (SERVING or NOT_SERVING)
// and the HTTP probes [LivePath] and [ReadyPath]; none of them needs a token.
//
// The server is ready while shutdown has not begun, the database answers within
// two seconds and every migration this build embeds is applied. Each probe
// checks afresh, so readiness comes back by itself when the database does.
type Health struct {
	store    *store.Store
	log      *slog.Logger
	stopping atomic.Bool
	migrated atomic.Bool // once applied, migrations stay applied

	mu     sync.Mutex
	reason string // why the last check found the server not ready; "" when ready
}

// NewHealth returns the health of a server over st, logging to log (nil
// discards).
func NewHealth(st *store.Store, log *slog.Logger) *Health {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Health{store: st, log: log}
}

// BeginShutdown makes the server report NOT_SERVING (and [ReadyPath] 503) from
// now on, so that load balancers stop sending it calls. Call it first when
// shutdown begins, before draining.
func (h *Health) BeginShutdown() { h.stopping.Store(true) }

// errNotReady prefixes the reasons a check gives.
var errNotReady = errors.New("not ready")

// Ready returns nil when the server can take calls, else an error whose text is
// the short reason, without details of the database (those go to the log).
func (h *Health) Ready(ctx context.Context) error {
	if h.stopping.Load() {
		return fmt.Errorf("%w: shutting down", errNotReady)
	}
	reason, detail := h.check(ctx)
	h.note(ctx, reason, detail)
	if reason != "" {
		return fmt.Errorf("%w: %s", errNotReady, reason)
	}
	return nil
}

func (h *Health) check(ctx context.Context) (reason string, detail error) {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if h.migrated.Load() {
		if err := h.store.Ping(ctx); err != nil {
			return "database unreachable", err
		}
		return "", nil
	}
	pending, err := h.store.MigrationsPending(ctx)
	if err != nil {
		return "database unreachable", err
	}
	if pending > 0 {
		return fmt.Sprintf("%d database migrations not applied", pending), nil
	}
	h.migrated.Store(true)
	return "", nil
}

// note logs when readiness changes.
func (h *Health) note(ctx context.Context, reason string, detail error) {
	h.mu.Lock()
	changed := reason != h.reason
	h.reason = reason
	h.mu.Unlock()
	switch {
	case !changed:
	case reason == "":
		h.log.InfoContext(ctx, "ready again")
	case detail != nil:
		h.log.WarnContext(ctx, "not ready", "reason", reason, "error", detail.Error())
	default:
		h.log.WarnContext(ctx, "not ready", "reason", reason)
	}
}

// serveLive answers [LivePath].
func (h *Health) serveLive(w http.ResponseWriter, r *http.Request) {
	h.log.DebugContext(r.Context(), "health check", "probe", "live", "ready", true)
	writeProbe(w, http.StatusOK, "ok")
}

// serveReady answers [ReadyPath].
func (h *Health) serveReady(w http.ResponseWriter, r *http.Request) {
	err := h.Ready(r.Context())
	h.logProbe(r.Context(), "ready", err)
	if err != nil {
		writeProbe(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeProbe(w, http.StatusOK, "ready")
}

func (h *Health) logProbe(ctx context.Context, probe string, err error) {
	if err != nil {
		h.log.DebugContext(ctx, "health check", "probe", probe, "ready", false, "reason", err.Error())
		return
	}
	h.log.DebugContext(ctx, "health check", "probe", probe, "ready", true)
}

func writeProbe(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body+"\n")
}

// healthChecker answers gRPC health for the whole server ("") and for each of
// its services alike.
type healthChecker struct {
	health   *Health
	services []string
}

func (c *healthChecker) Check(ctx context.Context, req *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	if req.Service != "" && !slices.Contains(c.services, req.Service) {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("unknown service %q", req.Service))
	}
	err := c.health.Ready(ctx)
	c.health.logProbe(ctx, "grpc", err)
	if err != nil {
		return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
	}
	return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
}

// mountHealth serves h's probes on mux: gRPC health for the named services, and
// the HTTP probes.
func mountHealth(mux *http.ServeMux, h *Health, services []string) {
	mux.Handle(grpchealth.NewHandler(&healthChecker{health: h, services: services}))
	mux.HandleFunc("GET "+LivePath, h.serveLive)
	mux.HandleFunc("GET "+ReadyPath, h.serveReady)
}
