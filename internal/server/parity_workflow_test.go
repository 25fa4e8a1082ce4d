package server_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/auth"
)

var (
	putWorkflowRPC    = unaryOf[switchyardv1.PutWorkflowRequest, switchyardv1.PutWorkflowResponse](switchyardv1connect.WorkflowServicePutWorkflowProcedure)
	getWorkflowRPC    = unaryOf[switchyardv1.GetWorkflowRequest, switchyardv1.GetWorkflowResponse](switchyardv1connect.WorkflowServiceGetWorkflowProcedure)
	listWorkflowsRPC  = unaryOf[switchyardv1.ListWorkflowsRequest, switchyardv1.ListWorkflowsResponse](switchyardv1connect.WorkflowServiceListWorkflowsProcedure)
	deleteWorkflowRPC = unaryOf[switchyardv1.DeleteWorkflowRequest, switchyardv1.DeleteWorkflowResponse](switchyardv1connect.WorkflowServiceDeleteWorkflowProcedure)
	runWorkflowRPC    = unaryOf[switchyardv1.RunWorkflowRequest, switchyardv1.RunWorkflowResponse](switchyardv1connect.WorkflowServiceRunWorkflowProcedure)
)

// TestWorkflowServiceParity runs every WorkflowService case over every
// protocol on every database engine.
func TestWorkflowServiceParity(t *testing.T) {
	runParity(t, workflowCases, parityOptions{})
}

// flowSpec is a workflow of one task per action, each the child of the one
// before.
func flowSpec(name string, actions ...string) *switchyardv1.WorkflowSpec {
	spec := &switchyardv1.WorkflowSpec{Name: name, Description: "parity", OnEvents: []string{name + ".go"}}
	for i, a := range actions {
		ts := task(fmt.Sprint("t", i), a)
		if i > 0 {
			ts.Parents = []string{fmt.Sprint("t", i-1)}
		}
		spec.Tasks = append(spec.Tasks, ts)
	}
	return spec
}

// putFlow stores spec, as a case's precondition.
func putFlow(e *env, spec *switchyardv1.WorkflowSpec) {
	e.t.Helper()
	_, err := putWorkflowRPC.do(e, e.c, &switchyardv1.PutWorkflowRequest{Spec: spec})
	mustOK(e, err)
}

