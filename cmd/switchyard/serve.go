package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/dashboard"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/metrics"
	"github.com/switchyard/switchyard/internal/server"
	"github.com/switchyard/switchyard/internal/store"
)

// storeFlags are the flags that choose and bound the database.
type storeFlags struct {
	dataDir     string
	databaseURL string
	maxConns    int
}

func (f *storeFlags) register(fs interface {
	StringVar(*string, string, string, string)
	IntVar(*int, string, int, string)
}) {
	fs.StringVar(&f.dataDir, "data-dir", ".switchyard", "directory of the embedded SQLite database (used when no --database-url)")
	fs.StringVar(&f.databaseURL, "database-url", "", "postgres://… URL; empty means the embedded SQLite file in --data-dir")
	fs.IntVar(&f.maxConns, "max-db-conns", 16, "maximum open Postgres connections")
}

// open opens and migrates the store.
func (f *storeFlags) open(ctx context.Context) (*store.Store, error) {
	st, err := store.Open(ctx, store.Config{DatabaseURL: f.databaseURL, DataDir: f.dataDir, MaxConns: f.maxConns})
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

func migrateCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", stderr)
	var sf storeFlags
	sf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

func serveCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	var sf storeFlags
	sf.register(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	corsOrigins := fs.String("cors-origins", "", "comma-separated browser origins allowed besides the server's own")
	tlsCert := fs.String("tls-cert", "", "TLS certificate file (with --tls-key); plain HTTP/1.1 and h2c without")
	tlsKey := fs.String("tls-key", "", "TLS key file")
	adminToken := fs.String("admin-token", "", "store this admin token for the default tenant on start (for scripts and tests)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "least severe logs written: debug, info, warn or error")
	drain := fs.Duration("shutdown-timeout", 30*time.Second, "how long SIGTERM waits for in-flight calls")
	notReadyFor := fs.Duration("shutdown-delay", 0, "after SIGTERM, how long to keep serving while /readyz and gRPC health say not serving, so load balancers take the server out of rotation first (e.g. 5s behind a load balancer)")
	// Retention: history older than this is pruned, by one server at a time.
	retention := fs.Duration("retention", engine.DefaultRetention, "how long ended runs (with their tasks), events and replay records are kept, and so the shortest time an idempotency key deduplicates; 0 keeps everything")
	retentionInterval := fs.Duration("retention-interval", time.Minute, "how often history older than --retention is pruned")
	secretKeyFlag := fs.String("secret-key", "", "base64 of 32 random bytes that seal stored webhook secrets; with SQLite, kept in --data-dir when not given")
	withDashboard := fs.Bool("dashboard", true, "serve the web dashboard at / (GET and HEAD of every path the API does not use); --dashboard=false serves only the API")
	metricsAddr := fs.String("metrics-addr", "", "also serve /metrics, without authentication, on this address (keep it private); /metrics on --addr needs an admin token")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	tlsConfig, err := loadServerTLS(*tlsCert, *tlsKey)
	if err != nil {
		return err
	}
	if *retention < 0 || *retentionInterval <= 0 {
		return errors.New("--retention must be 0 (keep everything) or more, --retention-interval more than 0")
	}
	if *retention == 0 {
		*retention = -1 // the engine's "keep everything"
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", *logLevel)
	}
	logOpts := &slog.HandlerOptions{Level: level}
	var handler slog.Handler
	switch *logFormat {
	case "text":
		handler = slog.NewTextHandler(stderr, logOpts)
	case "json":
		handler = slog.NewJSONHandler(stderr, logOpts)
	default:
		return fmt.Errorf("--log-format %q: want text or json", *logFormat)
	}
	log := slog.New(handler)
	if sf.databaseURL != "" {
		store.SetDriverLog(log)
	}
	// Tracing: off unless the OTEL_* environment turns it on.
	stopTracing, err := setupTracing(ctx, log)
	if err != nil {
		return err
	}
	defer stopTracing()

	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	created, err := auth.Bootstrap(ctx, st, *adminToken, time.Now())
	if err != nil {
		return err
	}
	if created != "" {
		fmt.Fprintf(stdout, "Created the first admin token (shown only this once; keep it):\n\n    %s\n\n", created)
	}

	secretKey, err := loadSecretKey(*secretKeyFlag, sf)
	if err != nil {
		return err
	}
	mtr := metrics.New(metrics.Config{Store: st, Logger: log})
	eng := engine.New(engine.Config{Store: st, Logger: log, SecretKey: secretKey, Observer: mtr.Observer(),
		Retention: *retention, RetentionInterval: *retentionInterval})
	engineCtx, stopEngine := context.WithCancel(context.WithoutCancel(ctx))
	defer stopEngine()
	eng.Start(engineCtx)
	health := server.NewHealth(st, log)
	cfg := server.Config{
		Health:      health,
		Store:       st,
		Engine:      eng,
		Auth:        auth.NewAuthenticator(st, nil),
		Logger:      log,
		CORSOrigins: splitList(*corsOrigins),
		Metrics:     mtr,
	}
	if *withDashboard {
		cfg.Dashboard = dashboard.Assets()
	}
	h, err := server.Handler(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := server.NewHTTPServer(*addr, h, log)
	srv.TLSConfig = tlsConfig
	// Shutdown waits for calls to finish; streams would never, so they end first.
	srv.RegisterOnShutdown(eng.Drain)
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	database := "sqlite " + sf.dataDir
	if sf.databaseURL != "" {
		database = "postgres"
	}
	if *metricsAddr != "" {
		maddr, stopMetrics, err := serveMetrics(*metricsAddr, mtr, log)
		if err != nil {
			return err
		}
		defer stopMetrics()
		fmt.Fprintf(stdout, "metrics (no authentication) on http://%s%s\n", maddr, server.MetricsPath)
	}
	fmt.Fprintf(stdout, "switchyard listening on %s://%s (%s)\n", scheme, ln.Addr(), database)
	if *withDashboard {
		fmt.Fprintf(stdout, "dashboard on %s://%s/\n", scheme, browserAddr(ln.Addr()))
	}
	log.Info("serving", "addr", ln.Addr().String(), "database", database)

	serveErr := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			// ALPN offers what srv.Protocols allow: h2, then http/1.1.
			serveErr <- srv.ServeTLS(ln, "", "")
		} else {
			serveErr <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// Not ready first, so that load balancers stop sending calls; then drain.
	health.BeginShutdown()
	if *notReadyFor > 0 {
		log.Info("shutting down: not ready, still serving", "delay", *notReadyFor)
		time.Sleep(*notReadyFor)
	}
	log.Info("shutting down: draining in-flight calls", "timeout", *drain)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), *drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// serveMetrics serves m's /metrics without authentication on a listener of its
// own, for a scraper on a private network; it keeps serving while the main
// listener drains, until stop.
func serveMetrics(addr string, m *metrics.Metrics, log *slog.Logger) (bound net.Addr, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen for metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+server.MetricsPath, m.Handler())
	srv := server.NewHTTPServer(addr, mux, log)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener failed", "error", err.Error())
		}
	}()
	log.Info("serving metrics", "addr", ln.Addr().String(), "path", server.MetricsPath)
	return ln.Addr(), func() { _ = srv.Close() }, nil
}

