// Package service holds one Go type per Connect service: the one implementation
// every protocol reaches. Handlers only convert between the API's messages and
// the engine's types; the rules live in package engine. Handlers return the
// engine's errors as they are: the server's outermost interceptor converts every
// error into its Connect code with [Errors.Convert], in one place, so no handler
// can return an unconverted one.
package service

import (
	"context"
	"errors"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/engine"
)

// EventService implements switchyard.v1.EventService.
type EventService struct {
	engine *engine.Engine
}

var _ switchyardv1connect.EventServiceHandler = (*EventService)(nil)

// NewEventService returns the EventService handler over e.
func NewEventService(e *engine.Engine) *EventService {
	return &EventService{engine: e}
}

// PushEvent implements switchyard.v1.EventService.PushEvent.
func (s *EventService) PushEvent(ctx context.Context, req *connect.Request[switchyardv1.PushEventRequest]) (*connect.Response[switchyardv1.PushEventResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.PushEventRequest) (*switchyardv1.PushEventResponse, error) {
		res, err := s.engine.PushEvent(ctx, tenant, eventInput(m))
		if err != nil {
			return nil, err
		}
		return pushResultProto(res), nil
	})
}

// BulkPushEvents implements switchyard.v1.EventService.BulkPushEvents.
func (s *EventService) BulkPushEvents(ctx context.Context, req *connect.Request[switchyardv1.BulkPushEventsRequest]) (*connect.Response[switchyardv1.BulkPushEventsResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.BulkPushEventsRequest) (*switchyardv1.BulkPushEventsResponse, error) {
		results, err := s.engine.PushEvents(ctx, tenant, protos(m.GetEvents(), eventInput))
		if err != nil {
			return nil, err
		}
		return &switchyardv1.BulkPushEventsResponse{Results: protos(results, pushResultProto)}, nil
	})
}

// GetEvent implements switchyard.v1.EventService.GetEvent.
func (s *EventService) GetEvent(ctx context.Context, req *connect.Request[switchyardv1.GetEventRequest]) (*connect.Response[switchyardv1.GetEventResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.GetEventRequest) (*switchyardv1.GetEventResponse, error) {
		ev, err := s.engine.GetEvent(ctx, tenant, m.GetId())
		if err != nil {
			return nil, err
		}
		return &switchyardv1.GetEventResponse{Event: eventProto(ev)}, nil
	})
}

// ListEvents implements switchyard.v1.EventService.ListEvents.
func (s *EventService) ListEvents(ctx context.Context, req *connect.Request[switchyardv1.ListEventsRequest]) (*connect.Response[switchyardv1.ListEventsResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.ListEventsRequest) (*switchyardv1.ListEventsResponse, error) {
		filter := engine.EventFilter{
			Key: m.GetKey(), Scope: m.GetScope(),
			CreatedAfter: timeOrZero(m.GetCreatedAfter()), CreatedBefore: timeOrZero(m.GetCreatedBefore()),
		}
		events, next, err := s.engine.ListEvents(ctx, tenant, filter, pageOf(m))
		if err != nil {
			return nil, err
		}
		return &switchyardv1.ListEventsResponse{Events: protos(events, eventProto), NextPageToken: next}, nil
	})
}

// tenantOf returns the tenant the call acts for, from its credentials.
func tenantOf(ctx context.Context) (string, error) {
	p := auth.FromContext(ctx)
	if p == nil {
		return "", errors.New("handler reached without an authenticated principal")
	}
	return p.TenantID, nil
}

func eventInput(m *switchyardv1.PushEventRequest) engine.EventInput {
	in := engine.EventInput{
		Key:            m.GetKey(),
		Payload:        m.GetPayload().AsMap(),
		Metadata:       m.GetMetadata(),
		Scope:          m.GetScope(),
		Priority:       m.GetPriority(),
		IdempotencyKey: m.GetIdempotencyKey(),
	}
	if m.OccurredAt != nil {
		in.OccurredAt = m.GetOccurredAt().AsTime()
	}
	return in
}

func pushResultProto(r *engine.PushResult) *switchyardv1.PushEventResponse {
	return &switchyardv1.PushEventResponse{Event: eventProto(r.Event), RunIds: r.RunIDs, Deduplicated: r.Deduplicated}
}

func eventProto(ev *engine.Event) *switchyardv1.Event {
	payload, err := structpb.NewStruct(ev.Payload)
	if err != nil {
		// Stored payloads were JSON objects when they came in; they stay so.
		payload = &structpb.Struct{}
	}
	metadata := ev.Metadata
	if len(metadata) == 0 {
		metadata = nil
	}
	return &switchyardv1.Event{
		Id:              ev.ID,
		Key:             ev.Key,
		Payload:         payload,
		Metadata:        metadata,
		Scope:           ev.Scope,
		Priority:        ev.Priority,
		OccurredAt:      timestamppb.New(ev.OccurredAt),
		CreatedAt:       timestamppb.New(ev.CreatedAt),
		IdempotencyKey:  ev.IdempotencyKey,
		RunIds:          ev.RunIDs,
		SkippedTriggers: skippedProto(ev.Skipped),
	}
}

func skippedProto(skipped []engine.SkippedTrigger) []*switchyardv1.SkippedTrigger {
	out := make([]*switchyardv1.SkippedTrigger, len(skipped))
	for i, s := range skipped {
		out[i] = &switchyardv1.SkippedTrigger{Workflow: s.Workflow, WorkflowVersion: s.WorkflowVersion, Trigger: s.Trigger, Reason: s.Reason}
	}
	return out
}

// ReplayEvent implements switchyard.v1.EventService.ReplayEvent.
func (s *EventService) ReplayEvent(ctx context.Context, req *connect.Request[switchyardv1.ReplayEventRequest]) (*connect.Response[switchyardv1.ReplayEventResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.ReplayEventRequest) (*switchyardv1.ReplayEventResponse, error) {
		res, err := s.engine.ReplayEvent(ctx, tenant, m.GetId(), m.GetIdempotencyKey())
		if err != nil {
			return nil, err
		}
		return &switchyardv1.ReplayEventResponse{RunIds: res.RunIDs, SkippedTriggers: skippedProto(res.Skipped), Deduplicated: res.Deduplicated}, nil
	})
}
