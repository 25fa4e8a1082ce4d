// The runs list: filters, cursor paging, live.
import { useQuery } from "@connectrpc/connect-query";
import { Link, useSearchParams } from "react-router";
import { Empty, Loading, Pager, RunLink, Status, useFilterParam, useNow, usePager, usePagingPlaceholder } from "../components";
import { ApiError } from "../errors";
import { age, formatTime, runStatusName, span, triggerName } from "../format";
import { RunService, RunStatus, RunTrigger, type ListRunsResponse, type Run } from "../gen/switchyard/v1/run_pb";

const statuses = [
  RunStatus.QUEUED,
  RunStatus.RUNNING,
  RunStatus.SUCCEEDED,
  RunStatus.FAILED,
  RunStatus.CANCELLED,
  RunStatus.SCHEDULED,
  RunStatus.WAITING,
];

const triggers = [RunTrigger.EVENT, RunTrigger.CRON, RunTrigger.MANUAL, RunTrigger.REPLAY];

function triggerFromName(name: string | null): RunTrigger {
  return triggers.find((t) => triggerName(t) === name) ?? RunTrigger.UNSPECIFIED;
}

/** setParam returns an updater of URL search params that sets (or, with "", removes) one. */
function setParam(name: string, value: string) {
  return (p: URLSearchParams) => {
    const n = new URLSearchParams(p);
    if (value) {
      n.set(name, value);
    } else {
      n.delete(name);
    }
    return n;
  };
}

function statusFromName(name: string | null): RunStatus {
  return statuses.find((s) => runStatusName(s) === name) ?? RunStatus.UNSPECIFIED;
}

/** RunsTable shows runs as rows; it is shared with the workflow page. */
export function RunsTable({ runs, showWorkflow = true }: { runs: Run[]; showWorkflow?: boolean }) {
  const now = useNow();
  return (
    <table className="table">
      <thead>
        <tr>
          <th>Run</th>
          <th>Status</th>
          {showWorkflow && <th>Workflow</th>}
          <th>Trigger</th>
          <th>Age</th>
          <th>Duration</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr
            key={r.id}
            data-testid="run-row"
            data-run-id={r.id}
            data-status={runStatusName(r.status)}
            data-workflow={r.workflow}
          >
            <td>
              <RunLink id={r.id} />
            </td>
            <td>
              <Status name={runStatusName(r.status)} />
            </td>
            {showWorkflow && (
              <td>
                <Link to={`/workflows/${encodeURIComponent(r.workflow)}`}>{r.workflow}</Link>{" "}
                <span className="muted">v{r.workflowVersion}</span>
              </td>
            )}
            <td>{triggerName(r.trigger)}</td>
            <td title={formatTime(r.createdAt)}>
              {age(r.createdAt, now)}
            </td>
            <td>{span(r.createdAt, r.finishedAt, now)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function RunsPage() {
  const [params, setParams] = useSearchParams();
  const status = statusFromName(params.get("status"));
  const trigger = triggerFromName(params.get("trigger"));
  const [workflow, workflowText, setWorkflowText] = useFilterParam("workflow");
  const filterKey = `${status}|${workflow}|${trigger}`;
  const pager = usePager(filterKey);
  const placeholder = usePagingPlaceholder<ListRunsResponse>(filterKey);

  const q = useQuery(
    RunService.method.listRuns,
    { status, workflow, trigger, pageSize: 25, pageToken: pager.token },
    { refetchInterval: 2000, placeholderData: placeholder.placeholderData },
  );
  placeholder.settle(q);

  return (
    <section>
      <div className="page-head">
        <h1>Runs</h1>
        <span className="live" title="Refreshed every 2 seconds">
          live
        </span>
      </div>
      <div className="filters">
        <label className="field inline">
          <span>Status</span>
          <select
            data-testid="filter-status"
            value={status === RunStatus.UNSPECIFIED ? "" : runStatusName(status)}
            onChange={(e) => setParams(setParam("status", e.target.value), { replace: true })}
          >
            <option value="">any</option>
            {statuses.map((s) => (
              <option key={s} value={runStatusName(s)}>
                {runStatusName(s)}
              </option>
            ))}
          </select>
        </label>
        <label className="field inline">
          <span>Workflow</span>
          <input
            data-testid="filter-workflow"
            placeholder="any workflow"
            value={workflowText}
            onChange={(e) => setWorkflowText(e.target.value)}
            spellCheck={false}
          />
        </label>
        <label className="field inline">
          <span>Trigger</span>
          <select
            data-testid="filter-trigger"
            value={trigger === RunTrigger.UNSPECIFIED ? "" : triggerName(trigger)}
            onChange={(e) => setParams(setParam("trigger", e.target.value), { replace: true })}
          >
            <option value="">any</option>
            {triggers.map((t) => (
              <option key={t} value={triggerName(t)}>
                {triggerName(t)}
              </option>
            ))}
          </select>
        </label>
      </div>
      {q.error && !q.data ? (
        <ApiError error={q.error} onRetry={() => q.refetch()} />
      ) : !q.data ? (
        <Loading what="runs" />
      ) : (
        <>
          {q.error && <ApiError error={q.error} onRetry={() => q.refetch()} compact />}
          {q.data.runs.length === 0 ? (
            status !== RunStatus.UNSPECIFIED || workflow || trigger !== RunTrigger.UNSPECIFIED ? (
              <Empty title="No runs match these filters.">Clear the filters to see every run.</Empty>
            ) : pager.hasPrev ? (
              <Empty title="No more runs." />
            ) : (
              <Empty title="No runs yet.">
                Push an event that a workflow listens to (<Link to="/push">Push event</Link>), or start one by hand
                from <Link to="/workflows">Workflows</Link>.
              </Empty>
            )
          ) : (
            <RunsTable runs={q.data.runs} />
          )}
          <Pager pager={pager} nextToken={q.data.nextPageToken} />
        </>
      )}
    </section>
  );
}
