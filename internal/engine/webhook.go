package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/webhook"
)

// The webhook schemes, as stored.
var webhookSchemes = map[string]webhook.Scheme{
	"NONE":   webhook.SchemeNone,
	"GITHUB": webhook.SchemeGitHub,
	"STRIPE": webhook.SchemeStripe,
	"SLACK":  webhook.SchemeSlack,
	"SVIX":   webhook.SchemeSvix,
	"HMAC":   webhook.SchemeHMAC,
	"BEARER": webhook.SchemeBearer,
}

// DeliveryRetention is how long webhook deliveries are kept.
const DeliveryRetention = 7 * 24 * time.Hour

// WebhookSettings is what a user configures on a webhook.
type WebhookSettings struct {
	Name                  string             `json:"name"`
	Scheme                string             `json:"scheme"` // a key of webhookSchemes
	HMAC                  webhook.HMACConfig `json:"hmac"`
	Tolerance             time.Duration      `json:"tolerance"`
	KeyExpression         string             `json:"key_expression"`
	ScopeExpression       string             `json:"scope_expression,omitempty"`
	IdempotencyExpression string             `json:"idempotency_expression,omitempty"`
}

// Webhook is a stored webhook, without its secret.
type Webhook struct {
	ID        string
	Settings  WebhookSettings
	CreatedAt time.Time
	UpdatedAt time.Time
}

// check compiles the settings' expressions and checks the scheme's settings.
func (s *WebhookSettings) check() error {
	if _, ok := webhookSchemes[s.Scheme]; !ok {
		return invalid("settings.scheme", "scheme.known", "unknown scheme %q", s.Scheme)
	}
	if s.Scheme == "HMAC" {
		if err := webhook.ValidateHMACConfig(s.HMAC); err != nil {
			return invalid("settings.hmac", "hmac.valid", "%v", err)
		}
	} else {
		s.HMAC = webhook.HMACConfig{}
	}
	for _, ex := range []struct{ field, expr string }{
		{"settings.key_expression", s.KeyExpression},
		{"settings.scope_expression", s.ScopeExpression},
		{"settings.idempotency_expression", s.IdempotencyExpression},
	} {
		if ex.expr == "" {
			continue
		}
		if _, err := compileRequestExpr(ex.expr); err != nil {
			return invalid(ex.field, "cel.compile", "%v", err)
		}
	}
	return nil
}

func webhookFromRow(row *store.Webhook) (*Webhook, error) {
	w := &Webhook{ID: row.ID, CreatedAt: row.CreatedAt.Time, UpdatedAt: row.UpdatedAt.Time}
	if err := decodeStored("webhook "+row.ID+" settings", row.Settings, &w.Settings); err != nil {
		return nil, err
	}
	return w, nil
}

func notFoundWebhook(id string) error {
	return &Error{Kind: KindNotFound, Message: fmt.Sprintf("webhook %s not found", id)}
}

// CreateWebhook stores a webhook with secret (a new random one when empty) and
// returns the secret, which is shown this once.
func (e *Engine) CreateWebhook(ctx context.Context, tenantID string, s WebhookSettings, secret string) (*Webhook, string, error) {
	if err := s.check(); err != nil {
		return nil, "", err
	}
	if secret == "" {
		secret = webhook.NewSecret()
	}
	sealed, err := e.seal(secret)
	if err != nil {
		return nil, "", err
	}
	settings, err := storedJSON(s)
	if err != nil {
		return nil, "", err
	}
	now := store.TimeOf(e.now())
	row := &store.Webhook{ID: newID(), TenantID: tenantID, Settings: settings, Secret: sealed, CreatedAt: now, UpdatedAt: now}
	if err := e.write(ctx, func(ctx context.Context, q store.Q, _ *signals) error { return q.WebhookInsert(ctx, row) }); err != nil {
		return nil, "", fmt.Errorf("create webhook: %w", err)
	}
	w, err := webhookFromRow(row)
	if err != nil {
		return nil, "", err
	}
	return w, secret, nil
}

