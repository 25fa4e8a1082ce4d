// The workflows list.
import { useQuery } from "@connectrpc/connect-query";
import { keepPreviousData } from "@tanstack/react-query";
import { Link } from "react-router";
import { Empty, Loading, Pager, useNow, usePager } from "../components";
import { ApiError } from "../errors";
import { age } from "../format";
import { WorkflowService, type WorkflowSpec } from "../gen/switchyard/v1/workflow_pb";

/** triggersOf lists a spec's triggers in words. */
export function triggersOf(spec: WorkflowSpec | undefined): string[] {
  if (!spec) {
    return [];
  }
  return [
    ...spec.onEvents.map((k) => `event ${k}`),
    ...spec.eventTriggers.map(
      (t) => `event ${t.key}${t.scope ? ` in scope ${t.scope}` : ""}${t.filter ? ` if ${t.filter}` : ""}`,
    ),
    ...spec.onCron.map((c) => `cron ${c.schedule}${c.timeZone ? ` (${c.timeZone})` : ""}`),
  ];
}

export function WorkflowsPage() {
  const pager = usePager("");
  const now = useNow(5000);
  const q = useQuery(
    WorkflowService.method.listWorkflows,
    { pageSize: 50, pageToken: pager.token },
    { refetchInterval: 10000, placeholderData: keepPreviousData },
  );
  return (
    <section>
      <div className="page-head">
        <h1>Workflows</h1>
      </div>
      {q.error && !q.data ? (
        <ApiError error={q.error} onRetry={() => q.refetch()} />
      ) : !q.data ? (
        <Loading what="workflows" />
      ) : q.data.workflows.length === 0 && !pager.hasPrev ? (
        <Empty title="No workflows yet.">
          Workers declare their workflows with <code>PutWorkflow</code> when they start, or send one with{" "}
          <code>curl -X POST /v1/workflows</code>.
        </Empty>
      ) : (
        <>
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Version</th>
                <th>Tasks</th>
                <th>Triggers</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {q.data.workflows.map((w) => {
                const name = w.spec?.name ?? "";
                const triggers = triggersOf(w.spec);
                return (
                  <tr key={name} data-testid="workflow-row" data-name={name}>
                    <td>
                      <Link to={`/workflows/${encodeURIComponent(name)}`} className="mono">
                        {name}
                      </Link>
                      {w.spec?.description && <div className="muted small">{w.spec.description}</div>}
                    </td>
                    <td>v{w.version}</td>
                    <td>{w.spec?.tasks.length ?? 0}</td>
                    <td className="mono small">
                      {triggers.length ? triggers.join(", ") : <span className="muted">manual only</span>}
                    </td>
                    <td>{age(w.createdAt, now)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <Pager pager={pager} nextToken={q.data.nextPageToken} />
        </>
      )}
    </section>
  );
}
