package server_test

import (
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/engine"
)

var (
	registerWorkerRPC = unaryOf[switchyardv1.RegisterWorkerRequest, switchyardv1.RegisterWorkerResponse](switchyardv1connect.WorkerServiceRegisterWorkerProcedure)
	heartbeatRPC      = unaryOf[switchyardv1.HeartbeatRequest, switchyardv1.HeartbeatResponse](switchyardv1connect.WorkerServiceHeartbeatProcedure)
	completeTaskRPC   = unaryOf[switchyardv1.CompleteTaskRequest, switchyardv1.CompleteTaskResponse](switchyardv1connect.WorkerServiceCompleteTaskProcedure)
	acknowledgeRPC    = unaryOf[switchyardv1.AcknowledgeRequest, switchyardv1.AcknowledgeResponse](switchyardv1connect.WorkerServiceAcknowledgeProcedure)
	failTaskRPC       = unaryOf[switchyardv1.FailTaskRequest, switchyardv1.FailTaskResponse](switchyardv1connect.WorkerServiceFailTaskProcedure)
	listWorkersRPC    = unaryOf[switchyardv1.ListWorkersRequest, switchyardv1.ListWorkersResponse](switchyardv1connect.WorkerServiceListWorkersProcedure)
)

const listenRPC = switchyardv1connect.WorkerServiceListenProcedure

// TestWorkerServiceParity runs every WorkerService case over every protocol
// on every database engine. A worker that heartbeats every 20s is taken for
// dead only after a minute, longer than the cases take: the attempts it holds
// stay its own, whatever the machine's load.
func TestWorkerServiceParity(t *testing.T) {
	runParity(t, workerCases, parityOptions{engine: engine.Config{HeartbeatInterval: 20 * time.Second}})
}

// jobSpec runs w.one and then w.two, each attempted once.
func jobSpec() *switchyardv1.WorkflowSpec {
	spec := flowSpec("jobs", "w.one", "w.two")
	for _, ts := range spec.GetTasks() {
		ts.Retry = &switchyardv1.RetryPolicy{MaxAttempts: 1}
	}
	return spec
}

// listenFor opens the worker's Listen stream until it carries an assignment,
// remembers the assigned task's id as name, closes the stream and waits until
// the server has seen it close. It remembers the stream's id (from its first
// keep-alive) as "stream", and returns the messages other than keep-alives and
// the assignment's task name.
func listenFor(e *env, c client, worker, name string) (out, taskName string) {
	// The worker acknowledges what the stream brings, as a worker does: once
	// it has acknowledged anything, a stream gets work only after its first
	// keep-alive came back, and an unacknowledged assignment is lost.
	var streamID string
	msgs, err := stream[switchyardv1.ListenRequest, switchyardv1.ListenResponse](ctx(e), c, listenRPC, &switchyardv1.ListenRequest{WorkerId: worker},
		func(m *switchyardv1.ListenResponse) bool {
			req := &switchyardv1.AcknowledgeRequest{WorkerId: worker, StreamId: streamID}
			if k := m.GetKeepalive(); k != nil {
				streamID = k.GetStreamId()
				req.StreamId, req.KeepaliveSeq = streamID, k.GetSeq()
			}
			if a := m.GetAssignment(); a != nil {
				req.Assignments = []*switchyardv1.AttemptRef{{TaskId: a.GetTaskId(), Attempt: a.GetAttempt()}}
			}
			if _, err := acknowledgeRPC.do(e, c, req); err != nil {
				e.t.Errorf("%s: acknowledge %v: %v", e.c.proto.Name, req, err)
			}
			return m.GetAssignment() != nil
		})
	var lines []string
	for _, m := range msgs {
		if k := m.GetKeepalive(); k != nil {
			e.ids["stream"] = k.GetStreamId()
		} else {
			lines = append(lines, e.describe(m, nil))
		}
		if a := m.GetAssignment(); a != nil {
			e.ids[name], taskName = a.GetTaskId(), a.GetTaskName()
		}
	}
	if err != nil {
		lines = append(lines, e.describe(nil, err))
	}
	if worker == e.ids["worker"] {
		waitInactive(e, worker)
	}
	return strings.Join(lines, "\n"), taskName
}

