// Package service holds one Go type per Connect service: the one implementation
// every protocol reaches. Handlers only convert between the API's messages and
// the engine's types; the rules live in package engine. Handlers return the
// engine's errors as they are: the server's outermost interceptor converts every
// error into its Connect code with [Errors.Convert], in one place, so no handler
// can return an unconverted one.
package service

import (
	"context"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// PushEvent implements switchyard.v1.EventService.PushEvent.
func (s *EventService) PushEvent(ctx context.Context, req *connect.Request[switchyardv1.PushEventRequest]) (*connect.Response[switchyardv1.PushEventResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.PushEventRequest) (*switchyardv1.PushEventResponse, error) {
		res, err := s.engine.PushEvent(ctx, tenant, eventInput(m))
		return pushResultProto(res), err
	})
}

// BulkPushEvents implements switchyard.v1.EventService.BulkPushEvents.
func (s *EventService) BulkPushEvents(ctx context.Context, req *connect.Request[switchyardv1.BulkPushEventsRequest]) (*connect.Response[switchyardv1.BulkPushEventsResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.BulkPushEventsRequest) (*switchyardv1.BulkPushEventsResponse, error) {
		results, err := s.engine.PushEvents(ctx, tenant, protos(m.GetEvents(), eventInput))
		return &switchyardv1.BulkPushEventsResponse{Results: protos(results, pushResultProto)}, err
	})
}

// GetEvent implements switchyard.v1.EventService.GetEvent.
func (s *EventService) GetEvent(ctx context.Context, req *connect.Request[switchyardv1.GetEventRequest]) (*connect.Response[switchyardv1.GetEventResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.GetEventRequest) (*switchyardv1.GetEventResponse, error) {
		ev, err := s.engine.GetEvent(ctx, tenant, m.GetId())
		resp := &switchyardv1.GetEventResponse{Event: eventProto(ev)}
		if ev != nil {
			resp.WokeRunIds = ev.WokeRunIDs
		}
		return resp, err
	})
}

// ListEvents implements switchyard.v1.EventService.ListEvents.
func (s *EventService) ListEvents(ctx context.Context, req *connect.Request[switchyardv1.ListEventsRequest]) (*connect.Response[switchyardv1.ListEventsResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.ListEventsRequest) (*switchyardv1.ListEventsResponse, error) {
		events, next, err := s.engine.ListEvents(ctx, tenant, eventFilter(m), pageOf(m))
		return &switchyardv1.ListEventsResponse{Events: protos(events, eventProto), NextPageToken: next}, err
	})
}

// ReplayEvent implements switchyard.v1.EventService.ReplayEvent.
func (s *EventService) ReplayEvent(ctx context.Context, req *connect.Request[switchyardv1.ReplayEventRequest]) (*connect.Response[switchyardv1.ReplayEventResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.ReplayEventRequest) (*switchyardv1.ReplayEventResponse, error) {
		res, err := s.engine.ReplayEvent(ctx, tenant, m.GetId(), m.GetIdempotencyKey())
		return replayEventProto(res), err
	})
}
