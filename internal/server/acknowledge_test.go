package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/durationpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// ackEngine has short keep-alive and acknowledgement windows (yet long enough
// for a loaded machine to answer in) and a heartbeat interval long enough that
// no worker is taken for dead during a test.
var ackEngine = engine.Config{
	HeartbeatInterval: time.Minute,
	KeepaliveInterval: 250 * time.Millisecond,
	AckTimeout:        time.Second,
	DispatchInterval:  50 * time.Millisecond,
	ReapInterval:      100 * time.Millisecond,
}

// acknowledge calls WorkerService.Acknowledge over c's protocol.
func (c client) acknowledge(ctx context.Context, req *switchyardv1.AcknowledgeRequest) (*switchyardv1.AcknowledgeResponse, error) {
	if c.proto.REST {
		return restCall[switchyardv1.AcknowledgeResponse](ctx, c, http.MethodPost, "/v1/workers/"+url.PathEscape(req.GetWorkerId())+":acknowledge", req)
	}
	return unary[switchyardv1.AcknowledgeRequest, switchyardv1.AcknowledgeResponse](ctx, c, switchyardv1connect.WorkerServiceAcknowledgeProcedure, req)
}

// rawStream is one Listen stream opened with the generated client.
type rawStream struct {
	workerID string
	stream   *connect.ServerStreamForClient[switchyardv1.ListenResponse]
	first    *switchyardv1.Keepalive
}

// openStream registers a worker for actions and opens its Listen stream until
// the test ends; the stream's first message must be a keep-alive.
func openStream(t *testing.T, a *api, actions ...string) *rawStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	reg, err := a.workers.RegisterWorker(ctx, connect.NewRequest(&switchyardv1.RegisterWorkerRequest{Name: "raw", Actions: actions, Slots: 1}))
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	s := &rawStream{workerID: reg.Msg.GetWorkerId()}
	s.stream, err = a.workers.Listen(ctx, connect.NewRequest(&switchyardv1.ListenRequest{WorkerId: s.workerID}))
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	if !s.stream.Receive() {
		t.Fatalf("stream ended before its first message: %v", s.stream.Err())
	}
	if s.first = s.stream.Msg().GetKeepalive(); s.first == nil {
		t.Fatalf("first message %v, want a keep-alive", s.stream.Msg())
	}
	return s
}

// TestAcknowledgeOverEveryProtocol acknowledges a received keep-alive and
// assignment over each protocol, and checks the answers to a replaced stream,
// an unknown worker and malformed requests.
func TestAcknowledgeOverEveryProtocol(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		srv := servertest.Start(t, eng, servertest.Options{Engine: fastEngine})
		a := newAPI(srv.URL, grpcProtocol())
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "acked", Tasks: []*switchyardv1.TaskSpec{task("job", "ack.job")}})
		for _, p := range servertest.Protocols() {
			t.Run(strings.ReplaceAll(p.Name, "/", "_"), func(t *testing.T) {
				c := client{proto: p, url: srv.URL, token: servertest.AdminToken}
				ctx := context.Background()
				s := openStream(t, a, "ack.job")
				if s.first.GetStreamId() == "" || s.first.GetSeq() != 1 || s.first.GetInterval().AsDuration() != fastEngine.KeepaliveInterval {
					t.Fatalf("first keep-alive %v, want a stream id, seq 1 and interval %s", s.first, fastEngine.KeepaliveInterval)
				}
				if _, err := a.workflows.RunWorkflow(ctx, connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: "acked"})); err != nil {
					t.Fatal(err)
				}
				as := nextAssignment(t, s)
				res, err := c.acknowledge(ctx, &switchyardv1.AcknowledgeRequest{
					WorkerId: s.workerID, StreamId: s.first.GetStreamId(), KeepaliveSeq: 1,
					Assignments: []*switchyardv1.AttemptRef{{TaskId: as.GetTaskId(), Attempt: as.GetAttempt()}},
				})
				if err != nil || !res.GetStreamOpen() {
					t.Fatalf("acknowledge on the open stream: %v, %v; want stream_open", res, err)
				}
				if got := ackedAt(t, srv.Store, as); got == 0 {
					t.Fatalf("task %s acked_at 0 after its acknowledgement, want the time of it", as.GetTaskId())
				}
				res, err = c.acknowledge(ctx, &switchyardv1.AcknowledgeRequest{WorkerId: s.workerID, StreamId: "not-the-stream", KeepaliveSeq: 1})
				if err != nil || res.GetStreamOpen() {
					t.Fatalf("acknowledge on another stream id: %v, %v; want stream_open false", res, err)
				}
				_, err = c.acknowledge(ctx, &switchyardv1.AcknowledgeRequest{WorkerId: uuid.NewString(), StreamId: s.first.GetStreamId()})
				if connect.CodeOf(err) != connect.CodeNotFound {
					t.Fatalf("acknowledge for an unknown worker: %v, want not_found", err)
				}
				for _, bad := range []*switchyardv1.AcknowledgeRequest{
					{WorkerId: "not-a-uuid", StreamId: s.first.GetStreamId()},
					{WorkerId: s.workerID, StreamId: ""},
					{WorkerId: s.workerID, StreamId: s.first.GetStreamId(), Assignments: []*switchyardv1.AttemptRef{{TaskId: "x", Attempt: 1}}},
					{WorkerId: s.workerID, StreamId: s.first.GetStreamId(), Assignments: []*switchyardv1.AttemptRef{{TaskId: as.GetTaskId(), Attempt: 0}}},
				} {
					if _, err := c.acknowledge(ctx, bad); connect.CodeOf(err) != connect.CodeInvalidArgument {
						t.Errorf("acknowledge %v: %v, want invalid_argument", bad, err)
					}
				}
				if err := (&rawWorker{api: a, id: s.workerID}).complete(as, nil); err != nil {
					t.Fatalf("complete: %v", err)
				}
			})
		}
	})
}

