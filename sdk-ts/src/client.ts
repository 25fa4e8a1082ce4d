import type { MessageInitShape } from "@bufbuild/protobuf";
import type { JsonObject } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type CallOptions, type Client, Code, ConnectError, type Transport, createClient } from "@connectrpc/connect";

import { toSwitchyardError } from "./errors.js";
import { type FullRetryPolicy, type RetryPolicy, backoffMs, isTransient, retry, sleep, withDefaults } from "./retry.js";
import { AdminService, type WhoAmIResponse } from "./gen/switchyard/v1/admin_pb.js";
import { DurableService } from "./gen/switchyard/v1/durable_pb.js";
import {
  type BulkPushEventsResponse,
  type Event,
  EventService,
  type ListEventsRequestSchema,
  type ListEventsResponse,
  type PushEventRequestSchema,
  type PushEventResponse,
  type ReplayEventResponse,
} from "./gen/switchyard/v1/event_pb.js";
import {
  type ListRunsRequestSchema,
  type ListRunsResponse,
  type ReplayMode,
  type ReplayRunResponse,
  type Run,
  RunService,
  RunStatus,
} from "./gen/switchyard/v1/run_pb.js";
import { WorkerService } from "./gen/switchyard/v1/worker_pb.js";
import {
  type ListWorkflowsRequestSchema,
  type ListWorkflowsResponse,
  type PutWorkflowResponse,
  type RunWorkflowRequestSchema,
  type RunWorkflowResponse,
  type Workflow,
  WorkflowService,
  type WorkflowSpecSchema,
} from "./gen/switchyard/v1/workflow_pb.js";

/** Options of a {@link SwitchyardClient}. */
export interface ClientOptions {
  /**
   * How calls reach the server: a Connect, gRPC or gRPC-Web transport, from
   * `createNodeTransport` (`@switchyard/sdk/node`) in Node or from
   * `@connectrpc/connect-web` in a browser.
   */
  transport: Transport;
  /** The API token, sent as `Authorization: Bearer <token>` with every call. */
  token?: string;
  /** How failed calls are retried; see {@link RetryPolicy}. */
  retry?: RetryPolicy;
}

/** Options of one call. */
export interface CallOpts {
  /** Aborts the call, its retries and their waits. */
  signal?: AbortSignal;
  /** A deadline for each attempt, in milliseconds. */
  timeoutMs?: number;
}

/** Options of a write that a retry must not repeat. */
export interface WriteOpts extends CallOpts {
  /**
   * The idempotency key of the write; by default a new one is chosen before
   * the first attempt and shared by every retry, so the write happens once.
   */
  idempotencyKey?: string;
}

/** Options of a manual run. */
export interface RunOpts extends WriteOpts {
  /** The priority, 0 (default) to 9 (most urgent). */
  priority?: number;
  /** When the run starts; now when unset. */
  runAt?: Date;
}

/** Returns a fresh idempotency key for one logical write. */
export function newIdempotencyKey(): string {
  return globalThis.crypto.randomUUID();
}

/** Whether a run in status s has ended (succeeded, failed, cancelled or skipped by a trigger's rate limit). */
export function runEnded(s: RunStatus): boolean {
  return s === RunStatus.SUCCEEDED || s === RunStatus.FAILED || s === RunStatus.CANCELLED || s === RunStatus.SKIPPED;
}

/**
 * SwitchyardClient calls a Switchyard server over any Connect transport. Each
 * call is retried under its {@link RetryPolicy}; writes carry an idempotency
 * key chosen before the first attempt. A failed call throws a
 * {@link SwitchyardError}. The generated clients of every service are there too
 * ({@link SwitchyardClient.events} and the others) for what the methods do
 * not cover; they are not retried.
 */
export class SwitchyardClient {
  /** The generated EventService client. */
  readonly events: Client<typeof EventService>;
  /** The generated WorkflowService client. */
  readonly workflows: Client<typeof WorkflowService>;
  /** The generated RunService client. */
  readonly runs: Client<typeof RunService>;
  /** The generated WorkerService client. */
  readonly workers: Client<typeof WorkerService>;
  /** The generated AdminService client. */
  readonly admin: Client<typeof AdminService>;
  /** The generated DurableService client, which a worker's tasks call through their durable methods. */
  readonly durable: Client<typeof DurableService>;
  /** The retry policy with every field set. */
  readonly retryPolicy: FullRetryPolicy;
  readonly #headers: Record<string, string>;

