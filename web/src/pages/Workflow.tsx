// The workflow page: spec, versions, triggers, recent runs, Run now.
import { toJson } from "@bufbuild/protobuf";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";
import { BusyButton, DagSvg, Empty, Json, PageHead, parseJsonObject, RunLink, Status } from "../components";
import { PauseResume } from "../flow";
import { layout, NODE_H, NODE_W } from "../dag";
import { ApiError } from "../errors";
import { Field, TextAreaField } from "../fields";
import { formatTime } from "../format";
import { RunService } from "../gen/switchyard/v1/run_pb";
import {
  WorkflowService,
  WorkflowSpecSchema,
  type RunWorkflowRequest,
  type Workflow,
  type WorkflowSpec,
} from "../gen/switchyard/v1/workflow_pb";
import { RunsTable } from "./Runs";
import { triggersOf } from "./Workflows";
import { useCan } from "../whoami";
import { DataTable, QueryView } from "../lists";

function SpecDag({ spec }: { spec: WorkflowSpec }) {
  const g = layout(spec.tasks.map((t) => ({ name: t.name, parents: t.parents })));
  return (
    <div className="dag-wrap">
      <DagSvg graph={g} label="The workflow's tasks" markerId="arrow-spec">
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
      </DagSvg>
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
      <TextAreaField
        label="Input (a JSON object, what an event's payload is to triggered runs)"
        testId="workflow-run-input"
        rows={5}
        value={input}
        onText={setInput}
        error={parsed.error}
      />
      <div className="form-buttons">
        <BusyButton
          type="submit"
          variant="primary"
          testId="workflow-run-submit"
          label="Run now"
          busyLabel="Starting…"
          busy={run.isPending}
          disabled={!!parsed.error}
        />
        {run.data && (
          <span className="notice">
            Started run <RunLink id={run.data.runId} full testId="workflow-run-link" />
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
  return (
    <QueryView q={q} what="the workflow">
      {(d) =>
        d.workflow?.spec && (
          <WorkflowView
            w={d.workflow}
            spec={d.workflow.spec}
            latest={current.data?.workflow?.version ?? d.workflow.version}
            version={version}
            setVersion={setVersion}
            paused={current.data?.workflow?.paused ?? d.workflow.paused}
            onPauseChanged={() => void Promise.all([q.refetch(), current.refetch()])}
          />
        )
      }
    </QueryView>
  );
}

function WorkflowView({
  w,
  spec,
  latest,
  version,
  setVersion,
  paused,
  onPauseChanged,
}: {
  w: Workflow;
  spec: WorkflowSpec;
  latest: number;
  version: number;
  setVersion: (v: number) => void;
  paused: boolean;
  onPauseChanged: () => void;
}) {
  const runs = useQuery(RunService.method.listRuns, { workflow: spec.name, pageSize: 10 }, { refetchInterval: 3000 });
  const canRun = useCan(RunWorkflowMethod);
  const triggers = triggersOf(spec);
  return (
    <section data-testid="workflow-page" data-name={spec.name}>
      <PageHead
        title={
          <>
            Workflow <span className="mono">{spec.name}</span>
            {paused && (
              <>
                {" "}
                <Status name="paused" testId="workflow-paused" />
              </>
            )}
          </>
        }
      >
        <PauseResume name={spec.name} paused={paused} onChanged={onPauseChanged} />
        <Field label="Version" variant="inline">
          <select
            data-testid="workflow-version"
            value={version || latest}
            onChange={(e) => setVersion(Number(e.target.value) === latest ? 0 : Number(e.target.value))}
          >
            {Array.from({ length: latest }, (_, i) => latest - i).map((v) => (
              <option key={v} value={v}>
                v{v}
                {v === latest ? " (current)" : ""}
              </option>
            ))}
          </select>
        </Field>
      </PageHead>
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
        <DataTable
          rows={spec.tasks}
          rowKey={(t) => t.name}
          columns={[
            { head: "Task", className: "mono", cell: (t) => t.name },
            { head: "Action", className: "mono", cell: (t) => t.action },
            { head: "Parents", className: "mono", cell: (t) => t.parents.join(", ") || "—" },
            { head: "Attempts", cell: (t) => t.retry?.maxAttempts || 3 },
          ]}
        />
      </div>
      <div className="card">
        <div className="card-head">
          <h2>Recent runs</h2>
          <Link to={`/runs?workflow=${encodeURIComponent(spec.name)}`}>All runs of this workflow →</Link>
        </div>
        <QueryView q={runs} what="runs" compact>
          {(d) =>
            d.runs.length === 0 ? (
              <Empty title="No runs of this workflow yet.">Use Run now above, or push an event that matches a trigger.</Empty>
            ) : (
              <RunsTable runs={d.runs} showWorkflow={false} />
            )
          }
        </QueryView>
      </div>
      <details className="card">
        <summary>Spec (JSON)</summary>
        <Json value={toJson(WorkflowSpecSchema, spec)} testId="workflow-spec" />
      </details>
    </section>
  );
}
