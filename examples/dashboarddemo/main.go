// Command dashboarddemo is a Switchyard worker that gives the dashboard
// something to show. It declares two workflows and runs their tasks.
//
// demo.order, started by every demo.order.created event, is four tasks; each
// sleeps --task-delay (1s by default) before it answers, so that the run's
// states can be watched as they change:
//
//	           ┌─> charge ──┐
//	validate ──┤            ├──> ship
//	           └─> reserve ─┘
//
// demo.slow, started by every demo.slow.requested event, is one task, wait,
// that runs until the run is cancelled (or --slow-max passes). Cancelling the
// run ends the task's context with [sdk.ErrTaskCancelled]; the run is then
// CANCELLED whatever the task reports.
//
// It runs until SIGINT or SIGTERM. Flags (or SWITCHYARD_SERVER and
// SWITCHYARD_TOKEN) say where the server is. Try it with a server started by
// `make run`:
//
//	go run ./examples/dashboarddemo --token sy_...
//	switchyard push demo.order.created --payload '{"order_id":"o-1","amount":42}'
//	switchyard push demo.slow.requested
//
// and watch the runs at http://127.0.0.1:8080/ (sign in with the same token).
// The dashboard's browser tests (web/e2e) run this worker too.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/sdk"
)

// order is the four-task workflow of demo.order.created events.
var order = &switchyardv1.WorkflowSpec{
	Name:        "demo.order",
	Description: "Validate an order, charge and reserve it in parallel, then ship it.",
	OnEvents:    []string{"demo.order.created"},
	Tasks: []*switchyardv1.TaskSpec{
		demoTask("validate"),
		demoTask("charge", "validate"),
		demoTask("reserve", "validate"),
		demoTask("ship", "charge", "reserve"),
	},
}

// demoTask is a task of demo.order: its action is "demo." and its name.
func demoTask(name string, parents ...string) *switchyardv1.TaskSpec {
	return &switchyardv1.TaskSpec{Name: name, Action: "demo." + name, Parents: parents}
}

// slow is the one-task workflow of demo.slow.requested events, made to be
// cancelled. Its timeout outlasts --slow-max, and it is not retried.
var slow = &switchyardv1.WorkflowSpec{
	Name:        "demo.slow",
	Description: "Wait until cancelled: try the Cancel button.",
	OnEvents:    []string{"demo.slow.requested"},
	Tasks: []*switchyardv1.TaskSpec{{
		Name:    "wait",
		Action:  "demo.wait",
		Timeout: durationpb.New(time.Hour),
		Retry:   &switchyardv1.RetryPolicy{MaxAttempts: 1},
	}},
}

func main() {
	fs := flag.NewFlagSet("dashboarddemo", flag.ExitOnError)
	server := fs.String("server", envOr("SWITCHYARD_SERVER", "http://127.0.0.1:8080"), "server URL (env SWITCHYARD_SERVER)")
	token := fs.String("token", os.Getenv("SWITCHYARD_TOKEN"), "bearer token (env SWITCHYARD_TOKEN)")
	delay := fs.Duration("task-delay", time.Second, "how long each demo.order task works")
	slowMax := fs.Duration("slow-max", 10*time.Minute, "how long the demo.slow task waits at most")
	_ = fs.Parse(os.Args[1:]) // ExitOnError: Parse exits on a bad flag

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	c := sdk.NewClient(*server, sdk.WithToken(*token))
	hostname, _ := os.Hostname()
	w := sdk.NewWorker(c, sdk.WorkerConfig{
		Name:            "dashboarddemo@" + hostname,
		Slots:           16,
		Labels:          map[string]string{"example": "dashboarddemo"},
		ShutdownTimeout: 5 * time.Second,
		Logger:          log,
	})
	w.Workflow(order) // put on every start: the same spec again changes nothing
	w.Workflow(slow)
	for _, t := range order.GetTasks() {
		w.Handle(t.GetAction(), step(t.GetName(), *delay))
	}
	w.Handle("demo.wait", wait(*slowMax))

	log.Info("dashboarddemo starting", "server", *server, "workflows", []string{order.GetName(), slow.GetName()})
	if err := w.Run(ctx); err != nil {
		log.Error("dashboarddemo stopped", "error", err)
		os.Exit(1)
	}
}

// step returns the TaskFunc of one demo.order task: it works for delay, then
// answers with its name, the order id and what its parents answered.
func step(name string, delay time.Duration) sdk.TaskFunc {
	return func(ctx context.Context, t *sdk.Task) (map[string]any, error) {
		if err := sleep(ctx, delay); err != nil {
			return nil, err
		}
		parents := append([]string{}, slices.Sorted(maps.Keys(t.ParentOutputs))...)
		return map[string]any{
			"step":     name,
			"order_id": fmt.Sprint(t.Input["order_id"]),
			"after":    parents,
			"at":       time.Now().UTC().Format(time.RFC3339Nano),
		}, nil
	}
}

// wait returns the TaskFunc of demo.slow's task: it returns when the server
// cancels the attempt (its context ends) or after max.
func wait(max time.Duration) sdk.TaskFunc {
	return func(ctx context.Context, t *sdk.Task) (map[string]any, error) {
		start := time.Now()
		if err := sleep(ctx, max); err != nil {
			// The report of a cancelled attempt is refused by the server and
			// dropped by the SDK; the run is already CANCELLED.
			return nil, err
		}
		return map[string]any{"waited": time.Since(start).String()}, nil
	}
}

// sleep waits for d, or returns the reason ctx ended first.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// envOr returns the environment variable key, or def when it is empty.
func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
