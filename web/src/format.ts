// Formatting of enum values, times and JSON for display.
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { RunStatus, RunTrigger, TaskStatus } from "./gen/switchyard/v1/run_pb";
import { WorkerStatus } from "./gen/switchyard/v1/worker_pb";

/** enumName is the lower-case name of an enum value without its prefix, such as "running". */
export function enumName(e: Record<number, string>, v: number): string {
  return (e[v] ?? "unspecified").toLowerCase();
}

export const runStatusName = (s: RunStatus) => enumName(RunStatus, s);
export const taskStatusName = (s: TaskStatus) => enumName(TaskStatus, s);
export const workerStatusName = (s: WorkerStatus) => enumName(WorkerStatus, s);
export const triggerName = (t: RunTrigger) => enumName(RunTrigger, t);

/** runEnded reports whether a run is in a final state. */
export function runEnded(s: RunStatus): boolean {
  return s === RunStatus.SUCCEEDED || s === RunStatus.FAILED || s === RunStatus.CANCELLED || s === RunStatus.SKIPPED;
}

/** toDate converts a timestamp, or returns undefined for an absent one. */
export function toDate(t: Timestamp | undefined): Date | undefined {
  return t ? timestampDate(t) : undefined;
}

/** formatTime is a full local date and time, or "—". */
export function formatTime(t: Timestamp | undefined): string {
  const d = toDate(t);
  return d ? d.toLocaleString() : "—";
}

/** formatDuration renders milliseconds as "850 ms", "12.3 s", "4 m 5 s" or "2 h 3 m". */
export function formatDuration(ms: number): string {
  if (ms < 0) {
    ms = 0;
  }
  if (ms < 1000) {
    return `${Math.round(ms)} ms`;
  }
  const s = ms / 1000;
  if (s < 60) {
    return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  }
  const m = Math.floor(s / 60);
  if (m < 60) {
    return `${m} m ${Math.floor(s % 60)} s`;
  }
  const h = Math.floor(m / 60);
  if (h < 48) {
    return `${h} h ${m % 60} m`;
  }
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** age is how long ago t was, such as "5 s ago". */
export function age(t: Timestamp | undefined, now: number = Date.now()): string {
  const d = toDate(t);
  if (!d) {
    return "—";
  }
  return `${formatDuration(now - d.getTime()).replace(/\.\d/, "")} ago`;
}

/** span is the duration from start to end (or to now when end is absent). */
export function span(start: Timestamp | undefined, end: Timestamp | undefined, now: number = Date.now()): string {
  const a = toDate(start);
  if (!a) {
    return "—";
  }
  const b = toDate(end)?.getTime() ?? now;
  return formatDuration(b - a.getTime());
}

/**
 * runNotStarted reports whether a run is waiting to start: scheduled, queued
 * or held by its concurrency gate. A WAITING run with open durable waits
 * (openWaits > 0: a task sleeps or waits for an event or child runs) has
 * started.
 */
export function runNotStarted(s: RunStatus, openWaits = 0): boolean {
  return s === RunStatus.SCHEDULED || s === RunStatus.QUEUED || (s === RunStatus.WAITING && openWaits === 0);
}

/**
 * runDuration is how long a run has been running: "—" while it has not
 * started (its duration does not grow while it waits) and for a run that ended
 * before its scheduled time, otherwise from its start (its scheduled time,
 * when it had one, or its creation) to its end or now.
 */
export function runDuration(
  run: { status: RunStatus; createdAt?: Timestamp; scheduledAt?: Timestamp; finishedAt?: Timestamp; waits?: unknown[] },
  now: number = Date.now(),
): string {
  if (runNotStarted(run.status, run.waits?.length)) {
    return "—";
  }
  const created = toDate(run.createdAt);
  const scheduled = toDate(run.scheduledAt);
  const start = scheduled && created && scheduled > created ? run.scheduledAt : run.createdAt;
  const finished = toDate(run.finishedAt);
  if (finished && scheduled && finished < scheduled) {
    return "—"; // cancelled before its scheduled time: it never started
  }
  return span(start, run.finishedAt, now);
}

/** prettyJson renders a JSON value with two-space indentation. */
export function prettyJson(v: unknown): string {
  return JSON.stringify(v ?? {}, null, 2);
}

/** shortId is the last 12 characters of a UUID, enough to tell runs apart at a glance. */
export function shortId(id: string): string {
  return id.length > 12 ? `…${id.slice(-12)}` : id;
}
