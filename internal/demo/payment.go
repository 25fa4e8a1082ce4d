package demo

import (
	"context"
	"time"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/sdk"
)

// PaymentWorkflow is the one-task workflow of demo.payment.requested events:
// its task, await-payment, waits (WAITING, without holding a worker slot) up
// to an hour for the demo.payment.confirmed event of the same order_id, one
// pushed up to an hour before the wait began included.
func PaymentWorkflow() *switchyardv1.WorkflowSpec {
	return &switchyardv1.WorkflowSpec{
		Name:        "demo.payment",
		Description: "Wait for the order's demo.payment.confirmed event: push it to end the wait.",
		OnEvents:    []string{"demo.payment.requested"},
		Tasks:       []*switchyardv1.TaskSpec{{Name: "await-payment", Action: "demo.await_payment"}},
	}
}

// awaitPayment is the TaskFunc of demo.payment's task: it answers whether
// the order was paid, and with which event.
func awaitPayment(ctx context.Context, t *sdk.Task) (map[string]any, error) {
	ev, err := t.WaitForEvent(ctx, "payment", sdk.WaitSpec{
		Key:       "demo.payment.confirmed",
		Condition: "event.payload.order_id == input.order_id",
		Lookback:  time.Hour,
		Timeout:   time.Hour,
	})
	if err != nil {
		return nil, err // sdk.ErrSuspended while it waits
	}
	if ev == nil {
		return map[string]any{"paid": false}, nil
	}
	return map[string]any{"paid": true, "event_id": ev.GetId()}, nil
}
