package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/dashboard"
	"github.com/switchyard/switchyard/internal/engine"
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

// config is the store config the flags ask for.
func (f *storeFlags) config() store.Config {
	return store.Config{DatabaseURL: f.databaseURL, DataDir: f.dataDir, MaxConns: f.maxConns}
}

// ensureDatabase creates the Postgres database of --database-url when it does
// not exist yet (see [store.EnsureDatabase]), and says so on w.
func (f *storeFlags) ensureDatabase(ctx context.Context, w io.Writer) error {
	created, err := store.EnsureDatabase(ctx, f.databaseURL)
	if created {
		fmt.Fprintln(w, "created the database of --database-url, which did not exist")
	}
	return err
}

// open opens and migrates the store, creating a missing Postgres database.
func (f *storeFlags) open(ctx context.Context, w io.Writer) (*store.Store, error) {
	if err := f.ensureDatabase(ctx, w); err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, f.config())
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
	var sf storeFlags
	if err := parseCommand("migrate", args, stderr, func(fs *flag.FlagSet) { sf.register(fs) }); err != nil {
		return err
	}
	st, err := sf.open(ctx, stdout)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

// serveFlags are the flags of serve.
type serveFlags struct {
	store             storeFlags
	addr              string
	corsOrigins       string
	tlsCert, tlsKey   string
	adminToken        string
	logFormat         string
	logLevel          string
	drain             time.Duration
	notReadyFor       time.Duration
	retention         time.Duration
	retentionInterval time.Duration
	secretKey         string
	dashboard         bool
	metricsAddr       string
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	f.store.register(fs)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&f.corsOrigins, "cors-origins", "", "comma-separated browser origins allowed besides the server's own")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate file (with --tls-key); plain HTTP/1.1 and h2c without")
	fs.StringVar(&f.tlsKey, "tls-key", "", "TLS key file")
	fs.StringVar(&f.adminToken, "admin-token", "", "store this admin token for the default tenant on start (for scripts and tests)")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&f.logLevel, "log-level", "info", "least severe logs written: debug, info, warn or error")
	fs.DurationVar(&f.drain, "shutdown-timeout", 30*time.Second, "how long SIGTERM waits for in-flight calls")
	fs.DurationVar(&f.notReadyFor, "shutdown-delay", 0, "after SIGTERM, how long to keep serving while /readyz and gRPC health say not serving, so load balancers take the server out of rotation first (e.g. 5s behind a load balancer)")
	// Retention: history older than this is pruned, by one server at a time.
	fs.DurationVar(&f.retention, "retention", engine.DefaultRetention, "how long ended runs (with their tasks), events and replay records are kept, and so the shortest time an idempotency key deduplicates; 0 keeps everything")
	fs.DurationVar(&f.retentionInterval, "retention-interval", time.Minute, "how often history older than --retention is pruned")
	fs.StringVar(&f.secretKey, "secret-key", "", "base64 of 32 random bytes that seal stored webhook secrets; with SQLite, kept in --data-dir when not given")
	fs.BoolVar(&f.dashboard, "dashboard", true, "serve the web dashboard at / (GET and HEAD of every path the API does not use); --dashboard=false serves only the API")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "also serve /metrics, without authentication, on this address (keep it private); /metrics on --addr needs an admin token")
}

// config checks the flags and turns them into the server's config.
func (f *serveFlags) config(log *slog.Logger) (server.Config, error) {
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return server.Config{}, errors.New("--tls-cert and --tls-key go together")
	}
	tlsConfig, err := loadServerTLS(f.tlsCert, f.tlsKey)
	if err != nil {
		return server.Config{}, err
	}
	if f.retention < 0 || f.retentionInterval <= 0 {
		return server.Config{}, errors.New("--retention must be 0 (keep everything) or more, --retention-interval more than 0")
	}
	retention := f.retention
	if retention == 0 {
		retention = -1 // the engine's "keep everything"
	}
	secretKey, err := loadSecretKey(f.secretKey, f.store)
	if err != nil {
		return server.Config{}, err
	}
	cfg := server.Config{
		Store:         f.store.config(),
		AdminToken:    f.adminToken,
		Engine:        engine.Config{SecretKey: secretKey, Retention: retention, RetentionInterval: f.retentionInterval},
		Handler:       server.HandlerConfig{CORSOrigins: splitList(f.corsOrigins)},
		TLS:           tlsConfig,
		MetricsAddr:   f.metricsAddr,
		ShutdownDelay: f.notReadyFor,
		Logger:        log,
	}
	if f.dashboard {
		cfg.Handler.Dashboard = dashboard.Assets()
	}
	return cfg, nil
}

