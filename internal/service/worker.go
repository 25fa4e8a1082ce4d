package service

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/engine"
)

// WorkerService implements switchyard.v1.WorkerService.
type WorkerService struct {
	engine  *engine.Engine
	listens *streamLimit
}

var _ switchyardv1connect.WorkerServiceHandler = (*WorkerService)(nil)

// NewWorkerService returns the WorkerService handler over e.
func NewWorkerService(e *engine.Engine) *WorkerService {
	return &WorkerService{engine: e, listens: newStreamLimit("Listen", MaxListenStreamsPerToken)}
}

// RegisterWorker implements switchyard.v1.WorkerService.RegisterWorker.
func (s *WorkerService) RegisterWorker(ctx context.Context, req *connect.Request[switchyardv1.RegisterWorkerRequest]) (*connect.Response[switchyardv1.RegisterWorkerResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.RegisterWorkerRequest) (*switchyardv1.RegisterWorkerResponse, error) {
		id, interval, err := s.engine.RegisterWorker(ctx, tenant, engine.RegisterWorkerParams{
			Name: m.GetName(), Actions: m.GetActions(), Slots: m.GetSlots(), Labels: m.GetLabels(), IdempotencyKey: m.GetIdempotencyKey(),
		})
		if err != nil {
			return nil, err
		}
		return &switchyardv1.RegisterWorkerResponse{WorkerId: id, HeartbeatInterval: durationpb.New(interval)}, nil
	})
}

// Listen implements switchyard.v1.WorkerService.Listen.
func (s *WorkerService) Listen(ctx context.Context, req *connect.Request[switchyardv1.ListenRequest], stream *connect.ServerStream[switchyardv1.ListenResponse]) error {
	return serve(ctx, s.listens, req.Msg.GetWorkerId(), func(tenant string) error {
		return s.engine.Listen(ctx, tenant, req.Msg.GetWorkerId(), func(m *engine.Message) error {
			return stream.Send(listenProto(m))
		})
	})
}

// Heartbeat implements switchyard.v1.WorkerService.Heartbeat.
func (s *WorkerService) Heartbeat(ctx context.Context, req *connect.Request[switchyardv1.HeartbeatRequest]) (*connect.Response[switchyardv1.HeartbeatResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.HeartbeatRequest) (*switchyardv1.HeartbeatResponse, error) {
		if err := s.engine.Heartbeat(ctx, tenant, m.GetWorkerId()); err != nil {
			return nil, err
		}
		return &switchyardv1.HeartbeatResponse{}, nil
	})
}

// CompleteTask implements switchyard.v1.WorkerService.CompleteTask.
func (s *WorkerService) CompleteTask(ctx context.Context, req *connect.Request[switchyardv1.CompleteTaskRequest]) (*connect.Response[switchyardv1.CompleteTaskResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.CompleteTaskRequest) (*switchyardv1.CompleteTaskResponse, error) {
		if err := s.engine.CompleteTask(ctx, tenant, m.GetWorkerId(), m.GetTaskId(), m.GetAttempt(), m.GetOutput().AsMap()); err != nil {
			return nil, err
		}
		return &switchyardv1.CompleteTaskResponse{}, nil
	})
}

// FailTask implements switchyard.v1.WorkerService.FailTask.
func (s *WorkerService) FailTask(ctx context.Context, req *connect.Request[switchyardv1.FailTaskRequest]) (*connect.Response[switchyardv1.FailTaskResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.FailTaskRequest) (*switchyardv1.FailTaskResponse, error) {
		retry, err := s.engine.FailTask(ctx, tenant, m.GetWorkerId(), m.GetTaskId(), m.GetAttempt(), m.GetError(), m.GetRetryable())
		if err != nil {
			return nil, err
		}
		return &switchyardv1.FailTaskResponse{WillRetry: retry}, nil
	})
}

// ListWorkers implements switchyard.v1.WorkerService.ListWorkers.
func (s *WorkerService) ListWorkers(ctx context.Context, req *connect.Request[switchyardv1.ListWorkersRequest]) (*connect.Response[switchyardv1.ListWorkersResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.ListWorkersRequest) (*switchyardv1.ListWorkersResponse, error) {
		ws, next, err := s.engine.ListWorkers(ctx, tenant, pageOf(m))
		if err != nil {
			return nil, err
		}
		return &switchyardv1.ListWorkersResponse{Workers: protos(ws, workerProto), NextPageToken: next}, nil
	})
}

func listenProto(m *engine.Message) *switchyardv1.ListenResponse {
	switch {
	case m.Assignment != nil:
		a := m.Assignment
		parents := make(map[string]*structpb.Struct, len(a.ParentOutputs))
		for name, o := range a.ParentOutputs {
			parents[name] = structOrNil(o)
		}
		return &switchyardv1.ListenResponse{Message: &switchyardv1.ListenResponse_Assignment{Assignment: &switchyardv1.TaskAssignment{
			TaskId: a.TaskID, Attempt: a.Attempt, RunId: a.RunID, Workflow: a.Workflow, TaskName: a.TaskName,
			Action: a.Action, Input: structOrNil(a.Input), ParentOutputs: parents, Deadline: timestamppb.New(a.Deadline),
			Traceparent: a.TraceParent,
		}}}
	case m.Cancellation != nil:
		c := m.Cancellation
		return &switchyardv1.ListenResponse{Message: &switchyardv1.ListenResponse_Cancellation{Cancellation: &switchyardv1.TaskCancellation{
			TaskId: c.TaskID, Attempt: c.Attempt, Reason: c.Reason,
		}}}
	}
	k := &switchyardv1.Keepalive{}
	if m.Keepalive != nil {
		k.StreamId, k.Seq, k.Interval = m.Keepalive.StreamID, m.Keepalive.Seq, durationpb.New(m.Keepalive.Interval)
	}
	return &switchyardv1.ListenResponse{Message: &switchyardv1.ListenResponse_Keepalive{Keepalive: k}}
}

// Acknowledge implements switchyard.v1.WorkerService.Acknowledge.
func (s *WorkerService) Acknowledge(ctx context.Context, req *connect.Request[switchyardv1.AcknowledgeRequest]) (*connect.Response[switchyardv1.AcknowledgeResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.AcknowledgeRequest) (*switchyardv1.AcknowledgeResponse, error) {
		refs := make([]engine.AttemptRef, len(m.GetAssignments()))
		for i, a := range m.GetAssignments() {
			refs[i] = engine.AttemptRef{TaskID: a.GetTaskId(), Attempt: a.GetAttempt()}
		}
		open, err := s.engine.Acknowledge(ctx, tenant, m.GetWorkerId(), m.GetStreamId(), refs, m.GetKeepaliveSeq())
		if err != nil {
			return nil, err
		}
		return &switchyardv1.AcknowledgeResponse{StreamOpen: open}, nil
	})
}

func workerProto(w *engine.Worker) *switchyardv1.Worker {
	status := switchyardv1.WorkerStatus_WORKER_STATUS_INACTIVE
	if w.Active {
		status = switchyardv1.WorkerStatus_WORKER_STATUS_ACTIVE
	}
	labels := w.Labels
	if len(labels) == 0 {
		labels = nil
	}
	return &switchyardv1.Worker{
		Id: w.ID, Name: w.Name, Actions: w.Actions, Slots: w.Slots, SlotsInUse: w.SlotsInUse, Labels: labels,
		Status: status, LastHeartbeatAt: timestamppb.New(w.LastHeartbeatAt), CreatedAt: timestamppb.New(w.CreatedAt),
	}
}