// nextAssignment receives from s until an assignment arrives.
func nextAssignment(t *testing.T, s *rawStream) *switchyardv1.TaskAssignment {
	t.Helper()
	for s.stream.Receive() {
		if as := s.stream.Msg().GetAssignment(); as != nil {
			return as
		}
	}
	t.Fatalf("stream ended without an assignment: %v", s.stream.Err())
	return nil
}

// ackedAt returns the stored acknowledgement time of an assigned task.
func ackedAt(t *testing.T, st *store.Store, as *switchyardv1.TaskAssignment) int64 {
	t.Helper()
	var tasks []*store.Task
	err := st.Read(context.Background(), func(ctx context.Context, q store.Q) (err error) {
		tasks, err = q.TaskListByRun(ctx, as.GetRunId())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range tasks {
		if tk.ID == as.GetTaskId() {
			return tk.AckedAt.Micros()
		}
	}
	t.Fatalf("task %s not in run %s", as.GetTaskId(), as.GetRunId())
	return 0
}

// TestUnacknowledgedAssignmentGoesElsewhere gives a task to a worker that
// acknowledges its stream's keep-alives but not the assignment: the attempt
// must count as lost (the worker is told to stop it) and the task run by
// another worker as attempt 2, long before its ten-minute lease (or the
// one-minute heartbeat interval) could move it. Meanwhile the deaf worker's
// one slot goes to a task it acknowledges, queued before the lost one, so the
// lost one can only go to the other worker.
func TestUnacknowledgedAssignmentGoesElsewhere(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		logs := &servertest.LogSink{}
		srv := servertest.Start(t, eng, servertest.Options{Engine: ackEngine, Logger: logs.Logger(slog.LevelInfo)})
		a := newAPI(srv.URL, grpcProtocol())
		ctx := context.Background()
		for _, name := range []string{"unacked", "hold"} {
			putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: name, Tasks: []*switchyardv1.TaskSpec{
				{Name: "job", Action: name + ".job", Timeout: durationpb.New(10 * time.Minute)},
			}})
		}
		deaf := openStream(t, a, "unacked.job", "hold.job")
		got := map[string]chan *switchyardv1.TaskAssignment{"unacked.job": make(chan *switchyardv1.TaskAssignment, 16), "hold.job": make(chan *switchyardv1.TaskAssignment, 16)}
		cancelled := make(chan *switchyardv1.TaskCancellation, 16)
		acked := make(chan error, 1)
		go func() {
			// Acknowledge each keep-alive, first the first, and the hold
			// assignments; never the others.
			req := &switchyardv1.AcknowledgeRequest{WorkerId: deaf.workerID, StreamId: deaf.first.GetStreamId(), KeepaliveSeq: deaf.first.GetSeq()}
			for {
				if req != nil {
					_, err := a.workers.Acknowledge(ctx, connect.NewRequest(req))
					select {
					case acked <- err:
					default:
					}
				}
				if !deaf.stream.Receive() {
					return
				}
				req = nil
				m := deaf.stream.Msg()
				if k := m.GetKeepalive(); k != nil {
					req = &switchyardv1.AcknowledgeRequest{WorkerId: deaf.workerID, StreamId: k.GetStreamId(), KeepaliveSeq: k.GetSeq()}
				}
				if as := m.GetAssignment(); as != nil {
					if as.GetAction() == "hold.job" {
						req = &switchyardv1.AcknowledgeRequest{WorkerId: deaf.workerID, StreamId: deaf.first.GetStreamId(),
							Assignments: []*switchyardv1.AttemptRef{{TaskId: as.GetTaskId(), Attempt: as.GetAttempt()}}}
					}
					select {
					case got[as.GetAction()] <- as:
					default:
					}
				}
				if c := m.GetCancellation(); c != nil {
					select {
					case cancelled <- c:
					default:
					}
				}
			}
		}()
		if err := <-acked; err != nil {
			t.Fatalf("acknowledge the first keep-alive: %v", err)
		}
		receive := func(action string) *switchyardv1.TaskAssignment {
			select {
			case as := <-got[action]:
				return as
			case <-time.After(10 * time.Second):
				t.Fatalf("the deaf worker got no %s assignment in 10s", action)
				return nil
			}
		}
		res, err := a.workflows.RunWorkflow(ctx, connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: "unacked"}))
		if err != nil {
			t.Fatal(err)
		}
		first := receive("unacked.job")
		if _, err := a.workflows.RunWorkflow(ctx, connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: "hold"})); err != nil {
			t.Fatal(err)
		}
		other := startRawWorker(t, a, []string{"unacked.job"}, 1, func(w *rawWorker, as *switchyardv1.TaskAssignment) {
			_ = w.complete(as, map[string]any{"by": "other"})
		})
		run := waitRun(t, a, res.Msg.GetRunId(), 30*time.Second)
		tk := taskByName(run, "job")
		if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED || tk.GetWorkerId() != other.id || tk.GetAttempt() != 2 {
			t.Fatalf("run %v, attempt %d by %s; want SUCCEEDED on attempt 2 by the other worker %s", run.GetStatus(), tk.GetAttempt(), tk.GetWorkerId(), other.id)
		}
		if hold := receive("hold.job"); hold.GetAttempt() != 1 {
			t.Fatalf("the deaf worker got the hold task's attempt %d, want 1", hold.GetAttempt())
		}
		if lost := unackedLost(t, logs, deaf.workerID, tk.GetId()); lost != 1 {
			t.Fatalf("%d attempts of task %s lost by worker %s for want of an acknowledgement, want 1", lost, tk.GetId(), deaf.workerID)
		}
		select {
		case c := <-cancelled:
			if c.GetTaskId() != first.GetTaskId() || c.GetAttempt() != first.GetAttempt() {
				t.Fatalf("cancellation of %s attempt %d, want of the unacknowledged %s attempt %d", c.GetTaskId(), c.GetAttempt(), first.GetTaskId(), first.GetAttempt())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the worker was not told to stop the unacknowledged attempt within 10s")
		}
	})
}

