// The event page: payload, metadata, the runs it started, the waits it
// satisfied, skipped triggers.
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useParams } from "react-router";
import { BusyButton, Json, PageHead, RunLink, Status, useNow, WorkflowLink } from "../components";
import { ApiError } from "../errors";
import { age, formatTime, runStatusName } from "../format";
import { EventService, type Event, type SkippedTrigger } from "../gen/switchyard/v1/event_pb";
import { RunService } from "../gen/switchyard/v1/run_pb";
import { QueryView } from "../lists";
import { useCan } from "../whoami";

/** SkippedTriggers lists the triggers that matched an event but started no run. */
export function SkippedTriggers({ skipped }: { skipped: SkippedTrigger[] }) {
  if (skipped.length === 0) {
    return <p className="muted">No trigger was skipped.</p>;
  }
  return (
    <ul className="skipped">
      {skipped.map((s, i) => (
        <li key={i} data-workflow={s.workflow}>
          <WorkflowLink name={s.workflow} /> <span className="muted">v{s.workflowVersion}</span>, trigger <code>{s.trigger}</code>:{" "}
          <span className="reason">{s.reason}</span>
        </li>
      ))}
    </ul>
  );
}

export function EventPage() {
  const { id = "" } = useParams();
  const q = useQuery(EventService.method.getEvent, { id });
  return (
    <QueryView q={q} what="the event">
      {(d) => d.event && <EventView e={d.event} woke={d.wokeRunIds} onReplayed={() => void q.refetch()} />}
    </QueryView>
  );
}

function EventView({ e, woke, onReplayed }: { e: Event; woke: string[]; onReplayed: () => void }) {
  const now = useNow();
  const runs = useQuery(RunService.method.listRuns, { eventId: e.id, pageSize: 100 }, { refetchInterval: 3000 });
  const replay = useMutation(EventService.method.replayEvent, { onSuccess: onReplayed });
  const canReplay = useCan(EventService.method.replayEvent);
  const statusOf = new Map((runs.data?.runs ?? []).map((r) => [r.id, r]));
  const metadata = Object.entries(e.metadata).sort(([a], [b]) => a.localeCompare(b));
  return (
    <section data-testid="event-page" data-event-id={e.id}>
      <PageHead
        title={
          <>
            Event <span className="mono subtle">{e.id}</span>
          </>
        }
      />
      <div className="card">
        <dl className="facts wide">
          <dt>Key</dt>
          <dd className="mono" data-testid="event-key">
            {e.key}
          </dd>
          <dt>Scope</dt>
          <dd className="mono">{e.scope || "—"}</dd>
          <dt>Priority</dt>
          <dd>{e.priority}</dd>
          <dt>Occurred</dt>
          <dd>{formatTime(e.occurredAt)}</dd>
          <dt>Stored</dt>
          <dd>
            {formatTime(e.createdAt)} <span className="muted">({age(e.createdAt, now)})</span>
          </dd>
          <dt>Idempotency key</dt>
          <dd className="mono">{e.idempotencyKey || "—"}</dd>
        </dl>
      </div>
      <div className="two-col">
        <div className="card">
          <h2>Payload</h2>
          <Json value={e.payload ?? {}} testId="event-payload" />
        </div>
        <div className="card">
          <h2>Metadata</h2>
          {metadata.length === 0 ? (
            <p className="muted">No metadata.</p>
          ) : (
            <table className="table kv" data-testid="event-metadata">
              <tbody>
                {metadata.map(([k, v]) => (
                  <tr key={k}>
                    <th className="mono">{k}</th>
                    <td className="mono">{v}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
      <div className="card">
        <div className="card-head">
          <h2>Runs started</h2>
          {canReplay && (
            <BusyButton
              label="Replay event"
              busyLabel="Replaying…"
              busy={replay.isPending}
              testId="event-replay"
              onClick={() => replay.mutate({ id: e.id })}
              title="Run the event through the current triggers again"
            />
          )}
        </div>
        {replay.error && <ApiError error={replay.error} compact onRetry={() => replay.mutate({ id: e.id })} />}
        {replay.data && (
          <p className="notice" data-testid="event-replay-result">
            Replay started {replay.data.runIds.length} run{replay.data.runIds.length === 1 ? "" : "s"}
            {replay.data.skippedTriggers.length > 0 && `; ${replay.data.skippedTriggers.length} trigger(s) skipped`}.
          </p>
        )}
        {e.runIds.length === 0 ? (
          <p className="muted">This event started no run: no workflow's trigger matched it{e.skippedTriggers.length ? ", or the matching triggers were skipped (below)" : ""}.</p>
        ) : (
          <ul className="run-links">
            {e.runIds.map((rid) => {
              const r = statusOf.get(rid);
              return (
                <li key={rid}>
                  <RunLink id={rid} full testId="event-run-link" />{" "}
                  {r && (
                    <>
                      <Status name={runStatusName(r.status)} /> <span className="muted">{r.workflow}</span>
                    </>
                  )}
                </li>
              );
            })}
          </ul>
        )}
      </div>
      {woke.length > 0 && (
        <div className="card" data-testid="event-woke">
          <h2>Waits it satisfied</h2>
          <p className="muted small">Runs whose tasks waited for this event and went on.</p>
          <ul className="run-links">
            {woke.map((rid) => (
              <li key={rid}>
                <RunLink id={rid} full testId="event-woke-link" />
              </li>
            ))}
          </ul>
        </div>
      )}
      <div className="card" data-testid="event-skipped" data-count={e.skippedTriggers.length}>
        <h2>Skipped triggers</h2>
        <SkippedTriggers skipped={e.skippedTriggers} />
      </div>
    </section>
  );
}
