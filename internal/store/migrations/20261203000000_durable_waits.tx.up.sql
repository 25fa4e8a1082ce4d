-- A task's recorded steps (DurableService): the first record of a name wins.
-- kind is RESULT, WAIT or SPAWN; seq orders them as recorded.
CREATE TABLE task_steps (
    tenant_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    result TEXT NOT NULL DEFAULT 'null',
    wait_result TEXT NOT NULL DEFAULT '',
    child_run_ids TEXT NOT NULL DEFAULT '[]',
    seq BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (task_id, name)
);

--bun:split

-- One condition of a durable wait; a wait is every row of one (task_id,
-- step). state: pending (declared, not yet armed), open, satisfied,
-- timed_out, cancelled. match is the indexed equality of an event
-- condition ("<payload path>=<JSON value>"), '' when it has none. handled
-- says the resolver has taken the row's outcome into account.
CREATE TABLE waits (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    step TEXT NOT NULL,
    cond TEXT NOT NULL,
    seq INTEGER NOT NULL,
    mode TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL DEFAULT '',
    is_pattern BOOLEAN NOT NULL DEFAULT FALSE,
    expression TEXT NOT NULL DEFAULT '',
    match TEXT NOT NULL DEFAULT '',
    child_run_id TEXT NOT NULL DEFAULT '',
    deadline BIGINT NOT NULL DEFAULT 0,
    lookback_from BIGINT NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    event_id TEXT NOT NULL DEFAULT '',
    handled BOOLEAN NOT NULL DEFAULT FALSE,
    resolved_at BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

--bun:split

CREATE INDEX waits_event_match ON waits (tenant_id, key, match) WHERE state = 'open' AND kind = 'event';

--bun:split

CREATE INDEX waits_pattern_match ON waits (tenant_id, match) WHERE state = 'open' AND is_pattern;

--bun:split

CREATE INDEX waits_deadline ON waits (deadline) WHERE state = 'open' AND deadline > 0;

--bun:split

CREATE INDEX waits_child ON waits (child_run_id) WHERE state = 'open' AND kind = 'child';

--bun:split

CREATE INDEX waits_unhandled ON waits (task_id) WHERE NOT handled AND state <> 'open';

--bun:split

CREATE INDEX waits_task ON waits (task_id, step);

--bun:split

CREATE INDEX waits_run ON waits (run_id);

--bun:split

CREATE INDEX waits_event ON waits (event_id) WHERE event_id <> '';

--bun:split

ALTER TABLE runs ADD COLUMN parent_run_id TEXT NOT NULL DEFAULT '';

--bun:split

ALTER TABLE runs ADD COLUMN parent_task_id TEXT NOT NULL DEFAULT '';

--bun:split

ALTER TABLE runs ADD COLUMN child_key TEXT NOT NULL DEFAULT '';

--bun:split

-- waiting: the run is ACTIVE with no task queued or running and a task
-- WAITING on a durable wait; has_children: it spawned child runs.
ALTER TABLE runs ADD COLUMN waiting BOOLEAN NOT NULL DEFAULT FALSE;

--bun:split

ALTER TABLE runs ADD COLUMN has_children BOOLEAN NOT NULL DEFAULT FALSE;

--bun:split

CREATE UNIQUE INDEX runs_child_key ON runs (parent_task_id, child_key) WHERE child_key <> '';

--bun:split

CREATE INDEX runs_parent ON runs (parent_run_id, id) WHERE parent_run_id <> '';

--bun:split

CREATE INDEX runs_durable_waiting ON runs (tenant_id, id) WHERE waiting;

--bun:split

-- resumes: attempts that resumed the task after a wait (not counted against
-- its retries); declared: its declared wait_for, skip_if, cancel_if and
-- on_wait_timeout (JSON, '' when none).
ALTER TABLE tasks ADD COLUMN resumes INTEGER NOT NULL DEFAULT 0;

--bun:split

ALTER TABLE tasks ADD COLUMN declared TEXT NOT NULL DEFAULT '';
