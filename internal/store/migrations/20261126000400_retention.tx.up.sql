CREATE INDEX runs_ended ON runs (finished_at) WHERE status IN ('SUCCEEDED', 'FAILED', 'CANCELLED');

--bun:split

CREATE INDEX events_created_at ON events (created_at);

--bun:split

CREATE INDEX replays_created_at ON replays (created_at);

--bun:split

CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
