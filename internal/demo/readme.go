package demo

import (
	"context"
	"fmt"
	"sync"
	"time"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/sdk"
)

// InvoiceSyncWorkflow is the workflow of the README's replay example.
func InvoiceSyncWorkflow() *switchyardv1.WorkflowSpec {
	return &switchyardv1.WorkflowSpec{
		Name:     "invoice-sync",
		OnEvents: []string{"invoice.created"},
		Tasks: []*switchyardv1.TaskSpec{
			{Name: "fetch", Action: "invoice.fetch"},
			{Name: "push", Action: "invoice.push", Parents: []string{"fetch"}},
		},
	}
}

// Readme handles the actions of every workflow the README's examples put, so
// that their runs end as the README shows instead of waiting in the queue
// for a worker that never comes:
//
//	audit.record, orders.review, deploy.app, report.build, email.send
//	    succeed at once, echoing their input;
//	customers.sync
//	    succeeds after 5 s, so that the concurrency example has runs waiting;
//	invoice.fetch, invoice.push
//	    the workflow invoice-sync, which Readme puts (on invoice.created):
//	    push fails the first time it sees an invoice (and is not retried), so
//	    that the run fails and a replay from its failed tasks succeeds.
func Readme(w *sdk.Worker) {
	w.Workflow(InvoiceSyncWorkflow())
	for _, action := range []string{"audit.record", "orders.review", "deploy.app", "report.build", "email.send", "invoice.fetch"} {
		w.Handle(action, echo)
	}
	w.Handle("customers.sync", func(ctx context.Context, t *sdk.Task) (map[string]any, error) {
		if err := sleep(ctx, 5*time.Second); err != nil {
			return nil, err
		}
		return echo(ctx, t)
	})
	var seen sync.Map // invoices whose push failed once
	w.Handle("invoice.push", func(ctx context.Context, t *sdk.Task) (map[string]any, error) {
		if _, failed := seen.LoadOrStore(fmt.Sprint(t.Input["invoice_id"]), true); !failed {
			return nil, sdk.Permanent(fmt.Errorf("the accounting system refused invoice %v (it accepts a replay)", t.Input["invoice_id"]))
		}
		return echo(ctx, t)
	})
}

// echo succeeds with the task's action and input.
func echo(_ context.Context, t *sdk.Task) (map[string]any, error) {
	return map[string]any{"action": t.Action, "input": t.Input}, nil
}
