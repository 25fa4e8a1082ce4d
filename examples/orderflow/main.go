// Command orderflow is a Switchyard worker for a durable order workflow: one
// task that charges the order, waits for its payment (sending a reminder when
// it is slow), then ships it (one child run per line item, packed in
// parallel and waited for) or cancels it:
//
//	order.placed ──> process: charge
//	                   │ wait for payment.confirmed of this order (3 days, lookback 1 h)
//	                   │   ├─ no payment after 24 h: send a reminder, wait on
//	                   │ paid                                    │ not paid in time
//	                   ├─> spawn one orderflow-line run per line  └─> cancel (refund)
//	                   │   (pack), wait for all of them
//	                   └─> ship
//
// While the task waits (a day, three) it holds no worker slot: the server
// keeps the wait and hands the task back to any worker when the payment comes
// or the time is up; the steps it recorded (the charge, the reminder, the
// child runs) are not done again.
//
// It declares the workflows orderflow (started by every order.placed event)
// and orderflow-line, runs their tasks until SIGINT or SIGTERM, and reads
// SWITCHYARD_SERVER (default http://127.0.0.1:8080) and SWITCHYARD_TOKEN. The
// flags shorten the waits for a demo. With a server started by `make run`:
//
//	SWITCHYARD_TOKEN=sy_... go run ./examples/orderflow -remind-after 10s -pay-within 30s
//	switchyard push order.placed --payload '{"order_id":"o-1","amount":42,"lines":[{"sku":"tea","qty":2},{"sku":"cup","qty":1}]}'
//	switchyard runs list --status waiting          # the order waits for its payment
//	switchyard push payment.confirmed --payload '{"order_id":"o-1"}'
//	switchyard runs watch RUN_ID                   # SUCCEEDED, shipped
//
// An order whose payment never comes gets a reminder after 10 s and is
// cancelled after 30 s.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/sdk"
)

// config is how long the order's waits last.
type config struct {
	// remindAfter is how long an order waits for its payment before a
	// reminder is sent.
	remindAfter time.Duration
	// payWithin is how long after the charge an order may be paid before it
	// is cancelled.
	payWithin time.Duration
	// lookback is how long before a wait began a payment counts.
	lookback time.Duration
}

// workflows are the workflows the worker declares and runs.
var workflows = []*switchyardv1.WorkflowSpec{
	{
		Name:        "orderflow",
		Description: "Charge an order, wait for its payment (with a reminder), then ship it or cancel it.",
		OnEvents:    []string{"order.placed"},
		Tasks:       []*switchyardv1.TaskSpec{{Name: "process", Action: "orderflow.process"}},
	},
	{
		Name:        "orderflow-line",
		Description: "Pack one line item of an order (a child run of orderflow).",
		Tasks:       []*switchyardv1.TaskSpec{{Name: "pack", Action: "orderflow.pack"}},
	},
}

func main() {
	var cfg config
	flag.DurationVar(&cfg.remindAfter, "remind-after", 24*time.Hour, "send a payment reminder after this long")
	flag.DurationVar(&cfg.payWithin, "pay-within", 72*time.Hour, "cancel an order not paid within this long")
	flag.DurationVar(&cfg.lookback, "lookback", time.Hour, "a payment confirmed up to this long before the wait began counts")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	server := os.Getenv("SWITCHYARD_SERVER")
	if server == "" {
		server = "http://127.0.0.1:8080"
	}
	c := sdk.NewClient(server, sdk.WithToken(os.Getenv("SWITCHYARD_TOKEN")))
	log.Info("orderflow starting", "server", server, "remind_after", cfg.remindAfter, "pay_within", cfg.payWithin)
	if err := newWorker(c, cfg, log).Run(ctx); err != nil {
		log.Error("orderflow stopped", "error", err)
		os.Exit(1)
	}
}

// newWorker returns a worker that declares and runs the workflows.
func newWorker(c *sdk.Client, cfg config, log *slog.Logger) *sdk.Worker {
	hostname, _ := os.Hostname()
	w := sdk.NewWorker(c, sdk.WorkerConfig{
		Name:   "orderflow@" + hostname,
		Slots:  8,
		Labels: map[string]string{"example": "orderflow"},
		Logger: log,
	})
	for _, spec := range workflows {
		w.Workflow(spec)
	}
	o := orders{cfg: cfg, log: log}
	w.Handle("orderflow.process", o.process)
	w.Handle("orderflow.pack", o.pack)
	return w
}

// orders are the TaskFuncs.
type orders struct {
	cfg config
	log *slog.Logger
}

