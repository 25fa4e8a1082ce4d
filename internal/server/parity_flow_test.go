package server_test

import (
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/auth"
)

var (
	pauseWorkflowRPC    = unaryOf[switchyardv1.PauseWorkflowRequest, switchyardv1.PauseWorkflowResponse](switchyardv1connect.WorkflowServicePauseWorkflowProcedure)
	resumeWorkflowRPC   = unaryOf[switchyardv1.ResumeWorkflowRequest, switchyardv1.ResumeWorkflowResponse](switchyardv1connect.WorkflowServiceResumeWorkflowProcedure)
	bulkCancelRunsRPC   = unaryOf[switchyardv1.BulkCancelRunsRequest, switchyardv1.BulkCancelRunsResponse](switchyardv1connect.RunServiceBulkCancelRunsProcedure)
	bulkReplayRunsRPC   = unaryOf[switchyardv1.BulkReplayRunsRequest, switchyardv1.BulkReplayRunsResponse](switchyardv1connect.RunServiceBulkReplayRunsProcedure)
	getBulkOperationRPC = unaryOf[switchyardv1.GetBulkOperationRequest, switchyardv1.GetBulkOperationResponse](switchyardv1connect.RunServiceGetBulkOperationProcedure)
)

const watchBulkOperationRPC = switchyardv1connect.RunServiceWatchBulkOperationProcedure

// The flow-control cases run after the other cases of their services, on the
// state those leave.
func init() {
	workflowCases = append(workflowCases, pauseCases...)
	runCases = append(runCases, bulkCases...)
}

var pauseCases = []parityCase{
	{"pause holds new runs; pausing again changes the cron choice", pauseWorkflowRPC.procedure, func(e *env) string {
		putFlow(e, flowSpec("held", "h.one"))
		res, err := pauseWorkflowRPC.do(e, e.c, &switchyardv1.PauseWorkflowRequest{Name: "held"})
		again, err2 := pauseWorkflowRPC.do(e, e.c, &switchyardv1.PauseWorkflowRequest{Name: "held", SkipCronTicks: true})
		run, err3 := runWorkflowRPC.do(e, e.c, &switchyardv1.RunWorkflowRequest{Name: "held"})
		mustOK(e, err3)
		e.ids["held"] = run.GetRunId()
		got, err4 := getRunRPC.do(e, e.c, &switchyardv1.GetRunRequest{Id: run.GetRunId()})
		if w := again.GetWorkflow(); err2 == nil && (!w.GetPaused() || !w.GetSkipCronWhilePaused()) {
			e.t.Errorf("%s: paused again: %v, want paused and skipping ticks", e.c.proto.Name, w)
		}
		if err4 == nil && got.GetRun().GetStatus() != switchyardv1.RunStatus_RUN_STATUS_PAUSED {
			e.t.Errorf("%s: a run of a paused workflow is %s, want PAUSED", e.c.proto.Name, got.GetRun().GetStatus())
		}
		return e.expect(0, res, err) + e.expect(0, again, err2) + e.expect(0, got, err4)
	}},
	pauseWorkflowRPC.refused("pause of an unknown workflow is not_found", auth.RoleAdmin, connect.CodeNotFound, func(e *env) *switchyardv1.PauseWorkflowRequest {
		return &switchyardv1.PauseWorkflowRequest{Name: "ghost"}
	}),
	pauseWorkflowRPC.invalid("pause without a name is invalid_argument", auth.RoleAdmin, "name", func(e *env) *switchyardv1.PauseWorkflowRequest {
		return &switchyardv1.PauseWorkflowRequest{}
	}),
	pauseWorkflowRPC.refused("pause by a producer is permission_denied", auth.RoleProducer, connect.CodePermissionDenied, func(e *env) *switchyardv1.PauseWorkflowRequest {
		return &switchyardv1.PauseWorkflowRequest{Name: "held"}
	}),
	{"resume releases the held runs", resumeWorkflowRPC.procedure, func(e *env) string {
		res, err := resumeWorkflowRPC.do(e, e.c, &switchyardv1.ResumeWorkflowRequest{Name: "held"})
		if err == nil && (res.GetReleased() != 1 || res.GetWorkflow().GetPaused()) {
			e.t.Errorf("%s: resume: %v, want 1 released and not paused", e.c.proto.Name, res)
		}
		waitCase(e, "the released run to be queued", func() bool {
			got, err := getRunRPC.do(e, e.c, &switchyardv1.GetRunRequest{Id: e.ids["held"]})
			return err == nil && got.GetRun().GetStatus() == switchyardv1.RunStatus_RUN_STATUS_QUEUED
		})
		return e.expect(0, res, err)
	}},
	resumeWorkflowRPC.refused("resume of an unknown workflow is not_found", auth.RoleAdmin, connect.CodeNotFound, func(e *env) *switchyardv1.ResumeWorkflowRequest {
		return &switchyardv1.ResumeWorkflowRequest{Name: "ghost"}
	}),
	resumeWorkflowRPC.refused("resume by a viewer is permission_denied", auth.RoleViewer, connect.CodePermissionDenied, func(e *env) *switchyardv1.ResumeWorkflowRequest {
		return &switchyardv1.ResumeWorkflowRequest{Name: "held"}
	}),
}

// waitCase waits until done, failing the case after 30 s.
func waitCase(e *env, what string, done func() bool) {
	e.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !done(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: timed out waiting for %s", e.c.proto.Name, what)
		}
	}
}

