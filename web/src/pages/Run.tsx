// The run page: the task DAG, live through WatchRun, the selected task, and
// Cancel and Replay.
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { useMutation } from "@connectrpc/connect-query";
import { useEffect, useMemo, useState } from "react";
import { useParams } from "react-router";
import { ConfirmButton, DagSvg, EventLink, Json, Loading, PageHead, RunLink, Status, useNow, WorkflowLink } from "../components";
import { layout, NODE_H, NODE_W } from "../dag";
import { ApiError, errorText } from "../errors";
import {
  formatTime,
  runDuration,
  runEnded,
  runNotStarted,
  runStatusName,
  span,
  taskStatusName,
  triggerName,
} from "../format";
import { ReplayMode, RunService, RunStatus, TaskStatus, type Run, type Task } from "../gen/switchyard/v1/run_pb";
import { UNAUTHENTICATED_NOTICE, useSession } from "../session";
import { ChildRuns, nodeLabel, openWaits, RunWaits, WaitTable, waitSummary } from "../waits";
import { useCan } from "../whoami";

// Errors after which watching again cannot help.
const finalCodes = new Set([Code.NotFound, Code.PermissionDenied, Code.InvalidArgument, Code.Unauthenticated]);

interface Watch {
  run?: Run;
  /** The error that ended the stream; with retrying, the stream reconnects. */
  error?: unknown;
  retrying: boolean;
}

/** useWatchRun follows a run through WatchRun, reconnecting after a short delay when the stream fails. */
function useWatchRun(transport: Transport, id: string, restart: number): [Watch, (r: Run) => void] {
  const [state, setState] = useState<Watch>({ retrying: false });
  const { signOut } = useSession();
  useEffect(() => {
    const client = createClient(RunService, transport);
    const abort = new AbortController();
    let delay = 1000;
    let timer = 0;
    setState({ retrying: false });
    let last: Run | undefined;
    const connect = async () => {
      try {
        for await (const m of client.watchRun({ id }, { signal: abort.signal })) {
          if (m.run) {
            const run = m.run;
            last = run;
            delay = 1000;
            setState({ run, retrying: false });
          }
        }
        // The stream ends when the run has ended, and the last state stays.
        // Ended early (a proxy cut it), it is opened again.
        if (!abort.signal.aborted && !(last && runEnded(last.status))) {
          timer = window.setTimeout(connect, delay);
        }
      } catch (e) {
        if (abort.signal.aborted) {
          return;
        }
        const err = ConnectError.from(e);
        if (err.code === Code.Unauthenticated) {
          signOut(UNAUTHENTICATED_NOTICE);
          return;
        }
        const retrying = !finalCodes.has(err.code);
        setState((s) => ({ ...s, error: err, retrying }));
        if (retrying) {
          timer = window.setTimeout(connect, delay);
          delay = Math.min(delay * 2, 10000);
        }
      }
    };
    void connect();
    return () => {
      abort.abort();
      window.clearTimeout(timer);
    };
  }, [transport, id, restart, signOut]);
  // A newer state from a mutation's answer replaces the streamed one until the stream sends more.
  // CancelRun answers without tasks: only the run's own fields are taken.
  const set = (run: Run) =>
    setState((s) => ({
      ...s,
      run:
        s.run && run.tasks.length === 0
          ? { ...s.run, status: run.status, error: run.error, finishedAt: run.finishedAt }
          : run,
    }));
  return [state, set];
}