  /** Returns a client; see {@link ClientOptions}. */
  constructor(opts: ClientOptions) {
    this.events = createClient(EventService, opts.transport);
    this.workflows = createClient(WorkflowService, opts.transport);
    this.runs = createClient(RunService, opts.transport);
    this.workers = createClient(WorkerService, opts.transport);
    this.admin = createClient(AdminService, opts.transport);
    this.durable = createClient(DurableService, opts.transport);
    this.retryPolicy = withDefaults(opts.retry);
    this.#headers = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
  }

  /** The call options of one attempt: the token, signal and timeout. */
  callOptions(opts?: CallOpts): CallOptions {
    return { headers: this.#headers, signal: opts?.signal, timeoutMs: opts?.timeoutMs };
  }

  /** Makes call under the retry policy; an error says what it was for. */
  async #invoke<T>(what: string, opts: CallOpts | undefined, call: (o: CallOptions) => Promise<T>): Promise<T> {
    const co = this.callOptions(opts);
    try {
      return await retry(this.retryPolicy, opts?.signal, () => call(co));
    } catch (err) {
      throw toSwitchyardError(what, err);
    }
  }

  /**
   * Pushes one event (key, JSON payload) and returns the stored event and the
   * runs it started; `deduplicated` is true when the idempotency key was seen.
   */
  pushEvent(req: MessageInitShape<typeof PushEventRequestSchema>, opts?: CallOpts): Promise<PushEventResponse> {
    const msg = { ...req, idempotencyKey: req.idempotencyKey || newIdempotencyKey() };
    return this.#invoke(`push event ${req.key ?? ""}`, opts, (o) => this.events.pushEvent(msg, o));
  }

  /** Pushes an event with key and payload; see {@link SwitchyardClient.pushEvent}. */
  push(key: string, payload: JsonObject, opts?: WriteOpts): Promise<PushEventResponse> {
    return this.pushEvent({ key, payload, idempotencyKey: opts?.idempotencyKey }, opts);
  }

  /**
   * Pushes events all or nothing; each event without an idempotency key gets
   * one before the first attempt.
   */
  bulkPushEvents(events: MessageInitShape<typeof PushEventRequestSchema>[], opts?: CallOpts): Promise<BulkPushEventsResponse> {
    const msgs = events.map((e) => ({ ...e, idempotencyKey: e.idempotencyKey || newIdempotencyKey() }));
    return this.#invoke(`bulk push ${events.length} events`, opts, (o) => this.events.bulkPushEvents({ events: msgs }, o));
  }

  /** Returns the event with id. */
  async getEvent(id: string, opts?: CallOpts): Promise<Event | undefined> {
    const res = await this.#invoke(`get event ${id}`, opts, (o) => this.events.getEvent({ id }, o));
    return res.event;
  }

  /** Returns a page of events, newest first. */
  listEvents(req: MessageInitShape<typeof ListEventsRequestSchema>, opts?: CallOpts): Promise<ListEventsResponse> {
    return this.#invoke("list events", opts, (o) => this.events.listEvents(req, o));
  }

  /** Pushes the event again (once, whatever the retries) and returns the result. */
  replayEvent(id: string, opts?: WriteOpts): Promise<ReplayEventResponse> {
    const idempotencyKey = opts?.idempotencyKey || newIdempotencyKey();
    return this.#invoke(`replay event ${id}`, opts, (o) => this.events.replayEvent({ id, idempotencyKey }, o));
  }

  /** Puts a workflow: a new version when its spec changed. */
  putWorkflow(spec: MessageInitShape<typeof WorkflowSpecSchema>, opts?: CallOpts): Promise<PutWorkflowResponse> {
    return this.#invoke(`put workflow ${spec.name ?? ""}`, opts, (o) => this.workflows.putWorkflow({ spec }, o));
  }

