CREATE INDEX runs_tenant_workflow_id ON runs (tenant_id, workflow_name, id);

--bun:split

CREATE INDEX runs_tenant_status_id ON runs (tenant_id, status, id);

--bun:split

CREATE INDEX runs_scheduled ON runs (scheduled_at, id) WHERE status = 'SCHEDULED';

--bun:split

CREATE INDEX runs_waiting ON runs (tenant_id, workflow_name, concurrency_key, concurrency_strategy) WHERE status = 'WAITING';
