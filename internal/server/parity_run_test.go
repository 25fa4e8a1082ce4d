package server_test

import (
	"fmt"
	"strings"
	"testing"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/auth"
)

var (
	getRunRPC    = unaryOf[switchyardv1.GetRunRequest, switchyardv1.GetRunResponse](switchyardv1connect.RunServiceGetRunProcedure)
	listRunsRPC  = unaryOf[switchyardv1.ListRunsRequest, switchyardv1.ListRunsResponse](switchyardv1connect.RunServiceListRunsProcedure)
	cancelRunRPC = unaryOf[switchyardv1.CancelRunRequest, switchyardv1.CancelRunResponse](switchyardv1connect.RunServiceCancelRunProcedure)
	replayRunRPC = unaryOf[switchyardv1.ReplayRunRequest, switchyardv1.ReplayRunResponse](switchyardv1connect.RunServiceReplayRunProcedure)
)

const watchRunRPC = switchyardv1connect.RunServiceWatchRunProcedure

// TestRunServiceParity runs every RunService case over every protocol on
// every database engine. No worker runs, so the runs stay queued until a case
// cancels them.
func TestRunServiceParity(t *testing.T) {
	runParity(t, runCases, parityOptions{})
}

// startRun starts a run of workflow by hand and remembers its id as name.
func startRun(e *env, workflow, name string, input map[string]any) {
	e.t.Helper()
	res, err := runWorkflowRPC.do(e, e.c, &switchyardv1.RunWorkflowRequest{Name: workflow, Input: mustStruct(input)})
	mustOK(e, err)
	e.ids[name] = res.GetRunId()
}

// watchRun watches a run until it ends, or only for its first state when
// first is true, and returns the states received (keep-alives left out).
func watchRun(e *env, c client, id string, first bool) string {
	msgs, err := stream[switchyardv1.WatchRunRequest, switchyardv1.WatchRunResponse](ctx(e), c, watchRunRPC, &switchyardv1.WatchRunRequest{Id: id},
		func(m *switchyardv1.WatchRunResponse) bool { return first && m.GetRun() != nil })
	var out []string
	for _, m := range msgs {
		if !m.GetKeepalive() {
			out = append(out, e.describe(m, nil))
		}
	}
	if err != nil {
		out = append(out, e.describe(nil, err))
	}
	return strings.Join(out, "\n")
}