  /** Returns a workflow's version (0: the latest). */
  async getWorkflow(name: string, version = 0, opts?: CallOpts): Promise<Workflow | undefined> {
    const res = await this.#invoke(`get workflow ${name}`, opts, (o) => this.workflows.getWorkflow({ name, version }, o));
    return res.workflow;
  }

  /** Returns a page of workflows. */
  listWorkflows(req: MessageInitShape<typeof ListWorkflowsRequestSchema> = {}, opts?: CallOpts): Promise<ListWorkflowsResponse> {
    return this.#invoke("list workflows", opts, (o) => this.workflows.listWorkflows(req, o));
  }

  /** Deletes a workflow: no new runs start; runs in progress go on. */
  async deleteWorkflow(name: string, opts?: CallOpts): Promise<void> {
    await this.#invoke(`delete workflow ${name}`, opts, (o) => this.workflows.deleteWorkflow({ name }, o));
  }

  /** Starts a run of a workflow with input (once, whatever the retries). */
  runWorkflow(
    name: string,
    input: JsonObject = {},
    opts?: RunOpts,
  ): Promise<RunWorkflowResponse> {
    const { signal, timeoutMs, idempotencyKey, priority, runAt } = opts ?? {};
    const req: MessageInitShape<typeof RunWorkflowRequestSchema> = {
      name,
      input,
      priority,
      runAt: runAt ? timestampFromDate(runAt) : undefined,
      idempotencyKey: idempotencyKey || newIdempotencyKey(),
    };
    return this.#invoke(`run workflow ${name}`, { signal, timeoutMs }, (o) => this.workflows.runWorkflow(req, o));
  }

  /** Returns the run with id, with its tasks. */
  async getRun(id: string, opts?: CallOpts): Promise<Run | undefined> {
    const res = await this.#invoke(`get run ${id}`, opts, (o) => this.runs.getRun({ id }, o));
    return res.run;
  }

  /** Returns a page of runs, newest first. */
  listRuns(req: MessageInitShape<typeof ListRunsRequestSchema>, opts?: CallOpts): Promise<ListRunsResponse> {
    return this.#invoke("list runs", opts, (o) => this.runs.listRuns(req, o));
  }

  /** Cancels a run and returns it; its running tasks are told to stop. */
  async cancelRun(id: string, reason = "", opts?: CallOpts): Promise<Run | undefined> {
    const res = await this.#invoke(`cancel run ${id}`, opts, (o) => this.runs.cancelRun({ id, reason }, o));
    return res.run;
  }

  /** Starts a new run of a run that ended (once, whatever the retries). */
  replayRun(id: string, mode: ReplayMode, opts?: WriteOpts): Promise<ReplayRunResponse> {
    const idempotencyKey = opts?.idempotencyKey || newIdempotencyKey();
    return this.#invoke(`replay run ${id}`, opts, (o) => this.runs.replayRun({ id, mode, idempotencyKey }, o));
  }

  /** Says who the token is: its tenant, role and the procedures it may call. */
  whoAmI(opts?: CallOpts): Promise<WhoAmIResponse> {
    return this.#invoke("who am I", opts, (o) => this.admin.whoAmI({}, o));
  }

  /**
   * Yields the run's current state and then its state after every change
   * until it ends. A stream that breaks is reopened under the retry policy
   * (attempts count from the last state received), so a state may come again.
   */
  async *watchRun(id: string, opts?: CallOpts): AsyncGenerator<Run, void, undefined> {
    const co = { ...this.callOptions(opts), timeoutMs: undefined };
    for (let failures = 0; ; ) {
      let err: unknown;
      try {
        for await (const msg of this.runs.watchRun({ id }, co)) {
          if (msg.keepalive || !msg.run) {
            continue;
          }
          failures = 0;
          yield msg.run;
          if (runEnded(msg.run.status)) {
            return;
          }
        }
        err = new ConnectError("the stream ended before the run did", Code.Unavailable);
      } catch (e) {
        err = e;
      }
      failures++;
      if (!isTransient(err, opts?.signal) || failures >= this.retryPolicy.maxAttempts) {
        throw toSwitchyardError(`watch run ${id}`, err);
      }
      await sleep(backoffMs(this.retryPolicy, failures - 1, err), opts?.signal);
    }
  }
}
