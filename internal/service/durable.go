package service

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/engine"
)

// DurableService implements switchyard.v1.DurableService.
type DurableService struct{ handler }

var _ switchyardv1connect.DurableServiceHandler = (*DurableService)(nil)

// NewDurableService returns the DurableService handler over e.
func NewDurableService(e *engine.Engine) *DurableService { return &DurableService{handler{e}} }

// RecordStep implements switchyard.v1.DurableService.RecordStep.
func (s *DurableService) RecordStep(ctx context.Context, req *connect.Request[switchyardv1.RecordStepRequest]) (*connect.Response[switchyardv1.RecordStepResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.RecordStepRequest) (*switchyardv1.RecordStepResponse, error) {
		step, dup, err := s.engine.RecordStep(ctx, tenant, engine.RecordStepParams{
			WorkerID: m.GetWorkerId(), TaskID: m.GetTaskId(), Attempt: m.GetAttempt(), Name: m.GetName(), Result: m.GetResult().AsInterface(),
		})
		return &switchyardv1.RecordStepResponse{Step: stepProto(step), Deduplicated: dup}, err
	})
}

// Wait implements switchyard.v1.DurableService.Wait.
func (s *DurableService) Wait(ctx context.Context, req *connect.Request[switchyardv1.WaitRequest]) (*connect.Response[switchyardv1.WaitResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.WaitRequest) (*switchyardv1.WaitResponse, error) {
		spec := waitSpecFromProto(m.GetWait())
		if spec == nil {
			spec = &engine.WaitSpec{}
		}
		resolved, res, err := s.engine.Wait(ctx, tenant, engine.WaitParams{
			WorkerID: m.GetWorkerId(), TaskID: m.GetTaskId(), Attempt: m.GetAttempt(), Name: m.GetName(), Spec: *spec,
		})
		return &switchyardv1.WaitResponse{Resolved: resolved, Result: waitResultProto(res)}, err
	})
}

// SpawnChildren implements switchyard.v1.DurableService.SpawnChildren.
func (s *DurableService) SpawnChildren(ctx context.Context, req *connect.Request[switchyardv1.SpawnChildrenRequest]) (*connect.Response[switchyardv1.SpawnChildrenResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.SpawnChildrenRequest) (*switchyardv1.SpawnChildrenResponse, error) {
		children := make([]engine.ChildSpec, len(m.GetChildren()))
		for i, c := range m.GetChildren() {
			children[i] = engine.ChildSpec{Workflow: c.GetWorkflow(), Input: c.GetInput().AsMap(), Priority: c.Priority}
			if c.GetRunAt() != nil {
				children[i].RunAt = c.GetRunAt().AsTime()
			}
		}
		ids, dup, err := s.engine.SpawnChildren(ctx, tenant, engine.SpawnParams{
			WorkerID: m.GetWorkerId(), TaskID: m.GetTaskId(), Attempt: m.GetAttempt(), Name: m.GetName(), Children: children,
		})
		return &switchyardv1.SpawnChildrenResponse{RunIds: ids, Deduplicated: dup}, err
	})
}

// ListSteps implements switchyard.v1.DurableService.ListSteps.
func (s *DurableService) ListSteps(ctx context.Context, req *connect.Request[switchyardv1.ListStepsRequest]) (*connect.Response[switchyardv1.ListStepsResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.ListStepsRequest) (*switchyardv1.ListStepsResponse, error) {
		steps, err := s.engine.ListSteps(ctx, tenant, m.GetTaskId())
		return &switchyardv1.ListStepsResponse{Steps: protos(steps, stepProto)}, err
	})
}

