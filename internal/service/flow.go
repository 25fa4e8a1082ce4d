package service

import (
	"context"

	"connectrpc.com/connect"
	"github.com/google/uuid"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/engine"
)

// PauseWorkflow implements switchyard.v1.WorkflowService.PauseWorkflow.
func (s *WorkflowService) PauseWorkflow(ctx context.Context, req *connect.Request[switchyardv1.PauseWorkflowRequest]) (*connect.Response[switchyardv1.PauseWorkflowResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.PauseWorkflowRequest) (*switchyardv1.PauseWorkflowResponse, error) {
		wf, err := s.engine.PauseWorkflow(ctx, tenant, m.GetName(), m.GetSkipCronTicks())
		return &switchyardv1.PauseWorkflowResponse{Workflow: workflowProto(wf)}, err
	})
}

// ResumeWorkflow implements switchyard.v1.WorkflowService.ResumeWorkflow.
func (s *WorkflowService) ResumeWorkflow(ctx context.Context, req *connect.Request[switchyardv1.ResumeWorkflowRequest]) (*connect.Response[switchyardv1.ResumeWorkflowResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.ResumeWorkflowRequest) (*switchyardv1.ResumeWorkflowResponse, error) {
		wf, released, err := s.engine.ResumeWorkflow(ctx, tenant, m.GetName())
		return &switchyardv1.ResumeWorkflowResponse{Workflow: workflowProto(wf), Released: released}, err
	})
}

// BulkCancelRuns implements switchyard.v1.RunService.BulkCancelRuns.
func (s *RunService) BulkCancelRuns(ctx context.Context, req *connect.Request[switchyardv1.BulkCancelRunsRequest]) (*connect.Response[switchyardv1.BulkCancelRunsResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.BulkCancelRunsRequest) (*switchyardv1.BulkCancelRunsResponse, error) {
		op, err := s.engine.StartBulkOperation(ctx, tenant, engine.BulkCancel, runSelector(m.GetSelector()), m.GetReason(), "")
		return &switchyardv1.BulkCancelRunsResponse{Operation: bulkProto(op)}, err
	})
}

// BulkReplayRuns implements switchyard.v1.RunService.BulkReplayRuns.
func (s *RunService) BulkReplayRuns(ctx context.Context, req *connect.Request[switchyardv1.BulkReplayRunsRequest]) (*connect.Response[switchyardv1.BulkReplayRunsResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.BulkReplayRunsRequest) (*switchyardv1.BulkReplayRunsResponse, error) {
		op, err := s.engine.StartBulkOperation(ctx, tenant, engine.BulkReplay, runSelector(m.GetSelector()), "", replayModeName[m.GetMode()])
		return &switchyardv1.BulkReplayRunsResponse{Operation: bulkProto(op)}, err
	})
}

// GetBulkOperation implements switchyard.v1.RunService.GetBulkOperation.
func (s *RunService) GetBulkOperation(ctx context.Context, req *connect.Request[switchyardv1.GetBulkOperationRequest]) (*connect.Response[switchyardv1.GetBulkOperationResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.GetBulkOperationRequest) (*switchyardv1.GetBulkOperationResponse, error) {
		op, err := s.engine.GetBulkOperation(ctx, tenant, m.GetId())
		return &switchyardv1.GetBulkOperationResponse{Operation: bulkProto(op)}, err
	})
}

// WatchBulkOperation implements switchyard.v1.RunService.WatchBulkOperation.
func (s *RunService) WatchBulkOperation(ctx context.Context, req *connect.Request[switchyardv1.WatchBulkOperationRequest], stream *connect.ServerStream[switchyardv1.WatchBulkOperationResponse]) error {
	// Every stream takes its own place among the token's watches.
	return serve(ctx, s.watches, uuid.NewString(), func(tenant string) error {
		return s.engine.WatchBulkOperation(ctx, tenant, req.Msg.GetId(), sender(stream, watchBulkProto))
	})
}
