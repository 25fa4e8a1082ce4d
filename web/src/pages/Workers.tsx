// The workers list, live.
import { useQuery } from "@connectrpc/connect-query";
import { keepPreviousData } from "@tanstack/react-query";
import { Empty, Loading, Pager, Status, useNow, usePager } from "../components";
import { ApiError } from "../errors";
import { age, formatTime, workerStatusName } from "../format";
import { WorkerService } from "../gen/switchyard/v1/worker_pb";

export function WorkersPage() {
  const pager = usePager("");
  const now = useNow();
  const q = useQuery(
    WorkerService.method.listWorkers,
    { pageSize: 50, pageToken: pager.token },
    { refetchInterval: 2000, placeholderData: keepPreviousData },
  );
  return (
    <section>
      <div className="page-head">
        <h1>Workers</h1>
        <span className="live" title="Refreshed every 2 seconds">
          live
        </span>
      </div>
      {q.error && !q.data ? (
        <ApiError error={q.error} onRetry={() => q.refetch()} />
      ) : !q.data ? (
        <Loading what="workers" />
      ) : q.data.workers.length === 0 && !pager.hasPrev ? (
        <Empty title="No workers have registered yet.">
          Start one, such as <code>go run ./examples/imagepipeline</code>; it registers and holds a Listen stream open.
        </Empty>
      ) : (
        <>
          {q.error && <ApiError error={q.error} onRetry={() => q.refetch()} compact />}
          <table className="table">
            <thead>
              <tr>
                <th>Worker</th>
                <th>Status</th>
                <th>Actions</th>
                <th>Slots used</th>
                <th>Last heartbeat</th>
                <th>Registered</th>
              </tr>
            </thead>
            <tbody>
              {q.data.workers.map((w) => {
                const status = workerStatusName(w.status);
                const labels = Object.entries(w.labels);
                return (
                  <tr key={w.id} data-testid="worker-row" data-worker-id={w.id} data-status={status}>
                    <td>
                      <strong>{w.name}</strong>
                      <div className="mono muted small">{w.id}</div>
                      {labels.length > 0 && (
                        <div className="labels">
                          {labels.map(([k, v]) => (
                            <span key={k} className="label">
                              {k}={v}
                            </span>
                          ))}
                        </div>
                      )}
                    </td>
                    <td>
                      <Status name={status} />
                    </td>
                    <td className="mono small">{w.actions.join(", ")}</td>
                    <td>
                      <div className="slots" title={`${w.slotsInUse} of ${w.slots} slots in use`}>
                        <div className="slots-bar" style={{ width: `${w.slots ? Math.min(100, (100 * w.slotsInUse) / w.slots) : 0}%` }} />
                      </div>
                      {w.slotsInUse} / {w.slots}
                    </td>
                    <td title={formatTime(w.lastHeartbeatAt)}>{age(w.lastHeartbeatAt, now)}</td>
                    <td title={formatTime(w.createdAt)}>{age(w.createdAt, now)}</td>
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
