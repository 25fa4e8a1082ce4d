CREATE TABLE tenants (
    tenant_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

--bun:split

INSERT INTO tenants (tenant_id, name, created_at) VALUES ('default', 'default', 0);

--bun:split

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL DEFAULT 0
);

--bun:split

CREATE UNIQUE INDEX api_tokens_token_hash ON api_tokens (token_hash);

--bun:split

CREATE TABLE events (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    metadata TEXT NOT NULL,
    scope TEXT NOT NULL DEFAULT '',
    priority INTEGER NOT NULL DEFAULT 0,
    occurred_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    idempotency_key TEXT
);

--bun:split

CREATE UNIQUE INDEX events_tenant_idempotency_key ON events (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

--bun:split

CREATE INDEX events_tenant_id ON events (tenant_id, id);

--bun:split

CREATE INDEX events_tenant_key_id ON events (tenant_id, key, id);