// unackedLost counts the logged attempts of the task that the worker lost for
// want of an acknowledgement.
func unackedLost(t *testing.T, logs *servertest.LogSink, workerID, taskID string) int {
	t.Helper()
	n := 0
	for _, l := range logs.Lines(t, "attempt lost") {
		reason, _ := l["reason"].(string)
		if strings.Contains(reason, "not acknowledged") && l["worker_id"] == workerID && l["task_id"] == taskID {
			n++
		}
	}
	return n
}

// TestUnacknowledgedKeepalivesEndStream checks that a stream whose worker
// stopped acknowledging keep-alives is ended with unavailable, and that a
// stream whose worker never acknowledges one (an older worker) stays open.
func TestUnacknowledgedKeepalivesEndStream(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		srv := servertest.Start(t, eng, servertest.Options{Engine: ackEngine})
		a := newAPI(srv.URL, grpcProtocol())
		ctx := context.Background()

		quiet := openStream(t, a, "keepalive.job")
		res, err := a.workers.Acknowledge(ctx, connect.NewRequest(&switchyardv1.AcknowledgeRequest{
			WorkerId: quiet.workerID, StreamId: quiet.first.GetStreamId(), KeepaliveSeq: quiet.first.GetSeq(),
		}))
		if err != nil || !res.Msg.GetStreamOpen() {
			t.Fatalf("acknowledge the first keep-alive: %v, %v; want stream_open", res, err)
		}
		var seq uint64
		for quiet.stream.Receive() {
			seq = quiet.stream.Msg().GetKeepalive().GetSeq()
		}
		err = quiet.stream.Err()
		if connect.CodeOf(err) != connect.CodeUnavailable || !strings.Contains(err.Error(), "no keep-alive was acknowledged for") {
			t.Fatalf("stream ended with %v, want unavailable: no keep-alive was acknowledged for ...", err)
		}
		if seq < 4 {
			t.Fatalf("the stream ended after keep-alive %d, want at least 4 (three intervals after the one acknowledged)", seq)
		}
		res, err = a.workers.Acknowledge(ctx, connect.NewRequest(&switchyardv1.AcknowledgeRequest{
			WorkerId: quiet.workerID, StreamId: quiet.first.GetStreamId(), KeepaliveSeq: seq,
		}))
		if err != nil || res.Msg.GetStreamOpen() {
			t.Fatalf("acknowledge on the ended stream: %v, %v; want stream_open false", res, err)
		}

		older := openStream(t, a, "keepalive.job")
		const want = 20 // more than six times three intervals
		for i := uint64(2); i <= want; i++ {
			if !older.stream.Receive() {
				t.Fatalf("the never-acknowledging stream ended before keep-alive %d: %v; want it open", i, older.stream.Err())
			}
			if k := older.stream.Msg().GetKeepalive(); k.GetSeq() != i || k.GetStreamId() != older.first.GetStreamId() {
				t.Fatalf("message %v, want keep-alive %d of stream %s", older.stream.Msg(), i, older.first.GetStreamId())
			}
		}
	})
}
