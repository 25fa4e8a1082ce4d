package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/structpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// processClients are generated gRPC clients for one `switchyard serve` process.
type processClients struct {
	url       string
	events    switchyardv1connect.EventServiceClient
	workflows switchyardv1connect.WorkflowServiceClient
	runs      switchyardv1connect.RunServiceClient
	workers   switchyardv1connect.WorkerServiceClient
}

// startProcesses runs n `switchyard serve` processes on one fresh Postgres
// schema, skipping the test without SWITCHYARD_TEST_DATABASE_URL. They start one
// after the other, so the first migrates the schema; each stores the same admin
// token, which the returned clients use.
func startProcesses(t *testing.T, n int) []processClients {
	t.Helper()
	storetest.Postgres(t)
	databaseURL := storetest.NewSchema(t)
	bin := buildBinary(t)
	token := engine.NewTokenSecret()
	servers := make([]processClients, n)
	for i := range servers {
		_, url, _ := startBinary(t, bin, "--database-url", databaseURL, "--admin-token", token)
		servers[i] = newProcessClients(url, token)
	}
	return servers
}

// newProcessClients returns gRPC clients of the server at url that use token.
func newProcessClients(url, token string) processClients {
	opts := []connect.ClientOption{connect.WithGRPC(), connect.WithInterceptors(servertest.BearerInterceptor(token))}
	httpClient := servertest.HTTP2Client()
	return processClients{
		url:       url,
		events:    switchyardv1connect.NewEventServiceClient(httpClient, url, opts...),
		workflows: switchyardv1connect.NewWorkflowServiceClient(httpClient, url, opts...),
		runs:      switchyardv1connect.NewRunServiceClient(httpClient, url, opts...),
		workers:   switchyardv1connect.NewWorkerServiceClient(httpClient, url, opts...),
	}
}

// listWorkflowRuns returns up to 500 runs of a workflow (newest first), of one
// trigger and status when given.
func listWorkflowRuns(t *testing.T, s processClients, workflow string, trigger switchyardv1.RunTrigger, status switchyardv1.RunStatus) []*switchyardv1.Run {
	t.Helper()
	res, err := s.runs.ListRuns(t.Context(), connect.NewRequest(&switchyardv1.ListRunsRequest{
		Workflow: workflow, Trigger: trigger, Status: status, PageSize: 500,
	}))
	if err != nil {
		t.Fatalf("list runs of %s on %s: %v", workflow, s.url, err)
	}
	return res.Msg.GetRuns()
}