var workflowCases = []parityCase{
	{"put stores version 1 with defaults", putWorkflowRPC.procedure, func(e *env) string {
		res, err := putWorkflowRPC.do(e, e.c, &switchyardv1.PutWorkflowRequest{Spec: flowSpec("orders", "a.one", "a.two")})
		if w := res.GetWorkflow(); err == nil && (!res.GetChanged() || w.GetVersion() != 1 || w.GetSpec().GetTasks()[0].GetRetry().GetMaxAttempts() != 3) {
			e.t.Errorf("first put: %v, want version 1, changed, 3 attempts by default", res)
		}
		return e.expect(0, res, err)
	}},
	{"a misspelled field is refused, named, and stores nothing", putWorkflowRPC.procedure, func(e *env) string {
		body, want := []byte(`{"spec":{"name":"typo","onEvent":["a.one"],"tasks":[{"name":"t","action":"x"}]}}`), `unknown field "spec.onEvent" (did you mean "onEvents"?)`
		if !isJSON(e.c.proto) {
			spec, _ := proto.Marshal(flowSpec("typo"))
			spec = protowire.AppendString(protowire.AppendTag(spec, 99, protowire.BytesType), "a.one")
			body, want = protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), spec), "unknown field number 99 in spec"
		}
		err := e.c.rawCall(ctx(e), putWorkflowRPC.procedure, "/v1/workflows", body)
		wantCode(e, err, connect.CodeInvalidArgument)
		if err != nil && !strings.Contains(err.Error(), want) {
			e.t.Errorf("%s: %v, want %s", e.c.proto.Name, err, want)
		}
		return e.describe(nil, err)
	}},
	{"put of the same spec changes nothing", putWorkflowRPC.procedure, func(e *env) string {
		res, err := putWorkflowRPC.do(e, e.as(auth.RoleWorker), &switchyardv1.PutWorkflowRequest{Spec: flowSpec("orders", "a.one", "a.two")})
		if err == nil && (res.GetChanged() || res.GetWorkflow().GetVersion() != 1) {
			e.t.Errorf("identical put: %v, want version 1 unchanged", res)
		}
		return e.expect(0, res, err)
	}},
	{"put of a changed spec stores version 2", putWorkflowRPC.procedure, func(e *env) string {
		res, err := putWorkflowRPC.do(e, e.c, &switchyardv1.PutWorkflowRequest{Spec: flowSpec("orders", "a.one", "a.two", "a.three")})
		if err == nil && (!res.GetChanged() || res.GetWorkflow().GetVersion() != 2) {
			e.t.Errorf("changed put: %v, want version 2", res)
		}
		return e.expect(0, res, err)
	}},
	{"put of an invalid spec names the field", putWorkflowRPC.procedure, func(e *env) string {
		_, err1 := putWorkflowRPC.do(e, e.c, &switchyardv1.PutWorkflowRequest{Spec: &switchyardv1.WorkflowSpec{Name: "no-tasks"}})
		_, err2 := putWorkflowRPC.do(e, e.c, &switchyardv1.PutWorkflowRequest{Spec: flowSpec("bad name!", "a.one")})
		_, err3 := putWorkflowRPC.do(e, e.c, &switchyardv1.PutWorkflowRequest{})
		_, err4 := putWorkflowRPC.do(e, e.c, &switchyardv1.PutWorkflowRequest{Spec: &switchyardv1.WorkflowSpec{Name: "cycle", Tasks: []*switchyardv1.TaskSpec{task("a", "x", "b"), task("b", "x", "a")}}})
		wantCode(e, err4, connect.CodeInvalidArgument)
		if !strings.Contains(errMessage(err4), "cycle") {
			e.t.Errorf("%s: cycle refused with %q, which does not say so", e.c.proto.Name, errMessage(err4))
		}
		return strings.Join([]string{e.expectViolation("spec.tasks", err1), e.expectViolation("spec.name", err2), e.expectViolation("spec", err3), e.describe(nil, err4)}, "\n")
	}},
	putWorkflowRPC.refused("put by a viewer is permission_denied", auth.RoleViewer, connect.CodePermissionDenied, func(e *env) *switchyardv1.PutWorkflowRequest {
		return &switchyardv1.PutWorkflowRequest{Spec: flowSpec("viewer-flow", "a.one")}
	}),
	{"get returns the current version or the one asked for", getWorkflowRPC.procedure, func(e *env) string {
		cur, err := getWorkflowRPC.do(e, e.as(auth.RoleViewer), &switchyardv1.GetWorkflowRequest{Name: "orders"})
		if err == nil && (cur.GetWorkflow().GetVersion() != 2 || len(cur.GetWorkflow().GetSpec().GetTasks()) != 3) {
			e.t.Errorf("get current: %v, want version 2 with 3 tasks", cur)
		}
		first, err1 := getWorkflowRPC.do(e, e.as(auth.RoleProducer), &switchyardv1.GetWorkflowRequest{Name: "orders", Version: 1})
		if err1 == nil && (first.GetWorkflow().GetVersion() != 1 || len(first.GetWorkflow().GetSpec().GetTasks()) != 2) {
			e.t.Errorf("get version 1: %v, want version 1 with 2 tasks", first)
		}
		return e.expect(0, cur, err) + e.expect(0, first, err1)
	}},
	{"get of an unknown workflow or version is not_found", getWorkflowRPC.procedure, func(e *env) string {
		_, err1 := getWorkflowRPC.do(e, e.c, &switchyardv1.GetWorkflowRequest{Name: "ghost"})
		_, err2 := getWorkflowRPC.do(e, e.c, &switchyardv1.GetWorkflowRequest{Name: "orders", Version: 9})
		return e.expect(connect.CodeNotFound, nil, err1) + "\n" + e.expect(connect.CodeNotFound, nil, err2)
	}},
	{"get with an invalid name or version is invalid_argument", getWorkflowRPC.procedure, func(e *env) string {
		_, err1 := getWorkflowRPC.do(e, e.c, &switchyardv1.GetWorkflowRequest{Name: strings.Repeat("n", 129)})
		_, err2 := getWorkflowRPC.do(e, e.c, &switchyardv1.GetWorkflowRequest{Name: "orders", Version: -1})
		return e.expectViolation("name", err1) + "\n" + e.expectViolation("version", err2)
	}},
	getWorkflowRPC.refused("get by a worker is permission_denied", auth.RoleWorker, connect.CodePermissionDenied, func(e *env) *switchyardv1.GetWorkflowRequest {
		return &switchyardv1.GetWorkflowRequest{Name: "orders"}
	}),
	{"list pages through the workflows by name", listWorkflowsRPC.procedure, func(e *env) string {
		putFlow(e, flowSpec("billing", "b.one"))
		putFlow(e, flowSpec("shipping", "s.one"))
		return listPages(e, func(token string) (*switchyardv1.ListWorkflowsResponse, error) {
			return listWorkflowsRPC.do(e, e.as(auth.RoleViewer), &switchyardv1.ListWorkflowsRequest{PageSize: 2, PageToken: token})
		}, func(res *switchyardv1.ListWorkflowsResponse) (names []string) {
			for _, w := range res.GetWorkflows() {
				names = append(names, w.GetSpec().GetName())
			}
			return names
		}, "billing orders shipping")
	}},
	{"list with a bad page token or size is invalid_argument", listWorkflowsRPC.procedure, func(e *env) string {
		_, err1 := listWorkflowsRPC.do(e, e.c, &switchyardv1.ListWorkflowsRequest{PageToken: "garbage"})
		_, err2 := listWorkflowsRPC.do(e, e.c, &switchyardv1.ListWorkflowsRequest{PageSize: 501})
		return e.expect(connect.CodeInvalidArgument, nil, err1) + "\n" + e.expectViolation("page_size", err2)
	}},
	listWorkflowsRPC.refused("list by a worker is permission_denied", auth.RoleWorker, connect.CodePermissionDenied, func(e *env) *switchyardv1.ListWorkflowsRequest {
		return &switchyardv1.ListWorkflowsRequest{}
	}),
	{"run starts a run, and its repeat is deduplicated", runWorkflowRPC.procedure, func(e *env) string {
		req := &switchyardv1.RunWorkflowRequest{Name: "orders", Input: mustStruct(map[string]any{"order": 7.0}), IdempotencyKey: "run-1", Priority: 4}
		res, err := runWorkflowRPC.do(e, e.as(auth.RoleProducer), req)
		again, err2 := runWorkflowRPC.do(e, e.c, req)
		if err == nil && err2 == nil && (res.GetDeduplicated() || !again.GetDeduplicated() || again.GetRunId() != res.GetRunId()) {
			e.t.Errorf("%s: run %v then %v, want a new run then the same one deduplicated", e.c.proto.Name, res, again)
		}
		return e.expect(0, res, err) + e.expect(0, again, err2)
	}},
	{"run at a later time is scheduled", runWorkflowRPC.procedure, func(e *env) string {
		at := timestamppb.New(time.Now().Add(time.Hour).Truncate(time.Second))
		res, err := runWorkflowRPC.do(e, e.c, &switchyardv1.RunWorkflowRequest{Name: "billing", RunAt: at})
		return e.expect(0, res, err)
	}},
	runWorkflowRPC.refused("run reusing its key for another request is already_exists", auth.RoleAdmin, connect.CodeAlreadyExists, func(e *env) *switchyardv1.RunWorkflowRequest {
		return &switchyardv1.RunWorkflowRequest{Name: "orders", Input: mustStruct(map[string]any{"order": 8.0}), IdempotencyKey: "run-1", Priority: 4}
	}),
	runWorkflowRPC.refused("run of an unknown workflow is not_found", auth.RoleAdmin, connect.CodeNotFound, func(e *env) *switchyardv1.RunWorkflowRequest {
		return &switchyardv1.RunWorkflowRequest{Name: "ghost"}
	}),
	runWorkflowRPC.invalid("run with a bad priority is invalid_argument", auth.RoleAdmin, "priority", func(e *env) *switchyardv1.RunWorkflowRequest {
		return &switchyardv1.RunWorkflowRequest{Name: "orders", Priority: 10}
	}),
	runWorkflowRPC.refused("run by a viewer is permission_denied", auth.RoleViewer, connect.CodePermissionDenied, func(e *env) *switchyardv1.RunWorkflowRequest {
		return &switchyardv1.RunWorkflowRequest{Name: "orders"}
	}),
	{"delete stops the workflow; its versions stay readable", deleteWorkflowRPC.procedure, func(e *env) string {
		res, err := deleteWorkflowRPC.do(e, e.c, &switchyardv1.DeleteWorkflowRequest{Name: "shipping"})
		_, errGet := getWorkflowRPC.do(e, e.c, &switchyardv1.GetWorkflowRequest{Name: "shipping"})
		old, errOld := getWorkflowRPC.do(e, e.c, &switchyardv1.GetWorkflowRequest{Name: "shipping", Version: 1})
		_, errRun := runWorkflowRPC.do(e, e.c, &switchyardv1.RunWorkflowRequest{Name: "shipping"})
		return strings.Join([]string{e.expect(0, res, err), e.expect(connect.CodeNotFound, nil, errGet), e.expect(0, old, errOld), e.expect(connect.CodeNotFound, nil, errRun)}, "\n")
	}},
	deleteWorkflowRPC.refused("delete of an unknown workflow is not_found", auth.RoleAdmin, connect.CodeNotFound, func(e *env) *switchyardv1.DeleteWorkflowRequest {
		return &switchyardv1.DeleteWorkflowRequest{Name: "ghost"}
	}),
	deleteWorkflowRPC.invalid("delete with an invalid name is invalid_argument", auth.RoleAdmin, "name", func(e *env) *switchyardv1.DeleteWorkflowRequest {
		return &switchyardv1.DeleteWorkflowRequest{Name: strings.Repeat("n", 129)}
	}),
	deleteWorkflowRPC.refused("delete by a producer is permission_denied", auth.RoleProducer, connect.CodePermissionDenied, func(e *env) *switchyardv1.DeleteWorkflowRequest {
		return &switchyardv1.DeleteWorkflowRequest{Name: "orders"}
	}),
	{"a workflow with no trigger is stored, with a warning", putWorkflowRPC.procedure, func(e *env) string {
		spec := flowSpec("by-hand", "a.one")
		spec.OnEvents = nil
		res, err := putWorkflowRPC.do(e, e.c, &switchyardv1.PutWorkflowRequest{Spec: spec})
		want := []string{"workflow by-hand has no trigger (no onEvents, eventTriggers or onCron): no event or schedule starts it, only RunWorkflow and replays"}
		if err == nil && (!res.GetChanged() || !slices.Equal(res.GetWarnings(), want)) {
			e.t.Errorf("%s: put with no trigger: %v, want stored (changed) with warnings %q", e.c.proto.Name, res, want)
		}
		triggered, err2 := putWorkflowRPC.do(e, e.c, &switchyardv1.PutWorkflowRequest{Spec: flowSpec("triggered", "a.one")})
		if err2 != nil || len(triggered.GetWarnings()) != 0 {
			e.t.Errorf("%s: put with a trigger: %v, %v, want no warnings", e.c.proto.Name, triggered, err2)
		}
		return e.expect(0, res, err)
	}},
}
