// The workers list, live.
import { Empty, Status, useNow } from "../components";
import { age, formatTime, workerStatusName } from "../format";
import { WorkerService, type Worker } from "../gen/switchyard/v1/worker_pb";
import { DataTable, ListPage, usePagedList, type Column } from "../lists";

function WorkerName({ w }: { w: Worker }) {
  const labels = Object.entries(w.labels);
  return (
    <>
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
    </>
  );
}

function Slots({ w }: { w: Worker }) {
  return (
    <>
      <div className="slots" title={`${w.slotsInUse} of ${w.slots} slots in use`}>
        <div className="slots-bar" style={{ width: `${w.slots ? Math.min(100, (100 * w.slotsInUse) / w.slots) : 0}%` }} />
      </div>
      {w.slotsInUse} / {w.slots}
    </>
  );
}

function columns(now: number): Column<Worker>[] {
  return [
    { head: "Worker", cell: (w) => <WorkerName w={w} /> },
    { head: "Status", cell: (w) => <Status name={workerStatusName(w.status)} /> },
    { head: "Actions", className: "mono small", cell: (w) => w.actions.join(", ") },
    { head: "Slots used", cell: (w) => <Slots w={w} /> },
    { head: "Last heartbeat", title: (w) => formatTime(w.lastHeartbeatAt), cell: (w) => age(w.lastHeartbeatAt, now) },
    { head: "Registered", title: (w) => formatTime(w.createdAt), cell: (w) => age(w.createdAt, now) },
  ];
}

const noWorkers = (
  <Empty title="No workers have registered yet.">
    Start one, such as <code>go run ./examples/imagepipeline</code>; it registers and holds a Listen stream open.
  </Empty>
);

export function WorkersPage() {
  const now = useNow();
  const list = usePagedList(WorkerService.method.listWorkers, {}, { pageSize: 50, refetchInterval: 2000 });
  return (
    <ListPage title="Workers" live="Refreshed every 2 seconds" list={list} what="workers" items={(d) => d.workers} empty={noWorkers}>
      {(workers) => (
        <DataTable rows={workers} rowKey={(w) => w.id} columns={columns(now)} rowTestId="worker-row"
          rowData={(w) => ({ "worker-id": w.id, status: workerStatusName(w.status) })} />
      )}
    </ListPage>
  );
}