// waitBulk waits until the operation remembered as name is done and returns
// it.
func waitBulk(e *env, name string) (*switchyardv1.GetBulkOperationResponse, error) {
	var res *switchyardv1.GetBulkOperationResponse
	var err error
	waitCase(e, "bulk operation "+name, func() bool {
		res, err = getBulkOperationRPC.do(e, e.as(auth.RoleViewer), &switchyardv1.GetBulkOperationRequest{Id: e.ids[name]})
		return err != nil || res.GetOperation().GetDone()
	})
	return res, err
}

var bulkCases = []parityCase{
	{"bulk cancel cancels the selected runs in the background", bulkCancelRunsRPC.procedure, func(e *env) string {
		putFlow(e, flowSpec("sweep", "s.one"))
		for _, name := range []string{"s1", "s2", "s3"} {
			startRun(e, "sweep", name, map[string]any{"n": name})
		}
		res, err := bulkCancelRunsRPC.do(e, e.c, &switchyardv1.BulkCancelRunsRequest{Selector: &switchyardv1.RunSelector{Workflow: "sweep"}, Reason: "swept"})
		mustOK(e, err)
		e.ids["sweep-op"] = res.GetOperation().GetId()
		done, err2 := waitBulk(e, "sweep-op")
		if op := done.GetOperation(); err2 == nil && (op.GetMatched() != 3 || op.GetAffected() != 3) {
			e.t.Errorf("%s: bulk cancel: %v, want 3 matched and cancelled", e.c.proto.Name, op)
		}
		return e.expect(0, res, err) + e.expect(0, done, err2)
	}},
	bulkCancelRunsRPC.invalid("bulk cancel without a selector is invalid_argument", auth.RoleAdmin, "selector", func(e *env) *switchyardv1.BulkCancelRunsRequest {
		return &switchyardv1.BulkCancelRunsRequest{}
	}),
	bulkCancelRunsRPC.refused("bulk cancel by a producer is permission_denied", auth.RoleProducer, connect.CodePermissionDenied, func(e *env) *switchyardv1.BulkCancelRunsRequest {
		return &switchyardv1.BulkCancelRunsRequest{Selector: &switchyardv1.RunSelector{Workflow: "sweep"}}
	}),
	{"bulk replay replays the selected ended runs", bulkReplayRunsRPC.procedure, func(e *env) string {
		res, err := bulkReplayRunsRPC.do(e, e.c, &switchyardv1.BulkReplayRunsRequest{Selector: &switchyardv1.RunSelector{
			Workflow: "sweep", Statuses: []switchyardv1.RunStatus{switchyardv1.RunStatus_RUN_STATUS_CANCELLED}}})
		mustOK(e, err)
		e.ids["replay-op"] = res.GetOperation().GetId()
		done, err2 := waitBulk(e, "replay-op")
		if op := done.GetOperation(); err2 == nil && (op.GetMatched() != 3 || op.GetAffected() != 3) {
			e.t.Errorf("%s: bulk replay: %v, want 3 matched and replayed", e.c.proto.Name, op)
		}
		return e.expect(0, res, err) + e.expect(0, done, err2)
	}},
	bulkReplayRunsRPC.invalid("bulk replay with an unspecified status is invalid_argument", auth.RoleAdmin, "selector.statuses[0]", func(e *env) *switchyardv1.BulkReplayRunsRequest {
		return &switchyardv1.BulkReplayRunsRequest{Selector: &switchyardv1.RunSelector{Statuses: []switchyardv1.RunStatus{switchyardv1.RunStatus_RUN_STATUS_UNSPECIFIED}}}
	}),
	bulkReplayRunsRPC.refused("bulk replay by a viewer is permission_denied", auth.RoleViewer, connect.CodePermissionDenied, func(e *env) *switchyardv1.BulkReplayRunsRequest {
		return &switchyardv1.BulkReplayRunsRequest{Selector: &switchyardv1.RunSelector{Workflow: "sweep"}}
	}),
	{"get of a bulk operation shows its progress", getBulkOperationRPC.procedure, func(e *env) string {
		res, err := getBulkOperationRPC.do(e, e.as(auth.RoleViewer), &switchyardv1.GetBulkOperationRequest{Id: e.ids["sweep-op"]})
		return e.expect(0, res, err)
	}},
	getBulkOperationRPC.refused("get of an unknown bulk operation is not_found", auth.RoleAdmin, connect.CodeNotFound, func(e *env) *switchyardv1.GetBulkOperationRequest {
		return &switchyardv1.GetBulkOperationRequest{Id: ghostID}
	}),
	{"watch of a done bulk operation sends its state and ends", watchBulkOperationRPC, func(e *env) string {
		msgs, err := stream[switchyardv1.WatchBulkOperationRequest, switchyardv1.WatchBulkOperationResponse](ctx(e), e.as(auth.RoleViewer), watchBulkOperationRPC,
			&switchyardv1.WatchBulkOperationRequest{Id: e.ids["replay-op"]}, func(*switchyardv1.WatchBulkOperationResponse) bool { return false })
		out := ""
		for _, m := range msgs {
			if !m.GetKeepalive() {
				out += e.describe(m, nil) + "\n"
			}
		}
		return out + e.expect(0, nil, err)
	}},
	{"watch of an unknown bulk operation is not_found", watchBulkOperationRPC, func(e *env) string {
		_, err := stream[switchyardv1.WatchBulkOperationRequest, switchyardv1.WatchBulkOperationResponse](ctx(e), e.c, watchBulkOperationRPC,
			&switchyardv1.WatchBulkOperationRequest{Id: ghostID}, func(*switchyardv1.WatchBulkOperationResponse) bool { return false })
		return e.expect(connect.CodeNotFound, nil, err)
	}},
}