function Dag({ run, selected, onSelect }: { run: Run; selected: string; onSelect: (name: string) => void }) {
  const g = useMemo(() => layout(run.tasks.map((t) => ({ name: t.name, parents: t.parents }))), [run.tasks]);
  const byName = new Map(run.tasks.map((t) => [t.name, t]));
  return (
    <div className="dag-wrap">
      <DagSvg graph={g} label="The run's tasks and their dependencies" markerId="arrow" testId="run-dag">
        {g.edges.map((e) => (
          <path
            key={`${e.from}>${e.to}`}
            d={e.path}
            className={`dag-edge edge-${taskStatusName(byName.get(e.from)?.status ?? TaskStatus.PENDING)}`}
            markerEnd="url(#arrow)"
          />
        ))}
        {g.nodes.map((n) => {
          const t = byName.get(n.name)!;
          const status = taskStatusName(t.status);
          const open = t.status === TaskStatus.WAITING ? openWaits(t.waits) : [];
          return (
            <g
              key={n.name}
              transform={`translate(${n.x},${n.y})`}
              className={`dag-node node-${status}${selected === n.name ? " selected" : ""}`}
              data-testid="dag-node"
              data-task={n.name}
              data-status={status}
              data-wait={open.length ? waitSummary(open) : undefined}
              onClick={() => onSelect(n.name)}
              onKeyDown={(e) => (e.key === "Enter" || e.key === " ") && onSelect(n.name)}
              tabIndex={0}
              role="button"
              aria-label={`${n.name}: ${status}`}
            >
              <rect width={NODE_W} height={NODE_H} rx={8} />
              <circle cx={14} cy={NODE_H / 2} r={5} className="dag-dot" />
              <text x={26} y={20} className="dag-name">
                {n.name.length > 18 ? `${n.name.slice(0, 17)}…` : n.name}
              </text>
              <text x={26} y={36} className="dag-sub" data-testid={open.length ? "dag-node-wait" : undefined}>
                {open.length > 0
                  ? nodeLabel(open)
                  : `${status}${t.attempt - t.resumes > 1 ? ` · try ${t.attempt - t.resumes}/${t.maxAttempts}` : ""}`}
              </text>
              <title>{`${n.name} (${t.action || "gate"}): ${status}${open.length ? ` for ${waitSummary(open)}` : ""}`}</title>
            </g>
          );
        })}
      </DagSvg>
      <ul className="legend" aria-label="Legend">
        {[
          TaskStatus.PENDING,
          TaskStatus.QUEUED,
          TaskStatus.RUNNING,
          TaskStatus.WAITING,
          TaskStatus.SUCCEEDED,
          TaskStatus.SKIPPED,
          TaskStatus.FAILED,
          TaskStatus.CANCELLED,
        ].map((s) => (
          <li key={s}>
            <span className={`legend-swatch node-${taskStatusName(s)}`} />
            {taskStatusName(s)}
          </li>
        ))}
      </ul>
    </div>
  );
}

function TaskDetail({ run, task, now }: { run: Run; task: Task; now: number }) {
  const parentOutputs = Object.fromEntries(
    task.parents.map((p) => [p, run.tasks.find((t) => t.name === p)?.output ?? null]),
  );
  return (
    <section className="card task-detail" data-testid="task-detail" data-task={task.name}>
      <div className="card-head">
        <h2>
          Task <span className="mono">{task.name}</span>
        </h2>
        <Status name={taskStatusName(task.status)} />
      </div>
      <dl className="facts">
        <dt>Action</dt>
        <dd className="mono">{task.action || "— (a gate: it only waits)"}</dd>
        <dt>Attempt</dt>
        <dd>
          {task.attempt - task.resumes} of {task.maxAttempts}
          {task.resumes > 0 && <span className="muted"> (resumed {task.resumes}× after waits)</span>}
        </dd>
        <dt>Worker</dt>
        <dd className="mono">{task.workerId || "—"}</dd>
        <dt>Started</dt>
        <dd>{formatTime(task.startedAt)}</dd>
        <dt>Finished</dt>
        <dd>{formatTime(task.finishedAt)}</dd>
        <dt>Duration</dt>
        <dd>{task.startedAt ? span(task.startedAt, task.finishedAt, now) : "—"}</dd>
        {task.availableAt && task.status === TaskStatus.QUEUED && (
          <>
            <dt>Next attempt</dt>
            <dd>{formatTime(task.availableAt)}</dd>
          </>
        )}
        {task.waitReason && (
          <>
            <dt>Waiting</dt>
            <dd data-testid="task-wait-reason">{task.waitReason}</dd>
          </>
        )}
        {task.status === TaskStatus.WAITING && openWaits(task.waits).length > 0 && (
          <>
            <dt>Waiting for</dt>
            <dd data-testid="task-waiting-for">{waitSummary(openWaits(task.waits))}</dd>
          </>
        )}
        <dt>Parents</dt>
        <dd>{task.parents.length ? task.parents.join(", ") : "none (a root task)"}</dd>
        <dt>Task id</dt>
        <dd className="mono">{task.id}</dd>
      </dl>
      {task.waits.length > 0 && (
        <>
          <h3>Waits</h3>
          <WaitTable waits={task.waits} />
        </>
      )}
      {task.error && (
        <>
          <h3>Error</h3>
          <pre className="json error-text" data-testid="task-error">
            {task.error}
          </pre>
        </>
      )}
      <div className="two-col">
        <div>
          <h3>Input</h3>
          <p className="muted small">The run's input{task.parents.length ? ", and its parents' outputs" : ""}.</p>
          <Json value={task.parents.length ? { input: run.input ?? {}, parent_outputs: parentOutputs } : run.input ?? {}} />
        </div>
        <div>
          <h3>Output</h3>
          {task.output ? <Json value={task.output} testId="task-output" /> : <p className="muted">No output yet.</p>}
        </div>
      </div>
    </section>
  );
}

