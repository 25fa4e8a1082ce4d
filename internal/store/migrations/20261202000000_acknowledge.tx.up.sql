-- Acknowledged assignments: sent_at is when the attempt was last sent to its
-- worker (claimed, or sent again on a new stream), acked_at when the worker
-- acknowledged receiving it (0: not yet).
ALTER TABLE tasks ADD COLUMN sent_at BIGINT NOT NULL DEFAULT 0;

--bun:split

ALTER TABLE tasks ADD COLUMN acked_at BIGINT NOT NULL DEFAULT 0;

--bun:split

-- The latest keep-alive of the worker's current stream (stream_id) that the
-- worker acknowledged (0: none yet).
ALTER TABLE workers ADD COLUMN stream_acked_seq BIGINT NOT NULL DEFAULT 0;

--bun:split

-- Whether the worker ever acknowledged anything: from then on each of its
-- streams must acknowledge its keep-alives and assignments (one that does
-- not is taken for dead), whichever server it reaches.
ALTER TABLE workers ADD COLUMN acknowledges BOOLEAN NOT NULL DEFAULT FALSE;

--bun:split

CREATE INDEX tasks_unacked ON tasks (sent_at) WHERE status = 'RUNNING' AND acked_at = 0;
