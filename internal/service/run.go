package service

import (
	"context"

	"connectrpc.com/connect"
	"github.com/google/uuid"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// GetRun implements switchyard.v1.RunService.GetRun.
func (s *RunService) GetRun(ctx context.Context, req *connect.Request[switchyardv1.GetRunRequest]) (*connect.Response[switchyardv1.GetRunResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.GetRunRequest) (*switchyardv1.GetRunResponse, error) {
		run, err := s.engine.GetRun(ctx, tenant, m.GetId())
		return &switchyardv1.GetRunResponse{Run: runProto(run)}, err
	})
}

// ListRuns implements switchyard.v1.RunService.ListRuns.
func (s *RunService) ListRuns(ctx context.Context, req *connect.Request[switchyardv1.ListRunsRequest]) (*connect.Response[switchyardv1.ListRunsResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.ListRunsRequest) (*switchyardv1.ListRunsResponse, error) {
		runs, next, err := s.engine.ListRuns(ctx, tenant, runFilter(m), pageOf(m))
		return &switchyardv1.ListRunsResponse{Runs: protos(runs, runProto), NextPageToken: next}, err
	})
}

// CancelRun implements switchyard.v1.RunService.CancelRun.
func (s *RunService) CancelRun(ctx context.Context, req *connect.Request[switchyardv1.CancelRunRequest]) (*connect.Response[switchyardv1.CancelRunResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.CancelRunRequest) (*switchyardv1.CancelRunResponse, error) {
		run, err := s.engine.CancelRun(ctx, tenant, m.GetId(), m.GetReason())
		return &switchyardv1.CancelRunResponse{Run: runProto(run)}, err
	})
}

// WatchRun implements switchyard.v1.RunService.WatchRun.
func (s *RunService) WatchRun(ctx context.Context, req *connect.Request[switchyardv1.WatchRunRequest], stream *connect.ServerStream[switchyardv1.WatchRunResponse]) error {
	// Every stream takes its own place.
	return serve(ctx, s.watches, uuid.NewString(), func(tenant string) error {
		return s.engine.WatchRun(ctx, tenant, req.Msg.GetId(), sender(stream, watchRunProto))
	})
}

// ReplayRun implements switchyard.v1.RunService.ReplayRun.
func (s *RunService) ReplayRun(ctx context.Context, req *connect.Request[switchyardv1.ReplayRunRequest]) (*connect.Response[switchyardv1.ReplayRunResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.ReplayRunRequest) (*switchyardv1.ReplayRunResponse, error) {
		run, dedup, err := s.engine.ReplayRun(ctx, tenant, m.GetId(), replayModeName[m.GetMode()], m.GetIdempotencyKey())
		return &switchyardv1.ReplayRunResponse{Run: runProto(run), Deduplicated: dedup}, err
	})
}
