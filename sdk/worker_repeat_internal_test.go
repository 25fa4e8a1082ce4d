package sdk

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// TestRepeatOfAFinishedAttemptIsIgnored hands a worker a real assignment, lets
// it run and report, then hands it the same assignment again, as a server
// does when a new stream opens while the report is on the way: the handler
// does not run a second time.
func TestRepeatOfAFinishedAttemptIsIgnored(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	ctx := context.Background()
	c := NewClient(srv.URL, WithToken(servertest.AdminToken))
	if _, err := c.PutWorkflow(ctx, &switchyardv1.WorkflowSpec{Name: "repeat", Tasks: []*switchyardv1.TaskSpec{{Name: "once", Action: "repeat.once"}}}); err != nil {
		t.Fatal(err)
	}
	started, err := c.RunWorkflow(ctx, "repeat", nil)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := c.Workers().RegisterWorker(ctx, connect.NewRequest(&switchyardv1.RegisterWorkerRequest{Name: "repeat", Actions: []string{"repeat.once"}}))
	if err != nil {
		t.Fatal(err)
	}
	workerID := reg.Msg.GetWorkerId()
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	stream, err := c.Workers().Listen(lctx, connect.NewRequest(&switchyardv1.ListenRequest{WorkerId: workerID}))
	if err != nil {
		t.Fatal(err)
	}
	var a *switchyardv1.TaskAssignment
	for a == nil && stream.Receive() {
		a = stream.Msg().GetAssignment()
	}
	if a == nil {
		t.Fatalf("no assignment: %v", stream.Err())
	}

	w := NewWorker(c, WorkerConfig{Name: "repeat", Logger: slog.New(slog.DiscardHandler)})
	var runs atomic.Int32
	w.Handle("repeat.once", func(context.Context, *Task) (map[string]any, error) {
		runs.Add(1)
		return map[string]any{"ok": true}, nil
	})
	w.taskCtx = ctx // what Run sets up
	w.start(workerID, a)
	w.tasks.Wait()
	if !w.waitReports(30 * time.Second) {
		t.Fatal("the report was not acknowledged within 30s")
	}
	run, err := c.GetRun(ctx, started.GetRunId())
	if err != nil || run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
		t.Fatalf("run after the attempt: %v, %v; want SUCCEEDED", run, err)
	}
	w.start(workerID, a)
	w.tasks.Wait()
	if n := runs.Load(); n != 1 {
		t.Errorf("the handler ran %d times, want once", n)
	}
}