// browserAddr returns addr for a URL a browser can open: a wildcard listener
// (0.0.0.0, [::]) is reached on localhost.
func browserAddr(addr net.Addr) string {
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		return net.JoinHostPort("localhost", strconv.Itoa(tcp.Port))
	}
	return addr.String()
}

func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// loadSecretKey decodes the --secret-key flag. Without it, an embedded (SQLite)
// server keeps a generated key in its data directory, beside the data it
// protects; a Postgres server has none, as its processes must share one (webhook
// creation then says so).
func loadSecretKey(flagValue string, sf storeFlags) ([]byte, error) {
	if flagValue != "" {
		key, err := base64.StdEncoding.DecodeString(flagValue)
		if err != nil || len(key) != engine.SecretKeyBytes {
			return nil, fmt.Errorf("--secret-key: want base64 of %d bytes (e.g. openssl rand -base64 32)", engine.SecretKeyBytes)
		}
		return key, nil
	}
	if sf.databaseURL != "" {
		return nil, nil
	}
	path := filepath.Join(sf.dataDir, "secret.key")
	if raw, err := os.ReadFile(path); err == nil {
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
		if err != nil || len(key) != engine.SecretKeyBytes {
			return nil, fmt.Errorf("%s: not a base64 key of %d bytes", path, engine.SecretKeyBytes)
		}
		return key, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read secret key: %w", err)
	}
	key := make([]byte, engine.SecretKeyBytes)
	_, _ = rand.Read(key)
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write secret key: %w", err)
	}
	return key, nil
}
