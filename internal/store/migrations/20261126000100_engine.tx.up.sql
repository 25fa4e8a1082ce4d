ALTER TABLE tenants ADD COLUMN workflows_generation BIGINT NOT NULL DEFAULT 0;

--bun:split

CREATE TABLE workflows (
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    spec TEXT NOT NULL,
    spec_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name, version)
);

--bun:split

CREATE TABLE workflow_heads (
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

--bun:split

CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    workflow_name TEXT NOT NULL,
    workflow_version INTEGER NOT NULL,
    status TEXT NOT NULL,
    event_id TEXT NOT NULL DEFAULT '',
    input TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    priority INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL DEFAULT 0
);

--bun:split

CREATE UNIQUE INDEX runs_tenant_idempotency_key ON runs (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

--bun:split

CREATE INDEX runs_tenant_id ON runs (tenant_id, id);

--bun:split

CREATE INDEX runs_tenant_event ON runs (tenant_id, event_id);

--bun:split

CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    run_id TEXT NOT NULL REFERENCES runs (id),
    name TEXT NOT NULL,
    action TEXT NOT NULL,
    parents TEXT NOT NULL,
    status TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    initial_backoff_ms BIGINT NOT NULL,
    max_backoff_ms BIGINT NOT NULL,
    timeout_ms BIGINT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    worker_id TEXT NOT NULL DEFAULT '',
    output TEXT,
    error TEXT NOT NULL DEFAULT '',
    available_at BIGINT NOT NULL,
    lease_expires_at BIGINT NOT NULL DEFAULT 0,
    started_at BIGINT NOT NULL DEFAULT 0,
    finished_at BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

--bun:split

CREATE INDEX tasks_queued ON tasks (tenant_id, action, priority DESC, available_at, id) WHERE status = 'QUEUED';

--bun:split

CREATE INDEX tasks_running_lease ON tasks (lease_expires_at) WHERE status = 'RUNNING';

--bun:split

CREATE INDEX tasks_worker ON tasks (worker_id, status);

--bun:split

CREATE INDEX tasks_run ON tasks (run_id);

--bun:split

CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    name TEXT NOT NULL,
    actions TEXT NOT NULL,
    slots INTEGER NOT NULL,
    labels TEXT NOT NULL,
    connected BOOLEAN NOT NULL DEFAULT FALSE,
    last_heartbeat_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

--bun:split

CREATE INDEX workers_tenant_id ON workers (tenant_id, id);
