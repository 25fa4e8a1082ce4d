package service

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/engine"
)

// RunService implements switchyard.v1.RunService.
type RunService struct {
	engine  *engine.Engine
	watches *streamLimit
}

var _ switchyardv1connect.RunServiceHandler = (*RunService)(nil)

// NewRunService returns the RunService handler over e.
func NewRunService(e *engine.Engine) *RunService {
	return &RunService{engine: e, watches: newStreamLimit("WatchRun", MaxWatchStreamsPerToken)}
}

// GetRun implements switchyard.v1.RunService.GetRun.
func (s *RunService) GetRun(ctx context.Context, req *connect.Request[switchyardv1.GetRunRequest]) (*connect.Response[switchyardv1.GetRunResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.GetRunRequest) (*switchyardv1.GetRunResponse, error) {
		run, err := s.engine.GetRun(ctx, tenant, m.GetId())
		if err != nil {
			return nil, err
		}
		return &switchyardv1.GetRunResponse{Run: runProto(run)}, nil
	})
}

// ListRuns implements switchyard.v1.RunService.ListRuns.
func (s *RunService) ListRuns(ctx context.Context, req *connect.Request[switchyardv1.ListRunsRequest]) (*connect.Response[switchyardv1.ListRunsResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.ListRunsRequest) (*switchyardv1.ListRunsResponse, error) {
		f := engine.RunFilter{Workflow: m.GetWorkflow(), EventID: m.GetEventId(), Trigger: runTriggerName[m.GetTrigger()]}
		if m.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_UNSPECIFIED {
			f.Status = runStatusName[m.GetStatus()]
		}
		f.CreatedAfter, f.CreatedBefore = timeOrZero(m.GetCreatedAfter()), timeOrZero(m.GetCreatedBefore())
		runs, next, err := s.engine.ListRuns(ctx, tenant, f, pageOf(m))
		if err != nil {
			return nil, err
		}
		return &switchyardv1.ListRunsResponse{Runs: protos(runs, runProto), NextPageToken: next}, nil
	})
}

// CancelRun implements switchyard.v1.RunService.CancelRun.
func (s *RunService) CancelRun(ctx context.Context, req *connect.Request[switchyardv1.CancelRunRequest]) (*connect.Response[switchyardv1.CancelRunResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.CancelRunRequest) (*switchyardv1.CancelRunResponse, error) {
		run, err := s.engine.CancelRun(ctx, tenant, m.GetId(), m.GetReason())
		if err != nil {
			return nil, err
		}
		return &switchyardv1.CancelRunResponse{Run: runProto(run)}, nil
	})
}

// WatchRun implements switchyard.v1.RunService.WatchRun.
func (s *RunService) WatchRun(ctx context.Context, req *connect.Request[switchyardv1.WatchRunRequest], stream *connect.ServerStream[switchyardv1.WatchRunResponse]) error {
	// Every stream takes its own place.
	return serve(ctx, s.watches, uuid.NewString(), func(tenant string) error {
		return s.engine.WatchRun(ctx, tenant, req.Msg.GetId(), func(run *engine.Run) error {
			if run == nil {
				return stream.Send(&switchyardv1.WatchRunResponse{Keepalive: true})
			}
			return stream.Send(&switchyardv1.WatchRunResponse{Run: runProto(run)})
		})
	})
}

var runStatusName = map[switchyardv1.RunStatus]string{
	switchyardv1.RunStatus_RUN_STATUS_QUEUED:    engine.RunQueued,
	switchyardv1.RunStatus_RUN_STATUS_RUNNING:   engine.RunRunning,
	switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED: engine.RunSucceeded,
	switchyardv1.RunStatus_RUN_STATUS_FAILED:    engine.RunFailed,
	switchyardv1.RunStatus_RUN_STATUS_CANCELLED: engine.RunCancelled,
	switchyardv1.RunStatus_RUN_STATUS_SCHEDULED: engine.RunScheduled,
	switchyardv1.RunStatus_RUN_STATUS_WAITING:   engine.RunWaiting,
}

var runStatusProto = invert(runStatusName)

