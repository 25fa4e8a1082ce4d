CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    settings TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

--bun:split

CREATE INDEX webhooks_tenant_id ON webhooks (tenant_id, id);

--bun:split

CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    webhook_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    http_status INTEGER NOT NULL,
    event_id TEXT NOT NULL DEFAULT '',
    received_at BIGINT NOT NULL
);

--bun:split

CREATE INDEX webhook_deliveries_webhook_id ON webhook_deliveries (webhook_id, id);

--bun:split

CREATE INDEX webhook_deliveries_received_at ON webhook_deliveries (received_at);
