package server_test

import (
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
	{"get of an unknown run is not_found", getRunRPC.procedure, func(e *env) string {
		res, err := getRunRPC.do(e, e.c, &switchyardv1.GetRunRequest{Id: ghostID})
		return e.expect(connect.CodeNotFound, res, err)
	}},
	{"get with a malformed id is invalid_argument", getRunRPC.procedure, func(e *env) string {
		_, err := getRunRPC.do(e, e.c, &switchyardv1.GetRunRequest{Id: "not-a-uuid"})
		return e.expectViolation("id", err)
	}},
	{"get by a worker is permission_denied", getRunRPC.procedure, func(e *env) string {
		res, err := getRunRPC.do(e, e.as(auth.RoleWorker), &switchyardv1.GetRunRequest{Id: e.ids["first"]})
		return e.expect(connect.CodePermissionDenied, res, err)
	}},
	{"list filters and pages runs newest first", listRunsRPC.procedure, func(e *env) string {
		putFlow(e, flowSpec("billing", "b.one"))
		startRun(e, "orders", "second", map[string]any{"order": 2.0})
		startRun(e, "billing", "bill", map[string]any{"bill": 1.0})
		var out []string
		var orders []float64
		req := &switchyardv1.ListRunsRequest{Workflow: "orders", Status: switchyardv1.RunStatus_RUN_STATUS_QUEUED, Trigger: switchyardv1.RunTrigger_RUN_TRIGGER_MANUAL, PageSize: 1}
		for range 3 {
			res, err := listRunsRPC.do(e, e.as(auth.RoleProducer), req)
			out = append(out, e.expect(0, res, err))
			for _, r := range res.GetRuns() {
				orders = append(orders, r.GetInput().GetFields()["order"].GetNumberValue())
			}
			if req.PageToken = res.GetNextPageToken(); req.PageToken == "" {
				break
			}
		}
		if len(orders) != 2 || orders[0] != 2 || orders[1] != 1 {
			e.t.Errorf("%s: listed orders %v, want [2 1]", e.c.proto.Name, orders)
		}
		return strings.Join(out, "\n")
	}},
	{"list with a bad page token or filter is invalid_argument", listRunsRPC.procedure, func(e *env) string {
		_, err1 := listRunsRPC.do(e, e.c, &switchyardv1.ListRunsRequest{PageToken: "garbage"})
		_, err2 := listRunsRPC.do(e, e.c, &switchyardv1.ListRunsRequest{PageSize: 501})
		_, err3 := listRunsRPC.do(e, e.c, &switchyardv1.ListRunsRequest{Workflow: strings.Repeat("w", 129)})
		return strings.Join([]string{e.expect(connect.CodeInvalidArgument, nil, err1), e.expectViolation("page_size", err2), e.expectViolation("workflow", err3)}, "\n")
	}},
	{"list by a worker is permission_denied", listRunsRPC.procedure, func(e *env) string {
		res, err := listRunsRPC.do(e, e.as(auth.RoleWorker), &switchyardv1.ListRunsRequest{})
		return e.expect(connect.CodePermissionDenied, res, err)
	}},
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
	{"cancel of an unknown run is not_found", cancelRunRPC.procedure, func(e *env) string {
		res, err := cancelRunRPC.do(e, e.c, &switchyardv1.CancelRunRequest{Id: ghostID})
		return e.expect(connect.CodeNotFound, res, err)
	}},
	{"cancel with a long reason is invalid_argument", cancelRunRPC.procedure, func(e *env) string {
		_, err := cancelRunRPC.do(e, e.c, &switchyardv1.CancelRunRequest{Id: e.ids["second"], Reason: strings.Repeat("r", 1025)})
		return e.expectViolation("reason", err)
	}},
	{"cancel by a producer is permission_denied", cancelRunRPC.procedure, func(e *env) string {
		res, err := cancelRunRPC.do(e, e.as(auth.RoleProducer), &switchyardv1.CancelRunRequest{Id: e.ids["second"]})
		return e.expect(connect.CodePermissionDenied, res, err)
	}},
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
	{"replay of a run that has not ended is failed_precondition", replayRunRPC.procedure, func(e *env) string {
		res, err := replayRunRPC.do(e, e.c, &switchyardv1.ReplayRunRequest{Id: e.ids["second"]})
		return e.expect(connect.CodeFailedPrecondition, res, err)
	}},
	{"replay reusing its key for another run is already_exists", replayRunRPC.procedure, func(e *env) string {
		_, err := cancelRunRPC.do(e, e.c, &switchyardv1.CancelRunRequest{Id: e.ids["bill"]})
		mustOK(e, err)
		res, err := replayRunRPC.do(e, e.c, &switchyardv1.ReplayRunRequest{Id: e.ids["bill"], IdempotencyKey: "replay-1"})
		return e.expect(connect.CodeAlreadyExists, res, err)
	}},
	{"replay of an unknown run is not_found", replayRunRPC.procedure, func(e *env) string {
		res, err := replayRunRPC.do(e, e.c, &switchyardv1.ReplayRunRequest{Id: ghostID})
		return e.expect(connect.CodeNotFound, res, err)
	}},
	{"replay with an unknown mode is invalid_argument", replayRunRPC.procedure, func(e *env) string {
		_, err := replayRunRPC.do(e, e.c, &switchyardv1.ReplayRunRequest{Id: e.ids["first"], Mode: 9})
		return e.expectViolation("mode", err)
	}},
	{"replay by a producer is permission_denied", replayRunRPC.procedure, func(e *env) string {
		res, err := replayRunRPC.do(e, e.as(auth.RoleProducer), &switchyardv1.ReplayRunRequest{Id: e.ids["first"]})
		return e.expect(connect.CodePermissionDenied, res, err)
	}},
}