// TestCronFiresOncePerTickAcrossProcesses runs a one-second cron schedule on two
// server processes: every tick starts exactly one run (none twice, none
// skipped), and none starts once the workflow is deleted.
func TestCronFiresOncePerTickAcrossProcesses(t *testing.T) {
	t.Parallel()
	servers := startProcesses(t, 2)
	ctx := t.Context()
	const name, schedule = "every-second", "@every 1s"
	_, err := servers[0].workflows.PutWorkflow(ctx, connect.NewRequest(&switchyardv1.PutWorkflowRequest{Spec: &switchyardv1.WorkflowSpec{
		Name:   name,
		OnCron: []*switchyardv1.CronTrigger{{Schedule: schedule}},
		Tasks:  []*switchyardv1.TaskSpec{{Name: "tick", Action: "cron.tick"}},
	}}))
	if err != nil {
		t.Fatalf("put workflow: %v", err)
	}

	// Both servers look for due ticks every second; let six ticks come.
	const wantRuns = 6
	deadline := time.Now().Add(15 * time.Second)
	for n := 0; n < wantRuns; n = len(listWorkflowRuns(t, servers[1], name, switchyardv1.RunTrigger_RUN_TRIGGER_CRON, 0)) {
		if time.Now().After(deadline) {
			t.Fatalf("%d cron runs after 15s, want %d (one a second)", n, wantRuns)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := servers[1].workflows.DeleteWorkflow(ctx, connect.NewRequest(&switchyardv1.DeleteWorkflowRequest{Name: name})); err != nil {
		t.Fatalf("delete workflow: %v", err)
	}
	runs := listWorkflowRuns(t, servers[0], name, switchyardv1.RunTrigger_RUN_TRIGGER_CRON, 0)

	fired := map[time.Time]int{}
	var ticks []time.Time
	for _, r := range runs {
		tick := r.GetCronTick().AsTime()
		if r.GetCronTick() == nil || r.GetTrigger() != switchyardv1.RunTrigger_RUN_TRIGGER_CRON || r.GetWorkflow() != name {
			t.Errorf("run %s: workflow %q, trigger %v, cron_tick %v; want %q, CRON and a tick", r.GetId(), r.GetWorkflow(), r.GetTrigger(), r.GetCronTick(), name)
			continue
		}
		in := r.GetInput().GetFields()
		inputTick, err := time.Parse(time.RFC3339, in["tick"].GetStringValue())
		if err != nil || !inputTick.Equal(tick) || in["cron"].GetStringValue() != schedule {
			t.Errorf("run %s: input %v, want cron %q and tick %s", r.GetId(), r.GetInput(), schedule, tick.Format(time.RFC3339))
		}
		if fired[tick]++; fired[tick] == 1 {
			ticks = append(ticks, tick)
		}
	}
	for tick, n := range fired {
		if n != 1 {
			t.Errorf("tick %s started %d runs, want 1", tick.Format(time.RFC3339), n)
		}
	}
	slices.SortFunc(ticks, time.Time.Compare)
	for i := 1; i < len(ticks); i++ {
		if gap := ticks[i].Sub(ticks[i-1]); gap != time.Second {
			t.Errorf("ticks %s and %s are %v apart, want 1s: ticks between them started no run", ticks[i-1].Format(time.RFC3339), ticks[i].Format(time.RFC3339), gap)
		}
	}
	if len(ticks) < wantRuns {
		t.Errorf("%d distinct ticks, want at least %d", len(ticks), wantRuns)
	}

	// Deleting the workflow removed its schedule in the same transaction: two more
	// scheduler passes on each server start nothing.
	time.Sleep(2500 * time.Millisecond)
	if after := listWorkflowRuns(t, servers[0], name, switchyardv1.RunTrigger_RUN_TRIGGER_CRON, 0); len(after) != len(runs) {
		t.Errorf("%d cron runs 2.5s after the delete, want %d as at the delete", len(after), len(runs))
	}
}

// TestConcurrencyLimitHoldsAcrossProcesses pushes events for two customers
// through two server processes to a workflow limited to two active runs per
// customer, with a worker on each server: exactly two runs per customer run
// while the rest wait, no worker ever holds more than two tasks of one customer,
// and every run succeeds.
func TestConcurrencyLimitHoldsAcrossProcesses(t *testing.T) {
	t.Parallel()
	servers := startProcesses(t, 2)
	ctx := t.Context()
	const name = "limited"
	_, err := servers[0].workflows.PutWorkflow(ctx, connect.NewRequest(&switchyardv1.PutWorkflowRequest{Spec: &switchyardv1.WorkflowSpec{
		Name:     name,
		OnEvents: []string{"job.start"},
		Tasks:    []*switchyardv1.TaskSpec{{Name: "work", Action: "job.work"}},
		Concurrency: &switchyardv1.ConcurrencyRule{
			Key: "payload.customer", MaxRuns: 2, Strategy: switchyardv1.ConcurrencyStrategy_CONCURRENCY_STRATEGY_QUEUE,
		},
	}}))
	if err != nil {
		t.Fatalf("put workflow: %v", err)
	}

	// Tasks are held until release, so the runs that pass the limit can be counted
	// while the others wait; then each task takes 150ms.
	tracker := &inFlight{now: map[string]int{}, max: map[string]int{}}
	release := make(chan struct{})
	var workers []*processWorker
	for i, s := range servers {
		workers = append(workers, startProcessWorker(t, s, fmt.Sprintf("worker-%d", i), []string{"job.work"}, 8,
			func(ctx context.Context, as *switchyardv1.TaskAssignment) {
				customer := as.GetInput().GetFields()["customer"].GetStringValue()
				tracker.begin(customer)
				defer tracker.end(customer)
				select {
				case <-release:
				case <-ctx.Done():
					return
				}
				select {
				case <-time.After(150 * time.Millisecond):
				case <-ctx.Done():
				}
			}))
	}

	want := map[string]int{"a": 12, "b": 4}
	var customers []string
	for i := range 16 {
		customer := "a"
		if i%4 == 3 {
			customer = "b"
		}
		customers = append(customers, customer)
	}
	errs := make(chan error, len(customers))
	var wg sync.WaitGroup
	for i, customer := range customers {
		wg.Go(func() {
			payload, _ := structpb.NewStruct(map[string]any{"customer": customer})
			_, err := servers[i%2].events.PushEvent(ctx, connect.NewRequest(&switchyardv1.PushEventRequest{Key: "job.start", Payload: payload}))
			if err != nil {
				errs <- fmt.Errorf("push %d (customer %s) to %s: %w", i, customer, servers[i%2].url, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	statuses := func() map[string]map[switchyardv1.RunStatus]int {
		out := map[string]map[switchyardv1.RunStatus]int{}
		for _, r := range listWorkflowRuns(t, servers[0], name, 0, 0) {
			c := r.GetInput().GetFields()["customer"].GetStringValue()
			if out[c] == nil {
				out[c] = map[switchyardv1.RunStatus]int{}
			}
			out[c][r.GetStatus()]++
		}
		return out
	}

	// While the workers hold their tasks no run ends, so the first two runs of each
	// customer run and the others wait.
	deadline := time.Now().Add(10 * time.Second)
	for tracker.current("a") < 2 || tracker.current("b") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("workers hold %d tasks of a and %d of b after 10s, want 2 each; runs by customer and status: %v", tracker.current("a"), tracker.current("b"), statuses())
		}
		time.Sleep(20 * time.Millisecond)
	}
	held := statuses()
	for customer, n := range want {
		wantStatuses := map[switchyardv1.RunStatus]int{switchyardv1.RunStatus_RUN_STATUS_RUNNING: 2, switchyardv1.RunStatus_RUN_STATUS_WAITING: n - 2}
		if !maps.Equal(held[customer], wantStatuses) {
			t.Errorf("while tasks are held, customer %s has runs %v, want %v", customer, held[customer], wantStatuses)
		}
	}

	close(release)
	deadline = time.Now().Add(15 * time.Second)
	for len(listWorkflowRuns(t, servers[1], name, 0, switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED)) < len(customers) {
		if time.Now().After(deadline) {
			t.Fatalf("not every run succeeded after 15s; runs by customer and status: %v", statuses())
		}
		time.Sleep(50 * time.Millisecond)
	}
	final := statuses()
	for customer, n := range want {
		if got := final[customer]; len(got) != 1 || got[switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED] != n {
			t.Errorf("customer %s has runs %v, want %d SUCCEEDED", customer, got, n)
		}
		if got := tracker.maximum(customer); got != 2 {
			t.Errorf("customer %s had at most %d tasks running at once, want 2 (the limit)", customer, got)
		}
	}
	ran := 0
	for _, w := range workers {
		n, errs := w.result()
		ran += n
		for _, err := range errs {
			t.Errorf("worker %s: %v", w.id, err)
		}
		t.Logf("worker %s ran %d tasks", w.id, n)
	}
	if ran != len(customers) {
		t.Errorf("workers were given %d tasks, want %d (one per run)", ran, len(customers))
	}
}

// inFlight counts the tasks of each customer that workers hold now, and the
// most they ever held at once.
type inFlight struct {
	mu       sync.Mutex
	now, max map[string]int
}

func (f *inFlight) begin(customer string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now[customer]++
	f.max[customer] = max(f.max[customer], f.now[customer])
}

func (f *inFlight) end(customer string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now[customer]--
}

func (f *inFlight) current(customer string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now[customer]
}

func (f *inFlight) maximum(customer string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.max[customer]
}

// processWorker is a minimal worker over the generated client, connected to one
// server: it registers, listens, heartbeats, and runs each assignment in its own
// goroutine, then reports it complete.
type processWorker struct {
	id string

	mu   sync.Mutex
	ran  int
	errs []error
}

// startProcessWorker starts a worker through s that calls handle for each
// assignment; handle returns when the task is done or ctx (the worker's life)
// ends. The worker stops when the test ends.
func startProcessWorker(t *testing.T, s processClients, name string, actions []string, slots int32, handle func(ctx context.Context, as *switchyardv1.TaskAssignment)) *processWorker {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	reg, err := s.workers.RegisterWorker(ctx, connect.NewRequest(&switchyardv1.RegisterWorkerRequest{Name: name, Actions: actions, Slots: slots}))
	if err != nil {
		cancel()
		t.Fatalf("register %s on %s: %v", name, s.url, err)
	}
	w := &processWorker{id: reg.Msg.GetWorkerId()}
	stream, err := s.workers.Listen(ctx, connect.NewRequest(&switchyardv1.ListenRequest{WorkerId: w.id}))
	if err != nil {
		cancel()
		t.Fatalf("listen %s on %s: %v", name, s.url, err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	interval := reg.Msg.GetHeartbeatInterval().AsDuration()
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(interval / 2):
				if _, err := s.workers.Heartbeat(ctx, connect.NewRequest(&switchyardv1.HeartbeatRequest{WorkerId: w.id})); err != nil && ctx.Err() == nil {
					w.fail(fmt.Errorf("heartbeat: %w", err))
				}
			}
		}
	})
	wg.Go(func() {
		defer stream.Close()
		for stream.Receive() {
			as := stream.Msg().GetAssignment()
			if as == nil {
				continue
			}
			w.mu.Lock()
			w.ran++
			w.mu.Unlock()
			wg.Go(func() {
				handle(ctx, as)
				if ctx.Err() != nil {
					return
				}
				_, err := s.workers.CompleteTask(ctx, connect.NewRequest(&switchyardv1.CompleteTaskRequest{
					WorkerId: w.id, TaskId: as.GetTaskId(), Attempt: as.GetAttempt(),
				}))
				if err != nil && ctx.Err() == nil {
					w.fail(fmt.Errorf("complete task %s of run %s: %w", as.GetTaskId(), as.GetRunId(), err))
				}
			})
		}
		if err := stream.Err(); err != nil && ctx.Err() == nil {
			w.fail(fmt.Errorf("listen stream ended: %w", err))
		}
	})
	return w
}

func (w *processWorker) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.errs = append(w.errs, err)
}

// result returns how many assignments the worker was given and what went wrong.
func (w *processWorker) result() (int, []error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ran, slices.Clone(w.errs)
}
