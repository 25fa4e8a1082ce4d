package sdk_test

import (
	"context"
	"fmt"
	"log"
	"time"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/sdk"
)

// runExample runs w until the returned stop is called, and runs the workflow
// name with input to its end, returning the run.
func runExample(c *sdk.Client, w *sdk.Worker, name string, input map[string]any) *switchyardv1.Run {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			log.Fatal(err)
		}
	}()
	res, err := c.RunWorkflow(ctx, name, input)
	if err != nil {
		log.Fatal(err)
	}
	run, err := c.WatchRun(ctx, res.GetRunId(), func(*switchyardv1.Run) error { return nil })
	if err != nil {
		log.Fatal(err)
	}
	return run
}

func ExampleTask_Step() {
	c := sdk.NewClient(exampleServerURL, sdk.WithToken(exampleToken))
	spec := &switchyardv1.WorkflowSpec{Name: "welcome",
		Tasks: []*switchyardv1.TaskSpec{{Name: "mail", Action: "welcome.mail"}}}
	if _, err := c.PutWorkflow(context.Background(), spec); err != nil {
		log.Fatal(err)
	}
	w := sdk.NewWorker(c, sdk.WorkerConfig{Name: "example-steps"})
	w.Handle("welcome.mail", func(ctx context.Context, t *sdk.Task) (map[string]any, error) {
		// Runs once, whatever happens after: the next attempts get its result.
		sent, err := t.Step(ctx, "send", func(ctx context.Context) (any, error) {
			fmt.Println("sending the welcome mail, attempt", t.Attempt)
			return map[string]any{"message_id": "m-1"}, nil
		})
		if err != nil {
			return nil, err
		}
		// The attempt ends here and the worker's slot is free; the task runs
		// again, from the top, a moment later.
		if err := t.Sleep(ctx, "pause", 10*time.Millisecond); err != nil {
			return nil, err // sdk.ErrSuspended
		}
		fmt.Println("after the pause, attempt", t.Attempt)
		return map[string]any{"sent": sent}, nil
	})
	run := runExample(c, w, "welcome", nil)
	fmt.Println(run.GetStatus(), run.GetTasks()[0].GetOutput().AsMap())
	// Output:
	// sending the welcome mail, attempt 1
	// after the pause, attempt 2
	// RUN_STATUS_SUCCEEDED map[sent:map[message_id:m-1]]
}

func ExampleStepOf() {
	c := sdk.NewClient(exampleServerURL, sdk.WithToken(exampleToken))
	spec := &switchyardv1.WorkflowSpec{Name: "pricing",
		Tasks: []*switchyardv1.TaskSpec{{Name: "price", Action: "pricing.price"}}}
	if _, err := c.PutWorkflow(context.Background(), spec); err != nil {
		log.Fatal(err)
	}
	type quote struct {
		Cents    int    `json:"cents"`
		Currency string `json:"currency"`
	}
	w := sdk.NewWorker(c, sdk.WorkerConfig{Name: "example-stepof"})
	w.Handle("pricing.price", func(ctx context.Context, t *sdk.Task) (map[string]any, error) {
		q, err := sdk.StepOf(ctx, t, "quote", func(ctx context.Context) (quote, error) {
			return quote{Cents: 1250, Currency: "EUR"}, nil
		})
		if err != nil {
			return nil, err
		}
		return map[string]any{"total": fmt.Sprintf("%d.%02d %s", q.Cents/100, q.Cents%100, q.Currency)}, nil
	})
	run := runExample(c, w, "pricing", nil)
	fmt.Println(run.GetTasks()[0].GetOutput().AsMap()["total"])
	// Output:
	// 12.50 EUR
}

func ExampleTask_WaitForEvent() {
	c := sdk.NewClient(exampleServerURL, sdk.WithToken(exampleToken))
	spec := &switchyardv1.WorkflowSpec{Name: "checkout",
		Tasks: []*switchyardv1.TaskSpec{{Name: "settle", Action: "checkout.settle"}}}
	if _, err := c.PutWorkflow(context.Background(), spec); err != nil {
		log.Fatal(err)
	}
	// The payment is confirmed before the run even waits for it: the wait's
	// lookback finds it.
	if _, err := c.Push(context.Background(), "payment.confirmed", map[string]any{"order_id": "o-42", "amount": 30}); err != nil {
		log.Fatal(err)
	}
	w := sdk.NewWorker(c, sdk.WorkerConfig{Name: "example-wait"})
	w.Handle("checkout.settle", func(ctx context.Context, t *sdk.Task) (map[string]any, error) {
		ev, err := t.WaitForEvent(ctx, "paid", sdk.WaitSpec{
			Key:       "payment.confirmed",
			Condition: "event.payload.order_id == input.order_id",
			Lookback:  time.Hour,
			Timeout:   72 * time.Hour,
		})
		if err != nil {
			return nil, err // sdk.ErrSuspended while it waits
		}
		if ev == nil {
			return map[string]any{"outcome": "cancelled: not paid in 3 days"}, nil
		}
		return map[string]any{"outcome": "ship", "amount": ev.GetPayload().AsMap()["amount"]}, nil
	})
	run := runExample(c, w, "checkout", map[string]any{"order_id": "o-42"})
	fmt.Println(run.GetTasks()[0].GetOutput().AsMap())
	// Output:
	// map[amount:30 outcome:ship]
}

func ExampleTask_SpawnChildren() {
	c := sdk.NewClient(exampleServerURL, sdk.WithToken(exampleToken))
	for _, spec := range []*switchyardv1.WorkflowSpec{
		{Name: "order", Tasks: []*switchyardv1.TaskSpec{{Name: "fulfil", Action: "order.fulfil"}}},
		{Name: "pack-line", Tasks: []*switchyardv1.TaskSpec{{Name: "pack", Action: "line.pack"}}},
	} {
		if _, err := c.PutWorkflow(context.Background(), spec); err != nil {
			log.Fatal(err)
		}
	}
	w := sdk.NewWorker(c, sdk.WorkerConfig{Name: "example-children"})
	w.Handle("order.fulfil", func(ctx context.Context, t *sdk.Task) (map[string]any, error) {
		var children []sdk.ChildSpec
		for _, sku := range t.Input["skus"].([]any) {
			children = append(children, sdk.ChildSpec{Workflow: "pack-line", Input: map[string]any{"sku": sku}})
		}
		// Started once, all or none, even if this attempt crashes right after.
		ids, err := t.SpawnChildren(ctx, "lines", children)
		if err != nil {
			return nil, err
		}
		results, err := t.WaitChildren(ctx, "lines-packed", ids)
		if err != nil {
			return nil, err
		}
		var boxes []any
		for _, r := range results {
			boxes = append(boxes, r.Outputs["pack"]["box"])
		}
		return map[string]any{"boxes": boxes}, nil
	})
	w.Handle("line.pack", func(ctx context.Context, t *sdk.Task) (map[string]any, error) {
		return map[string]any{"box": "box-" + t.Input["sku"].(string)}, nil
	})
	run := runExample(c, w, "order", map[string]any{"skus": []string{"a", "b"}})
	fmt.Println(run.GetStatus(), run.GetTasks()[0].GetOutput().AsMap())
	// Output:
	// RUN_STATUS_SUCCEEDED map[boxes:[box-a box-b]]
}