var runTriggerName = map[switchyardv1.RunTrigger]string{
	switchyardv1.RunTrigger_RUN_TRIGGER_EVENT:  engine.TriggerEvent,
	switchyardv1.RunTrigger_RUN_TRIGGER_CRON:   engine.TriggerCron,
	switchyardv1.RunTrigger_RUN_TRIGGER_MANUAL: engine.TriggerManual,
	switchyardv1.RunTrigger_RUN_TRIGGER_REPLAY: engine.TriggerReplay,
}

var runTriggerProto = invert(runTriggerName)

var replayModeName = map[switchyardv1.ReplayMode]string{
	switchyardv1.ReplayMode_REPLAY_MODE_UNSPECIFIED: engine.ReplayWhole,
	switchyardv1.ReplayMode_REPLAY_MODE_WHOLE:       engine.ReplayWhole,
	switchyardv1.ReplayMode_REPLAY_MODE_FROM_FAILED: engine.ReplayFromFailed,
}

// ReplayRun implements switchyard.v1.RunService.ReplayRun.
func (s *RunService) ReplayRun(ctx context.Context, req *connect.Request[switchyardv1.ReplayRunRequest]) (*connect.Response[switchyardv1.ReplayRunResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.ReplayRunRequest) (*switchyardv1.ReplayRunResponse, error) {
		run, dedup, err := s.engine.ReplayRun(ctx, tenant, m.GetId(), replayModeName[m.GetMode()], m.GetIdempotencyKey())
		if err != nil {
			return nil, err
		}
		return &switchyardv1.ReplayRunResponse{Run: runProto(run), Deduplicated: dedup}, nil
	})
}

var taskStatusProto = map[string]switchyardv1.TaskStatus{
	"PENDING":   switchyardv1.TaskStatus_TASK_STATUS_PENDING,
	"QUEUED":    switchyardv1.TaskStatus_TASK_STATUS_QUEUED,
	"RUNNING":   switchyardv1.TaskStatus_TASK_STATUS_RUNNING,
	"SUCCEEDED": switchyardv1.TaskStatus_TASK_STATUS_SUCCEEDED,
	"FAILED":    switchyardv1.TaskStatus_TASK_STATUS_FAILED,
	"CANCELLED": switchyardv1.TaskStatus_TASK_STATUS_CANCELLED,
}

func invert[K, V comparable](m map[K]V) map[V]K {
	out := make(map[V]K, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

// timeOrZero returns the time t holds, or the zero time when t is unset.
func timeOrZero(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}

func timestampOrNil(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func structOrNil(m map[string]any) *structpb.Struct {
	if m == nil {
		return nil
	}
	s, err := structpb.NewStruct(m)
	if err != nil {
		return nil
	}
	return s
}

func runProto(r *engine.Run) *switchyardv1.Run {
	out := &switchyardv1.Run{
		Id:              r.ID,
		Workflow:        r.Workflow,
		WorkflowVersion: r.WorkflowVersion,
		Status:          runStatusProto[r.Status],
		EventId:         r.EventID,
		Input:           structOrNil(r.Input),
		Error:           r.Error,
		CreatedAt:       timestamppb.New(r.CreatedAt),
		FinishedAt:      timestampOrNil(r.FinishedAt),
		Trigger:         runTriggerProto[r.Trigger],
		ReplayOf:        r.ReplayOf,
		CronTick:        timestampOrNil(r.CronTick),
		Priority:        r.Priority,
		ScheduledAt:     timestampOrNil(r.ScheduledAt),
		ConcurrencyKey:  r.ConcurrencyKey,
	}
	for _, t := range r.Tasks {
		out.Tasks = append(out.Tasks, &switchyardv1.Task{
			Id:          t.ID,
			Name:        t.Name,
			Action:      t.Action,
			Status:      taskStatusProto[t.Status],
			Attempt:     t.Attempt,
			MaxAttempts: t.MaxAttempts,
			WorkerId:    t.WorkerID,
			Output:      structOrNil(t.Output),
			Error:       t.Error,
			Parents:     t.Parents,
			StartedAt:   timestampOrNil(t.StartedAt),
			FinishedAt:  timestampOrNil(t.FinishedAt),
			AvailableAt: timestampOrNil(t.AvailableAt),
		})
	}
	return out
}
