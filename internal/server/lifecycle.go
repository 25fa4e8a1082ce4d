package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/metrics"
	"github.com/switchyard/switchyard/internal/store"
)

// Config describes a whole server for [New]: its database, engine, HTTP
// surface, listeners and shutdown.
type Config struct {
	// Store chooses and bounds the database. New opens and migrates it;
	// [Server.Shutdown] closes it.
	Store store.Config
	// AdminToken is stored as an admin token of the default tenant. Without
	// it, a database that has no token yet gets a new one
	// ([Server.CreatedAdminToken]).
	AdminToken string
	// Engine tunes the engine. New fills in its Store and Logger, and its
	// Observer (the server's metrics) when nil.
	Engine engine.Config
	// Handler configures the HTTP surface. New fills in its Store, Engine,
	// Auth, Logger, Health and Metrics.
	Handler HandlerConfig
	// HTTP adjusts the connection limits of the listener.
	HTTP HTTPLimits
	// TLS, when set, makes [Server.Serve] serve HTTPS (HTTP/2 or HTTP/1.1, as
	// ALPN settles); nil serves HTTP/1.1 and unencrypted HTTP/2.
	TLS *tls.Config
	// MetricsAddr, when set, also serves [MetricsPath] without authentication
	// on a listener of its own, for a scraper on a private network; it keeps
	// serving while the main listener drains.
	MetricsAddr string
	// ShutdownDelay is how long [Server.Shutdown] keeps serving while the
	// health probes say not serving, so that load balancers take the server
	// out of rotation before it drains.
	ShutdownDelay time.Duration
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
}

// Server is a running Switchyard server: its store, its engine's background
// work and its HTTP server, from [New] to [Server.Shutdown].
type Server struct {
	log           *slog.Logger
	store         *store.Store
	health        *Health
	engine        *engine.Engine
	stopEngine    context.CancelFunc
	http          *http.Server
	metrics       *http.Server // nil without Config.MetricsAddr
	metricsAddr   net.Addr
	createdToken  string
	shutdownDelay time.Duration

	shutdownOnce sync.Once
	shutdownErr  error
}

// New opens and migrates the store, stores the admin token, and starts the
// engine's background work behind the server's handler; it listens on
// MetricsAddr when set. ctx bounds the start only: the engine runs until
// [Server.Shutdown]. Serve the API with [Server.Serve].
func New(ctx context.Context, cfg Config) (*Server, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, err := store.Open(ctx, cfg.Store)
	if err != nil {
		return nil, err
	}
	s := &Server{log: log, store: st, shutdownDelay: cfg.ShutdownDelay}
	if err := s.assemble(ctx, cfg); err != nil {
		return nil, errors.Join(err, s.stop())
	}
	return s, nil
}

// assemble builds and starts what runs on the open store, in order: the
// migrations, metrics, the engine, the admin token, health, the handler and
// the HTTP servers.
func (s *Server) assemble(ctx context.Context, cfg Config) error {
	if err := s.store.Migrate(ctx); err != nil {
		return err
	}
	mtr := metrics.New(metrics.Config{Pool: s.store.Pool(), Transactions: s.store.Transactions, Statements: s.store.Statements, Logger: s.log})
	ecfg := cfg.Engine
	ecfg.Store, ecfg.Logger = s.store, s.log
	if ecfg.Observer == nil {
		ecfg.Observer = mtr.Observer()
	}
	s.engine = engine.New(ecfg)
	mtr.CollectStats(s.engine)
	created, err := auth.Bootstrap(ctx, s.engine, cfg.AdminToken)
	if err != nil {
		return err
	}
	s.createdToken = created
	engineCtx, stopEngine := context.WithCancel(context.WithoutCancel(ctx))
	s.stopEngine = stopEngine
	s.engine.Start(engineCtx)
	s.health = NewHealth(s.store, s.log)
	hcfg := cfg.Handler
	hcfg.Store, hcfg.Engine, hcfg.Logger = s.store, s.engine, s.log
	hcfg.Auth, hcfg.Health, hcfg.Metrics = auth.NewAuthenticator(s.engine, nil), s.health, mtr
	s.engine.OnTokenRevoked(hcfg.Auth.Forget)
	h, err := Handler(hcfg)
	if err != nil {
		return err
	}
	s.http = NewHTTPServer("", h, s.log, cfg.HTTP)
	s.http.TLSConfig = cfg.TLS
	// Shutdown waits for calls to finish; streams would never, so they end first.
	s.http.RegisterOnShutdown(s.engine.Drain)
	if cfg.MetricsAddr != "" {
		return s.serveMetrics(cfg.MetricsAddr, mtr)
	}
	return nil
}

