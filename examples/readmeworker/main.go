// Command readmeworker runs the tasks of every workflow the README's examples
// put, so that their runs end as the README shows instead of waiting in the
// queue for a worker that never comes. What each action does is written in
// internal/demo ([demo.Readme]); `switchyard dev` runs the same handlers.
//
// It reads SWITCHYARD_SERVER (default http://127.0.0.1:8080) and
// SWITCHYARD_TOKEN (or SWITCHYARD_TOKEN_FILE, a file holding the token), and
// stops on SIGINT or SIGTERM:
//
//	go run ./examples/readmeworker
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/switchyard/switchyard/internal/demo"
	"github.com/switchyard/switchyard/sdk"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	token, err := demo.TokenFromEnv()
	if err != nil {
		log.Error("readmeworker", "error", err)
		os.Exit(2)
	}
	server := demo.ServerFromEnv()
	w := sdk.NewWorker(sdk.NewClient(server, sdk.WithToken(token)),
		sdk.WorkerConfig{Name: "readmeworker", Slots: 16, Logger: log})
	demo.Readme(w)
	log.Info("readmeworker starting", "server", server)
	if err := w.Run(ctx); err != nil {
		log.Error("readmeworker stopped", "error", err)
		os.Exit(1)
	}
}
