package sdk

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// WaitResult is how a wait of [Task.WaitAny] or [Task.WaitAll] ended.
type WaitResult struct {
	// Winner names the condition that resolved a WaitAny; empty otherwise.
	Winner string
	// TimedOut is true when the wait ended without any condition satisfied.
	TimedOut bool
	// Conditions are the conditions' ends, in the order they were given.
	Conditions []*switchyardv1.ConditionResult
}

// newWaitResult converts a recorded wait result.
func newWaitResult(r *switchyardv1.WaitResult) *WaitResult {
	return &WaitResult{Winner: r.GetWinner(), TimedOut: r.GetTimedOut(), Conditions: r.GetConditions()}
}

// Condition returns how the condition name ended, or nil when the wait has
// no such condition.
func (r *WaitResult) Condition(name string) *switchyardv1.ConditionResult {
	for _, c := range r.Conditions {
		if c.GetName() == name {
			return c
		}
	}
	return nil
}

// Satisfied reports whether the condition name was satisfied (not timed out
// nor cancelled).
func (r *WaitResult) Satisfied(name string) bool {
	return r.Condition(name).GetState() == switchyardv1.WaitState_WAIT_STATE_SATISFIED
}

// Event returns the event that satisfied the event condition name, or nil.
func (r *WaitResult) Event(name string) *switchyardv1.Event {
	if !r.Satisfied(name) {
		return nil
	}
	return r.Condition(name).GetEvent()
}

// Child returns how the child run of the condition name ended, or nil when it
// did not (the wait ended otherwise).
func (r *WaitResult) Child(name string) *ChildResult {
	c := r.Condition(name).GetChild()
	if c == nil || !r.Satisfied(name) {
		return nil
	}
	return newChildResult(c)
}

// ChildSpec is one child run for [Task.SpawnChildren].
type ChildSpec struct {
	// Workflow is the child's workflow.
	Workflow string
	// Input is its input, a JSON object (nil means {}).
	Input map[string]any
	// Priority is the priority of its tasks, 0 to 9 (nil means the parent
	// run's).
	Priority *int32
	// RunAt delays its start (zero or past means at once; at most a year
	// ahead): until then it is SCHEDULED.
	RunAt time.Time
}

// ChildOption sets an option of a child of [Task.SpawnChild].
type ChildOption func(*ChildSpec)

// ChildPriority gives the child's tasks priority p (0 to 9) instead of the
// parent run's.
func ChildPriority(p int32) ChildOption { return func(c *ChildSpec) { c.Priority = &p } }

// ChildRunAt starts the child at t instead of at once.
func ChildRunAt(t time.Time) ChildOption { return func(c *ChildSpec) { c.RunAt = t } }

// ChildResult is how a child run ended.
type ChildResult struct {
	// RunID is the child run's id.
	RunID string
	// Status is its final status.
	Status switchyardv1.RunStatus
	// Outputs are the outputs of its tasks that no other task depends on, by
	// task name.
	Outputs map[string]map[string]any
	// Error says why it failed or was cancelled.
	Error string
}

// newChildResult converts a child's end.
func newChildResult(c *switchyardv1.ChildResult) *ChildResult {
	out := &ChildResult{
		RunID:   c.GetRunId(),
		Status:  switchyardv1.RunStatus(switchyardv1.RunStatus_value["RUN_STATUS_"+c.GetStatus()]),
		Outputs: make(map[string]map[string]any, len(c.GetOutputs())),
		Error:   c.GetError(),
	}
	for name, o := range c.GetOutputs() {
		out.Outputs[name] = fromStruct(o)
	}
	return out
}

// Succeeded reports whether the child run succeeded.
func (c *ChildResult) Succeeded() bool {
	return c.Status == switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED
}

// SpawnChild starts one child run of workflow with input and opts, under
// name (unique in the task), and returns its id. It is [Task.SpawnChildren]
// with one child: a later attempt gets the same run, never a second one.
func (t *Task) SpawnChild(ctx context.Context, name, workflow string, input map[string]any, opts ...ChildOption) (string, error) {
	spec := ChildSpec{Workflow: workflow, Input: input}
	for _, o := range opts {
		o(&spec)
	}
	ids, err := t.SpawnChildren(ctx, name, []ChildSpec{spec})
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// SpawnChildren starts 1 to 1,000 child runs at once, all or none, under name
// (unique in the task), and returns their ids in the order of children. Each
// child carries the task's run as its parent; cancelling the parent run
// cancels them. A later attempt (after a wait, a crash or a retry) gets the
// runs the first one started, never new ones.
func (t *Task) SpawnChildren(ctx context.Context, name string, children []ChildSpec) ([]string, error) {
	d, err := t.state()
	if err != nil {
		return nil, err
	}
	s, err := d.recorded(name, switchyardv1.StepKind_STEP_KIND_SPAWN)
	if err != nil {
		return nil, err
	}
	if s != nil {
		return s.GetChildRunIds(), nil
	}
	req := &switchyardv1.SpawnChildrenRequest{WorkerId: d.workerID, TaskId: d.taskID, Attempt: d.attempt, Name: name,
		Children: make([]*switchyardv1.ChildSpec, len(children))}
	for i, c := range children {
		in, err := toStruct(c.Input)
		if err != nil {
			return nil, Permanent(fmt.Errorf("spawn %s: child %d: %w", name, i, err))
		}
		req.Children[i] = &switchyardv1.ChildSpec{Workflow: c.Workflow, Input: in, Priority: c.Priority}
		if !c.RunAt.IsZero() {
			req.Children[i].RunAt = timestamppb.New(c.RunAt)
		}
	}
	res, err := invoke(ctx, d.client, fmt.Sprintf("spawn %s (%d children)", name, len(children)), d.client.durable.SpawnChildren, req)
	if err != nil {
		return nil, err
	}
	d.record(&switchyardv1.Step{Name: name, Kind: switchyardv1.StepKind_STEP_KIND_SPAWN, ChildRunIds: res.GetRunIds()})
	return res.GetRunIds(), nil
}

// WaitChild waits, under name (unique in the task), for the child run runID
// to end and returns how it ended, suspending the task until then as
// [Task.WaitForEvent] does.
func (t *Task) WaitChild(ctx context.Context, name, runID string) (*ChildResult, error) {
	res, err := t.WaitChildren(ctx, name, []string{runID})
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// WaitChildren waits, under name (unique in the task), for every child run
// of runIDs (1 to 1,000) to end and returns how each ended, in the order of
// runIDs, suspending the task until then as [Task.WaitForEvent] does.
func (t *Task) WaitChildren(ctx context.Context, name string, runIDs []string) ([]*ChildResult, error) {
	waits := make([]Wait, len(runIDs))
	for i, id := range runIDs {
		waits[i] = ForChild(childCondition(i), id)
	}
	res, err := t.WaitAll(ctx, name, waits...)
	if err != nil {
		return nil, err
	}
	out := make([]*ChildResult, len(runIDs))
	for i, id := range runIDs {
		out[i] = res.Child(childCondition(i))
		if out[i] == nil {
			return nil, fmt.Errorf("wait %s: child run %s did not end (%s)", name, id, res.Condition(childCondition(i)).GetState())
		}
	}
	return out, nil
}

// childCondition names the condition of the i-th child of WaitChildren.
func childCondition(i int) string {
	return "child-" + strconv.Itoa(i)
}
