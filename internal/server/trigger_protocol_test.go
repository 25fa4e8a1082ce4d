package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

func (c client) replayEvent(ctx context.Context, req *switchyardv1.ReplayEventRequest) (*switchyardv1.ReplayEventResponse, error) {
	if c.proto.REST {
		return restCall[switchyardv1.ReplayEventResponse](ctx, c, http.MethodPost, "/v1/events/"+req.GetId()+":replay", req)
	}
	return unary[switchyardv1.ReplayEventRequest, switchyardv1.ReplayEventResponse](ctx, c, switchyardv1connect.EventServiceReplayEventProcedure, req)
}

func (c client) replayRun(ctx context.Context, req *switchyardv1.ReplayRunRequest) (*switchyardv1.ReplayRunResponse, error) {
	if c.proto.REST {
		return restCall[switchyardv1.ReplayRunResponse](ctx, c, http.MethodPost, "/v1/runs/"+req.GetId()+":replay", req)
	}
	return unary[switchyardv1.ReplayRunRequest, switchyardv1.ReplayRunResponse](ctx, c, switchyardv1connect.RunServiceReplayRunProcedure, req)
}

func (c client) runWorkflow(ctx context.Context, req *switchyardv1.RunWorkflowRequest) (*switchyardv1.RunWorkflowResponse, error) {
	if c.proto.REST {
		return restCall[switchyardv1.RunWorkflowResponse](ctx, c, http.MethodPost, "/v1/workflows/"+req.GetName()+":run", req)
	}
	return unary[switchyardv1.RunWorkflowRequest, switchyardv1.RunWorkflowResponse](ctx, c, switchyardv1connect.WorkflowServiceRunWorkflowProcedure, req)
}

// TestTriggerRPCsOnEveryProtocol makes the new calls — a delayed, prioritised
// RunWorkflow, ReplayEvent and ReplayRun with their idempotency keys and their
// refusals — over each of the nine transports, with the same outcome on each.
func TestTriggerRPCsOnEveryProtocol(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		srv, a := startEngineServer(t, eng)
		ctx := context.Background()
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "everywhere", OnEvents: []string{"proto.*"}, Tasks: []*switchyardv1.TaskSpec{task("t", "nobody")}})
		for _, p := range servertest.Protocols() {
			c := client{proto: p, url: srv.URL, token: servertest.AdminToken}
			pushed, err := c.push(ctx, &switchyardv1.PushEventRequest{Key: "proto.event"})
			if err != nil {
				t.Fatalf("%s: push: %v", p.Name, err)
			}
			req := &switchyardv1.ReplayEventRequest{Id: pushed.GetEvent().GetId(), IdempotencyKey: "replay-" + p.Name}
			r1, err := c.replayEvent(ctx, req)
			if err != nil || len(r1.GetRunIds()) != 1 || r1.GetDeduplicated() {
				t.Fatalf("%s: replay event: %v, %v", p.Name, r1, err)
			}
			r2, err := c.replayEvent(ctx, req)
			if err != nil || !r2.GetDeduplicated() || r2.GetRunIds()[0] != r1.GetRunIds()[0] {
				t.Fatalf("%s: repeated replay: %v, %v", p.Name, r2, err)
			}
			runAt := time.Now().Add(time.Hour).Truncate(time.Second)
			run, err := c.runWorkflow(ctx, &switchyardv1.RunWorkflowRequest{Name: "everywhere", RunAt: timestamppb.New(runAt), Priority: 4, IdempotencyKey: "run-" + p.Name})
			if err != nil {
				t.Fatalf("%s: run workflow: %v", p.Name, err)
			}
			got := getRun(t, a, run.GetRunId())
			if got.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SCHEDULED || !got.GetScheduledAt().AsTime().Equal(runAt) || got.GetPriority() != 4 {
				t.Fatalf("%s: delayed run %v", p.Name, got)
			}
			_, err = c.replayRun(ctx, &switchyardv1.ReplayRunRequest{Id: run.GetRunId()})
			if connect.CodeOf(err) != connect.CodeFailedPrecondition {
				t.Fatalf("%s: replay of a scheduled run: %v, want failed_precondition", p.Name, err)
			}
			_, err = c.replayRun(ctx, &switchyardv1.ReplayRunRequest{Id: run.GetRunId(), Mode: 99})
			if connect.CodeOf(err) != connect.CodeInvalidArgument {
				t.Fatalf("%s: replay with mode 99: %v, want invalid_argument", p.Name, err)
			}
			if _, err := a.runs.CancelRun(ctx, connect.NewRequest(&switchyardv1.CancelRunRequest{Id: run.GetRunId()})); err != nil {
				t.Fatal(err)
			}
			replayed, err := c.replayRun(ctx, &switchyardv1.ReplayRunRequest{Id: run.GetRunId(), Mode: switchyardv1.ReplayMode_REPLAY_MODE_WHOLE})
			if err != nil || replayed.GetRun().GetReplayOf() != run.GetRunId() || replayed.GetRun().GetPriority() != 4 ||
				replayed.GetRun().GetStatus() != switchyardv1.RunStatus_RUN_STATUS_QUEUED {
				t.Fatalf("%s: replay of the cancelled run: %v, %v", p.Name, replayed, err)
			}
			_, err = c.replayEvent(ctx, &switchyardv1.ReplayEventRequest{Id: "not-a-uuid"})
			if connect.CodeOf(err) != connect.CodeInvalidArgument {
				t.Fatalf("%s: replay of a malformed id: %v, want invalid_argument", p.Name, err)
			}
		}
		replays := listRuns(t, a, &switchyardv1.ListRunsRequest{Trigger: switchyardv1.RunTrigger_RUN_TRIGGER_REPLAY})
		if n := len(servertest.Protocols()); len(replays) != 2*n {
			t.Fatalf("%d replayed runs stored, want %d (one event and one run replay per protocol)", len(replays), 2*n)
		}
		manual := listRuns(t, a, &switchyardv1.ListRunsRequest{Trigger: switchyardv1.RunTrigger_RUN_TRIGGER_MANUAL})
		if len(manual) != len(servertest.Protocols()) {
			t.Fatalf("%d manual runs, want one per protocol", len(manual))
		}
	})
}

