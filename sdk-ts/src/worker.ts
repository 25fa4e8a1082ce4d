import type { JsonObject, MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";

import { type SwitchyardClient, newIdempotencyKey } from "./client.js";
import { PermanentError, toSwitchyardError } from "./errors.js";
import { backoffMs, retry, sleep } from "./retry.js";
import type { Keepalive, TaskAssignment, TaskCancellation } from "./gen/switchyard/v1/worker_pb.js";
import type { WorkflowSpecSchema } from "./gen/switchyard/v1/workflow_pb.js";
import { Acker, Watchdog, StreamEnd } from "./worker_stream.js";
import { Reports, type Report } from "./worker_report.js";
import { type DurableTask, SuspendedError, durableTask } from "./durable.js";
import type { WaitResult } from "./gen/switchyard/v1/durable_pb.js";

/**
 * One attempt of a task, as a {@link TaskFunc} sees it, with its durable
 * methods ({@link DurableTask}: steps, sleeps, waits, child runs).
 */
export interface Task extends DurableTask {
  /** The task's id. */
  id: string;
  /** The attempt, from 1. */
  attempt: number;
  /** The run's id. */
  runId: string;
  /** The workflow's name. */
  workflow: string;
  /** The task's name in the workflow. */
  name: string;
  /** The action. */
  action: string;
  /** The run's input: the event's payload or the manual input. */
  input: JsonObject;
  /** The outputs of the task's parents, by parent name. */
  parentOutputs: Record<string, JsonObject>;
  /** When the attempt times out and may be given to another worker. */
  deadline?: Date;
  /** How the task's declared wait (`wait_for`) ended; undefined without one. */
  wait?: WaitResult;
  /**
   * Aborted when the server cancels the attempt (its reason says why), its
   * deadline passes, or the worker shuts down and stops waiting for it.
   */
  signal: AbortSignal;
}

/**
 * TaskFunc runs one attempt and returns its output (a JSON object passed to
 * the task's children) or throws: a {@link PermanentError} fails the task at
 * once; any other error is retried as the task's retry policy allows.
 */
export type TaskFunc = (task: Task) => Promise<JsonObject | void>;

/** Where a worker logs; `console` fits. Each method takes a message and attributes. */
export interface Logger {
  /** Details: each assignment, acknowledgement retries. */
  debug(msg: string, attrs?: Record<string, unknown>): void;
  /** The worker's life: registered, listening, each task's outcome. */
  info(msg: string, attrs?: Record<string, unknown>): void;
  /** Trouble it works around: a stream that ended, a report not yet taken. */
  warn(msg: string, attrs?: Record<string, unknown>): void;
  /** A report given up. */
  error(msg: string, attrs?: Record<string, unknown>): void;
}

/** A logger that discards everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Options of a {@link Worker}. */
export interface WorkerOptions {
  /** The worker's name, for people; default "worker-<pid>" in Node. */
  name?: string;
  /** How many tasks it runs at once, 1 to 1000; default 10. */
  slots?: number;
  /** Labels shown with the worker. */
  labels?: Record<string, string>;
  /**
   * How long a stopping worker waits for running tasks before it aborts
   * them, and then for their reports (at least 5 s), in milliseconds; default 30000.
   */
  shutdownTimeoutMs?: number;
  /** Receives the worker's logs; default none. */
  logger?: Logger;
}

/** The heartbeat interval when the server names none. */
const defaultHeartbeatMs = 10_000;
/** How long a stopping worker gives the reports of aborted attempts at least. */
const shutdownGraceMs = 5_000;
/** The text of the failure reported for an attempt aborted at shutdown. */
export const shuttingDownMessage = "worker shutting down";

/** The key of one attempt. */
export type AttemptKey = `${string}#${number}`;

/** Returns the key of an attempt. */
export function attemptKey(taskId: string, attempt: number): AttemptKey {
  return `${taskId}#${attempt}`;
}

/** An assigned attempt until its result goes to the pending reports. */
interface Attempt {
  key: AttemptKey;
  workerId: string;
  task: Task;
  abort: AbortController;
  deadlineTimer?: ReturnType<typeof setTimeout>;
  reported: boolean;
  /** Whether the attempt holds a slot, until it frees it. */
  slot: boolean;
  done: Promise<void>;
}

/**
 * Worker runs the tasks of the actions it handles, as the Go SDK's worker
 * does: it declares its workflows, registers, holds a Listen stream open
 * (acknowledging each assignment and keep-alive, and taking a stream silent
 * for three keep-alive intervals for dead), heartbeats, reconnects with
 * backoff (registering again when the server forgot it), runs up to `slots`
 * tasks at once, and keeps each result until a server acknowledges it,
 * resending it through any failure until the attempt's deadline. An
 * assignment of an attempt it runs, or already reported, is ignored; one whose
 * report is pending has that report sent at once. Reports are fenced by the
 * server (task, attempt, worker), so a repeat is harmless.
 */
export class Worker {
  readonly #client: SwitchyardClient;
  readonly #log: Logger;
  readonly #name: string;
  readonly #slots: number;
  readonly #labels: Record<string, string>;
  readonly #shutdownMs: number;
  readonly #handlers = new Map<string, TaskFunc>();
  readonly #workflows: MessageInitShape<typeof WorkflowSpecSchema>[] = [];
  #started = false;

  #workerId = "";
  #intervalMs = defaultHeartbeatMs;
  #reregister = false;
  #endStream: ((why: StreamEnd) => void) | undefined;

  readonly #attempts = new Map<AttemptKey, Attempt>();
  #free: number;
  readonly #slotWaiters: (() => void)[] = [];
  readonly #reports: Reports;

  /** Returns a worker that talks to the server through client. */
  constructor(client: SwitchyardClient, opts: WorkerOptions = {}) {
    this.#client = client;
    this.#log = opts.logger ?? silentLogger;
    this.#name = opts.name || `worker-${globalThis.process?.pid ?? "js"}`;
    this.#slots = opts.slots && opts.slots > 0 ? opts.slots : 10;
    this.#free = this.#slots;
    this.#labels = opts.labels ?? {};
    this.#shutdownMs = opts.shutdownTimeoutMs && opts.shutdownTimeoutMs > 0 ? opts.shutdownTimeoutMs : 30_000;
    this.#reports = new Reports(client, this.#log);
  }

  /** The worker's id once registered, or "". */
  get id(): string {
    return this.#workerId;
  }

  /** Makes the worker run fn for tasks of action; call before {@link Worker.run}. */
  handle(action: string, fn: TaskFunc): this {
    if (this.#handlers.has(action)) {
      throw new Error(`action ${action} already has a handler`);
    }
    this.#handlers.set(action, fn);
    return this;
  }

  /** Declares a workflow that run puts on the server before taking work. */
  workflow(spec: MessageInitShape<typeof WorkflowSpecSchema>): this {
    this.#workflows.push(spec);
    return this;
  }

  /**
   * Declares the workflows, registers, and runs assigned tasks until signal
   * aborts; then it takes no more work, waits up to shutdownTimeoutMs for
   * running tasks, aborts the rest and reports them as retryable failures
   * ("worker shutting down"), waits for the reports no server has
   * acknowledged yet, and resolves. It rejects when the workflows cannot be
   * declared or the worker cannot register at start. It may be called once.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#started) {
      throw new Error("run worker: run was already called");
    }
    if (this.#handlers.size === 0) {
      throw new Error("run worker: no action has a handler");
    }
    this.#started = true;
    try {
      for (const spec of this.#workflows) {
        await this.#client.putWorkflow(spec, { signal });
      }
      await this.#register(signal);
    } catch (err) {
      if (signal.aborted) {
        return;
      }
      throw err;
    }
    const stopHeartbeat = new AbortController();
    const heartbeat = this.#heartbeat(stopHeartbeat.signal);
    await this.#listen(signal);
    await this.#shutdown();
    stopHeartbeat.abort();
    await heartbeat;
    this.#log.info("worker stopped", { worker_id: this.#workerId });
  }

  /** Registers, with one idempotency key for every retry. */
  async #register(signal: AbortSignal): Promise<void> {
    const req = {
      name: this.#name,
      actions: [...this.#handlers.keys()].sort(),
      slots: this.#slots,
      labels: this.#labels,
      idempotencyKey: newIdempotencyKey(),
    };
    const co = this.#client.callOptions({ signal });
    let res;
    try {
      res = await retry(this.#client.retryPolicy, signal, () => this.#client.workers.registerWorker(req, co));
    } catch (err) {
      throw toSwitchyardError(`register worker ${this.#name}`, err);
    }
    const d = res.heartbeatInterval;
    const ms = d ? Number(d.seconds) * 1000 + d.nanos / 1e6 : 0;
    this.#workerId = res.workerId;
    this.#intervalMs = ms > 0 ? ms : defaultHeartbeatMs;
    this.#reregister = false;
    this.#log.info("worker registered", {
      worker_id: res.workerId, name: this.#name, actions: req.actions, slots: this.#slots, heartbeat_interval_ms: this.#intervalMs,
    });
  }

  /** Marks the registration lost and ends the stream, so that listen registers again. */
  #forget(): void {
    this.#reregister = true;
    this.#endStream?.({ kind: "forgotten" });
  }

  /** Heartbeats every interval until signal aborts. */
  async #heartbeat(signal: AbortSignal): Promise<void> {
    for (;;) {
      try {
        await sleep(this.#intervalMs, signal);
      } catch {
        return;
      }
      const id = this.#workerId;
      try {
        await this.#client.workers.heartbeat({ workerId: id }, this.#client.callOptions({ signal, timeoutMs: this.#intervalMs }));
      } catch (err) {
        if (signal.aborted) {
          return;
        }
        const code = ConnectError.from(err).code;
        if (code === Code.NotFound) {
          this.#log.warn("server forgot the worker: registering again", { worker_id: id });
          this.#forget();
        } else {
          this.#log.warn("heartbeat failed", { worker_id: id, code: Code[code], error: String(err) });
        }
      }
    }
  }

  /** Holds a Listen stream open until signal aborts, reconnecting with backoff. */
  async #listen(signal: AbortSignal): Promise<void> {
    for (let failures = 0; !signal.aborted; failures++) {
      let err: unknown;
      try {
        if (this.#reregister) {
          await this.#register(signal);
        }
        const received = await this.#listenOnce(signal);
        if (received.received) {
          failures = 0;
        }
        err = received.err;
      } catch (e) {
        err = e;
      }
      if (signal.aborted) {
        return;
      }
      if (ConnectError.from(err).code === Code.NotFound) {
        this.#reregister = true;
      }
      const d = backoffMs(this.#client.retryPolicy, failures, err);
      this.#log.warn("listen stream ended: reconnecting", {
        worker_id: this.#workerId, code: Code[ConnectError.from(err).code], error: String(err), retry_in_ms: Math.round(d),
      });
      try {
        await sleep(d, signal);
      } catch {
        return;
      }
    }
  }

  /**
   * Opens one Listen stream and dispatches its messages until it ends;
   * acknowledges in the background. Says whether anything arrived, and why it ended.
   */
  async #listenOnce(signal: AbortSignal): Promise<{ received: boolean; err: unknown }> {
    const workerId = this.#workerId;
    const stream = new AbortController();
    const onAbort = () => stream.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    let end: StreamEnd | undefined;
    const endStream = (why: StreamEnd) => {
      end ??= why;
      stream.abort(new Error(why.kind));
    };
    this.#endStream = endStream;
    const dog = new Watchdog((ms) => endStream({ kind: "silent", ms }));
    const acks = new Acker(this.#client, workerId, this.#log, () => endStream({ kind: "not-open" }));
    let received = false;
    try {
      this.#log.info("listening for tasks", { worker_id: workerId });
      this.#reports.sendAllNow(workerId, "the stream is open");
      const co = { ...this.#client.callOptions({ signal: stream.signal }), timeoutMs: undefined };
      for await (const msg of this.#client.workers.listen({ workerId }, co)) {
        received = true;
        let intervalMs = 0;
        switch (msg.message.case) {
          case "assignment":
            this.#start(workerId, msg.message.value);
            acks.assignment(msg.message.value);
            break;
          case "cancellation":
            this.#cancel(msg.message.value);
            break;
          case "keepalive":
            intervalMs = keepaliveIntervalMs(msg.message.value);
            acks.keepalive(msg.message.value);
            break;
        }
        dog.fed(intervalMs);
      }
      return { received, err: end ? streamEndError(end) : new ConnectError("the server closed the stream", Code.Unavailable) };
    } catch (err) {
      return { received, err: end ? streamEndError(end) : err };
    } finally {
      signal.removeEventListener("abort", onAbort);
      dog.stop();
      acks.stop();
      if (this.#endStream === endStream) {
        this.#endStream = undefined;
      }
    }
  }

  /** Starts an assignment unless its attempt runs here or was reported. */
  #start(workerId: string, a: TaskAssignment): void {
    const key = attemptKey(a.taskId, a.attempt);
    if (this.#attempts.has(key)) {
      this.#log.debug("ignoring a repeated assignment", { task_id: a.taskId, attempt: a.attempt });
      return;
    }
    if (this.#reports.wakeIfPending(key)) {
      this.#log.info("repeated assignment of an attempt whose report is pending: sending the report now", {
        task_id: a.taskId, attempt: a.attempt,
      });
      return;
    }
    if (this.#reports.settled(key)) {
      this.#log.debug("ignoring a repeated assignment of an attempt already reported", { task_id: a.taskId, attempt: a.attempt });
      return;
    }
    const abort = new AbortController();
    const deadline = a.deadline ? timestampDate(a.deadline) : undefined;
    let at: Attempt | undefined;
    const durable = durableTask(this.#client, workerId, a, abort.signal, () => at && this.#suspend(at));
    const task: Task = {
      ...durable,
      id: a.taskId,
      attempt: a.attempt,
      runId: a.runId,
      workflow: a.workflow,
      name: a.taskName,
      action: a.action,
      input: a.input ?? {},
      parentOutputs: { ...a.parentOutputs },
      deadline,
      wait: a.waitResult,
      signal: abort.signal,
    };
    at = { key, workerId, task, abort, reported: false, slot: false, done: Promise.resolve() };
    if (deadline) {
      at.deadlineTimer = setTimeout(() => abort.abort(new Error("attempt deadline passed")), Math.max(0, deadline.getTime() - Date.now()));
    }
    this.#attempts.set(key, at);
    this.#log.debug("task assigned", { worker_id: workerId, task_id: a.taskId, attempt: a.attempt, action: a.action });
    at.done = this.#execute(at, this.#handlers.get(a.action));
  }

  /** Aborts the attempt the server cancelled. */
  #cancel(c: TaskCancellation): void {
    const at = this.#attempts.get(attemptKey(c.taskId, c.attempt));
    if (!at) {
      return;
    }
    this.#log.info("task cancelled by the server", { task_id: c.taskId, attempt: c.attempt, reason: c.reason });
    at.abort.abort(new Error(`cancelled by the server: ${c.reason}`));
  }

  /** Waits for a slot (or the attempt's end), runs the attempt and reports it. */
  async #execute(at: Attempt, fn: TaskFunc | undefined): Promise<void> {
    if (!fn) {
      this.#finish(at, undefined, new Error(`worker has no handler for action "${at.task.action}"`));
      return;
    }
    if (!(await this.#takeSlot(at.abort.signal))) {
      this.#finish(at, undefined, at.abort.signal.reason);
      return;
    }
    at.slot = true;
    try {
      const out = await fn(at.task);
      this.#finish(at, out ?? {}, undefined);
    } catch (err) {
      this.#finish(at, undefined, err ?? new Error("task failed"));
    } finally {
      this.#freeSlot(at);
    }
  }

  /**
   * Ends an attempt whose wait the server holds (the task is WAITING): no
   * report whatever its TaskFunc does, its signal aborted with a
   * {@link SuspendedError}, its slot free at once.
   */
  #suspend(at: Attempt): void {
    if (at.reported) {
      return;
    }
    at.reported = true;
    if (at.deadlineTimer) {
      clearTimeout(at.deadlineTimer);
    }
    this.#attempts.delete(at.key);
    this.#reports.remember(at.key);
    at.abort.abort(new SuspendedError());
    this.#freeSlot(at);
    this.#log.info("task suspended: it waits", { worker_id: at.workerId, task_id: at.task.id, attempt: at.task.attempt, run_id: at.task.runId });
  }

  /** Frees the attempt's slot, once. */
  #freeSlot(at: Attempt): void {
    if (at.slot) {
      at.slot = false;
      this.#releaseSlot();
    }
  }

  /** Waits for a free slot; false when signal aborted first. */
  #takeSlot(signal: AbortSignal): Promise<boolean> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const onAbort = () => {
        const i = this.#slotWaiters.indexOf(grant);
        if (i >= 0) {
          this.#slotWaiters.splice(i, 1);
        }
        resolve(false);
      };
      const grant = () => {
        signal.removeEventListener("abort", onAbort);
        resolve(true);
      };
      this.#slotWaiters.push(grant);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  #releaseSlot(): void {
    const next = this.#slotWaiters.shift();
    if (next) {
      next();
    } else {
      this.#free++;
    }
  }

  /** Hands the attempt's result to the pending reports, once. */
  #finish(at: Attempt, out: JsonObject | undefined, err: unknown): void {
    if (at.deadlineTimer) {
      clearTimeout(at.deadlineTimer);
    }
    if (at.reported) {
      return;
    }
    at.reported = true;
    this.#attempts.delete(at.key);
    this.#reports.pend(newReport(at, out, err));
  }

  /**
   * Waits up to the shutdown timeout for running attempts, aborts the rest
   * and reports them as retryable failures, then waits for pending reports.
   */
  async #shutdown(): Promise<void> {
    const running = [...this.#attempts.values()];
    this.#log.info("worker stopping: waiting for running tasks", {
      worker_id: this.#workerId, running: running.length, timeout_ms: this.#shutdownMs,
    });
    const all = Promise.all(running.map((a) => a.done));
    if (!(await within(all, this.#shutdownMs))) {
      for (const at of [...this.#attempts.values()]) {
        at.abort.abort(new Error(shuttingDownMessage));
        if (!at.reported) {
          at.reported = true;
          this.#attempts.delete(at.key);
          this.#reports.pend(failureReport(at, shuttingDownMessage, true));
        }
      }
      if (!(await within(all, shutdownGraceMs))) {
        this.#log.warn("tasks still running after shutdown: their TaskFuncs ignore their signal", { worker_id: this.#workerId });
      }
    }
    const wait = Math.max(this.#shutdownMs, shutdownGraceMs);
    if (this.#reports.count() > 0) {
      this.#log.info("worker stopping: waiting for pending reports", { worker_id: this.#workerId, reports: this.#reports.count(), timeout_ms: wait });
    }
    if (!(await this.#reports.waitAll(wait))) {
      this.#reports.stopAll();
      await this.#reports.waitAll(shutdownGraceMs);
    }
  }
}

/** Resolves true when p settles within ms, false otherwise. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The interval a keep-alive announces, in milliseconds (0: none). */
function keepaliveIntervalMs(k: Keepalive): number {
  return k.interval ? Number(k.interval.seconds) * 1000 + k.interval.nanos / 1e6 : 0;
}

/** The error of a stream the worker ended. */
function streamEndError(end: StreamEnd): ConnectError {
  switch (end.kind) {
    case "silent":
      return new ConnectError(`no message on the Listen stream for ${end.ms} ms`, Code.Unavailable);
    case "not-open":
      return new ConnectError("the server no longer takes the Listen stream as open", Code.Unavailable);
    case "forgotten":
      return new ConnectError("the server forgot the worker", Code.NotFound);
  }
}

/** The report of an attempt's result: out when err is undefined. */
function newReport(at: Attempt, out: JsonObject | undefined, err: unknown): Report {
  if (err === undefined) {
    return { ...reportBase(at), ok: true, output: out ?? {} };
  }
  const signalReason = at.abort.signal.aborted ? at.abort.signal.reason : undefined;
  if (signalReason instanceof Error && signalReason.message === shuttingDownMessage) {
    return failureReport(at, shuttingDownMessage, true);
  }
  const msg = err instanceof Error ? err.message : String(err);
  return failureReport(at, msg || "task failed", !(err instanceof PermanentError));
}

function failureReport(at: Attempt, msg: string, retryable: boolean): Report {
  return { ...reportBase(at), ok: false, error: msg, retryable };
}

function reportBase(at: Attempt) {
  return {
    key: at.key,
    workerId: at.workerId,
    taskId: at.task.id,
    attempt: at.task.attempt,
    runId: at.task.runId,
    action: at.task.action,
    deadline: at.task.deadline,
  };
}

