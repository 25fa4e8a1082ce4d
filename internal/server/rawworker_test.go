package server_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/server/servertest"
)

// api bundles generated clients for one server over one protocol.
type api struct {
	events    switchyardv1connect.EventServiceClient
	workflows switchyardv1connect.WorkflowServiceClient
	runs      switchyardv1connect.RunServiceClient
	workers   switchyardv1connect.WorkerServiceClient
	webhooks  switchyardv1connect.WebhookServiceClient
	admin     switchyardv1connect.AdminServiceClient
	durable   switchyardv1connect.DurableServiceClient
}

func newAPI(url string, p servertest.Protocol) *api {
	return newAPIToken(url, p, servertest.AdminToken)
}

// newAPIToken is newAPI with another token.
func newAPIToken(url string, p servertest.Protocol, token string) *api {
	opts := append(append([]connect.ClientOption{}, p.Options...), connect.WithInterceptors(servertest.BearerInterceptor(token)))
	return &api{
		events:    switchyardv1connect.NewEventServiceClient(p.HTTP, url, opts...),
		workflows: switchyardv1connect.NewWorkflowServiceClient(p.HTTP, url, opts...),
		runs:      switchyardv1connect.NewRunServiceClient(p.HTTP, url, opts...),
		workers:   switchyardv1connect.NewWorkerServiceClient(p.HTTP, url, opts...),
		webhooks:  switchyardv1connect.NewWebhookServiceClient(p.HTTP, url, opts...),
		admin:     switchyardv1connect.NewAdminServiceClient(p.HTTP, url, opts...),
		durable:   switchyardv1connect.NewDurableServiceClient(p.HTTP, url, opts...),
	}
}

// grpcProtocol is the default protocol of these tests.
func grpcProtocol() servertest.Protocol {
	for _, p := range servertest.Protocols() {
		if p.Name == "grpc/h2" {
			return p
		}
	}
	panic("no grpc protocol")
}

// rawWorker is a minimal worker over the generated client: it registers, listens
// and hands every assignment to handle, which reports (or not) by itself.
type rawWorker struct {
	t      testing.TB
	api    *api
	id     string
	cancel context.CancelFunc
	done   chan struct{}

	mu            sync.Mutex
	cancellations []*switchyardv1.TaskCancellation
}

func startRawWorker(t testing.TB, a *api, actions []string, slots int32, handle func(w *rawWorker, as *switchyardv1.TaskAssignment)) *rawWorker {
	t.Helper()
	return startRawWorkerHeartbeating(t, a, actions, slots, true, handle)
}

// startRawWorkerHeartbeating starts a raw worker that heartbeats or not.
func startRawWorkerHeartbeating(t testing.TB, a *api, actions []string, slots int32, heartbeat bool, handle func(w *rawWorker, as *switchyardv1.TaskAssignment)) *rawWorker {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	reg, err := a.workers.RegisterWorker(ctx, connect.NewRequest(&switchyardv1.RegisterWorkerRequest{Name: "raw", Actions: actions, Slots: slots}))
	if err != nil {
		cancel()
		t.Fatalf("register: %v", err)
	}
	w := &rawWorker{t: t, api: a, id: reg.Msg.GetWorkerId(), cancel: cancel, done: make(chan struct{})}
	stream, err := a.workers.Listen(ctx, connect.NewRequest(&switchyardv1.ListenRequest{WorkerId: w.id}))
	if err != nil {
		cancel()
		t.Fatalf("listen: %v", err)
	}
	interval := reg.Msg.GetHeartbeatInterval().AsDuration()
	go func() {
		for heartbeat {
			select {
			case <-ctx.Done():
				return
			case <-time.After(interval / 2):
				_, _ = a.workers.Heartbeat(ctx, connect.NewRequest(&switchyardv1.HeartbeatRequest{WorkerId: w.id}))
			}
		}
	}()
	go func() {
		defer close(w.done)
		defer stream.Close()
		for stream.Receive() {
			switch m := stream.Msg().GetMessage().(type) {
			case *switchyardv1.ListenResponse_Assignment:
				go handle(w, m.Assignment)
			case *switchyardv1.ListenResponse_Cancellation:
				w.mu.Lock()
				w.cancellations = append(w.cancellations, m.Cancellation)
				w.mu.Unlock()
			}
		}
	}()
	t.Cleanup(w.stop)
	return w
}

// stop closes the worker's stream, as a crash would.
func (w *rawWorker) stop() {
	w.cancel()
	<-w.done
}

func (w *rawWorker) complete(as *switchyardv1.TaskAssignment, output map[string]any) error {
	out, err := structpb.NewStruct(output)
	if err != nil {
		return err
	}
	_, err = w.api.workers.CompleteTask(context.Background(), connect.NewRequest(&switchyardv1.CompleteTaskRequest{
		WorkerId: w.id, TaskId: as.GetTaskId(), Attempt: as.GetAttempt(), Output: out,
	}))
	return err
}

func (w *rawWorker) fail(as *switchyardv1.TaskAssignment, msg string, retryable bool) error {
	_, err := w.api.workers.FailTask(context.Background(), connect.NewRequest(&switchyardv1.FailTaskRequest{
		WorkerId: w.id, TaskId: as.GetTaskId(), Attempt: as.GetAttempt(), Error: msg, Retryable: retryable,
	}))
	return err
}

func (w *rawWorker) cancelled() []*switchyardv1.TaskCancellation {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*switchyardv1.TaskCancellation{}, w.cancellations...)
}

func task(name, action string, parents ...string) *switchyardv1.TaskSpec {
	return &switchyardv1.TaskSpec{Name: name, Action: action, Parents: parents}
}

func putWorkflow(t testing.TB, a *api, spec *switchyardv1.WorkflowSpec) {
	t.Helper()
	if _, err := a.workflows.PutWorkflow(context.Background(), connect.NewRequest(&switchyardv1.PutWorkflowRequest{Spec: spec})); err != nil {
		t.Fatalf("put workflow %s: %v", spec.GetName(), err)
	}
}

func fastRetry(max int32) *switchyardv1.RetryPolicy {
	return &switchyardv1.RetryPolicy{MaxAttempts: max, InitialBackoff: durationpb.New(50 * time.Millisecond), MaxBackoff: durationpb.New(100 * time.Millisecond)}
}

// waitRun watches the run until it ends (or the timeout passes) and returns its
// final state.
func waitRun(t testing.TB, a *api, runID string, timeout time.Duration) *switchyardv1.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	stream, err := a.runs.WatchRun(ctx, connect.NewRequest(&switchyardv1.WatchRunRequest{Id: runID}))
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	var last *switchyardv1.Run
	for stream.Receive() {
		if r := stream.Msg().GetRun(); r != nil {
			last = r
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("watch run %s: %v (last state %v)", runID, err, last)
	}
	return last
}

func taskByName(r *switchyardv1.Run, name string) *switchyardv1.Task {
	for _, t := range r.GetTasks() {
		if t.GetName() == name {
			return t
		}
	}
	return nil
}