// serveMetrics serves m at [MetricsPath] without authentication on addr until
// the server stops.
func (s *Server) serveMetrics(addr string, m *metrics.Metrics) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+MetricsPath, m.Handler())
	// Go's profiles (CPU, heap, goroutines) of the server under its real
	// load, on the private listener only.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	s.metrics = NewHTTPServer(addr, mux, s.log)
	s.metricsAddr = ln.Addr()
	go func() {
		if err := s.metrics.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("metrics listener failed", "error", err.Error())
		}
	}()
	s.log.Info("serving metrics", "addr", ln.Addr().String(), "path", MetricsPath)
	return nil
}

// Serve serves the API on ln until [Server.Shutdown], and then returns nil;
// otherwise it returns what stopped it. It serves HTTPS when Config.TLS is set.
func (s *Server) Serve(ln net.Listener) error {
	ln = coalescingListener{ln}
	var err error
	if s.http.TLSConfig != nil {
		// ALPN offers what the server's protocols allow: h2, then http/1.1.
		err = s.http.ServeTLS(ln, "", "")
	} else {
		err = s.http.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("serve: %w", err)
}

// Shutdown stops the server in order: the health probes say not serving (for
// Config.ShutdownDelay, while calls are still served); the listeners close,
// Listen and WatchRun streams end with unavailable (so that their clients
// reconnect elsewhere) and in-flight calls finish; then the engine's
// background work stops, the metrics listener closes and the store closes.
// When ctx ends first, the calls still in flight are cut and Shutdown returns
// ctx's error after stopping the rest. Later calls return the first call's
// result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() { s.shutdownErr = s.shutdown(ctx) })
	return s.shutdownErr
}

func (s *Server) shutdown(ctx context.Context) error {
	s.health.BeginShutdown()
	if s.shutdownDelay > 0 {
		s.log.Info("shutting down: not ready, still serving", "delay", s.shutdownDelay)
		delay := time.NewTimer(s.shutdownDelay)
		select {
		case <-delay.C:
		case <-ctx.Done():
		}
		delay.Stop()
	}
	if deadline, ok := ctx.Deadline(); ok {
		s.log.Info("shutting down: draining in-flight calls", "timeout", time.Until(deadline).Round(time.Millisecond))
	} else {
		s.log.Info("shutting down: draining in-flight calls")
	}
	var err error
	if err = s.http.Shutdown(ctx); err != nil {
		err = fmt.Errorf("shutdown: %w", err)
		_ = s.http.Close()
	}
	return errors.Join(err, s.stop())
}

// stop ends what New started, last first: the engine's background work, the
// metrics listener, the store.
func (s *Server) stop() error {
	if s.stopEngine != nil {
		s.stopEngine()
	}
	if s.metrics != nil {
		_ = s.metrics.Close()
	}
	if err := s.store.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// Store is the server's store, open until [Server.Shutdown].
func (s *Server) Store() *store.Store { return s.store }

// Health answers the server's health probes.
func (s *Server) Health() *Health { return s.health }

// CreatedAdminToken is the admin token New created because the database had
// none and Config.AdminToken was empty; "" otherwise. It is shown nowhere
// else.
func (s *Server) CreatedAdminToken() string { return s.createdToken }

// MetricsAddr is the address of the metrics listener, nil without
// Config.MetricsAddr.
func (s *Server) MetricsAddr() net.Addr { return s.metricsAddr }
