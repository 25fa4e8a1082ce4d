// Package demo holds the workflows and task handlers of Switchyard's demo
// workers, written once for the programs that run them: examples/dashboarddemo
// and examples/readmeworker run one each, `switchyard dev` runs both in the
// server's process.
//
// [Dashboard] gives the dashboard something to show: demo.order, started by
// every demo.order.created event, is four tasks; each works
// [DashboardConfig.TaskDelay] before it answers, so that the run's states can
// be watched as they change:
//
//	           ┌─> charge ──┐
//	validate ──┤            ├──> ship
//	           └─> reserve ─┘
//
// demo.slow, started by every demo.slow.requested event, is one task, wait,
// that runs until the run is cancelled (or [DashboardConfig.SlowMax] passes).
// demo.payment, started by every demo.payment.requested event, is one durable
// task that waits for the order's demo.payment.confirmed event
// ([PaymentWorkflow]).
//
// [Readme] runs the actions of the README's examples (see its doc).
package demo

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/sdk"
)

// OrderWorkflow is the four-task workflow of demo.order.created events.
func OrderWorkflow() *switchyardv1.WorkflowSpec {
	return &switchyardv1.WorkflowSpec{
		Name:        "demo.order",
		Description: "Validate an order, charge and reserve it in parallel, then ship it.",
		OnEvents:    []string{"demo.order.created"},
		Tasks: []*switchyardv1.TaskSpec{
			orderTask("validate"),
			orderTask("charge", "validate"),
			orderTask("reserve", "validate"),
			orderTask("ship", "charge", "reserve"),
		},
	}
}

// orderTask is a task of demo.order: its action is "demo." and its name.
func orderTask(name string, parents ...string) *switchyardv1.TaskSpec {
	return &switchyardv1.TaskSpec{Name: name, Action: "demo." + name, Parents: parents}
}

// SlowWorkflow is the one-task workflow of demo.slow.requested events, made
// to be cancelled. Its timeout outlasts any SlowMax below an hour, and it is
// not retried.
func SlowWorkflow() *switchyardv1.WorkflowSpec {
	return &switchyardv1.WorkflowSpec{
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
}

// DashboardConfig tunes [Dashboard].
type DashboardConfig struct {
	// TaskDelay is how long each demo.order task works. Zero means 1s.
	TaskDelay time.Duration
	// SlowMax is how long the demo.slow task waits at most. Zero means 10m.
	SlowMax time.Duration
}

// Dashboard puts demo.order, demo.slow and demo.payment through w (on every
// start: the same spec again changes nothing) and handles their actions.
func Dashboard(w *sdk.Worker, cfg DashboardConfig) {
	if cfg.TaskDelay <= 0 {
		cfg.TaskDelay = time.Second
	}
	if cfg.SlowMax <= 0 {
		cfg.SlowMax = 10 * time.Minute
	}
	order := OrderWorkflow()
	w.Workflow(order)
	w.Workflow(SlowWorkflow())
	w.Workflow(PaymentWorkflow())
	for _, t := range order.GetTasks() {
		w.Handle(t.GetAction(), step(t.GetName(), cfg.TaskDelay))
	}
	w.Handle("demo.wait", wait(cfg.SlowMax))
	w.Handle("demo.await_payment", awaitPayment)
}

// step returns the TaskFunc of one demo.order task: it works for delay, then
// answers with its name, the order id and what its parents answered.
func step(name string, delay time.Duration) sdk.TaskFunc {
	return func(ctx context.Context, t *sdk.Task) (map[string]any, error) {
		if err := sleep(ctx, delay); err != nil {
			return nil, err
		}
		return map[string]any{
			"step":     name,
			"order_id": fmt.Sprint(t.Input["order_id"]),
			"after":    append([]string{}, slices.Sorted(maps.Keys(t.ParentOutputs))...),
			"at":       time.Now().UTC().Format(time.RFC3339Nano),
		}, nil
	}
}

// wait returns the TaskFunc of demo.slow's task: it returns when the server
// cancels the attempt (its context ends, with [sdk.ErrTaskCancelled]) or
// after max.
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
