package service

import (
	"context"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// RegisterWorker implements switchyard.v1.WorkerService.RegisterWorker.
func (s *WorkerService) RegisterWorker(ctx context.Context, req *connect.Request[switchyardv1.RegisterWorkerRequest]) (*connect.Response[switchyardv1.RegisterWorkerResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.RegisterWorkerRequest) (*switchyardv1.RegisterWorkerResponse, error) {
		id, interval, err := s.engine.RegisterWorker(ctx, tenant, workerParams(m))
		return registeredProto(id, interval), err
	})
}

// Listen implements switchyard.v1.WorkerService.Listen.
func (s *WorkerService) Listen(ctx context.Context, req *connect.Request[switchyardv1.ListenRequest], stream *connect.ServerStream[switchyardv1.ListenResponse]) error {
	return serve(ctx, s.listens, req.Msg.GetWorkerId(), func(tenant string) error {
		return s.engine.Listen(ctx, tenant, req.Msg.GetWorkerId(), sender(stream, listenProto))
	})
}

// Heartbeat implements switchyard.v1.WorkerService.Heartbeat.
func (s *WorkerService) Heartbeat(ctx context.Context, req *connect.Request[switchyardv1.HeartbeatRequest]) (*connect.Response[switchyardv1.HeartbeatResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.HeartbeatRequest) (*switchyardv1.HeartbeatResponse, error) {
		return &switchyardv1.HeartbeatResponse{}, s.engine.Heartbeat(ctx, tenant, m.GetWorkerId())
	})
}

// CompleteTask implements switchyard.v1.WorkerService.CompleteTask.
func (s *WorkerService) CompleteTask(ctx context.Context, req *connect.Request[switchyardv1.CompleteTaskRequest]) (*connect.Response[switchyardv1.CompleteTaskResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.CompleteTaskRequest) (*switchyardv1.CompleteTaskResponse, error) {
		return &switchyardv1.CompleteTaskResponse{}, s.engine.CompleteTask(ctx, tenant, m.GetWorkerId(), m.GetTaskId(), m.GetAttempt(), m.GetOutput().AsMap())
	})
}

// FailTask implements switchyard.v1.WorkerService.FailTask.
func (s *WorkerService) FailTask(ctx context.Context, req *connect.Request[switchyardv1.FailTaskRequest]) (*connect.Response[switchyardv1.FailTaskResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.FailTaskRequest) (*switchyardv1.FailTaskResponse, error) {
		retry, err := s.engine.FailTask(ctx, tenant, m.GetWorkerId(), m.GetTaskId(), m.GetAttempt(), m.GetError(), m.GetRetryable())
		return &switchyardv1.FailTaskResponse{WillRetry: retry}, err
	})
}

// ListWorkers implements switchyard.v1.WorkerService.ListWorkers.
func (s *WorkerService) ListWorkers(ctx context.Context, req *connect.Request[switchyardv1.ListWorkersRequest]) (*connect.Response[switchyardv1.ListWorkersResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.ListWorkersRequest) (*switchyardv1.ListWorkersResponse, error) {
		ws, next, err := s.engine.ListWorkers(ctx, tenant, pageOf(m))
		return &switchyardv1.ListWorkersResponse{Workers: protos(ws, workerProto), NextPageToken: next}, err
	})
}

// Acknowledge implements switchyard.v1.WorkerService.Acknowledge.
func (s *WorkerService) Acknowledge(ctx context.Context, req *connect.Request[switchyardv1.AcknowledgeRequest]) (*connect.Response[switchyardv1.AcknowledgeResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.AcknowledgeRequest) (*switchyardv1.AcknowledgeResponse, error) {
		open, err := s.engine.Acknowledge(ctx, tenant, m.GetWorkerId(), m.GetStreamId(), attemptRefs(m), m.GetKeepaliveSeq())
		return &switchyardv1.AcknowledgeResponse{StreamOpen: open}, err
	})
}