const replayModes = [
  { mode: ReplayMode.WHOLE, value: "whole", label: "Whole: every task runs again" },
  { mode: ReplayMode.FROM_FAILED, value: "from_failed", label: "From failed: tasks that succeeded keep their outputs" },
];

function ReplayModes({ run, mode, setMode }: { run: Run; mode: ReplayMode; setMode: (m: ReplayMode) => void }) {
  return (
    <fieldset className="radios" data-testid="replay-mode">
      {replayModes.map((m) => {
        const nothingFailed = m.mode === ReplayMode.FROM_FAILED && run.status === RunStatus.SUCCEEDED;
        return (
          <label key={m.value}>
            <input
              type="radio"
              name="mode"
              value={m.value}
              checked={mode === m.mode}
              disabled={nothingFailed}
              onChange={() => setMode(m.mode)}
            />{" "}
            {m.label}
            {nothingFailed && <span className="muted"> (nothing failed in this run)</span>}
          </label>
        );
      })}
    </fieldset>
  );
}

function Actions({ run, onChanged }: { run: Run; onChanged: (r: Run) => void }) {
  const [mode, setMode] = useState(ReplayMode.WHOLE);
  const cancel = useMutation(RunService.method.cancelRun, { onSuccess: (res) => res.run && onChanged(res.run) });
  const replay = useMutation(RunService.method.replayRun);
  const ended = runEnded(run.status);
  const canCancel = useCan(RunService.method.cancelRun);
  const canReplay = useCan(RunService.method.replayRun);
  const cancelRun = () => cancel.mutate({ id: run.id, reason: "cancelled from the dashboard" });
  const replayRun = () => replay.mutate({ id: run.id, mode });
  return (
    <div className="actions">
      {!ended && canCancel && (
        <ConfirmButton label="Cancel run" busyLabel="Cancelling…" busy={cancel.isPending} testId="run-cancel" variant="danger"
          title="Cancel this run?" okLabel="Cancel run" onOk={cancelRun}>
          <p>Pending tasks are cancelled and the workers running its tasks are told to stop. This cannot be undone.</p>
        </ConfirmButton>
      )}
      {ended && canReplay && (
        <ConfirmButton label="Replay…" busyLabel="Replaying…" busy={replay.isPending} testId="run-replay"
          title="Replay this run?" okLabel="Replay" onOk={replayRun}>
          <p>A new run starts with the same workflow version and input.</p>
          <ReplayModes run={run} mode={mode} setMode={setMode} />
        </ConfirmButton>
      )}
      {replay.data?.run && (
        <span className="notice">
          {replay.data.deduplicated ? "Replayed earlier as" : "Replayed as"}{" "}
          <RunLink id={replay.data.run.id} full testId="replay-run-link" />
        </span>
      )}
      {cancel.error && <ApiError error={cancel.error} compact onRetry={cancelRun} />}
      {replay.error && <ApiError error={replay.error} compact onRetry={replayRun} />}
    </div>
  );
}

