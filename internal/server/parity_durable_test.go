package server_test

import (
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/engine"
)

var (
	recordStepRPC    = unaryOf[switchyardv1.RecordStepRequest, switchyardv1.RecordStepResponse](switchyardv1connect.DurableServiceRecordStepProcedure)
	waitRPC          = unaryOf[switchyardv1.WaitRequest, switchyardv1.WaitResponse](switchyardv1connect.DurableServiceWaitProcedure)
	spawnChildrenRPC = unaryOf[switchyardv1.SpawnChildrenRequest, switchyardv1.SpawnChildrenResponse](switchyardv1connect.DurableServiceSpawnChildrenProcedure)
	listStepsRPC     = unaryOf[switchyardv1.ListStepsRequest, switchyardv1.ListStepsResponse](switchyardv1connect.DurableServiceListStepsProcedure)
)

// TestDurableServiceParity runs every DurableService case over every
// protocol on every database engine; the worker heartbeats rarely enough
// that its attempt stays its own while the cases run.
func TestDurableServiceParity(t *testing.T) {
	runParity(t, durableCases, parityOptions{engine: engine.Config{HeartbeatInterval: 20 * time.Second}})
}

// durableStep is a RecordStep of the attempt the cases hold.
func durableStep(e *env, name string, attempt int32, v any) *switchyardv1.RecordStepRequest {
	val, err := structpb.NewValue(v)
	if err != nil {
		e.t.Fatal(err)
	}
	return &switchyardv1.RecordStepRequest{WorkerId: e.ids["worker"], TaskId: e.ids["task"], Attempt: attempt, Name: name, Result: val}
}

// durableSleep is a Wait of the held attempt for an hour's sleep.
func durableSleep(e *env, name string) *switchyardv1.WaitRequest {
	return &switchyardv1.WaitRequest{WorkerId: e.ids["worker"], TaskId: e.ids["task"], Attempt: 1, Name: name, Wait: &switchyardv1.WaitSpec{
		Conditions: []*switchyardv1.WaitCondition{{Name: "nap", Kind: &switchyardv1.WaitCondition_Sleep{Sleep: &switchyardv1.SleepCondition{Duration: durationpb.New(time.Hour)}}}},
	}}
}

func durableSpawn(e *env, name, workflow string) *switchyardv1.SpawnChildrenRequest {
	return &switchyardv1.SpawnChildrenRequest{WorkerId: e.ids["worker"], TaskId: e.ids["task"], Attempt: 1, Name: name,
		Children: []*switchyardv1.ChildSpec{{Workflow: workflow, Input: mustStruct(map[string]any{"i": 1.0})}}}
}

