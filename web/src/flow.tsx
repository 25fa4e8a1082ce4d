// Flow control on the dashboard: pausing and resuming a workflow, and bulk
// cancel and replay of the runs a filter selects.
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { BusyButton, ConfirmButton } from "./components";
import { ApiError } from "./errors";
import { BulkOperationKind, RunService, RunStatus, type BulkOperation } from "./gen/switchyard/v1/run_pb";
import { WorkflowService } from "./gen/switchyard/v1/workflow_pb";
import { useCan } from "./whoami";

/** PauseResume is the Pause or Resume button of a workflow. */
export function PauseResume({ name, paused, onChanged }: { name: string; paused: boolean; onChanged: () => void }) {
  const pause = useMutation(WorkflowService.method.pauseWorkflow, { onSuccess: onChanged });
  const resume = useMutation(WorkflowService.method.resumeWorkflow, { onSuccess: onChanged });
  const can = useCan(WorkflowService.method.pauseWorkflow);
  if (!can) {
    return null;
  }
  return (
    <>
      {paused ? (
        <BusyButton label="Resume" busyLabel="Resuming…" busy={resume.isPending} testId="workflow-resume" variant="primary"
          onClick={() => resume.mutate({ name })} />
      ) : (
        <ConfirmButton label="Pause" busyLabel="Pausing…" busy={pause.isPending} testId="workflow-pause"
          title="Pause this workflow?" okLabel="Pause" onOk={() => pause.mutate({ name })}>
          New runs are held (PAUSED) until you resume it; runs already started go on. Cron ticks add held runs.
        </ConfirmButton>
      )}
      {resume.data && <span className="notice" data-testid="workflow-released">{String(resume.data.released)} held run(s) released</span>}
      {pause.error && <ApiError error={pause.error} compact />}
      {resume.error && <ApiError error={resume.error} compact />}
    </>
  );
}

/** BulkActions cancels or replays every run of the workflow and status filters. */
export function BulkActions({ workflow, status }: { workflow: string; status: RunStatus }) {
  const cancel = useMutation(RunService.method.bulkCancelRuns);
  const replay = useMutation(RunService.method.bulkReplayRuns);
  const can = useCan(RunService.method.bulkCancelRuns);
  const op = (cancel.data ?? replay.data)?.operation;
  if (!can) {
    return null;
  }
  const selector = { workflow, statuses: status === RunStatus.UNSPECIFIED ? [] : [status] };
  const scope = `${workflow ? `of workflow ${workflow}` : "of every workflow"}${status === RunStatus.UNSPECIFIED ? "" : ` in status ${RunStatus[status].toLowerCase()}`}`;
  return (
    <div className="bulk-actions">
      <ConfirmButton label="Cancel all…" busyLabel="Starting…" busy={cancel.isPending} testId="runs-bulk-cancel" variant="danger"
        title="Cancel every matching run?" okLabel="Cancel runs"
        onOk={() => { replay.reset(); cancel.mutate({ selector, reason: "cancelled in bulk from the dashboard" }); }}>
        Every run {scope} that has not ended is cancelled, in the background.
      </ConfirmButton>
      <ConfirmButton label="Replay all…" busyLabel="Starting…" busy={replay.isPending} testId="runs-bulk-replay"
        title="Replay every matching run?" okLabel="Replay runs"
        onOk={() => { cancel.reset(); replay.mutate({ selector }); }}>
        Every ended run {scope} is started again, in the background.
      </ConfirmButton>
      {op && <BulkProgress initial={op} />}
      {cancel.error && <ApiError error={cancel.error} compact />}
      {replay.error && <ApiError error={replay.error} compact />}
    </div>
  );
}

/** BulkProgress follows a bulk operation until it is done. */
function BulkProgress({ initial }: { initial: BulkOperation }) {
  const q = useQuery(RunService.method.getBulkOperation, { id: initial.id }, {
    refetchInterval: (query) => (query.state.data?.operation?.done ? false : 500),
  });
  const op = q.data?.operation ?? initial;
  const verb = op.kind === BulkOperationKind.REPLAY ? "replayed" : "cancelled";
  return (
    <span className="notice" data-testid="runs-bulk-progress" data-done={op.done ? "true" : "false"}>
      {op.done ? "Done" : "Working"}: {String(op.affected)} {verb} of {String(op.matched)} matched ({String(op.processed)} processed)
    </span>
  );
}
