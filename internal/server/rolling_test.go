package server_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
	"github.com/switchyard/switchyard/sdk"
)

// TestRollingRestartLosesNothing restarts both of two servers on one Postgres,
// one after the other, behind a load balancer, while a producer pushes events
// and two SDK workers run each run's two tasks. Every acknowledged push has one
// run, every run succeeds, and no task runs twice: a stopping server tells its
// workers to reconnect, hands back what it assigned but never delivered, and
// lets reports in flight finish.
func TestRollingRestartLosesNothing(t *testing.T) {
	t.Parallel()
	pg := storetest.Postgres(t)
	cfg := servertest.Options{Store: store.Config{DatabaseURL: storetest.NewSchema(t)}, Engine: fastEngine}
	start := func() (*servertest.Server, string) {
		s := servertest.Start(t, pg, cfg)
		return s, strings.TrimPrefix(s.URL, "http://")
	}
	a, addrA := start()
	b, addrB := start()
	lb := servertest.NewProxy(t, addrA, addrB)
	client := sdk.NewClient(lb.URL(), sdk.WithToken(servertest.AdminToken))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var mu sync.Mutex
	executions := map[string]int{} // run/task -> times a handler ran it
	handle := func(ctx context.Context, task *sdk.Task) (map[string]any, error) {
		mu.Lock()
		executions[task.RunID+"/"+task.Name]++
		mu.Unlock()
		select {
		case <-time.After(30 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return map[string]any{"ok": true}, nil
	}
	spec := &switchyardv1.WorkflowSpec{Name: "steady", OnEvents: []string{"steady.tick"},
		Tasks: []*switchyardv1.TaskSpec{
			// The default timeout (5 minutes): an assignment lost with a closing
			// stream would wait for its lease past the test's deadline, so the
			// worker must get it again when it reconnects.
			{Name: "first", Action: "steady.first"},
			{Name: "second", Action: "steady.second", Parents: []string{"first"}},
		}}
	var workers sync.WaitGroup
	for i := range 2 {
		w := sdk.NewWorker(client, sdk.WorkerConfig{Name: fmt.Sprint("w", i), Slots: 8})
		w.Workflow(spec)
		w.Handle("steady.first", handle)
		w.Handle("steady.second", handle)
		workers.Go(func() {
			if err := w.Run(ctx); err != nil {
				t.Errorf("worker %d: %v", i, err)
			}
		})
	}
	waitFor(t, "the workflow", 10*time.Second, func() bool {
		_, err := client.Workflows().GetWorkflow(ctx, connect.NewRequest(&switchyardv1.GetWorkflowRequest{Name: "steady"}))
		return err == nil
	})

	// A steady producer, about 50 events a second.
	var pushed sync.Map // run id -> event id
	var acknowledged atomic.Int64
	producerDone := make(chan struct{})
	stopProducing := make(chan struct{})
	go func() {
		defer close(producerDone)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stopProducing:
				return
			case <-tick.C:
			}
			res, err := client.Push(ctx, "steady.tick", map[string]any{"i": i})
			if err != nil {
				t.Errorf("push %d: %v", i, err)
				return
			}
			acknowledged.Add(1)
			for _, id := range res.GetRunIds() {
				pushed.Store(id, res.GetEvent().GetId())
			}
		}
	}()

	// Restart A, then B: each leaves the rotation, shuts down as on SIGTERM,
	// and comes back as a new process on the same database. Each phase lasts
	// until 15 more pushes were acknowledged (about 0.3 s on a quiet machine),
	// and the run until 50 were, however slow the machine.
	pushesPass := func(n int64) {
		waitFor(t, fmt.Sprintf("%d acknowledged pushes", n), 60*time.Second, func() bool { return acknowledged.Load() >= n })
	}
	pushesPass(15)
	lb.SetBackends(addrB)
	a.Stop()
	_, addrA2 := start()
	lb.SetBackends(addrA2, addrB)
	pushesPass(acknowledged.Load() + 15)
	lb.SetBackends(addrA2)
	b.Stop()
	c, addrB2 := start()
	lb.SetBackends(addrA2, addrB2)
	pushesPass(max(acknowledged.Load()+15, 50))
	close(stopProducing)
	<-producerDone

	n := int(acknowledged.Load())
	var runIDs []string
	pushed.Range(func(k, _ any) bool {
		runIDs = append(runIDs, k.(string))
		return true
	})
	if n < 50 || len(runIDs) != n {
		t.Fatalf("%d pushes acknowledged with %d runs, want one run each (and at least 50)", n, len(runIDs))
	}
	api := newAPI(c.URL, grpcProtocol())
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if len(listRuns(t, api, &switchyardv1.ListRunsRequest{Workflow: "steady", Status: switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED})) >= n {
			break
		}
		if time.Now().After(deadline) {
			for _, r := range listRuns(t, api, &switchyardv1.ListRunsRequest{Workflow: "steady"}) {
				if r.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
					for _, tk := range getRun(t, api, r.GetId()).GetTasks() {
						t.Logf("run %s %v: task %s %v attempt %d worker %s", r.GetId(), r.GetStatus(), tk.GetName(), tk.GetStatus(), tk.GetAttempt(), tk.GetWorkerId())
					}
				}
			}
			t.Fatalf("timed out waiting for every run to end")
		}
	}
	all := listRuns(t, api, &switchyardv1.ListRunsRequest{Workflow: "steady"})
	if len(all) != n {
		t.Fatalf("%d runs stored for %d acknowledged pushes", len(all), n)
	}
	cancel()
	workers.Wait()
	mu.Lock()
	defer mu.Unlock()
	for _, id := range runIDs {
		for _, name := range []string{"first", "second"} {
			if got := executions[id+"/"+name]; got < 1 {
				t.Errorf("task %s of run %s never ran", name, id)
			} else if got > 1 {
				t.Logf("task %s of run %s ran %d times (a report in flight as its stream ended: delivery is at least once)", name, id, got)
			}
		}
	}
}
