package sdk

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// recordedTask is a task assigned with steps by a server that cannot be
// reached: every durable call that goes to the server fails.
func recordedTask(t *testing.T, steps ...*switchyardv1.Step) *Task {
	t.Helper()
	c := NewClient("http://127.0.0.1:1", WithRetry(RetryPolicy{MaxAttempts: 1}))
	a := &switchyardv1.TaskAssignment{TaskId: "t1", Attempt: 3, Steps: steps}
	return &Task{ID: "t1", Attempt: 3, durable: newDurable(c, "w1", a)}
}

func TestRecordedStepsNeedNoCall(t *testing.T) {
	t.Parallel()
	ev := &switchyardv1.Event{Id: "e1", Key: "payment.confirmed"}
	task := recordedTask(t,
		&switchyardv1.Step{Name: "charge", Kind: switchyardv1.StepKind_STEP_KIND_RESULT,
			Result: structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{"id": structpb.NewStringValue("ch-1")}})},
		&switchyardv1.Step{Name: "nothing", Kind: switchyardv1.StepKind_STEP_KIND_RESULT},
		&switchyardv1.Step{Name: "paid", Kind: switchyardv1.StepKind_STEP_KIND_WAIT, Wait: &switchyardv1.WaitResult{
			Conditions: []*switchyardv1.ConditionResult{{Name: "event", State: switchyardv1.WaitState_WAIT_STATE_SATISFIED, Event: ev}}}},
		&switchyardv1.Step{Name: "nap", Kind: switchyardv1.StepKind_STEP_KIND_WAIT, Wait: &switchyardv1.WaitResult{TimedOut: false}},
		&switchyardv1.Step{Name: "late", Kind: switchyardv1.StepKind_STEP_KIND_WAIT, Wait: &switchyardv1.WaitResult{TimedOut: true,
			Conditions: []*switchyardv1.ConditionResult{{Name: "event", State: switchyardv1.WaitState_WAIT_STATE_TIMED_OUT}}}},
		&switchyardv1.Step{Name: "kids", Kind: switchyardv1.StepKind_STEP_KIND_SPAWN, ChildRunIds: []string{"r1", "r2"}},
		&switchyardv1.Step{Name: "kids-done", Kind: switchyardv1.StepKind_STEP_KIND_WAIT, Wait: &switchyardv1.WaitResult{
			Conditions: []*switchyardv1.ConditionResult{
				{Name: "child-0", State: switchyardv1.WaitState_WAIT_STATE_SATISFIED, Child: &switchyardv1.ChildResult{RunId: "r1", Status: "SUCCEEDED",
					Outputs: map[string]*structpb.Struct{"pack": {Fields: map[string]*structpb.Value{"box": structpb.NewStringValue("b1")}}}}},
				{Name: "child-1", State: switchyardv1.WaitState_WAIT_STATE_SATISFIED, Child: &switchyardv1.ChildResult{RunId: "r2", Status: "FAILED", Error: "boom"}},
			}}},
	)
	ctx := context.Background()
	never := func(context.Context) (any, error) { t.Error("a recorded step ran again"); return nil, nil }

	got, err := task.Step(ctx, "charge", never)
	if err != nil || !reflect.DeepEqual(got, map[string]any{"id": "ch-1"}) {
		t.Errorf("Step charge = %v, %v", got, err)
	}
	type charge struct{ ID string }
	typed, err := StepOf(ctx, task, "charge", func(context.Context) (charge, error) { t.Error("ran again"); return charge{}, nil })
	if err != nil || typed.ID != "ch-1" {
		t.Errorf("StepOf charge = %+v, %v", typed, err)
	}
	if got, err := task.Step(ctx, "nothing", never); err != nil || got != nil {
		t.Errorf("Step of a null result = %v, %v; want nil", got, err)
	}
	if got, err := task.WaitForEvent(ctx, "paid", WaitSpec{Key: "payment.confirmed"}); err != nil || got != ev {
		t.Errorf("WaitForEvent paid = %v, %v", got, err)
	}
	if err := task.Sleep(ctx, "nap", 0); err != nil {
		t.Errorf("Sleep nap = %v", err)
	}
	if got, err := task.WaitForEvent(ctx, "late", WaitSpec{Key: "payment.confirmed"}); err != nil || got != nil {
		t.Errorf("WaitForEvent of a timed-out wait = %v, %v; want nil, nil", got, err)
	}
	if ids, err := task.SpawnChildren(ctx, "kids", []ChildSpec{{Workflow: "w"}}); err != nil || !reflect.DeepEqual(ids, []string{"r1", "r2"}) {
		t.Errorf("SpawnChildren = %v, %v", ids, err)
	}
	results, err := task.WaitChildren(ctx, "kids-done", []string{"r1", "r2"})
	if err != nil {
		t.Fatalf("WaitChildren: %v", err)
	}
	want := []*ChildResult{
		{RunID: "r1", Status: switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED, Outputs: map[string]map[string]any{"pack": {"box": "b1"}}},
		{RunID: "r2", Status: switchyardv1.RunStatus_RUN_STATUS_FAILED, Outputs: map[string]map[string]any{}, Error: "boom"},
	}
	if !reflect.DeepEqual(results, want) || !results[0].Succeeded() || results[1].Succeeded() {
		t.Errorf("WaitChildren = %+v, want %+v", results, want)
	}

	// A step not recorded goes to the server, unreachable here.
	if _, err := task.Step(ctx, "new", func(context.Context) (any, error) { return 1, nil }); err == nil {
		t.Error("a new step was recorded without a server")
	}
	// A name recorded as another kind is an error, not a silent replay.
	if _, err := task.Step(ctx, "paid", never); err == nil {
		t.Error("Step over a recorded wait: no error")
	}
	// An error of fn records nothing and is returned as it is.
	boom := Permanent(errors.New("card declined"))
	if _, err := task.Step(ctx, "declined", func(context.Context) (any, error) { return nil, boom }); !errors.Is(err, boom) || !IsPermanent(err) {
		t.Errorf("Step error = %v, want the function's permanent error", err)
	}
}

func TestSuspendedAttemptMakesNoCall(t *testing.T) {
	t.Parallel()
	task := recordedTask(t, &switchyardv1.Step{Name: "a", Kind: switchyardv1.StepKind_STEP_KIND_RESULT})
	suspended := 0
	task.durable.suspend = func() { suspended++ }
	task.durable.suspendNow()
	ctx := context.Background()
	if _, err := task.Step(ctx, "a", nil); !errors.Is(err, ErrSuspended) {
		t.Errorf("Step after suspension = %v", err)
	}
	if err := task.Sleep(ctx, "b", 0); !errors.Is(err, ErrSuspended) {
		t.Errorf("Sleep after suspension = %v", err)
	}
	if _, err := task.SpawnChild(ctx, "c", "w", nil); !errors.Is(err, ErrSuspended) {
		t.Errorf("SpawnChild after suspension = %v", err)
	}
	if suspended != 1 {
		t.Errorf("suspend called %d times, want 1", suspended)
	}
	if errors.Unwrap(ErrSuspended) != nil {
		t.Error("ErrSuspended wraps an error")
	}

	var hand Task
	if _, err := hand.Step(ctx, "a", nil); !errors.Is(err, errNotDurable) {
		t.Errorf("Step of a Task no worker assigned = %v", err)
	}
}
