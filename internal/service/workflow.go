package service

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/engine"
)

// WorkflowService implements switchyard.v1.WorkflowService.
type WorkflowService struct {
	engine *engine.Engine
}

var _ switchyardv1connect.WorkflowServiceHandler = (*WorkflowService)(nil)

// NewWorkflowService returns the WorkflowService handler over e.
func NewWorkflowService(e *engine.Engine) *WorkflowService {
	return &WorkflowService{engine: e}
}

// PutWorkflow implements switchyard.v1.WorkflowService.PutWorkflow.
func (s *WorkflowService) PutWorkflow(ctx context.Context, req *connect.Request[switchyardv1.PutWorkflowRequest]) (*connect.Response[switchyardv1.PutWorkflowResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.PutWorkflowRequest) (*switchyardv1.PutWorkflowResponse, error) {
		wf, changed, err := s.engine.PutWorkflow(ctx, tenant, specFromProto(m.GetSpec()))
		if err != nil {
			return nil, err
		}
		return &switchyardv1.PutWorkflowResponse{Workflow: workflowProto(wf), Changed: changed}, nil
	})
}

// GetWorkflow implements switchyard.v1.WorkflowService.GetWorkflow.
func (s *WorkflowService) GetWorkflow(ctx context.Context, req *connect.Request[switchyardv1.GetWorkflowRequest]) (*connect.Response[switchyardv1.GetWorkflowResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.GetWorkflowRequest) (*switchyardv1.GetWorkflowResponse, error) {
		wf, err := s.engine.GetWorkflow(ctx, tenant, m.GetName(), m.GetVersion())
		if err != nil {
			return nil, err
		}
		return &switchyardv1.GetWorkflowResponse{Workflow: workflowProto(wf)}, nil
	})
}

// ListWorkflows implements switchyard.v1.WorkflowService.ListWorkflows.
func (s *WorkflowService) ListWorkflows(ctx context.Context, req *connect.Request[switchyardv1.ListWorkflowsRequest]) (*connect.Response[switchyardv1.ListWorkflowsResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.ListWorkflowsRequest) (*switchyardv1.ListWorkflowsResponse, error) {
		wfs, next, err := s.engine.ListWorkflows(ctx, tenant, pageOf(m))
		if err != nil {
			return nil, err
		}
		return &switchyardv1.ListWorkflowsResponse{Workflows: protos(wfs, workflowProto), NextPageToken: next}, nil
	})
}

// DeleteWorkflow implements switchyard.v1.WorkflowService.DeleteWorkflow.
func (s *WorkflowService) DeleteWorkflow(ctx context.Context, req *connect.Request[switchyardv1.DeleteWorkflowRequest]) (*connect.Response[switchyardv1.DeleteWorkflowResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.DeleteWorkflowRequest) (*switchyardv1.DeleteWorkflowResponse, error) {
		if err := s.engine.DeleteWorkflow(ctx, tenant, m.GetName()); err != nil {
			return nil, err
		}
		return &switchyardv1.DeleteWorkflowResponse{}, nil
	})
}

// RunWorkflow implements switchyard.v1.WorkflowService.RunWorkflow.
func (s *WorkflowService) RunWorkflow(ctx context.Context, req *connect.Request[switchyardv1.RunWorkflowRequest]) (*connect.Response[switchyardv1.RunWorkflowResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.RunWorkflowRequest) (*switchyardv1.RunWorkflowResponse, error) {
		in := engine.RunInput{
			Input: m.GetInput().AsMap(), IdempotencyKey: m.GetIdempotencyKey(), Priority: m.GetPriority(), RunAt: timeOrZero(m.GetRunAt()),
		}
		id, dedup, err := s.engine.RunWorkflow(ctx, tenant, m.GetName(), in)
		if err != nil {
			return nil, err
		}
		return &switchyardv1.RunWorkflowResponse{RunId: id, Deduplicated: dedup}, nil
	})
}

