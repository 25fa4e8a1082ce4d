ALTER TABLE workers ADD COLUMN idempotency_key TEXT NOT NULL DEFAULT '';

--bun:split

CREATE UNIQUE INDEX workers_idempotency_key ON workers (tenant_id, idempotency_key) WHERE idempotency_key <> '';
