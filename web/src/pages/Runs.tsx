// The runs list: filters, cursor paging, live.
import { Link } from "react-router";
import { Empty, RunLink, Status, useNow, WorkflowLink } from "../components";
import { ChoiceFilter, TextFilter, useChoiceParam, useFilterParam } from "../fields";
import { age, formatTime, runDuration, runStatusName, triggerName } from "../format";
import { RunService, RunStatus, RunTrigger, type Run } from "../gen/switchyard/v1/run_pb";
import { BulkActions } from "../flow";
import { DataTable, ListPage, usePagedList } from "../lists";

const statuses = [
  RunStatus.QUEUED,
  RunStatus.RUNNING,
  RunStatus.SUCCEEDED,
  RunStatus.FAILED,
  RunStatus.CANCELLED,
  RunStatus.SCHEDULED,
  RunStatus.WAITING,
  RunStatus.SKIPPED,
  RunStatus.PAUSED,
];

const triggers = [RunTrigger.EVENT, RunTrigger.CRON, RunTrigger.MANUAL, RunTrigger.REPLAY];

/** RunsTable shows runs as rows; it is shared with the workflow page. */
export function RunsTable({ runs, showWorkflow = true }: { runs: Run[]; showWorkflow?: boolean }) {
  const now = useNow();
  return (
    <DataTable
      rows={runs}
      rowKey={(r) => r.id}
      rowTestId="run-row"
      rowData={(r) => ({ "run-id": r.id, status: runStatusName(r.status), workflow: r.workflow })}
      columns={[
        { head: "Run", cell: (r) => <RunLink id={r.id} /> },
        { head: "Status", cell: (r) => <Status name={runStatusName(r.status)} /> },
        showWorkflow && {
          head: "Workflow",
          cell: (r) => (
            <>
              <WorkflowLink name={r.workflow} /> <span className="muted">v{r.workflowVersion}</span>
            </>
          ),
        },
        { head: "Trigger", cell: (r) => triggerName(r.trigger) },
        { head: "Age", title: (r) => formatTime(r.createdAt), cell: (r) => age(r.createdAt, now) },
        { head: "Duration", cell: (r) => runDuration(r, now) },
      ]}
    />
  );
}

const noRuns = (
  <Empty title="No runs yet.">
    Push an event that a workflow listens to (<Link to="/push">Push event</Link>), or start one by hand from{" "}
    <Link to="/workflows">Workflows</Link>.
  </Empty>
);

export function RunsPage() {
  const status = useChoiceParam("status", statuses, runStatusName, RunStatus.UNSPECIFIED);
  const trigger = useChoiceParam("trigger", triggers, triggerName, RunTrigger.UNSPECIFIED);
  const workflow = useFilterParam("workflow");
  const list = usePagedList(
    RunService.method.listRuns,
    { status: status.value, workflow: workflow.applied, trigger: trigger.value },
    { pageSize: 25, refetchInterval: 2000 },
  );
  return (
    <ListPage
      title="Runs"
      live="Refreshed every 2 seconds"
      filters={
        <>
          <ChoiceFilter label="Status" testId="filter-status" choice={status} />
          <TextFilter label="Workflow" testId="filter-workflow" placeholder="any workflow" filter={workflow} />
          <ChoiceFilter label="Trigger" testId="filter-trigger" choice={trigger} />
          <BulkActions workflow={workflow.applied} status={status.value} />
        </>
      }
      list={list}
      what="runs"
      items={(d) => d.runs}
      filtered={!!(status.name || workflow.applied || trigger.name)}
      filteredHint="Clear the filters to see every run."
      empty={noRuns}
    >
      {(runs) => <RunsTable runs={runs} />}
    </ListPage>
  );
}
