package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Webhook is a stored webhook. Secret is sealed with the server's secret key.
type Webhook struct {
	bun.BaseModel `bun:"table:webhooks"`

	ID       string `bun:"id,pk"`
	TenantID string `bun:"tenant_id"`
	// Settings is the engine's JSON form of the settings, kept as written.
	Settings  JSON[json.RawMessage] `bun:"settings"`
	Secret    string                `bun:"secret"`
	CreatedAt Time                  `bun:"created_at"`
	UpdatedAt Time                  `bun:"updated_at"`
}

// WebhookDelivery records one request to a webhook.
type WebhookDelivery struct {
	bun.BaseModel `bun:"table:webhook_deliveries"`

	ID         string `bun:"id,pk"`
	TenantID   string `bun:"tenant_id"`
	WebhookID  string `bun:"webhook_id"`
	Outcome    string `bun:"outcome"`
	Reason     string `bun:"reason"`
	HTTPStatus int32  `bun:"http_status"`
	EventID    string `bun:"event_id"`
	ReceivedAt Time   `bun:"received_at"`
}

// WebhookInsert stores a webhook.
func (q Q) WebhookInsert(ctx context.Context, w *Webhook) error {
	if _, err := q.db.NewInsert().Model(w).Exec(ctx); err != nil {
		return fmt.Errorf("insert webhook: %w", translate(err))
	}
	return nil
}

// WebhookGet returns a tenant's webhook by id. An empty tenantID matches no
// webhook: only [Q.WebhookGetAnyTenant] looks across tenants.
func (q Q) WebhookGet(ctx context.Context, tenantID, id string) (*Webhook, error) {
	return getOne[Webhook](ctx, q, false, "webhook "+id, "id = ? AND tenant_id = ?", id, tenantID)
}

// WebhookGetAnyTenant returns a webhook by id, whatever its tenant: the
// receiver learns the tenant from the webhook.
func (q Q) WebhookGetAnyTenant(ctx context.Context, id string) (*Webhook, error) {
	return getOne[Webhook](ctx, q, false, "webhook "+id, "id = ?", id)
}

// WebhookUpdate writes a webhook's settings, secret and update time; it returns
// ErrNotFound when the tenant has no such webhook.
func (q Q) WebhookUpdate(ctx context.Context, w *Webhook) error {
	res, err := q.db.NewUpdate().Model(w).Column("settings", "secret", "updated_at").
		Where("id = ? AND tenant_id = ?", w.ID, w.TenantID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("update webhook %s: %w", w.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("update webhook %s: %w", w.ID, ErrNotFound)
	}
	return nil
}

// WebhookDelete deletes a webhook and its deliveries; ErrNotFound when the
// tenant has no such webhook.
func (q Q) WebhookDelete(ctx context.Context, tenantID, id string) error {
	res, err := q.db.NewDelete().Model((*Webhook)(nil)).Where("id = ? AND tenant_id = ?", id, tenantID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("delete webhook %s: %w", id, ErrNotFound)
	}
	if _, err := q.db.NewDelete().Model((*WebhookDelivery)(nil)).Where("webhook_id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("delete deliveries of webhook %s: %w", id, err)
	}
	return nil
}

// WebhookList returns the tenant's webhooks, newest first.
func (q Q) WebhookList(ctx context.Context, tenantID, beforeID string, limit int) ([]*Webhook, error) {
	return list[Webhook](ctx, q, "webhooks", ListPage{BeforeID: beforeID, Limit: limit}, byTenant(tenantID))
}

// WebhookDeliveryInsert records a delivery.
func (q Q) WebhookDeliveryInsert(ctx context.Context, d *WebhookDelivery) error {
	if _, err := q.db.NewInsert().Model(d).Exec(ctx); err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	return nil
}

// WebhookDeliveryList returns a webhook's deliveries, newest first.
func (q Q) WebhookDeliveryList(ctx context.Context, tenantID, webhookID, beforeID string, limit int) ([]*WebhookDelivery, error) {
	return list[WebhookDelivery](ctx, q, "deliveries", ListPage{BeforeID: beforeID, Limit: limit}, func(sel *bun.SelectQuery) {
		sel.Where("tenant_id = ? AND webhook_id = ?", tenantID, webhookID)
	})
}

// WebhookDeliveryPrune deletes deliveries received before the time.
func (q Q) WebhookDeliveryPrune(ctx context.Context, before time.Time) (int64, error) {
	res, err := q.db.NewDelete().Model((*WebhookDelivery)(nil)).Where("received_at < ?", TimeOf(before)).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune deliveries: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