// process charges the order, waits for its payment and ships or cancels it.
// It runs from the top on every attempt; its steps and waits are recorded by
// the server, so each is done once.
func (o orders) process(ctx context.Context, t *sdk.Task) (map[string]any, error) {
	orderID, _ := t.Input["order_id"].(string)
	lines, _ := t.Input["lines"].([]any)
	if orderID == "" {
		return nil, sdk.Permanent(errors.New(`the event payload has no "order_id"`))
	}
	charge, err := t.Step(ctx, "charge", func(ctx context.Context) (any, error) {
		o.log.Info("charging the order", "order_id", orderID, "amount", t.Input["amount"])
		return "ch_" + orderID, nil
	})
	if err != nil {
		return nil, err
	}

	paid, err := o.awaitPayment(ctx, t)
	if err != nil {
		return nil, err // sdk.ErrSuspended while the order waits
	}
	if paid == nil {
		if _, err := t.Step(ctx, "cancel", func(ctx context.Context) (any, error) {
			o.log.Info("order not paid in time: cancelling it and refunding the charge", "order_id", orderID, "charge", charge)
			return "refunded", nil
		}); err != nil {
			return nil, err
		}
		return map[string]any{"status": "cancelled", "charge": charge}, nil
	}

	children := make([]sdk.ChildSpec, len(lines))
	for i, line := range lines {
		item, _ := line.(map[string]any)
		children[i] = sdk.ChildSpec{Workflow: "orderflow-line",
			Input: map[string]any{"order_id": orderID, "sku": item["sku"], "qty": item["qty"]}}
	}
	var boxes []any
	if len(children) > 0 {
		ids, err := t.SpawnChildren(ctx, "lines", children)
		if err != nil {
			return nil, err
		}
		packed, err := t.WaitChildren(ctx, "lines-packed", ids)
		if err != nil {
			return nil, err
		}
		for _, p := range packed {
			if !p.Succeeded() {
				return nil, sdk.Permanent(fmt.Errorf("line run %s: %s %s", p.RunID, p.Status, p.Error))
			}
			boxes = append(boxes, p.Outputs["pack"]["box"])
		}
	}
	tracking, err := t.Step(ctx, "ship", func(ctx context.Context) (any, error) {
		o.log.Info("shipping the order", "order_id", orderID, "boxes", boxes)
		return "trk_" + orderID, nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"status": "shipped", "charge": charge, "payment_event": paid.GetId(),
		"boxes": boxes, "tracking": tracking}, nil
}

// awaitPayment waits for the order's payment.confirmed event and returns it,
// or nil when it did not come within payWithin. When it is slow, a reminder
// is sent after remindAfter and the wait goes on; its lookback covers the
// moment between the two waits.
func (o orders) awaitPayment(ctx context.Context, t *sdk.Task) (*switchyardv1.Event, error) {
	payment := sdk.WaitSpec{
		Key:       "payment.confirmed",
		Condition: "event.payload.order_id == input.order_id",
		Lookback:  o.cfg.lookback,
		Timeout:   o.cfg.payWithin,
	}
	if o.cfg.remindAfter <= 0 || o.cfg.remindAfter >= o.cfg.payWithin {
		return t.WaitForEvent(ctx, "payment", payment)
	}
	first, err := t.WaitAny(ctx, "payment", sdk.ForEvent("paid", payment), sdk.ForSleep("reminder", o.cfg.remindAfter))
	if err != nil {
		return nil, err
	}
	if first.Winner != "reminder" {
		return first.Event("paid"), nil
	}
	if _, err := t.Step(ctx, "remind", func(ctx context.Context) (any, error) {
		o.log.Info("payment is late: sending a reminder", "order_id", t.Input["order_id"])
		return "reminder sent", nil
	}); err != nil {
		return nil, err
	}
	payment.Lookback = o.cfg.lookback + o.cfg.remindAfter
	payment.Timeout = o.cfg.payWithin - o.cfg.remindAfter
	return t.WaitForEvent(ctx, "payment-after-reminder", payment)
}

// pack packs one line item (a child run).
func (o orders) pack(ctx context.Context, t *sdk.Task) (map[string]any, error) {
	sku, _ := t.Input["sku"].(string)
	qty, _ := t.Input["qty"].(float64)
	o.log.Info("packing a line", "order_id", t.Input["order_id"], "sku", sku, "qty", qty)
	return map[string]any{"box": fmt.Sprintf("%s×%d", sku, int(qty))}, nil
}
