package service

import (
	"context"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// PutWorkflow implements switchyard.v1.WorkflowService.PutWorkflow.
func (s *WorkflowService) PutWorkflow(ctx context.Context, req *connect.Request[switchyardv1.PutWorkflowRequest]) (*connect.Response[switchyardv1.PutWorkflowResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.PutWorkflowRequest) (*switchyardv1.PutWorkflowResponse, error) {
		spec := specFromProto(m.GetSpec())
		wf, changed, err := s.engine.PutWorkflow(ctx, tenant, spec)
		return &switchyardv1.PutWorkflowResponse{Workflow: workflowProto(wf), Changed: changed, Warnings: spec.Warnings()}, err
	})
}

// GetWorkflow implements switchyard.v1.WorkflowService.GetWorkflow.
func (s *WorkflowService) GetWorkflow(ctx context.Context, req *connect.Request[switchyardv1.GetWorkflowRequest]) (*connect.Response[switchyardv1.GetWorkflowResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.GetWorkflowRequest) (*switchyardv1.GetWorkflowResponse, error) {
		wf, err := s.engine.GetWorkflow(ctx, tenant, m.GetName(), m.GetVersion())
		return &switchyardv1.GetWorkflowResponse{Workflow: workflowProto(wf)}, err
	})
}

// ListWorkflows implements switchyard.v1.WorkflowService.ListWorkflows.
func (s *WorkflowService) ListWorkflows(ctx context.Context, req *connect.Request[switchyardv1.ListWorkflowsRequest]) (*connect.Response[switchyardv1.ListWorkflowsResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.ListWorkflowsRequest) (*switchyardv1.ListWorkflowsResponse, error) {
		wfs, next, err := s.engine.ListWorkflows(ctx, tenant, pageOf(m))
		return &switchyardv1.ListWorkflowsResponse{Workflows: protos(wfs, workflowProto), NextPageToken: next}, err
	})
}

// DeleteWorkflow implements switchyard.v1.WorkflowService.DeleteWorkflow.
func (s *WorkflowService) DeleteWorkflow(ctx context.Context, req *connect.Request[switchyardv1.DeleteWorkflowRequest]) (*connect.Response[switchyardv1.DeleteWorkflowResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.DeleteWorkflowRequest) (*switchyardv1.DeleteWorkflowResponse, error) {
		return &switchyardv1.DeleteWorkflowResponse{}, s.engine.DeleteWorkflow(ctx, tenant, m.GetName())
	})
}

// RunWorkflow implements switchyard.v1.WorkflowService.RunWorkflow.
func (s *WorkflowService) RunWorkflow(ctx context.Context, req *connect.Request[switchyardv1.RunWorkflowRequest]) (*connect.Response[switchyardv1.RunWorkflowResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.RunWorkflowRequest) (*switchyardv1.RunWorkflowResponse, error) {
		id, dedup, err := s.engine.RunWorkflow(ctx, tenant, m.GetName(), runInput(m))
		return &switchyardv1.RunWorkflowResponse{RunId: id, Deduplicated: dedup}, err
	})
}
