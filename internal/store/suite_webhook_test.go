package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/switchyard/switchyard/internal/store"
)

var webhookCases = []suiteCase{
	{"InsertGetUpdate", testWebhookUpdate},
	{"DeleteTakesDeliveries", testWebhookDelete},
	{"ListPages", testWebhookList},
	{"DeliveryListPages", testWebhookDeliveryList},
}

func webhookOf(tenant, id string) *store.Webhook {
	return &store.Webhook{ID: id, TenantID: tenant, Settings: rawJSON(`{"name":"` + id + `"}`), Secret: "sealed-" + id, CreatedAt: store.TimeMicros(1), UpdatedAt: store.TimeMicros(1)}
}

func deliveryOf(tenant, webhook, id string, received int64) *store.WebhookDelivery {
	return &store.WebhookDelivery{ID: id, TenantID: tenant, WebhookID: webhook, Outcome: "ACCEPTED", HTTPStatus: 202, EventID: "e-" + id, ReceivedAt: store.TimeMicros(received)}
}

func insertWebhooksOf(f *fixture, hooks []*store.Webhook, deliveries ...*store.WebhookDelivery) {
	f.t.Helper()
	f.write(func(ctx context.Context, q store.Q) error {
		for _, w := range hooks {
			if err := q.WebhookInsert(ctx, w); err != nil {
				return err
			}
		}
		for _, d := range deliveries {
			if err := q.WebhookDeliveryInsert(ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
}

func getWebhook(f *fixture, tenant, id string) (*store.Webhook, error) {
	return readErr(f, func(ctx context.Context, q store.Q) (*store.Webhook, error) { return q.WebhookGet(ctx, tenant, id) })
}

func testWebhookUpdate(t *testing.T, f *fixture) {
	insertWebhooksOf(f, []*store.Webhook{webhookOf(tenantA, "w1")})
	update := func(w *store.Webhook) error {
		return f.st.Write(f.ctx, func(ctx context.Context, q store.Q) error { return q.WebhookUpdate(ctx, w) })
	}
	byB := webhookOf(tenantB, "w1")
	byB.Settings = rawJSON(`{"name":"taken"}`)
	wantErr(t, "update of A's webhook by B", update(byB), store.ErrNotFound)
	got, _ := getWebhook(f, tenantA, "w1")
	wantEqual(t, "webhook after B's update", got, webhookOf(tenantA, "w1"))
	want := &store.Webhook{ID: "w1", TenantID: tenantA, Settings: rawJSON(`{"name":"new"}`), Secret: "sealed-new", CreatedAt: store.TimeMicros(1), UpdatedAt: store.TimeMicros(9)}
	wantEqual(t, "update by A", update(&store.Webhook{ID: "w1", TenantID: tenantA, Settings: rawJSON(`{"name":"new"}`), Secret: "sealed-new", CreatedAt: store.TimeMicros(50), UpdatedAt: store.TimeMicros(9)}), nil)
	got, _ = getWebhook(f, tenantA, "w1")
	wantEqual(t, "webhook after A's update (created_at kept)", got, want)
	// Only WebhookGetAnyTenant, the receiver's lookup, looks across tenants;
	// an empty tenant matches no webhook.
	got, _ = readErr(f, func(ctx context.Context, q store.Q) (*store.Webhook, error) { return q.WebhookGetAnyTenant(ctx, "w1") })
	wantEqual(t, "WebhookGetAnyTenant", got, want)
	for _, tenant := range []string{tenantB, ""} {
		_, err := getWebhook(f, tenant, "w1")
		wantErr(t, fmt.Sprintf("WebhookGet of A's webhook by tenant %q", tenant), err, store.ErrNotFound)
	}
	err := f.st.Write(f.ctx, func(ctx context.Context, q store.Q) error { return q.WebhookInsert(ctx, webhookOf(tenantB, "w1")) })
	wantErr(t, "webhook id of another webhook", err, store.ErrConflict)
}

func testWebhookDelete(t *testing.T, f *fixture) {
	insertWebhooksOf(f, []*store.Webhook{webhookOf(tenantA, "w1"), webhookOf(tenantA, "w2")},
		deliveryOf(tenantA, "w1", "d1", 1), deliveryOf(tenantA, "w1", "d2", 2), deliveryOf(tenantA, "w2", "d3", 3))
	del := func(tenant, id string) error {
		return f.st.Write(f.ctx, func(ctx context.Context, q store.Q) error { return q.WebhookDelete(ctx, tenant, id) })
	}
	wantErr(t, "delete of A's webhook by B", del(tenantB, "w1"), store.ErrNotFound)
	wantEqual(t, "deliveries after B's delete", ids(t, f.st, "webhook_deliveries"), []string{"d1", "d2", "d3"})
	wantEqual(t, "delete by A", del(tenantA, "w1"), nil)
	_, err := getWebhook(f, tenantA, "w1")
	wantErr(t, "deleted webhook", err, store.ErrNotFound)
	wantEqual(t, "webhooks left", ids(t, f.st, "webhooks"), []string{"w2"})
	wantEqual(t, "deliveries left", ids(t, f.st, "webhook_deliveries"), []string{"d3"})
	wantErr(t, "delete again", del(tenantA, "w1"), store.ErrNotFound)
}

func testWebhookList(t *testing.T, f *fixture) {
	insertWebhooksOf(f, []*store.Webhook{webhookOf(tenantA, "w1"), webhookOf(tenantA, "w2"), webhookOf(tenantA, "w3"), webhookOf(tenantB, "w4")})
	wantNewestFirstPages(t, f, "w", store.Q.WebhookList, func(w *store.Webhook) string { return w.ID })
}

func testWebhookDeliveryList(t *testing.T, f *fixture) {
	d1 := deliveryOf(tenantA, "w1", "d1", 10)
	d1.Outcome, d1.Reason, d1.HTTPStatus = "REJECTED", "bad signature", 401
	insertWebhooksOf(f, []*store.Webhook{webhookOf(tenantA, "w1"), webhookOf(tenantA, "w2")},
		d1, deliveryOf(tenantA, "w1", "d2", 20), deliveryOf(tenantA, "w1", "d3", 30), deliveryOf(tenantA, "w2", "d4", 40))
	list := func(tenant, webhook, before string, limit int) []*store.WebhookDelivery {
		return read(f, func(ctx context.Context, q store.Q) ([]*store.WebhookDelivery, error) {
			return q.WebhookDeliveryList(ctx, tenant, webhook, before, limit)
		})
	}
	ds := func(rows []*store.WebhookDelivery) []string {
		return idsOf(rows, func(d *store.WebhookDelivery) string { return d.ID })
	}
	wantEqual(t, "first page of w1", ds(list(tenantA, "w1", "", 2)), []string{"d3", "d2"})
	wantEqual(t, "next page of w1", list(tenantA, "w1", "d2", 2), []*store.WebhookDelivery{d1})
	wantEqual(t, "deliveries of w1 read by B", ds(list(tenantB, "w1", "", 10)), []string{})
}