// newLogger returns the logger that --log-format and --log-level ask for,
// writing to w.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

func serveCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f serveFlags
	if err := parseCommand("serve", args, stderr, f.register); err != nil {
		return err
	}
	return f.serve(ctx, stdout, stderr, nil)
}

// beside is work that runs in the server's process while it serves (the demo
// worker of dev), given the server's base URL; it ends when ctx does.
type beside func(ctx context.Context, baseURL string, log *slog.Logger)

// serve runs the server the flags describe until ctx ends, and along with it
// also (when not nil), which the shutdown waits for.
func (f *serveFlags) serve(ctx context.Context, stdout, stderr io.Writer, also beside) error {
	log, err := newLogger(stderr, f.logFormat, f.logLevel)
	if err != nil {
		return err
	}
	cfg, err := f.config(log)
	if err != nil {
		return err
	}
	if f.store.databaseURL != "" {
		store.SetDriverLog(log)
	}
	if err := f.store.ensureDatabase(ctx, stderr); err != nil {
		return err
	}
	// Tracing: off unless the OTEL_* environment turns it on.
	stopTracing, err := setupTracing(ctx, log)
	if err != nil {
		return err
	}
	defer stopTracing()
	srv, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	// Shutdown covers the delay before draining as well as the drain.
	timeout := f.notReadyFor + f.drain
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return errors.Join(fmt.Errorf("listen: %w", err), shutdown(ctx, srv, timeout))
	}
	database := f.announce(stdout, srv, ln.Addr(), cfg.TLS != nil)
	log.Info("serving", "addr", ln.Addr().String(), "database", database)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	if also != nil {
		alsoCtx, stopAlso := context.WithCancel(ctx)
		alsoDone := make(chan struct{})
		go func() {
			defer close(alsoDone)
			also(alsoCtx, "http://"+browserAddr(ln.Addr()), log)
		}()
		defer func() { stopAlso(); <-alsoDone }()
	}
	select {
	case err := <-serveErr:
		return errors.Join(err, shutdown(ctx, srv, timeout))
	case <-ctx.Done():
	}
	if err := shutdown(ctx, srv, timeout); err != nil {
		return err
	}
	if err := <-serveErr; err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// shutdown stops srv within timeout, however ctx ended.
func shutdown(ctx context.Context, srv *server.Server, timeout time.Duration) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	return srv.Shutdown(sctx)
}

// announce prints where srv serves (and, on a first start, its admin token),
// and returns the database it serves.
func (f *serveFlags) announce(stdout io.Writer, srv *server.Server, addr net.Addr, tls bool) (database string) {
	if created := srv.CreatedAdminToken(); created != "" {
		fmt.Fprintf(stdout, "Created the first admin token (shown only this once; keep it):\n\n    %s\n\n", created)
	}
	if maddr := srv.MetricsAddr(); maddr != nil {
		fmt.Fprintf(stdout, "metrics (no authentication) on http://%s%s\n", maddr, server.MetricsPath)
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	database = "sqlite " + f.store.dataDir
	if f.store.databaseURL != "" {
		database = "postgres"
	}
	fmt.Fprintf(stdout, "switchyard listening on %s://%s (%s)\n", scheme, addr, database)
	if f.dashboard {
		fmt.Fprintf(stdout, "dashboard on %s://%s/\n", scheme, browserAddr(addr))
	}
	return database
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
	if err := os.MkdirAll(sf.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("write secret key: %w", err)
	}
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write secret key: %w", err)
	}
	return key, nil
}
