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
	tenant, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	res, err := s.engine.PushEvent(ctx, tenant, eventInput(req.Msg))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(pushResultProto(res)), nil
}

// BulkPushEvents implements switchyard.v1.EventService.BulkPushEvents.
func (s *EventService) BulkPushEvents(ctx context.Context, req *connect.Request[switchyardv1.BulkPushEventsRequest]) (*connect.Response[switchyardv1.BulkPushEventsResponse], error) {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	inputs := make([]engine.EventInput, len(req.Msg.GetEvents()))
	for i, ev := range req.Msg.GetEvents() {
		inputs[i] = eventInput(ev)
	}
	results, err := s.engine.PushEvents(ctx, tenant, inputs)
	if err != nil {
		return nil, err
	}
	out := &switchyardv1.BulkPushEventsResponse{Results: make([]*switchyardv1.PushEventResponse, len(results))}
	for i, r := range results {
		out.Results[i] = pushResultProto(r)
	}
	return connect.NewResponse(out), nil
}

// GetEvent implements switchyard.v1.EventService.GetEvent.
func (s *EventService) GetEvent(ctx context.Context, req *connect.Request[switchyardv1.GetEventRequest]) (*connect.Response[switchyardv1.GetEventResponse], error) {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	ev, err := s.engine.GetEvent(ctx, tenant, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&switchyardv1.GetEventResponse{Event: eventProto(ev)}), nil
}

// ListEvents implements switchyard.v1.EventService.ListEvents.
func (s *EventService) ListEvents(ctx context.Context, req *connect.Request[switchyardv1.ListEventsRequest]) (*connect.Response[switchyardv1.ListEventsResponse], error) {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	filter := engine.EventFilter{Key: m.GetKey(), Scope: m.GetScope()}
	if m.CreatedAfter != nil {
		filter.CreatedAfter = m.GetCreatedAfter().AsTime()
	}
	if m.CreatedBefore != nil {
		filter.CreatedBefore = m.GetCreatedBefore().AsTime()
	}
	events, next, err := s.engine.ListEvents(ctx, tenant, filter, engine.Page{Size: int(m.GetPageSize()), Token: m.GetPageToken()})
	if err != nil {
		return nil, err
	}
	out := &switchyardv1.ListEventsResponse{Events: make([]*switchyardv1.Event, len(events)), NextPageToken: next}
	for i, ev := range events {
		out.Events[i] = eventProto(ev)
	}
	return connect.NewResponse(out), nil
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
	tenant, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	res, err := s.engine.ReplayEvent(ctx, tenant, req.Msg.GetId(), req.Msg.GetIdempotencyKey())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&switchyardv1.ReplayEventResponse{RunIds: res.RunIDs, SkippedTriggers: skippedProto(res.Skipped), Deduplicated: res.Deduplicated}), nil
}
