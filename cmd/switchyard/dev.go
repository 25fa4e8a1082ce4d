package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/demo"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/sdk"
)

// devTokenFile is the file in --data-dir that keeps dev's admin token, so
// that every start of dev on the same data prints the same token.
const devTokenFile = "dev.token"

// devCommand runs the server as serve does (SQLite in --data-dir unless
// --database-url says otherwise) with the demo worker in the same process,
// and prints an admin token and the dashboard's address: everything a first
// look needs, in one command.
func devCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f serveFlags
	var taskDelay time.Duration
	err := parseCommand("dev", args, stderr, func(fs *flag.FlagSet) {
		f.register(fs)
		fs.DurationVar(&taskDelay, "task-delay", time.Second, "how long each task of the demo workflow demo.order works")
	})
	if err != nil {
		return err
	}
	if f.tlsCert != "" || f.tlsKey != "" {
		return errors.New("dev serves plain HTTP on a local address; use serve for TLS")
	}
	if !f.dashboard {
		return errors.New("dev serves the dashboard; use serve for --dashboard=false")
	}
	tokenPath := filepath.Join(f.store.dataDir, devTokenFile)
	if f.adminToken == "" {
		if f.adminToken, err = devToken(tokenPath); err != nil {
			return err
		}
	}
	token := f.adminToken
	return f.serve(ctx, stdout, stderr, func(ctx context.Context, baseURL string, log *slog.Logger) {
		fmt.Fprintf(stdout, "\nswitchyard dev: the server, and a demo worker in the same process.\n"+
			"  dashboard    %s/ (sign in with the token)\n"+
			"  admin token  %s\n"+
			"  in a shell   export SWITCHYARD_SERVER=%s SWITCHYARD_TOKEN_FILE=%s\n"+
			"  try          switchyard push demo.order.created --payload '{\"order_id\":\"o-1\"}'\n\n",
			baseURL, token, baseURL, tokenPath)
		runDemoWorker(ctx, baseURL, token, taskDelay, log)
	})
}

// devToken returns the token kept in path, making and keeping a new one when
// there is none.
func devToken(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err == nil && strings.TrimSpace(string(raw)) != "" {
		return strings.TrimSpace(string(raw)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("dev token: %w", err)
	}
	token := engine.NewTokenSecret()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("dev token: %w", err)
	}
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("dev token: %w", err)
	}
	return token, nil
}

// runDemoWorker runs the worker of examples/dashboarddemo and
// examples/readmeworker against baseURL until ctx ends.
func runDemoWorker(ctx context.Context, baseURL, token string, taskDelay time.Duration, log *slog.Logger) {
	w := sdk.NewWorker(sdk.NewClient(baseURL, sdk.WithToken(token)), sdk.WorkerConfig{
		Name:            "dev",
		Slots:           16,
		Labels:          map[string]string{"example": "dev"},
		ShutdownTimeout: 5 * time.Second,
		Logger:          log.With("part", "demo worker"),
	})
	demo.Dashboard(w, demo.DashboardConfig{TaskDelay: taskDelay})
	demo.Readme(w)
	if err := w.Run(ctx); err != nil && ctx.Err() == nil {
		log.Error("demo worker stopped", "error", err)
	}
}