func waitSpecFromProto(p *switchyardv1.WaitSpec) *engine.WaitSpec {
	if p == nil {
		return nil
	}
	spec := &engine.WaitSpec{Mode: waitModes.name(p.GetMode())}
	for _, c := range p.GetConditions() {
		wc := engine.WaitCondition{Name: c.GetName()}
		switch {
		case c.GetSleep() != nil:
			wc.Sleep = &engine.SleepCondition{Duration: c.GetSleep().GetDuration().AsDuration(), Until: timeOrZero(c.GetSleep().GetUntil())}
		case c.GetEvent() != nil:
			ev := c.GetEvent()
			wc.Event = &engine.EventCondition{Key: ev.GetKey(), Condition: ev.GetCondition(),
				Lookback: ev.GetLookback().AsDuration(), Timeout: ev.GetTimeout().AsDuration()}
		case c.GetChild() != nil:
			wc.Child = &engine.ChildCondition{RunID: c.GetChild().GetRunId()}
		}
		spec.Conditions = append(spec.Conditions, wc)
	}
	return spec
}

func waitSpecProto(s *engine.WaitSpec) *switchyardv1.WaitSpec {
	if s == nil {
		return nil
	}
	out := &switchyardv1.WaitSpec{Mode: waitModes.proto(s.Mode)}
	for _, c := range s.Conditions {
		wc := &switchyardv1.WaitCondition{Name: c.Name}
		switch {
		case c.Sleep != nil:
			wc.Kind = &switchyardv1.WaitCondition_Sleep{Sleep: &switchyardv1.SleepCondition{
				Duration: durationOrNil(c.Sleep.Duration), Until: timestampOrNil(c.Sleep.Until)}}
		case c.Event != nil:
			wc.Kind = &switchyardv1.WaitCondition_Event{Event: &switchyardv1.EventCondition{Key: c.Event.Key, Condition: c.Event.Condition,
				Lookback: durationOrNil(c.Event.Lookback), Timeout: durationOrNil(c.Event.Timeout)}}
		case c.Child != nil:
			wc.Kind = &switchyardv1.WaitCondition_Child{Child: &switchyardv1.ChildCondition{RunId: c.Child.RunID}}
		}
		out.Conditions = append(out.Conditions, wc)
	}
	return out
}

func durationOrNil(d time.Duration) *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(d)
}

func waitResultProto(r *engine.WaitResult) *switchyardv1.WaitResult {
	if r == nil {
		return nil
	}
	out := &switchyardv1.WaitResult{Winner: r.Winner, TimedOut: r.TimedOut}
	for _, c := range r.Conditions {
		cr := &switchyardv1.ConditionResult{Name: c.Name, State: waitStates.proto(c.State), ResolvedAt: timestampOrNil(c.ResolvedAt)}
		if c.Event != nil {
			cr.Event = eventProto(c.Event)
		}
		if c.Child != nil {
			outputs := make(map[string]*structpb.Struct, len(c.Child.Outputs))
			for name, o := range c.Child.Outputs {
				outputs[name] = structOrNil(o)
			}
			cr.Child = &switchyardv1.ChildResult{RunId: c.Child.RunID, Status: c.Child.Status, Outputs: outputs, Error: c.Child.Error}
		}
		out.Conditions = append(out.Conditions, cr)
	}
	return out
}

func stepProto(s *engine.Step) *switchyardv1.Step {
	if s == nil {
		return nil
	}
	out := &switchyardv1.Step{Name: s.Name, Kind: stepKinds.proto(s.Kind), Wait: waitResultProto(s.Wait), ChildRunIds: s.ChildRunIDs,
		RecordedAt: timestamppb.New(s.RecordedAt)}
	if s.Kind == "RESULT" {
		v, err := structpb.NewValue(s.Result)
		if err != nil {
			v = structpb.NewNullValue()
		}
		out.Result = v
	}
	return out
}

func waitInfoProto(w *engine.WaitInfo) *switchyardv1.WaitInfo {
	return &switchyardv1.WaitInfo{
		Step: w.Step, Condition: w.Condition, Mode: waitModes.proto(w.Mode), State: waitStates.proto(w.State), Kind: w.Kind,
		Key: w.Key, Expression: w.Expression, Deadline: timestampOrNil(w.Deadline), EventId: w.EventID, ChildRunId: w.ChildRunID,
		CreatedAt: timestamppb.New(w.CreatedAt), ResolvedAt: timestampOrNil(w.ResolvedAt), TaskId: w.TaskID,
	}
}