var runCases = []parityCase{
	{"get returns a run with its tasks", getRunRPC.procedure, func(e *env) string {
		putFlow(e, flowSpec("orders", "a.one", "a.two"))
		startRun(e, "orders", "first", map[string]any{"order": 1.0})
		res, err := getRunRPC.do(e, e.as(auth.RoleViewer), &switchyardv1.GetRunRequest{Id: e.ids["first"]})
		if r := res.GetRun(); err == nil && (r.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_QUEUED || len(r.GetTasks()) != 2 || r.GetTrigger() != switchyardv1.RunTrigger_RUN_TRIGGER_MANUAL) {
			e.t.Errorf("%s: get run %v, want a queued manual run with 2 tasks", e.c.proto.Name, r)
		}
		return e.expect(0, res, err)
	}},
	getRunRPC.refused("get of an unknown run is not_found", auth.RoleAdmin, connect.CodeNotFound, func(e *env) *switchyardv1.GetRunRequest {
		return &switchyardv1.GetRunRequest{Id: ghostID}
	}),
	getRunRPC.invalid("get with a malformed id is invalid_argument", auth.RoleAdmin, "id", func(e *env) *switchyardv1.GetRunRequest {
		return &switchyardv1.GetRunRequest{Id: "not-a-uuid"}
	}),
	getRunRPC.refused("get by a worker is permission_denied", auth.RoleWorker, connect.CodePermissionDenied, func(e *env) *switchyardv1.GetRunRequest {
		return &switchyardv1.GetRunRequest{Id: e.ids["first"]}
	}),
	{"list filters and pages runs newest first", listRunsRPC.procedure, func(e *env) string {
		putFlow(e, flowSpec("billing", "b.one"))
		startRun(e, "orders", "second", map[string]any{"order": 2.0})
		startRun(e, "billing", "bill", map[string]any{"bill": 1.0})
		return listPages(e, func(token string) (*switchyardv1.ListRunsResponse, error) {
			return listRunsRPC.do(e, e.as(auth.RoleProducer), &switchyardv1.ListRunsRequest{
				Workflow: "orders", Status: switchyardv1.RunStatus_RUN_STATUS_QUEUED, Trigger: switchyardv1.RunTrigger_RUN_TRIGGER_MANUAL, PageSize: 1, PageToken: token,
			})
		}, func(res *switchyardv1.ListRunsResponse) (orders []string) {
			for _, r := range res.GetRuns() {
				orders = append(orders, fmt.Sprint(r.GetInput().GetFields()["order"].GetNumberValue()))
			}
			return orders
		}, "2 1")
	}},
	{"list with a bad page token or filter is invalid_argument", listRunsRPC.procedure, func(e *env) string {
		_, err1 := listRunsRPC.do(e, e.c, &switchyardv1.ListRunsRequest{PageToken: "garbage"})
		_, err2 := listRunsRPC.do(e, e.c, &switchyardv1.ListRunsRequest{PageSize: 501})
		_, err3 := listRunsRPC.do(e, e.c, &switchyardv1.ListRunsRequest{Workflow: strings.Repeat("w", 129)})
		return strings.Join([]string{e.expect(connect.CodeInvalidArgument, nil, err1), e.expectViolation("page_size", err2), e.expectViolation("workflow", err3)}, "\n")
	}},
	listRunsRPC.refused("list by a worker is permission_denied", auth.RoleWorker, connect.CodePermissionDenied, func(e *env) *switchyardv1.ListRunsRequest {
		return &switchyardv1.ListRunsRequest{}
	}),
	{"watch of a run that has not ended sends its state", watchRunRPC, func(e *env) string {
		return watchRun(e, e.as(auth.RoleViewer), e.ids["first"], true)
	}},
	{"cancel ends a run and its tasks; cancelling again changes nothing", cancelRunRPC.procedure, func(e *env) string {
		res, err := cancelRunRPC.do(e, e.c, &switchyardv1.CancelRunRequest{Id: e.ids["first"], Reason: "parity"})
		again, err2 := cancelRunRPC.do(e, e.c, &switchyardv1.CancelRunRequest{Id: e.ids["first"], Reason: "again"})
		if r := again.GetRun(); err2 == nil && (r.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_CANCELLED || !strings.Contains(r.GetError(), "parity")) {
			e.t.Errorf("%s: cancelled twice: %v, want cancelled for the first reason", e.c.proto.Name, r)
		}
		return e.expect(0, res, err) + e.expect(0, again, err2)
	}},
	cancelRunRPC.refused("cancel of an unknown run is not_found", auth.RoleAdmin, connect.CodeNotFound, func(e *env) *switchyardv1.CancelRunRequest {
		return &switchyardv1.CancelRunRequest{Id: ghostID}
	}),
	cancelRunRPC.invalid("cancel with a long reason is invalid_argument", auth.RoleAdmin, "reason", func(e *env) *switchyardv1.CancelRunRequest {
		return &switchyardv1.CancelRunRequest{Id: e.ids["second"], Reason: strings.Repeat("r", 1025)}
	}),
	cancelRunRPC.refused("cancel by a producer is permission_denied", auth.RoleProducer, connect.CodePermissionDenied, func(e *env) *switchyardv1.CancelRunRequest {
		return &switchyardv1.CancelRunRequest{Id: e.ids["second"]}
	}),
	{"watch of an ended run sends its state and ends", watchRunRPC, func(e *env) string {
		return watchRun(e, e.as(auth.RoleProducer), e.ids["first"], false)
	}},
	{"watch of an unknown run is not_found", watchRunRPC, func(e *env) string {
		out := watchRun(e, e.c, ghostID, false)
		if !strings.HasPrefix(out, "error not_found") {
			e.t.Errorf("%s: watch of an unknown run: %s, want not_found", e.c.proto.Name, out)
		}
		return out
	}},
	{"watch with a malformed id is invalid_argument", watchRunRPC, func(e *env) string {
		out := watchRun(e, e.c, "not-a-uuid", false)
		if out != "error invalid_argument [id] []" {
			e.t.Errorf("%s: watch with a malformed id: %s, want invalid_argument naming id", e.c.proto.Name, out)
		}
		return out
	}},
	{"watch by a worker is permission_denied", watchRunRPC, func(e *env) string {
		out := watchRun(e, e.as(auth.RoleWorker), e.ids["first"], false)
		if !strings.HasPrefix(out, "error permission_denied") {
			e.t.Errorf("%s: watch by a worker: %s, want permission_denied", e.c.proto.Name, out)
		}
		return out
	}},
	{"replay starts a new run of an ended one, and its repeat is deduplicated", replayRunRPC.procedure, func(e *env) string {
		req := &switchyardv1.ReplayRunRequest{Id: e.ids["first"], IdempotencyKey: "replay-1"}
		res, err := replayRunRPC.do(e, e.c, req)
		again, err2 := replayRunRPC.do(e, e.c, req)
		if r := res.GetRun(); err == nil && (r.GetTrigger() != switchyardv1.RunTrigger_RUN_TRIGGER_REPLAY || r.GetReplayOf() != e.ids["first"] || res.GetDeduplicated()) {
			e.t.Errorf("%s: replay %v, want a new replay run of %s", e.c.proto.Name, res, e.ids["first"])
		}
		if err2 == nil && (!again.GetDeduplicated() || again.GetRun().GetId() != res.GetRun().GetId()) {
			e.t.Errorf("%s: repeated replay %v, want the same run deduplicated", e.c.proto.Name, again)
		}
		return e.expect(0, res, err) + e.expect(0, again, err2)
	}},
	replayRunRPC.refused("replay of a run that has not ended is failed_precondition", auth.RoleAdmin, connect.CodeFailedPrecondition, func(e *env) *switchyardv1.ReplayRunRequest {
		return &switchyardv1.ReplayRunRequest{Id: e.ids["second"]}
	}),
	{"replay reusing its key for another run is already_exists", replayRunRPC.procedure, func(e *env) string {
		_, err := cancelRunRPC.do(e, e.c, &switchyardv1.CancelRunRequest{Id: e.ids["bill"]})
		mustOK(e, err)
		res, err := replayRunRPC.do(e, e.c, &switchyardv1.ReplayRunRequest{Id: e.ids["bill"], IdempotencyKey: "replay-1"})
		return e.expect(connect.CodeAlreadyExists, res, err)
	}},
	replayRunRPC.refused("replay of an unknown run is not_found", auth.RoleAdmin, connect.CodeNotFound, func(e *env) *switchyardv1.ReplayRunRequest {
		return &switchyardv1.ReplayRunRequest{Id: ghostID}
	}),
	replayRunRPC.invalid("replay with an unknown mode is invalid_argument", auth.RoleAdmin, "mode", func(e *env) *switchyardv1.ReplayRunRequest {
		return &switchyardv1.ReplayRunRequest{Id: e.ids["first"], Mode: 9}
	}),
	replayRunRPC.refused("replay by a producer is permission_denied", auth.RoleProducer, connect.CodePermissionDenied, func(e *env) *switchyardv1.ReplayRunRequest {
		return &switchyardv1.ReplayRunRequest{Id: e.ids["first"]}
	}),
}