var durableCases = []parityCase{
	{"record step stores the first result; its repeat returns it", recordStepRPC.procedure, func(e *env) string {
		reg, err := registerWorkerRPC.do(e, e.as(auth.RoleWorker), registration())
		mustOK(e, err)
		e.ids["worker"] = reg.GetWorkerId()
		putFlow(e, jobSpec())
		putFlow(e, flowSpec("kids", "k.one"))
		startRun(e, "jobs", "job", map[string]any{"order_id": "o-1"})
		out, _ := listenFor(e, e.as(auth.RoleWorker), e.ids["worker"], "task")
		res, err := recordStepRPC.do(e, e.as(auth.RoleWorker), durableStep(e, "charge", 1, map[string]any{"id": "ch-1"}))
		again, err2 := recordStepRPC.do(e, e.as(auth.RoleWorker), durableStep(e, "charge", 1, map[string]any{"id": "ch-2"}))
		if err == nil && err2 == nil && (res.GetDeduplicated() || !again.GetDeduplicated() ||
			again.GetStep().GetResult().GetStructValue().GetFields()["id"].GetStringValue() != "ch-1") {
			e.t.Errorf("%s: recorded %v then %v, want the first result kept", e.c.proto.Name, res, again)
		}
		return out + "\n" + e.expect(0, res, err) + e.expect(0, again, err2)
	}},
	recordStepRPC.refused("record step of an attempt the worker does not hold is failed_precondition", auth.RoleWorker, connect.CodeFailedPrecondition, func(e *env) *switchyardv1.RecordStepRequest {
		return durableStep(e, "other", 2, 1)
	}),
	recordStepRPC.refused("record step of an unknown task is not_found", auth.RoleWorker, connect.CodeNotFound, func(e *env) *switchyardv1.RecordStepRequest {
		r := durableStep(e, "other", 1, 1)
		r.TaskId = ghostID
		return r
	}),
	recordStepRPC.invalid("record step of attempt 0 is invalid_argument", auth.RoleWorker, "attempt", func(e *env) *switchyardv1.RecordStepRequest {
		return durableStep(e, "other", 0, 1)
	}),
	recordStepRPC.refused("record step by a viewer is permission_denied", auth.RoleViewer, connect.CodePermissionDenied, func(e *env) *switchyardv1.RecordStepRequest {
		return durableStep(e, "other", 1, 1)
	}),
	{"spawn starts the child runs once; its repeat returns them", spawnChildrenRPC.procedure, func(e *env) string {
		res, err := spawnChildrenRPC.do(e, e.as(auth.RoleWorker), durableSpawn(e, "fan", "kids"))
		again, err2 := spawnChildrenRPC.do(e, e.as(auth.RoleWorker), durableSpawn(e, "fan", "kids"))
		if err == nil && err2 == nil && (len(res.GetRunIds()) != 1 || !again.GetDeduplicated() || again.GetRunIds()[0] != res.GetRunIds()[0]) {
			e.t.Errorf("%s: spawned %v then %v, want one run, then the same deduplicated", e.c.proto.Name, res, again)
		}
		return e.expect(0, res, err) + e.expect(0, again, err2)
	}},
	spawnChildrenRPC.refused("spawn of an unknown workflow is not_found", auth.RoleWorker, connect.CodeNotFound, func(e *env) *switchyardv1.SpawnChildrenRequest {
		return durableSpawn(e, "none", "missing")
	}),
	spawnChildrenRPC.invalid("spawn of no children is invalid_argument", auth.RoleWorker, "children", func(e *env) *switchyardv1.SpawnChildrenRequest {
		r := durableSpawn(e, "none", "kids")
		r.Children = nil
		return r
	}),
	spawnChildrenRPC.refused("spawn by a producer is permission_denied", auth.RoleProducer, connect.CodePermissionDenied, func(e *env) *switchyardv1.SpawnChildrenRequest {
		return durableSpawn(e, "none", "kids")
	}),
	{"wait that is not resolved suspends the task; its repeat says the same", waitRPC.procedure, func(e *env) string {
		res, err := waitRPC.do(e, e.as(auth.RoleWorker), durableSleep(e, "nap"))
		again, err2 := waitRPC.do(e, e.as(auth.RoleWorker), durableSleep(e, "nap"))
		if err == nil && err2 == nil && (res.GetResolved() || again.GetResolved()) {
			e.t.Errorf("%s: wait answered %v then %v, want not resolved", e.c.proto.Name, res, again)
		}
		return e.expect(0, res, err) + e.expect(0, again, err2)
	}},
	waitRPC.refused("wait of an attempt that ended is failed_precondition", auth.RoleWorker, connect.CodeFailedPrecondition, func(e *env) *switchyardv1.WaitRequest {
		return durableSleep(e, "another")
	}),
	waitRPC.invalid("wait with conditions of one name is invalid_argument", auth.RoleWorker, "wait.conditions[1].name", func(e *env) *switchyardv1.WaitRequest {
		r := durableSleep(e, "twice")
		r.Wait.Conditions = append(r.Wait.Conditions, r.Wait.Conditions[0])
		return r
	}),
	waitRPC.invalid("wait without a spec is invalid_argument", auth.RoleWorker, "wait", func(e *env) *switchyardv1.WaitRequest {
		r := durableSleep(e, "none")
		r.Wait = nil
		return r
	}),
	waitRPC.refused("wait by a viewer is permission_denied", auth.RoleViewer, connect.CodePermissionDenied, func(e *env) *switchyardv1.WaitRequest {
		return durableSleep(e, "nap")
	}),
	{"list steps shows the steps in the order recorded", listStepsRPC.procedure, func(e *env) string {
		res, err := listStepsRPC.do(e, e.as(auth.RoleViewer), &switchyardv1.ListStepsRequest{TaskId: e.ids["task"]})
		if s := res.GetSteps(); err == nil && (len(s) != 2 || s[0].GetName() != "charge" || s[1].GetName() != "fan" || s[1].GetKind() != switchyardv1.StepKind_STEP_KIND_SPAWN) {
			e.t.Errorf("%s: steps %v, want charge, fan", e.c.proto.Name, s)
		}
		return e.expect(0, res, err)
	}},
	listStepsRPC.refused("list steps of an unknown task is not_found", auth.RoleViewer, connect.CodeNotFound, func(e *env) *switchyardv1.ListStepsRequest {
		return &switchyardv1.ListStepsRequest{TaskId: ghostID}
	}),
	listStepsRPC.invalid("list steps with a malformed id is invalid_argument", auth.RoleViewer, "task_id", func(e *env) *switchyardv1.ListStepsRequest {
		return &switchyardv1.ListStepsRequest{TaskId: "not-a-uuid"}
	}),
}