// GetWebhook returns a webhook of the tenant.
func (e *Engine) GetWebhook(ctx context.Context, tenantID, id string) (*Webhook, error) {
	row, err := e.webhookRow(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	return webhookFromRow(row)
}

// webhookRow reads a tenant's webhook.
func (e *Engine) webhookRow(ctx context.Context, tenantID, id string) (*store.Webhook, error) {
	return e.readWebhook(ctx, id, func(ctx context.Context, q store.Q) (*store.Webhook, error) {
		return q.WebhookGet(ctx, tenantID, id)
	})
}

// readWebhook reads the webhook id with get.
func (e *Engine) readWebhook(ctx context.Context, id string, get func(context.Context, store.Q) (*store.Webhook, error)) (*store.Webhook, error) {
	row, err := read(ctx, e.store, get)
	if err = answer(err, notFoundWebhook(id), "get webhook %s", id); err != nil {
		return nil, err
	}
	return row, nil
}

// ListWebhooks returns one page of the tenant's webhooks, newest first.
func (e *Engine) ListWebhooks(ctx context.Context, tenantID string, page Page) ([]*Webhook, string, error) {
	return listPage(ctx, e, "webhooks", page, struct{}{},
		func(ctx context.Context, q store.Q, after string, limit int) ([]*store.Webhook, error) {
			return q.WebhookList(ctx, tenantID, after, limit)
		},
		func(r *store.Webhook) string { return r.ID }, webhookFromRow)
}

// UpdateWebhook replaces a webhook's settings; its secret stays.
func (e *Engine) UpdateWebhook(ctx context.Context, tenantID, id string, s WebhookSettings) (*Webhook, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	settings, err := storedJSON(s)
	if err != nil {
		return nil, err
	}
	return e.changeWebhook(ctx, tenantID, id, func(row *store.Webhook) error {
		row.Settings = settings
		return nil
	})
}

// RotateWebhookSecret replaces a webhook's secret (with a new random one when
// secret is empty) and returns it, shown this once.
func (e *Engine) RotateWebhookSecret(ctx context.Context, tenantID, id, secret string) (*Webhook, string, error) {
	if secret == "" {
		secret = webhook.NewSecret()
	}
	sealed, err := e.seal(secret)
	if err != nil {
		return nil, "", err
	}
	w, err := e.changeWebhook(ctx, tenantID, id, func(row *store.Webhook) error {
		row.Secret = sealed
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return w, secret, nil
}

func (e *Engine) changeWebhook(ctx context.Context, tenantID, id string, change func(*store.Webhook) error) (*Webhook, error) {
	var row *store.Webhook
	err := e.write(ctx, func(ctx context.Context, q store.Q, _ *signals) error {
		var err error
		if row, err = q.WebhookGet(ctx, tenantID, id); err != nil {
			return err
		}
		if err := change(row); err != nil {
			return err
		}
		row.UpdatedAt = store.TimeOf(e.now())
		return q.WebhookUpdate(ctx, row)
	})
	if err = answer(err, notFoundWebhook(id), "update webhook %s", id); err != nil {
		return nil, err
	}
	return webhookFromRow(row)
}

// DeleteWebhook deletes a webhook and its deliveries.
func (e *Engine) DeleteWebhook(ctx context.Context, tenantID, id string) error {
	err := e.write(ctx, func(ctx context.Context, q store.Q, _ *signals) error { return q.WebhookDelete(ctx, tenantID, id) })
	if err = answer(err, notFoundWebhook(id), "delete webhook %s", id); err != nil {
		return err
	}
	return nil
}

// Delivery outcomes, as stored.
const (
	DeliveryAccepted  = "ACCEPTED"
	DeliveryDuplicate = "DUPLICATE"
	DeliveryRejected  = "REJECTED"
)

// Delivery is one recorded request to a webhook.
type Delivery struct {
	ID         string
	Outcome    string
	Reason     string
	HTTPStatus int32
	EventID    string
	ReceivedAt time.Time
}

// RecordDelivery records what became of a request to a webhook. It is written
// apart from the event (a rejected delivery stores nothing else), and a failure
// to record is logged, not returned: the sender's answer does not depend on it.
func (e *Engine) RecordDelivery(ctx context.Context, tenantID, webhookID string, d Delivery) {
	row := &store.WebhookDelivery{
		ID: newID(), TenantID: tenantID, WebhookID: webhookID, Outcome: d.Outcome, Reason: d.Reason,
		HTTPStatus: d.HTTPStatus, EventID: d.EventID, ReceivedAt: store.TimeOf(e.now()),
	}
	err := e.write(context.WithoutCancel(ctx), func(ctx context.Context, q store.Q, _ *signals) error { return q.WebhookDeliveryInsert(ctx, row) })
	if err != nil {
		e.log.WarnContext(ctx, "webhook delivery not recorded", "webhook_id", webhookID, "error", err.Error())
	}
}

// deliveryPruneInterval spaces the pruning of old webhook deliveries.
const deliveryPruneInterval = 10 * time.Minute

// pruneDeliveries deletes deliveries older than [DeliveryRetention]; every
// server process does, every deliveryPruneInterval.
func (e *Engine) pruneDeliveries(ctx context.Context) error {
	before := e.now().Add(-DeliveryRetention)
	return e.write(ctx, func(ctx context.Context, q store.Q, _ *signals) error {
		_, err := q.WebhookDeliveryPrune(ctx, before)
		return err
	})
}

// ListWebhookDeliveries returns one page of a webhook's deliveries, newest first.
func (e *Engine) ListWebhookDeliveries(ctx context.Context, tenantID, webhookID string, page Page) ([]*Delivery, string, error) {
	if _, err := e.webhookRow(ctx, tenantID, webhookID); err != nil {
		return nil, "", err
	}
	return listPage(ctx, e, "deliveries", page, webhookID,
		func(ctx context.Context, q store.Q, after string, limit int) ([]*store.WebhookDelivery, error) {
			return q.WebhookDeliveryList(ctx, tenantID, webhookID, after, limit)
		},
		func(r *store.WebhookDelivery) string { return r.ID },
		always(func(r *store.WebhookDelivery) *Delivery {
			return &Delivery{ID: r.ID, Outcome: r.Outcome, Reason: r.Reason, HTTPStatus: r.HTTPStatus, EventID: r.EventID, ReceivedAt: r.ReceivedAt.Time}
		}))
}

// WebhookTarget is what the receiver needs to turn a request into an event.
type WebhookTarget struct {
	TenantID string
	Verifier webhook.Verifier
	exprs    *webhookExprs
}

// webhookCache keeps compiled targets by webhook id and update time.
type webhookCache struct {
	mu      sync.Mutex
	targets map[string]*WebhookTarget
}

// WebhookTarget returns the webhook's tenant, verifier and compiled expressions.
func (e *Engine) WebhookTarget(ctx context.Context, id string) (*WebhookTarget, error) {
	// The receiver's request names only the webhook, which names its tenant.
	row, err := e.readWebhook(ctx, id, func(ctx context.Context, q store.Q) (*store.Webhook, error) {
		return q.WebhookGetAnyTenant(ctx, id)
	})
	if err != nil {
		return nil, err
	}
	cacheKey := fmt.Sprint(row.ID, "@", row.UpdatedAt)
	e.webhooks.mu.Lock()
	t := e.webhooks.targets[cacheKey]
	e.webhooks.mu.Unlock()
	if t != nil {
		return t, nil
	}
	w, err := webhookFromRow(row)
	if err != nil {
		return nil, err
	}
	secret, err := e.open(row.Secret)
	if err != nil {
		return nil, err
	}
	exprs, err := compileWebhookExprs(w.Settings)
	if err != nil {
		return nil, fmt.Errorf("webhook %s: stored expressions: %w", id, err)
	}
	t = &WebhookTarget{
		TenantID: row.TenantID,
		Verifier: webhook.Verifier{Scheme: webhookSchemes[w.Settings.Scheme], Secret: secret, HMAC: w.Settings.HMAC, Tolerance: w.Settings.Tolerance},
		exprs:    exprs,
	}
	e.webhooks.mu.Lock()
	if e.webhooks.targets == nil || len(e.webhooks.targets) > 10_000 {
		e.webhooks.targets = make(map[string]*WebhookTarget)
	}
	e.webhooks.targets[cacheKey] = t
	e.webhooks.mu.Unlock()
	return t, nil
}
