ALTER TABLE events ADD COLUMN skipped TEXT NOT NULL DEFAULT '[]';

--bun:split

ALTER TABLE runs ADD COLUMN trigger_kind TEXT NOT NULL DEFAULT 'EVENT';

--bun:split

UPDATE runs SET trigger_kind = 'MANUAL' WHERE event_id = '';

--bun:split

ALTER TABLE runs ADD COLUMN replay_of TEXT NOT NULL DEFAULT '';

--bun:split

ALTER TABLE runs ADD COLUMN cron_tick BIGINT NOT NULL DEFAULT 0;

--bun:split

ALTER TABLE runs ADD COLUMN scheduled_at BIGINT NOT NULL DEFAULT 0;

--bun:split

ALTER TABLE runs ADD COLUMN concurrency_key TEXT NOT NULL DEFAULT '';

--bun:split

ALTER TABLE runs ADD COLUMN concurrency_max INTEGER NOT NULL DEFAULT 0;

--bun:split

ALTER TABLE runs ADD COLUMN concurrency_strategy TEXT NOT NULL DEFAULT '';

--bun:split

CREATE INDEX runs_admission ON runs (status, scheduled_at) WHERE status IN ('SCHEDULED', 'WAITING');

--bun:split

CREATE INDEX runs_concurrency ON runs (tenant_id, workflow_name, concurrency_key, status) WHERE concurrency_key <> '';

--bun:split

ALTER TABLE tasks ADD COLUMN queue_rank BIGINT NOT NULL DEFAULT 0;

--bun:split

UPDATE tasks SET queue_rank = available_at - priority * 10000000;

--bun:split

DROP INDEX tasks_queued;

--bun:split

CREATE INDEX tasks_queued ON tasks (tenant_id, action, queue_rank, id) WHERE status = 'QUEUED';

--bun:split

CREATE TABLE concurrency_locks (
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    workflow_name TEXT NOT NULL,
    concurrency_key TEXT NOT NULL,
    locked_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, workflow_name, concurrency_key)
);

--bun:split

CREATE TABLE cron_schedules (
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    workflow_name TEXT NOT NULL,
    schedule TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    next_tick_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, workflow_name, schedule, time_zone)
);

--bun:split

CREATE INDEX cron_schedules_next_tick_at ON cron_schedules (next_tick_at);

--bun:split

CREATE TABLE replays (
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    idempotency_key TEXT NOT NULL,
    source TEXT NOT NULL,
    run_ids TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, idempotency_key)
);
