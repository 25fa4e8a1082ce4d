-- Named rate limits a tenant declares: at most max_units per period_us
-- (microseconds). Tasks consume from them by name.
CREATE TABLE flow_rate_limits (
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    name TEXT NOT NULL,
    max_units INTEGER NOT NULL,
    period_us BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

--bun:split

-- The recent use of one key of a limit (a declared limit's key, or a trigger's
-- throttle): the latest start times and how many units each took, as a JSON
-- array of [time_us, units] pairs in ascending time. Its row is locked while a
-- start is decided, so every server process sees every other's starts.
CREATE TABLE rate_limit_windows (
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    name TEXT NOT NULL,
    limit_key TEXT NOT NULL,
    log TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name, limit_key)
);

--bun:split

-- The named limits a task consumes from, its keys evaluated when its run was
-- planned: a JSON array of {"limit", "key", "units"}.
ALTER TABLE tasks ADD COLUMN rate_limits TEXT NOT NULL DEFAULT '[]';

--bun:split

-- Why a queued task or a scheduled run waits (a rate limit, a throttle); empty
-- when nothing holds it back.
ALTER TABLE tasks ADD COLUMN wait_reason TEXT NOT NULL DEFAULT '';

--bun:split

ALTER TABLE runs ADD COLUMN wait_reason TEXT NOT NULL DEFAULT '';

--bun:split

-- The key whose run a GROUP_ROUND_ROBIN workflow admitted last (on the row of
-- its workflow-wide group, whose concurrency_key is empty).
ALTER TABLE concurrency_locks ADD COLUMN last_key TEXT NOT NULL DEFAULT '';
