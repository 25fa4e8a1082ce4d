package sdk_test

import (
	"context"
	"fmt"
	"log"
	"time"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/sdk"
)

func ExampleClient_Push() {
	ctx := context.Background()
	// exampleServerURL is such as "http://127.0.0.1:8080"; gRPC over h2c is the
	// default protocol.
	c := sdk.NewClient(exampleServerURL, sdk.WithToken(exampleToken))

	res, err := c.Push(ctx, "user.created", map[string]any{"user_id": "u1", "plan": "pro"},
		sdk.WithIdempotencyKey("signup-u1"),
		sdk.WithMetadata(map[string]string{"source": "signup-form"}),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored:", res.GetEvent().GetKey(), res.GetEvent().GetPayload().AsMap())
	fmt.Println("deduplicated:", res.GetDeduplicated())

	// The same key again returns the original event and stores nothing.
	again, err := c.Push(ctx, "user.created", map[string]any{"user_id": "u1", "plan": "pro"},
		sdk.WithIdempotencyKey("signup-u1"),
		sdk.WithMetadata(map[string]string{"source": "signup-form"}),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("deduplicated:", again.GetDeduplicated(), "same event:", again.GetEvent().GetId() == res.GetEvent().GetId())
	// Output:
	// stored: user.created map[plan:pro user_id:u1]
	// deduplicated: false
	// deduplicated: true same event: true
}

func ExampleClient_RunWorkflow() {
	ctx := context.Background()
	c := sdk.NewClient(exampleServerURL, sdk.WithToken(exampleToken))
	if _, err := c.PutWorkflow(ctx, &switchyardv1.WorkflowSpec{
		Name:  "nightly-report",
		Tasks: []*switchyardv1.TaskSpec{{Name: "build", Action: "report.build"}},
	}); err != nil {
		log.Fatal(err)
	}

	// A run delayed by an hour, ahead of other runs when it starts.
	res, err := c.RunWorkflow(ctx, "nightly-report", map[string]any{"day": "2026-01-02"},
		sdk.WithRunAt(time.Now().Add(time.Hour)), sdk.WithPriority(5))
	if err != nil {
		log.Fatal(err)
	}
	run, err := c.GetRun(ctx, res.GetRunId())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(run.GetStatus(), run.GetTrigger(), "priority", run.GetPriority())

	// Until it starts, a scheduled run can be cancelled.
	run, err = c.CancelRun(ctx, run.GetId(), "not needed after all")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(run.GetStatus())
	// Output:
	// RUN_STATUS_SCHEDULED RUN_TRIGGER_MANUAL priority 5
	// RUN_STATUS_CANCELLED
}

func ExampleClient_ReplayRun() {
	ctx := context.Background()
	c := sdk.NewClient(exampleServerURL, sdk.WithToken(exampleToken))
	if _, err := c.PutWorkflow(ctx, &switchyardv1.WorkflowSpec{
		Name:  "invoice",
		Tasks: []*switchyardv1.TaskSpec{{Name: "send", Action: "invoice.send"}},
	}); err != nil {
		log.Fatal(err)
	}
	res, err := c.RunWorkflow(ctx, "invoice", map[string]any{"invoice_id": "i1"})
	if err != nil {
		log.Fatal(err)
	}
	// Only a run that ended can be replayed.
	if _, err := c.CancelRun(ctx, res.GetRunId(), "wrong template"); err != nil {
		log.Fatal(err)
	}

	replay, err := c.ReplayRun(ctx, res.GetRunId(), switchyardv1.ReplayMode_REPLAY_MODE_WHOLE)
	if err != nil {
		log.Fatal(err)
	}
	r := replay.GetRun()
	fmt.Println(r.GetStatus(), r.GetTrigger(), r.GetInput().AsMap())
	fmt.Println("replays the cancelled run:", r.GetReplayOf() == res.GetRunId())
	// Output:
	// RUN_STATUS_QUEUED RUN_TRIGGER_REPLAY map[invoice_id:i1]
	// replays the cancelled run: true
}

func ExampleWorker() {
	c := sdk.NewClient(exampleServerURL, sdk.WithToken(exampleToken))
	greet := &switchyardv1.WorkflowSpec{
		Name:     "greet",
		OnEvents: []string{"user.greeted"},
		Tasks: []*switchyardv1.TaskSpec{
			{Name: "hello", Action: "greet.hello"},
			{Name: "shout", Action: "greet.shout", Parents: []string{"hello"}},
		},
	}

	w := sdk.NewWorker(c, sdk.WorkerConfig{Name: "example-worker", Slots: 4})
	w.Workflow(greet) // Run declares it before taking work
	w.Handle("greet.hello", func(ctx context.Context, t *sdk.Task) (map[string]any, error) {
		name, ok := t.Input["name"].(string)
		if !ok {
			return nil, sdk.Permanent(fmt.Errorf("input has no name: %v", t.Input))
		}
		return map[string]any{"greeting": "hello " + name}, nil
	})
	w.Handle("greet.shout", func(ctx context.Context, t *sdk.Task) (map[string]any, error) {
		return map[string]any{"greeting": t.ParentOutputs["hello"]["greeting"].(string) + "!"}, nil
	})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	// Producers start runs with events (or RunWorkflow). The producer puts the
	// workflow too, so that its first event cannot arrive before the worker
	// declared it: PutWorkflow with an unchanged spec changes nothing.
	if _, err := c.PutWorkflow(ctx, greet); err != nil {
		log.Fatal(err)
	}
	res, err := c.Push(ctx, "user.greeted", map[string]any{"name": "Ada"})
	if err != nil {
		log.Fatal(err)
	}
	run, err := c.WatchRun(ctx, res.GetRunIds()[0], func(*switchyardv1.Run) error { return nil })
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(run.GetStatus())
	for _, t := range run.GetTasks() {
		fmt.Println(t.GetName(), t.GetOutput().AsMap())
	}

	stop() // Run finishes running tasks, then returns
	if err := <-done; err != nil {
		log.Fatal(err)
	}
	// Output:
	// RUN_STATUS_SUCCEEDED
	// hello map[greeting:hello Ada]
	// shout map[greeting:hello Ada!]
}
