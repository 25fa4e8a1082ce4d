ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT NOT NULL DEFAULT 0;

--bun:split

ALTER TABLE api_tokens ADD COLUMN revoked_at BIGINT NOT NULL DEFAULT 0;

--bun:split

CREATE INDEX api_tokens_tenant_id ON api_tokens (tenant_id, id);