// waitInactive waits until the server has recorded that the worker's stream
// closed.
func waitInactive(e *env, worker string) {
	e.t.Helper()
	a := newAPIToken(e.c.url, e.setup, e.tokens[auth.RoleAdmin])
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		res, err := a.workers.ListWorkers(ctx(e), connect.NewRequest(&switchyardv1.ListWorkersRequest{}))
		if err != nil {
			e.t.Fatalf("list workers: %v", err)
		}
		for _, w := range res.Msg.GetWorkers() {
			if w.GetId() == worker && w.GetStatus() == switchyardv1.WorkerStatus_WORKER_STATUS_INACTIVE {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("%s: worker %s still active 20s after its stream closed", e.c.proto.Name, worker)
}

// registration is the worker every protocol registers.
func registration() *switchyardv1.RegisterWorkerRequest {
	return &switchyardv1.RegisterWorkerRequest{Name: "parity-worker", Actions: []string{"w.one", "w.two"}, Slots: 2, Labels: map[string]string{"zone": "a"}, IdempotencyKey: "worker-1"}
}

var workerCases = []parityCase{
	{"register returns the worker, and its repeat the same one", registerWorkerRPC.procedure, func(e *env) string {
		res, err := registerWorkerRPC.do(e, e.as(auth.RoleWorker), registration())
		again, err2 := registerWorkerRPC.do(e, e.as(auth.RoleWorker), registration())
		if err == nil && err2 == nil && (res.GetWorkerId() == "" || again.GetWorkerId() != res.GetWorkerId() || res.GetHeartbeatInterval().AsDuration() != 20*time.Second) {
			e.t.Errorf("%s: registered %v then %v, want one worker with a 20s heartbeat", e.c.proto.Name, res, again)
		}
		e.ids["worker"] = res.GetWorkerId()
		return e.expect(0, res, err) + e.expect(0, again, err2)
	}},
	{"register reusing its key for another registration is already_exists", registerWorkerRPC.procedure, func(e *env) string {
		req := registration()
		req.Slots = 3
		res, err := registerWorkerRPC.do(e, e.as(auth.RoleWorker), req)
		return e.expect(connect.CodeAlreadyExists, res, err)
	}},
	{"register with no action or too many slots is invalid_argument", registerWorkerRPC.procedure, func(e *env) string {
		_, err1 := registerWorkerRPC.do(e, e.c, &switchyardv1.RegisterWorkerRequest{Name: "w"})
		_, err2 := registerWorkerRPC.do(e, e.c, &switchyardv1.RegisterWorkerRequest{Name: "w", Actions: []string{"a"}, Slots: 1001})
		return e.expectViolation("actions", err1) + "\n" + e.expectViolation("slots", err2)
	}},
	{"register by a viewer is permission_denied", registerWorkerRPC.procedure, func(e *env) string {
		res, err := registerWorkerRPC.do(e, e.as(auth.RoleViewer), registration())
		return e.expect(connect.CodePermissionDenied, res, err)
	}},
	{"heartbeat of a registered worker", heartbeatRPC.procedure, func(e *env) string {
		res, err := heartbeatRPC.do(e, e.as(auth.RoleWorker), &switchyardv1.HeartbeatRequest{WorkerId: e.ids["worker"]})
		return e.expect(0, res, err)
	}},
	heartbeatRPC.refused("heartbeat of an unknown worker is not_found", auth.RoleWorker, connect.CodeNotFound, func(e *env) *switchyardv1.HeartbeatRequest {
		return &switchyardv1.HeartbeatRequest{WorkerId: ghostID}
	}),
	heartbeatRPC.invalid("heartbeat with a malformed id is invalid_argument", auth.RoleWorker, "worker_id", func(e *env) *switchyardv1.HeartbeatRequest {
		return &switchyardv1.HeartbeatRequest{WorkerId: "not-a-uuid"}
	}),
	heartbeatRPC.refused("heartbeat by a viewer is permission_denied", auth.RoleViewer, connect.CodePermissionDenied, func(e *env) *switchyardv1.HeartbeatRequest {
		return &switchyardv1.HeartbeatRequest{WorkerId: e.ids["worker"]}
	}),
	{"listen carries the queued task to the worker", listenRPC, func(e *env) string {
		putFlow(e, jobSpec())
		startRun(e, "jobs", "job", map[string]any{"job": 1.0})
		out, task := listenFor(e, e.as(auth.RoleWorker), e.ids["worker"], "first task")
		if task != "t0" {
			e.t.Errorf("%s: listen got %s, want the assignment of t0", e.c.proto.Name, out)
		}
		return out
	}},
	{"acknowledge records the assignment the worker took from a stream that has ended", acknowledgeRPC.procedure, func(e *env) string {
		req := &switchyardv1.AcknowledgeRequest{WorkerId: e.ids["worker"], StreamId: e.ids["stream"], Assignments: []*switchyardv1.AttemptRef{{TaskId: e.ids["first task"], Attempt: 1}}}
		res, err := acknowledgeRPC.do(e, e.as(auth.RoleWorker), req)
		again, err2 := acknowledgeRPC.do(e, e.as(auth.RoleWorker), req)
		if err == nil && err2 == nil && (e.ids["stream"] == "" || res.GetStreamOpen() || again.GetStreamOpen()) {
			e.t.Errorf("%s: acknowledged on stream %q: %v then %v, want the stream no longer open", e.c.proto.Name, e.ids["stream"], res, again)
		}
		return e.expect(0, res, err) + e.expect(0, again, err2)
	}},
	acknowledgeRPC.refused("acknowledge of an unknown worker is not_found", auth.RoleWorker, connect.CodeNotFound, func(e *env) *switchyardv1.AcknowledgeRequest {
		return &switchyardv1.AcknowledgeRequest{WorkerId: ghostID, StreamId: e.ids["stream"]}
	}),
	acknowledgeRPC.invalid("acknowledge of attempt 0 is invalid_argument", auth.RoleWorker, "assignments[0].attempt", func(e *env) *switchyardv1.AcknowledgeRequest {
		return &switchyardv1.AcknowledgeRequest{WorkerId: e.ids["worker"], StreamId: e.ids["stream"], Assignments: []*switchyardv1.AttemptRef{{TaskId: e.ids["first task"]}}}
	}),
	acknowledgeRPC.refused("acknowledge by a viewer is permission_denied", auth.RoleViewer, connect.CodePermissionDenied, func(e *env) *switchyardv1.AcknowledgeRequest {
		return &switchyardv1.AcknowledgeRequest{WorkerId: e.ids["worker"], StreamId: e.ids["stream"]}
	}),
	{"listen of an unknown worker is not_found", listenRPC, func(e *env) string {
		out, _ := listenFor(e, e.as(auth.RoleWorker), ghostID, "")
		if !strings.HasPrefix(out, "error not_found") {
			e.t.Errorf("%s: listen of an unknown worker: %s, want not_found", e.c.proto.Name, out)
		}
		return out
	}},
	{"listen with a malformed id is invalid_argument", listenRPC, func(e *env) string {
		out, _ := listenFor(e, e.as(auth.RoleWorker), "not-a-uuid", "")
		if out != "error invalid_argument [worker_id] []" {
			e.t.Errorf("%s: listen with a malformed id: %s, want invalid_argument naming worker_id", e.c.proto.Name, out)
		}
		return out
	}},
	{"listen by a viewer is permission_denied", listenRPC, func(e *env) string {
		out, _ := listenFor(e, e.as(auth.RoleViewer), e.ids["worker"], "")
		if !strings.HasPrefix(out, "error permission_denied") {
			e.t.Errorf("%s: listen by a viewer: %s, want permission_denied", e.c.proto.Name, out)
		}
		return out
	}},
	{"list shows the worker with the slot its task holds", listWorkersRPC.procedure, func(e *env) string {
		res, err := listWorkersRPC.do(e, e.as(auth.RoleViewer), &switchyardv1.ListWorkersRequest{})
		if w := res.GetWorkers(); err == nil && (len(w) != 1 || w[0].GetSlotsInUse() != 1 || w[0].GetStatus() != switchyardv1.WorkerStatus_WORKER_STATUS_INACTIVE) {
			e.t.Errorf("%s: workers %v, want one inactive worker using 1 slot", e.c.proto.Name, w)
		}
		return e.expect(0, res, err)
	}},
	listWorkersRPC.invalid("list with a bad page size is invalid_argument", auth.RoleAdmin, "page_size", func(e *env) *switchyardv1.ListWorkersRequest {
		return &switchyardv1.ListWorkersRequest{PageSize: 501}
	}),
	listWorkersRPC.refused("list by a producer is permission_denied", auth.RoleProducer, connect.CodePermissionDenied, func(e *env) *switchyardv1.ListWorkersRequest {
		return &switchyardv1.ListWorkersRequest{}
	}),
	{"complete ends the attempt and queues the next task; its repeat is accepted", completeTaskRPC.procedure, func(e *env) string {
		req := &switchyardv1.CompleteTaskRequest{WorkerId: e.ids["worker"], TaskId: e.ids["first task"], Attempt: 1, Output: mustStruct(map[string]any{"done": true})}
		res, err := completeTaskRPC.do(e, e.as(auth.RoleWorker), req)
		again, err2 := completeTaskRPC.do(e, e.as(auth.RoleWorker), req)
		return e.expect(0, res, err) + e.expect(0, again, err2)
	}},
	completeTaskRPC.refused("complete of an attempt the worker does not hold is failed_precondition", auth.RoleWorker, connect.CodeFailedPrecondition, func(e *env) *switchyardv1.CompleteTaskRequest {
		return &switchyardv1.CompleteTaskRequest{WorkerId: e.ids["worker"], TaskId: e.ids["first task"], Attempt: 2}
	}),
	completeTaskRPC.refused("complete of an unknown task is not_found", auth.RoleWorker, connect.CodeNotFound, func(e *env) *switchyardv1.CompleteTaskRequest {
		return &switchyardv1.CompleteTaskRequest{WorkerId: e.ids["worker"], TaskId: ghostID, Attempt: 1}
	}),
	completeTaskRPC.invalid("complete of attempt 0 is invalid_argument", auth.RoleWorker, "attempt", func(e *env) *switchyardv1.CompleteTaskRequest {
		return &switchyardv1.CompleteTaskRequest{WorkerId: e.ids["worker"], TaskId: e.ids["first task"]}
	}),
	completeTaskRPC.refused("complete by a viewer is permission_denied", auth.RoleViewer, connect.CodePermissionDenied, func(e *env) *switchyardv1.CompleteTaskRequest {
		return &switchyardv1.CompleteTaskRequest{WorkerId: e.ids["worker"], TaskId: e.ids["first task"], Attempt: 1}
	}),
	{"fail without a retry fails the task and its run; its repeat is accepted", failTaskRPC.procedure, func(e *env) string {
		out, task := listenFor(e, e.as(auth.RoleWorker), e.ids["worker"], "second task")
		if task != "t1" {
			e.t.Errorf("%s: listen got %s, want the assignment of t1", e.c.proto.Name, out)
		}
		req := &switchyardv1.FailTaskRequest{WorkerId: e.ids["worker"], TaskId: e.ids["second task"], Attempt: 1, Error: "boom", Retryable: true}
		res, err := failTaskRPC.do(e, e.as(auth.RoleWorker), req)
		again, err2 := failTaskRPC.do(e, e.as(auth.RoleWorker), req)
		if err == nil && err2 == nil && (res.GetWillRetry() || again.GetWillRetry()) {
			e.t.Errorf("%s: the only attempt failed with a retry: %v, %v", e.c.proto.Name, res, again)
		}
		return out + "\n" + e.expect(0, res, err) + e.expect(0, again, err2)
	}},
	failTaskRPC.refused("fail of a task that succeeded is failed_precondition", auth.RoleWorker, connect.CodeFailedPrecondition, func(e *env) *switchyardv1.FailTaskRequest {
		return &switchyardv1.FailTaskRequest{WorkerId: e.ids["worker"], TaskId: e.ids["first task"], Attempt: 1, Error: "late"}
	}),
	failTaskRPC.refused("fail of an unknown task is not_found", auth.RoleWorker, connect.CodeNotFound, func(e *env) *switchyardv1.FailTaskRequest {
		return &switchyardv1.FailTaskRequest{WorkerId: e.ids["worker"], TaskId: ghostID, Attempt: 1}
	}),
	failTaskRPC.invalid("fail with a long error is invalid_argument", auth.RoleWorker, "error", func(e *env) *switchyardv1.FailTaskRequest {
		return &switchyardv1.FailTaskRequest{WorkerId: e.ids["worker"], TaskId: e.ids["second task"], Attempt: 1, Error: strings.Repeat("e", 16385)}
	}),
	failTaskRPC.refused("fail by a producer is permission_denied", auth.RoleProducer, connect.CodePermissionDenied, func(e *env) *switchyardv1.FailTaskRequest {
		return &switchyardv1.FailTaskRequest{WorkerId: e.ids["worker"], TaskId: e.ids["second task"], Attempt: 1}
	}),
}
