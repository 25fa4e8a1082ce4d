// Durable waits on the run page: what a WAITING task waits for and until
// when, how its waits ended (with the event that satisfied one), and a run's
// child runs.
import { useQuery } from "@connectrpc/connect-query";
import { EventLink, RunLink, Status } from "./components";
import { enumName, formatTime, runStatusName, toDate } from "./format";
import { WaitMode, WaitState, type WaitInfo } from "./gen/switchyard/v1/durable_pb";
import { RunService, type Run } from "./gen/switchyard/v1/run_pb";
import { QueryView } from "./lists";

/** waitStateName is a wait state's lower-case name, such as "timed_out". */
export const waitStateName = (s: WaitState) => enumName(WaitState, s);

/** waitWhat says what one condition waits for, such as "event payment.confirmed where event.payload.id == input.id". */
export function waitWhat(w: WaitInfo): string {
  switch (w.kind) {
    case "sleep":
      return "sleep";
    case "event":
      return `event ${w.key}${w.expression ? ` where ${w.expression}` : ""}`;
    case "child":
      return `child run ${w.childRunId}`;
  }
  return w.kind;
}

/** waitSummary is one line for a task's open waits: what for and until when. */
export function waitSummary(waits: WaitInfo[]): string {
  if (waits.length === 0) {
    return "";
  }
  const joiner = waits[0].mode === WaitMode.ANY ? " or " : " and ";
  const what = waits.map(waitWhat).join(joiner);
  const until = earliest(waits);
  return `${what}${until ? ` until ${formatTime(until)}` : ""}`;
}

/** earliest is the earliest deadline of waits, or undefined when none has one. */
export function earliest(waits: WaitInfo[]): WaitInfo["deadline"] {
  let best: WaitInfo["deadline"];
  for (const w of waits) {
    const d = toDate(w.deadline);
    if (d && (!best || d < toDate(best)!)) {
      best = w.deadline;
    }
  }
  return best;
}

/**
 * nodeLabel is the short line a WAITING task's node shows: the kind of its
 * first open wait and its earliest deadline (the time within a day of now,
 * else the date), such as "event until 15:04".
 */
export function nodeLabel(open: WaitInfo[], now: number = Date.now()): string {
  if (open.length === 0) {
    return "waiting";
  }
  const kind = open.length > 1 ? `${open[0].kind} +${open.length - 1}` : open[0].kind;
  const until = toDate(earliest(open));
  if (!until) {
    return `${kind}, no deadline`;
  }
  const soon = Math.abs(until.getTime() - now) < 24 * 3600 * 1000;
  const when = soon
    ? until.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false })
    : until.toLocaleDateString([], { month: "short", day: "numeric" });
  return `${kind} until ${when}`;
}

/** openWaits are the waits not yet resolved. */
export function openWaits(waits: WaitInfo[]): WaitInfo[] {
  return waits.filter((w) => w.state === WaitState.OPEN);
}

/** WaitTable lists a task's waits, oldest first: each condition, its state, its deadline and what satisfied it. */
export function WaitTable({ waits }: { waits: WaitInfo[] }) {
  return (
    <table className="table waits" data-testid="task-waits">
      <thead>
        <tr>
          <th>Step</th>
          <th>Condition</th>
          <th>Waits for</th>
          <th>State</th>
          <th>Deadline</th>
          <th>Resolved by</th>
        </tr>
      </thead>
      <tbody>
        {waits.map((w) => (
          <tr key={`${w.step}/${w.condition}`} data-testid="wait-row" data-kind={w.kind} data-state={waitStateName(w.state)}>
            <td className="mono">{w.step}</td>
            <td className="mono">
              {w.condition}
              {w.mode === WaitMode.ANY && <span className="muted"> (any)</span>}
            </td>
            <td>
              <span className="wait-kind">{w.kind}</span>
              {w.key && (
                <>
                  {" "}
                  <code data-testid="wait-key">{w.key}</code>
                </>
              )}
              {w.expression && (
                <>
                  {" "}
                  where <code data-testid="wait-expression">{w.expression}</code>
                </>
              )}
              {w.childRunId && (
                <>
                  {" "}
                  <RunLink id={w.childRunId} testId="wait-child-link" />
                </>
              )}
            </td>
            <td>
              <Status name={waitStateName(w.state)} />
            </td>
            <td data-testid="wait-deadline">{w.deadline ? formatTime(w.deadline) : "never"}</td>
            <td>
              {w.eventId ? (
                <>
                  event <EventLink id={w.eventId} testId="wait-event-link" />
                </>
              ) : (
                <span className="muted">{w.resolvedAt ? formatTime(w.resolvedAt) : "—"}</span>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** RunWaits says what a waiting run waits for and until when, and links its parent run. */
export function RunWaits({ run }: { run: Run }) {
  const open = openWaits(run.waits);
  if (open.length === 0 && !run.parentRunId) {
    return null;
  }
  return (
    <>
      {run.parentRunId && (
        <p className="notice" data-testid="run-parent">
          Child run of <RunLink id={run.parentRunId} full testId="run-parent-link" />
        </p>
      )}
      {open.length > 0 && (
        <p className="notice waiting" data-testid="run-waits">
          Waiting for {waitSummary(open)}.
        </p>
      )}
    </>
  );
}

/** ChildRuns lists the runs a run's tasks spawned; nothing when there are none. */
export function ChildRuns({ runId }: { runId: string }) {
  const q = useQuery(RunService.method.listRuns, { parentRunId: runId, pageSize: 100 }, { refetchInterval: 3000 });
  if (q.data && q.data.runs.length === 0) {
    return null;
  }
  return (
    <div className="card" data-testid="run-children">
      <h2>Child runs</h2>
      <QueryView q={q} what="child runs" compact>
        {(d) => <ChildRunList runs={d.runs} more={d.nextPageToken !== ""} />}
      </QueryView>
    </div>
  );
}

/** ChildRunList links child runs with their status and workflow. */
export function ChildRunList({ runs, more }: { runs: Run[]; more: boolean }) {
  return (
    <>
      <ul className="run-links">
        {runs.map((r) => (
          <li key={r.id}>
            <RunLink id={r.id} full testId="child-run-link" /> <Status name={runStatusName(r.status)} />{" "}
            <span className="muted">{r.workflow}</span>
          </li>
        ))}
      </ul>
      {more && <p className="muted small">The first {runs.length} are shown.</p>}
    </>
  );
}
