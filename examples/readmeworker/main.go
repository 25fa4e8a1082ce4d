// Command readmeworker runs the tasks of every workflow the README's examples
// put, so that their runs end as the README shows instead of waiting in the
// queue for a worker that never comes:
//
//	audit.record, orders.review, deploy.app, report.build, email.send
//	    succeed at once, echoing their input;
//	customers.sync
//	    succeeds after 5 s, so that the concurrency example has runs waiting;
//	invoice.fetch, invoice.push
//	    the workflow invoice-sync, which this worker puts (on invoice.created):
//	    push fails the first time it sees an invoice (and is not retried), so
//	    that the run fails and a replay from its failed tasks succeeds.
//
// It reads SWITCHYARD_SERVER (default http://127.0.0.1:8080) and
// SWITCHYARD_TOKEN, and stops on SIGINT or SIGTERM:
//
//	go run ./examples/readmeworker
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/sdk"
)

// invoiceSync is the workflow of the README's replay example.
var invoiceSync = &switchyardv1.WorkflowSpec{
	Name:     "invoice-sync",
	OnEvents: []string{"invoice.created"},
	Tasks: []*switchyardv1.TaskSpec{
		{Name: "fetch", Action: "invoice.fetch"},
		{Name: "push", Action: "invoice.push", Parents: []string{"fetch"}},
	},
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	server := os.Getenv("SWITCHYARD_SERVER")
	if server == "" {
		server = "http://127.0.0.1:8080"
	}
	w := sdk.NewWorker(sdk.NewClient(server, sdk.WithToken(os.Getenv("SWITCHYARD_TOKEN"))),
		sdk.WorkerConfig{Name: "readmeworker", Slots: 16, Logger: log})
	w.Workflow(invoiceSync)
	for _, action := range []string{"audit.record", "orders.review", "deploy.app", "report.build", "email.send", "invoice.fetch"} {
		w.Handle(action, echo)
	}
	w.Handle("customers.sync", func(ctx context.Context, t *sdk.Task) (map[string]any, error) {
		select {
		case <-time.After(5 * time.Second):
			return echo(ctx, t)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	var seen sync.Map // invoices whose push failed once
	w.Handle("invoice.push", func(ctx context.Context, t *sdk.Task) (map[string]any, error) {
		if _, failed := seen.LoadOrStore(fmt.Sprint(t.Input["invoice_id"]), true); !failed {
			return nil, sdk.Permanent(fmt.Errorf("the accounting system refused invoice %v (it accepts a replay)", t.Input["invoice_id"]))
		}
		return echo(ctx, t)
	})
	log.Info("readmeworker starting", "server", server)
	if err := w.Run(ctx); err != nil {
		log.Error("readmeworker stopped", "error", err)
		os.Exit(1)
	}
}

// echo succeeds with the task's action and input.
func echo(_ context.Context, t *sdk.Task) (map[string]any, error) {
	return map[string]any{"action": t.Action, "input": t.Input}, nil
}