func specFromProto(p *switchyardv1.WorkflowSpec) engine.WorkflowSpec {
	spec := engine.WorkflowSpec{Name: p.GetName(), Description: p.GetDescription(), OnEvents: p.GetOnEvents()}
	for _, t := range p.GetEventTriggers() {
		spec.EventTriggers = append(spec.EventTriggers, engine.EventTrigger{Key: t.GetKey(), Filter: t.GetFilter(), Scope: t.GetScope()})
	}
	for _, c := range p.GetOnCron() {
		spec.OnCron = append(spec.OnCron, engine.CronTrigger{Schedule: c.GetSchedule(), TimeZone: c.GetTimeZone()})
	}
	if c := p.GetConcurrency(); c != nil {
		spec.Concurrency = &engine.ConcurrencyRule{Key: c.GetKey(), MaxRuns: c.GetMaxRuns(), Strategy: strategyName[c.GetStrategy()]}
	}
	for _, t := range p.GetTasks() {
		spec.Tasks = append(spec.Tasks, engine.TaskSpec{
			Name:    t.GetName(),
			Action:  t.GetAction(),
			Parents: t.GetParents(),
			Retry: engine.RetryPolicy{
				MaxAttempts:    t.GetRetry().GetMaxAttempts(),
				InitialBackoff: t.GetRetry().GetInitialBackoff().AsDuration(),
				MaxBackoff:     t.GetRetry().GetMaxBackoff().AsDuration(),
			},
			Timeout: t.GetTimeout().AsDuration(),
		})
	}
	return spec
}

func workflowProto(wf *engine.Workflow) *switchyardv1.Workflow {
	spec := &switchyardv1.WorkflowSpec{Name: wf.Spec.Name, Description: wf.Spec.Description, OnEvents: wf.Spec.OnEvents}
	for _, t := range wf.Spec.EventTriggers {
		spec.EventTriggers = append(spec.EventTriggers, &switchyardv1.EventTrigger{Key: t.Key, Filter: t.Filter, Scope: t.Scope})
	}
	for _, c := range wf.Spec.OnCron {
		spec.OnCron = append(spec.OnCron, &switchyardv1.CronTrigger{Schedule: c.Schedule, TimeZone: c.TimeZone})
	}
	if c := wf.Spec.Concurrency; c != nil {
		spec.Concurrency = &switchyardv1.ConcurrencyRule{Key: c.Key, MaxRuns: c.MaxRuns, Strategy: strategyProto[c.Strategy]}
	}
	for _, t := range wf.Spec.Tasks {
		spec.Tasks = append(spec.Tasks, &switchyardv1.TaskSpec{
			Name:    t.Name,
			Action:  t.Action,
			Parents: t.Parents,
			Retry: &switchyardv1.RetryPolicy{
				MaxAttempts:    t.Retry.MaxAttempts,
				InitialBackoff: durationpb.New(t.Retry.InitialBackoff),
				MaxBackoff:     durationpb.New(t.Retry.MaxBackoff),
			},
			Timeout: durationpb.New(t.Timeout),
		})
	}
	return &switchyardv1.Workflow{Spec: spec, Version: wf.Version, CreatedAt: timestamppb.New(wf.CreatedAt)}
}

var strategyName = map[switchyardv1.ConcurrencyStrategy]string{
	switchyardv1.ConcurrencyStrategy_CONCURRENCY_STRATEGY_UNSPECIFIED:        "",
	switchyardv1.ConcurrencyStrategy_CONCURRENCY_STRATEGY_QUEUE:              engine.StrategyQueue,
	switchyardv1.ConcurrencyStrategy_CONCURRENCY_STRATEGY_CANCEL_IN_PROGRESS: engine.StrategyCancelInProgress,
	switchyardv1.ConcurrencyStrategy_CONCURRENCY_STRATEGY_CANCEL_NEWEST:      engine.StrategyCancelNewest,
}

var strategyProto = map[string]switchyardv1.ConcurrencyStrategy{
	engine.StrategyQueue:            switchyardv1.ConcurrencyStrategy_CONCURRENCY_STRATEGY_QUEUE,
	engine.StrategyCancelInProgress: switchyardv1.ConcurrencyStrategy_CONCURRENCY_STRATEGY_CANCEL_IN_PROGRESS,
	engine.StrategyCancelNewest:     switchyardv1.ConcurrencyStrategy_CONCURRENCY_STRATEGY_CANCEL_NEWEST,
}
