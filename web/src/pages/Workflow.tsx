// The workflow page: spec, versions, triggers, recent runs, Run now.
import { toJson } from "@bufbuild/protobuf";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";
import { Empty, Json, Loading, parseJsonObject } from "../components";
import { layout, NODE_H, NODE_W } from "../dag";
import { ApiError } from "../errors";
import { formatTime } from "../format";
import { RunService } from "../gen/switchyard/v1/run_pb";
import {
  WorkflowService,
  WorkflowSpecSchema,
  type RunWorkflowRequest,
  type WorkflowSpec,
} from "../gen/switchyard/v1/workflow_pb";
import { RunsTable } from "./Runs";
import { triggersOf } from "./Workflows";
import { useCan } from "../whoami";

function SpecDag({ spec }: { spec: WorkflowSpec }) {
  const g = layout(spec.tasks.map((t) => ({ name: t.name, parents: t.parents })));
  return (
    <div className="dag-wrap">
      <svg className="dag" width={g.width} height={g.height} viewBox={`0 0 ${g.width} ${g.height}`} role="img" aria-label="The workflow's tasks">
        <defs>
          <marker id="arrow-spec" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="7" markerHeight="7" orient="auto">
            <path d="M0,0 L10,5 L0,10 z" className="dag-arrow" />
          </marker>
        </defs>
        {g.edges.map((e) => (
          <path key={`${e.from}>${e.to}`} d={e.path} className="dag-edge" markerEnd="url(#arrow-spec)" />
        ))}
        {g.nodes.map((n) => {
          const t = spec.tasks.find((x) => x.name === n.name)!;
          return (
            <g key={n.name} transform={`translate(${n.x},${n.y})`} className="dag-node node-spec">
              <rect width={NODE_W} height={NODE_H} rx={8} />
              <text x={12} y={20} className="dag-name">
                {n.name}
              </text>
              <text x={12} y={36} className="dag-sub">
                {t.action}
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}

function RunNow({ name }: { name: string }) {
  const [input, setInput] = useState("{}");
  const run = useMutation(RunWorkflowMethod);
  const parsed = parseJsonObject(input);
  function submit(e: FormEvent) {
    e.preventDefault();
    if (parsed.value) {
      run.mutate({ name, input: parsed.value as RunWorkflowRequest["input"] });
    }
  }
  return (
    <form className="card form" onSubmit={submit} noValidate>
      <h2>Run now</h2>
      <label className="field">
        <span>Input (a JSON object, what an event's payload is to triggered runs)</span>
        <textarea
          data-testid="workflow-run-input"
          className={parsed.error ? "invalid" : ""}
          rows={5}
          value={input}
          onChange={(e) => setInput(e.target.value)}
          spellCheck={false}
        />
        {parsed.error && (
          <small className="field-error" data-testid="workflow-run-input-error" role="alert">
            {parsed.error}
          </small>
        )}
      </label>
      <div className="form-buttons">
        <button type="submit" className="button primary" data-testid="workflow-run-submit" disabled={!!parsed.error || run.isPending}>
          {run.isPending ? "Starting…" : "Run now"}
        </button>
        {run.data && (
          <span className="notice">
            Started run{" "}
            <Link to={`/runs/${run.data.runId}`} data-testid="workflow-run-link" data-run-id={run.data.runId} className="mono">
              {run.data.runId}
            </Link>
          </span>
        )}
      </div>
      {run.error && <ApiError error={run.error} compact onRetry={() => run.mutate(run.variables!)} />}
    </form>
  );
}

const RunWorkflowMethod = WorkflowService.method.runWorkflow;

export function WorkflowPage() {
  const { name = "" } = useParams();
  const [version, setVersion] = useState(0);
  const q = useQuery(WorkflowService.method.getWorkflow, { name, version });
  const current = useQuery(WorkflowService.method.getWorkflow, { name, version: 0 });
  const runs = useQuery(RunService.method.listRuns, { workflow: name, pageSize: 10 }, { refetchInterval: 3000 });
  const canRun = useCan(RunWorkflowMethod);

  if (q.error && !q.data) {
    return <ApiError error={q.error} onRetry={() => q.refetch()} />;
  }
  if (!q.data?.workflow?.spec) {
    return <Loading what="the workflow" />;
  }
  const w = q.data.workflow;
  const spec = w.spec!;
  const latest = current.data?.workflow?.version ?? w.version;
  const triggers = triggersOf(spec);
  return (
    <section data-testid="workflow-page" data-name={spec.name}>
      <div className="page-head">
        <h1>
          Workflow <span className="mono">{spec.name}</span>
        </h1>
        <label className="field inline">
          <span>Version</span>
          <select data-testid="workflow-version" value={version || latest} onChange={(e) => setVersion(Number(e.target.value) === latest ? 0 : Number(e.target.value))}>
            {Array.from({ length: latest }, (_, i) => latest - i).map((v) => (
              <option key={v} value={v}>
                v{v}
                {v === latest ? " (current)" : ""}
              </option>
            ))}
          </select>
        </label>
      </div>
      {spec.description && <p className="lead">{spec.description}</p>}
      <div className="two-col">
        <div className="card">
          <h2>Triggers</h2>
          {triggers.length ? (
            <ul className="plain mono">
              {triggers.map((t) => (
                <li key={t}>{t}</li>
              ))}
            </ul>
          ) : (
            <p className="muted">No triggers: runs start only by hand.</p>
          )}
          {spec.concurrency && (
            <p>
              Concurrency: at most {spec.concurrency.maxRuns} active run(s) per <code>{spec.concurrency.key}</code>.
            </p>
          )}
          <p className="muted small">Version {w.version} stored {formatTime(w.createdAt)}.</p>
        </div>
        {canRun && <RunNow name={spec.name} />}
      </div>
      <div className="card">
        <h2>Tasks</h2>
        <SpecDag spec={spec} />
        <table className="table">
          <thead>
            <tr>
              <th>Task</th>
              <th>Action</th>
              <th>Parents</th>
              <th>Attempts</th>
            </tr>
          </thead>
          <tbody>
            {spec.tasks.map((t) => (
              <tr key={t.name}>
                <td className="mono">{t.name}</td>
                <td className="mono">{t.action}</td>
                <td className="mono">{t.parents.join(", ") || "—"}</td>
                <td>{t.retry?.maxAttempts || 3}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="card">
        <div className="card-head">
          <h2>Recent runs</h2>
          <Link to={`/runs?workflow=${encodeURIComponent(spec.name)}`}>All runs of this workflow →</Link>
        </div>
        {runs.error ? (
          <ApiError error={runs.error} compact onRetry={() => runs.refetch()} />
        ) : !runs.data ? (
          <Loading what="runs" />
        ) : runs.data.runs.length === 0 ? (
          <Empty title="No runs of this workflow yet.">Use Run now above, or push an event that matches a trigger.</Empty>
        ) : (
          <RunsTable runs={runs.data.runs} showWorkflow={false} />
        )}
      </div>
      <details className="card">
        <summary>Spec (JSON)</summary>
        <Json value={toJson(WorkflowSpecSchema, spec)} testId="workflow-spec" />
      </details>
    </section>
  );
}
