// Command dashboarddemo is a Switchyard worker that gives the dashboard
// something to show: it puts the workflows demo.order (four tasks, each
// working --task-delay) and demo.slow (one task that waits until the run is
// cancelled) and runs their tasks. They are written in internal/demo
// ([demo.Dashboard]); `switchyard dev` runs the same worker in the server's
// process.
//
// It runs until SIGINT or SIGTERM. SWITCHYARD_SERVER (default
// http://127.0.0.1:8080) says where the server is, SWITCHYARD_TOKEN (or
// SWITCHYARD_TOKEN_FILE, a file holding the token) which token to use: never
// a flag, which others on the machine could read in ps. Try it with a server
// started by `make run`:
//
//	export SWITCHYARD_TOKEN=sy_...
//	go run ./examples/dashboarddemo
//	switchyard push demo.order.created --payload '{"order_id":"o-1","amount":42}'
//	switchyard push demo.slow.requested
//
// and watch the runs at http://127.0.0.1:8080/ (sign in with the same token).
// The dashboard's browser tests (web/e2e) run this worker too.
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/switchyard/switchyard/internal/demo"
	"github.com/switchyard/switchyard/sdk"
)

func main() {
	fs := flag.NewFlagSet("dashboarddemo", flag.ExitOnError)
	server := fs.String("server", demo.ServerFromEnv(), "server URL (env SWITCHYARD_SERVER)")
	delay := fs.Duration("task-delay", time.Second, "how long each demo.order task works")
	slowMax := fs.Duration("slow-max", 10*time.Minute, "how long the demo.slow task waits at most")
	_ = fs.Parse(os.Args[1:]) // ExitOnError: Parse exits on a bad flag

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	token, err := demo.TokenFromEnv()
	if err != nil {
		log.Error("dashboarddemo", "error", err)
		os.Exit(2)
	}

	hostname, _ := os.Hostname()
	w := sdk.NewWorker(sdk.NewClient(*server, sdk.WithToken(token)), sdk.WorkerConfig{
		Name:            "dashboarddemo@" + hostname,
		Slots:           16,
		Labels:          map[string]string{"example": "dashboarddemo"},
		ShutdownTimeout: 5 * time.Second,
		Logger:          log,
	})
	demo.Dashboard(w, demo.DashboardConfig{TaskDelay: *delay, SlowMax: *slowMax})

	log.Info("dashboarddemo starting", "server", *server, "workflows", []string{"demo.order", "demo.slow"})
	if err := w.Run(ctx); err != nil {
		log.Error("dashboarddemo stopped", "error", err)
		os.Exit(1)
	}
}
