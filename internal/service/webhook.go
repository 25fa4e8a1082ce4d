package service

import (
	"context"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// CreateWebhook implements switchyard.v1.WebhookService.CreateWebhook.
func (s *WebhookService) CreateWebhook(ctx context.Context, req *connect.Request[switchyardv1.CreateWebhookRequest]) (*connect.Response[switchyardv1.CreateWebhookResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.CreateWebhookRequest) (*switchyardv1.CreateWebhookResponse, error) {
		w, secret, err := s.engine.CreateWebhook(ctx, tenant, settingsFromProto(m.GetSettings()), m.GetSecret())
		return &switchyardv1.CreateWebhookResponse{Webhook: webhookProto(w), Secret: secret}, err
	})
}

// GetWebhook implements switchyard.v1.WebhookService.GetWebhook.
func (s *WebhookService) GetWebhook(ctx context.Context, req *connect.Request[switchyardv1.GetWebhookRequest]) (*connect.Response[switchyardv1.GetWebhookResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.GetWebhookRequest) (*switchyardv1.GetWebhookResponse, error) {
		w, err := s.engine.GetWebhook(ctx, tenant, m.GetId())
		return &switchyardv1.GetWebhookResponse{Webhook: webhookProto(w)}, err
	})
}

// ListWebhooks implements switchyard.v1.WebhookService.ListWebhooks.
func (s *WebhookService) ListWebhooks(ctx context.Context, req *connect.Request[switchyardv1.ListWebhooksRequest]) (*connect.Response[switchyardv1.ListWebhooksResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.ListWebhooksRequest) (*switchyardv1.ListWebhooksResponse, error) {
		ws, next, err := s.engine.ListWebhooks(ctx, tenant, pageOf(m))
		return &switchyardv1.ListWebhooksResponse{Webhooks: protos(ws, webhookProto), NextPageToken: next}, err
	})
}

// UpdateWebhook implements switchyard.v1.WebhookService.UpdateWebhook.
func (s *WebhookService) UpdateWebhook(ctx context.Context, req *connect.Request[switchyardv1.UpdateWebhookRequest]) (*connect.Response[switchyardv1.UpdateWebhookResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.UpdateWebhookRequest) (*switchyardv1.UpdateWebhookResponse, error) {
		w, err := s.engine.UpdateWebhook(ctx, tenant, m.GetId(), settingsFromProto(m.GetSettings()))
		return &switchyardv1.UpdateWebhookResponse{Webhook: webhookProto(w)}, err
	})
}

// DeleteWebhook implements switchyard.v1.WebhookService.DeleteWebhook.
func (s *WebhookService) DeleteWebhook(ctx context.Context, req *connect.Request[switchyardv1.DeleteWebhookRequest]) (*connect.Response[switchyardv1.DeleteWebhookResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.DeleteWebhookRequest) (*switchyardv1.DeleteWebhookResponse, error) {
		return &switchyardv1.DeleteWebhookResponse{}, s.engine.DeleteWebhook(ctx, tenant, m.GetId())
	})
}

// RotateWebhookSecret implements switchyard.v1.WebhookService.RotateWebhookSecret.
func (s *WebhookService) RotateWebhookSecret(ctx context.Context, req *connect.Request[switchyardv1.RotateWebhookSecretRequest]) (*connect.Response[switchyardv1.RotateWebhookSecretResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.RotateWebhookSecretRequest) (*switchyardv1.RotateWebhookSecretResponse, error) {
		w, secret, err := s.engine.RotateWebhookSecret(ctx, tenant, m.GetId(), m.GetSecret())
		return &switchyardv1.RotateWebhookSecretResponse{Webhook: webhookProto(w), Secret: secret}, err
	})
}

// ListWebhookDeliveries implements switchyard.v1.WebhookService.ListWebhookDeliveries.
func (s *WebhookService) ListWebhookDeliveries(ctx context.Context, req *connect.Request[switchyardv1.ListWebhookDeliveriesRequest]) (*connect.Response[switchyardv1.ListWebhookDeliveriesResponse], error) {
	return unary(ctx, req, func(tenant string, m *switchyardv1.ListWebhookDeliveriesRequest) (*switchyardv1.ListWebhookDeliveriesResponse, error) {
		ds, next, err := s.engine.ListWebhookDeliveries(ctx, tenant, m.GetWebhookId(), pageOf(m))
		return &switchyardv1.ListWebhookDeliveriesResponse{Deliveries: protos(ds, deliveryProto), NextPageToken: next}, err
	})
}
