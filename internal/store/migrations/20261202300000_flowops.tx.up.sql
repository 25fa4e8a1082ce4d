-- A paused workflow: its new runs are stored PAUSED until it is resumed.
-- skip_cron says whether cron ticks are skipped meanwhile.
CREATE TABLE workflow_pauses (
    tenant_id TEXT NOT NULL,
    workflow_name TEXT NOT NULL,
    skip_cron BOOLEAN NOT NULL DEFAULT FALSE,
    paused_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, workflow_name)
);

--bun:split

CREATE INDEX runs_paused ON runs (tenant_id, workflow_name, id) WHERE status = 'PAUSED';

--bun:split

-- An open debounce or batch window of an event trigger, per group key. It
-- fires (is deleted, and its run started) at fire_at, or at once when a batch
-- reaches max_events; the delete is what makes exactly one server fire it.
CREATE TABLE event_windows (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    workflow_name TEXT NOT NULL,
    trigger_index INTEGER NOT NULL,
    group_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL,
    first_at BIGINT NOT NULL,
    fire_at BIGINT NOT NULL,
    deadline BIGINT NOT NULL,
    UNIQUE (tenant_id, workflow_name, trigger_index, group_key)
);

--bun:split

CREATE INDEX event_windows_due ON event_windows (fire_at);

--bun:split

-- The events of a window, in order (position from 1), and once it fired the
-- run they started.
CREATE TABLE window_events (
    tenant_id TEXT NOT NULL,
    window_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    run_id TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (window_id, event_id)
);

--bun:split

CREATE INDEX window_events_event ON window_events (tenant_id, event_id);

--bun:split

CREATE INDEX window_events_run ON window_events (run_id, position);

--bun:split

-- A bulk cancel or replay: the selector, and its progress through the
-- selected runs in id order (cursor: the last id processed).
CREATE TABLE bulk_operations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    selector TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    mode TEXT NOT NULL DEFAULT '',
    matched BIGINT NOT NULL DEFAULT 0,
    processed BIGINT NOT NULL DEFAULT 0,
    affected BIGINT NOT NULL DEFAULT 0,
    cursor TEXT NOT NULL DEFAULT '',
    done BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL DEFAULT 0
);

--bun:split

CREATE INDEX bulk_operations_open ON bulk_operations (created_at) WHERE NOT done;

--bun:split

CREATE INDEX runs_open ON runs (tenant_id, workflow_name, id) WHERE status IN ('ACTIVE', 'WAITING', 'SCHEDULED', 'PAUSED');
