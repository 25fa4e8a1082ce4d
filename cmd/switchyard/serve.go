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
	"strings"
	"time"

	"github.com/switchyard/switchyard/service/auth"
	"github.com/switchyard/switchyard/service/engine"
	"github.com/switchyard/switchyard/service/server"
	"github.com/switchyard/switchyard/service/store"
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
	drain := fs.Duration("shutdown-timeout", 30*time.Second, "how long SIGTERM waits for in-flight calls")
	secretKeyFlag := fs.String("secret-key", "", "base64 of 32 random bytes that seal stored webhook secrets; with SQLite, kept in --data-dir when not given")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	var handler slog.Handler = slog.NewTextHandler(stderr, nil)
	if *logFormat == "json" {
		handler = slog.NewJSONHandler(stderr, nil)
	}
	log := slog.New(handler)

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
	eng := engine.New(engine.Config{Store: st, Logger: log, SecretKey: secretKey})
	engineCtx, stopEngine := context.WithCancel(context.WithoutCancel(ctx))
	defer stopEngine()
	eng.Start(engineCtx)
	h, err := server.Handler(server.Config{
		Store:       st,
		Engine:      eng,
		Auth:        auth.NewAuthenticator(st, nil),
		Logger:      log,
		CORSOrigins: splitList(*corsOrigins),
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := server.NewHTTPServer(*addr, h, log)
	// Shutdown waits for calls to finish; streams would never, so they end first.
	srv.RegisterOnShutdown(eng.Drain)
	scheme := "http"
	if *tlsCert != "" {
		scheme = "https"
	}
	database := "sqlite " + sf.dataDir
	if sf.databaseURL != "" {
		database = "postgres"
	}
	fmt.Fprintf(stdout, "switchyard listening on %s://%s (%s)\n", scheme, ln.Addr(), database)
	log.Info("serving", "addr", ln.Addr().String(), "database", database)

	serveErr := make(chan error, 1)
	go func() {
		if *tlsCert != "" {
			serveErr <- srv.ServeTLS(ln, *tlsCert, *tlsKey)
		} else {
			serveErr <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
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
