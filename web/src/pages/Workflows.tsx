// The workflows list.
import { Empty, Status, useNow, WorkflowLink } from "../components";
import { age } from "../format";
import type { Duration } from "@bufbuild/protobuf/wkt";
import { WorkflowService, type EventTrigger, type Workflow, type WorkflowSpec } from "../gen/switchyard/v1/workflow_pb";
import { DataTable, ListPage, usePagedList, type Column } from "../lists";

/** triggersOf lists a spec's triggers in words. */
export function triggersOf(spec: WorkflowSpec | undefined): string[] {
  if (!spec) {
    return [];
  }
  return [
    ...spec.onEvents.map((k) => `event ${k}`),
    ...spec.eventTriggers.map(
      (t) =>
        `event ${t.key}${t.scope ? ` in scope ${t.scope}` : ""}${t.filter ? ` if ${t.filter}` : ""}${windowOf(t)}`,
    ),
    ...spec.cancelOn.map((c) => `cancel on ${c.key}${c.condition ? ` if ${c.condition}` : ""}`),
    ...spec.onCron.map((c) => `cron ${c.schedule}${c.timeZone ? ` (${c.timeZone})` : ""}`),
  ];
}

/** windowOf describes a trigger's debounce or batch, if it has one. */
function windowOf(t: EventTrigger): string {
  if (t.debounce) {
    return `, debounced${t.debounce.key ? ` per ${t.debounce.key}` : ""} (quiet ${seconds(t.debounce.quietPeriod)}, at most ${seconds(t.debounce.maxWait)})`;
  }
  if (t.batch) {
    return `, in batches of ${t.batch.maxEvents}${t.batch.key ? ` per ${t.batch.key}` : ""} (at most ${seconds(t.batch.maxWait)})`;
  }
  return "";
}

function seconds(d: Duration | undefined): string {
  return `${Number(d?.seconds ?? 0n) + (d?.nanos ?? 0) / 1e9}s`;
}

function nameOf(w: Workflow): string {
  return w.spec?.name ?? "";
}

function columns(now: number): Column<Workflow>[] {
  return [
    {
      head: "Name",
      cell: (w) => (
        <>
          <WorkflowLink name={nameOf(w)} className="mono" />
          {w.paused && (
            <>
              {" "}
              <Status name="paused" testId="workflow-paused" />
            </>
          )}
          {w.spec?.description && <div className="muted small">{w.spec.description}</div>}
        </>
      ),
    },
    { head: "Version", cell: (w) => `v${w.version}` },
    { head: "Tasks", cell: (w) => w.spec?.tasks.length ?? 0 },
    { head: "Triggers", className: "mono small", cell: (w) => triggersOf(w.spec).join(", ") || <span className="muted">manual only</span> },
    { head: "Updated", cell: (w) => age(w.createdAt, now) },
  ];
}

export function WorkflowsPage() {
  const now = useNow(5000);
  const list = usePagedList(WorkflowService.method.listWorkflows, {}, { pageSize: 50, refetchInterval: 10000 });
  const empty = (
    <Empty title="No workflows yet.">
      Workers declare their workflows with <code>PutWorkflow</code> when they start, or send one with{" "}
      <code>curl -X POST /v1/workflows</code>.
    </Empty>
  );
  return (
    <ListPage title="Workflows" list={list} what="workflows" items={(d) => d.workflows} empty={empty}>
      {(workflows) => (
        <DataTable rows={workflows} rowKey={nameOf} columns={columns(now)} rowTestId="workflow-row"
          rowData={(w) => ({ name: nameOf(w) })} />
      )}
    </ListPage>
  );
}