/** RunPage shows the run named in the path; another run gets a fresh page state. */
export function RunPage() {
  const { id = "" } = useParams();
  return <RunView key={id} id={id} />;
}

function RunView({ id }: { id: string }) {
  const { transport } = useSession();
  const [restart, setRestart] = useState(0);
  const [watch, setRun] = useWatchRun(transport!, id, restart);
  const [selected, setSelected] = useState("");
  const now = useNow();
  const run = watch.run;

  if (!run) {
    if (watch.error && !watch.retrying) {
      return <ApiError error={watch.error} onRetry={() => setRestart((n) => n + 1)} />;
    }
    return (
      <>
        {watch.error !== undefined && <ApiError error={watch.error} compact />}
        <Loading what={watch.error ? "the run (reconnecting)" : "the run"} />
      </>
    );
  }
  const status = runStatusName(run.status);
  const task =
    run.tasks.find((t) => t.name === selected) ??
    run.tasks.find((t) => t.status === TaskStatus.FAILED) ??
    run.tasks.find((t) => t.status === TaskStatus.WAITING);
  return (
    <section data-testid="run-page" data-run-id={run.id} data-status={status}>
      <PageHead
        title={
          <>
            Run <span className="mono subtle">{run.id}</span>
          </>
        }
      >
        <span className={`status big status-${status}`} data-testid="run-status">
          {status}
        </span>
        {!runEnded(run.status) && (
          <span className="live" title="Updated as the run changes (WatchRun)">
            {watch.retrying ? "reconnecting" : "live"}
          </span>
        )}
      </PageHead>
      <RunWaits run={run} />
      {run.waitReason && (
        <p className="notice" data-testid="run-wait-reason">
          {run.waitReason}
        </p>
      )}
      {watch.retrying && watch.error !== undefined && (
        <p className="notice warn">Lost the live stream ({errorText(watch.error)}); reconnecting…</p>
      )}
      <div className="card">
        <dl className="facts wide">
          <dt>Workflow</dt>
          <dd>
            <WorkflowLink name={run.workflow} /> <span className="muted">version {run.workflowVersion}</span>
          </dd>
          <dt>Trigger</dt>
          <dd>
            {triggerName(run.trigger)}
            {run.eventId && (
              <>
                {" "}
                by event <EventLink id={run.eventId} full />
              </>
            )}
            {run.replayOf && (
              <>
                {" "}
                of run <RunLink id={run.replayOf} />
              </>
            )}
          </dd>
          <dt>Created</dt>
          <dd>{formatTime(run.createdAt)}</dd>
          <dt>Finished</dt>
          <dd>{formatTime(run.finishedAt)}</dd>
          <dt>Duration</dt>
          <dd data-testid="run-duration">{runNotStarted(run.status, run.waits.length) ? "— (not started)" : runDuration(run, now)}</dd>
          {run.scheduledAt && (
            <>
              <dt>Scheduled for</dt>
              <dd>{formatTime(run.scheduledAt)}</dd>
            </>
          )}
          {run.concurrencyKey && (
            <>
              <dt>Concurrency key</dt>
              <dd className="mono">{run.concurrencyKey}</dd>
            </>
          )}
          <dt>Priority</dt>
          <dd>{run.priority}</dd>
        </dl>
        {run.error && <p className="notice error-text">{run.error}</p>}
        <Actions run={run} onChanged={setRun} />
      </div>
      <div className="card">
        <div className="card-head">
          <h2>Tasks</h2>
          <span className="muted">Select a task to see its attempts, worker, input and output.</span>
        </div>
        <Dag run={run} selected={task?.name ?? ""} onSelect={setSelected} />
      </div>
      {task ? (
        <TaskDetail run={run} task={task} now={now} />
      ) : (
        <div className="card muted">Select a task in the graph above.</div>
      )}
      <ChildRuns runId={run.id} />
      <details className="card">
        <summary>Run input</summary>
        <Json value={run.input ?? {}} />
      </details>
    </section>
  );
}
