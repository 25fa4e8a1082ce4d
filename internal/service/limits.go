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

// RateLimitService implements switchyard.v1.RateLimitService.
type RateLimitService struct{ handler }

var _ switchyardv1connect.RateLimitServiceHandler = (*RateLimitService)(nil)

// NewRateLimitService returns the RateLimitService handler over e.
func NewRateLimitService(e *engine.Engine) *RateLimitService { return &RateLimitService{handler{e}} }

// PutRateLimit implements switchyard.v1.RateLimitService.PutRateLimit.
func (s *RateLimitService) PutRateLimit(ctx context.Context, req *connect.Request[switchyardv1.PutRateLimitRequest]) (*connect.Response[switchyardv1.PutRateLimitResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.PutRateLimitRequest) (*switchyardv1.PutRateLimitResponse, error) {
		l := m.GetRateLimit()
		out, err := s.engine.PutRateLimit(ctx, tenant, engine.FlowLimit{Name: l.GetName(), Max: l.GetMax(), Period: l.GetPeriod().AsDuration()})
		return &switchyardv1.PutRateLimitResponse{RateLimit: flowLimitProto(out)}, err
	})
}

// GetRateLimit implements switchyard.v1.RateLimitService.GetRateLimit.
func (s *RateLimitService) GetRateLimit(ctx context.Context, req *connect.Request[switchyardv1.GetRateLimitRequest]) (*connect.Response[switchyardv1.GetRateLimitResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.GetRateLimitRequest) (*switchyardv1.GetRateLimitResponse, error) {
		out, err := s.engine.GetRateLimit(ctx, tenant, m.GetName())
		return &switchyardv1.GetRateLimitResponse{RateLimit: flowLimitProto(out)}, err
	})
}

// ListRateLimits implements switchyard.v1.RateLimitService.ListRateLimits.
func (s *RateLimitService) ListRateLimits(ctx context.Context, req *connect.Request[switchyardv1.ListRateLimitsRequest]) (*connect.Response[switchyardv1.ListRateLimitsResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.ListRateLimitsRequest) (*switchyardv1.ListRateLimitsResponse, error) {
		ls, next, err := s.engine.ListRateLimits(ctx, tenant, pageOf(m))
		return &switchyardv1.ListRateLimitsResponse{RateLimits: protos(ls, flowLimitProto), NextPageToken: next}, err
	})
}

// DeleteRateLimit implements switchyard.v1.RateLimitService.DeleteRateLimit.
func (s *RateLimitService) DeleteRateLimit(ctx context.Context, req *connect.Request[switchyardv1.DeleteRateLimitRequest]) (*connect.Response[switchyardv1.DeleteRateLimitResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.DeleteRateLimitRequest) (*switchyardv1.DeleteRateLimitResponse, error) {
		return &switchyardv1.DeleteRateLimitResponse{}, s.engine.DeleteRateLimit(ctx, tenant, m.GetName())
	})
}

func flowLimitProto(l *engine.FlowLimit) *switchyardv1.NamedRateLimit {
	if l == nil {
		return nil
	}
	out := &switchyardv1.NamedRateLimit{Name: l.Name, Max: l.Max, Period: durationpb.New(l.Period),
		CreatedAt: timestamppb.New(l.CreatedAt), UpdatedAt: timestamppb.New(l.UpdatedAt)}
	for _, k := range l.Keys {
		out.Keys = append(out.Keys, &switchyardv1.NamedRateLimitKey{Key: k.Key, Used: k.Used, ResetsAt: timestampOrNil(k.ResetsAt)})
	}
	return out
}

var overLimits = newEnum(map[switchyardv1.OverLimit]string{
	switchyardv1.OverLimit_OVER_LIMIT_UNSPECIFIED: "",
	switchyardv1.OverLimit_OVER_LIMIT_QUEUE:       engine.OverLimitQueue,
	switchyardv1.OverLimit_OVER_LIMIT_SKIP:        engine.OverLimitSkip,
})

// taskLimitsFromProto converts a task spec's rate limits.
func taskLimitsFromProto(ls []*switchyardv1.TaskRateLimit) []engine.TaskRateLimit {
	var out []engine.TaskRateLimit
	for _, l := range ls {
		out = append(out, engine.TaskRateLimit{Limit: l.GetLimit(), Key: l.GetKey(), Units: l.GetUnits()})
	}
	return out
}

func taskLimitsProto(ls []engine.TaskRateLimit) []*switchyardv1.TaskRateLimit {
	var out []*switchyardv1.TaskRateLimit
	for _, l := range ls {
		out = append(out, &switchyardv1.TaskRateLimit{Limit: l.Limit, Key: l.Key, Units: l.Units})
	}
	return out
}

// triggerLimitFromProto converts an event trigger's rate limit; nil stays nil.
func triggerLimitFromProto(l *switchyardv1.TriggerRateLimit) *engine.TriggerRateLimit {
	if l == nil {
		return nil
	}
	return &engine.TriggerRateLimit{Key: l.GetKey(), MaxRuns: l.GetMaxRuns(), Period: l.GetPeriod().AsDuration(), OverLimit: overLimits.name(l.GetOverLimit())}
}

func triggerLimitProto(l *engine.TriggerRateLimit) *switchyardv1.TriggerRateLimit {
	if l == nil {
		return nil
	}
	return &switchyardv1.TriggerRateLimit{Key: l.Key, MaxRuns: l.MaxRuns, Period: durationpb.New(l.Period), OverLimit: overLimits.proto(l.OverLimit)}
}
