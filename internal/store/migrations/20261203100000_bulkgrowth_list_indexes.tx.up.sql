CREATE INDEX runs_tenant_workflow_id ON runs (tenant_id, workflow_name, id);

--bun:split

CREATE INDEX runs_tenant_status_id ON runs (tenant_id, status, id);