// TestJSONBodiesOnEveryRoute sends bad JSON bodies to REST routes with a path
// parameter (which the transcoder decodes itself) and to Connect JSON: each is
// invalid_argument, a misspelled enum name is refused rather than read as the
// default, and an unknown field is refused, named.
func TestJSONBodiesOnEveryRoute(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		srv, a := startEngineServer(t, eng)
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "bodies", Tasks: []*switchyardv1.TaskSpec{task("t", "nobody")}})
		ctx := context.Background()
		for _, p := range servertest.Protocols() {
			if !isJSON(p) {
				continue
			}
			c := client{proto: p, url: srv.URL, token: servertest.AdminToken}
			runProc, replayProc := switchyardv1connect.WorkflowServiceRunWorkflowProcedure, switchyardv1connect.RunServiceReplayRunProcedure
			runPath, replayPath := "/v1/workflows/bodies:run", "/v1/runs/0193e0a4-0000-7000-8000-000000000000:replay"
			for _, tt := range []struct {
				proc, path, body, want string
			}{
				{runProc, runPath, `{"name": "bodies", "input": `, "unexpected EOF"},
				{runProc, runPath, `{"name": "bodies", "runAt": "tomorrow"}`, "Timestamp"},
				{runProc, runPath, `{"name": "bodies", "priority": "high"}`, "priority"},
				{runProc, runPath, `{"name": "bodies", "idempotencyKey": 5}`, "idempotency_key must be a string"},
				{replayProc, replayPath, `{"id": "0193e0a4-0000-7000-8000-000000000000", "mode": "REPLAY_MODE_FROM_FAILD"}`, "REPLAY_MODE_FROM_FAILD"},
			} {
				err := c.rawCall(ctx, tt.proc, tt.path, []byte(tt.body))
				if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%s %s: %v, want invalid_argument mentioning %q", p.Name, tt.body, err, tt.want)
				}
			}
			err := c.rawCall(ctx, runProc, runPath, []byte(`{"name": "bodies", "unknown": {"deep": [1]}, "priority": 2}`))
			if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), `unknown field "unknown"`) {
				t.Errorf("%s: a body with an unknown field: %v, want invalid_argument naming it", p.Name, err)
			}
		}
	})
}
