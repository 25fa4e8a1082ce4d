// Durable tasks: named steps recorded once, sleeps, waits for events and
// child runs, through DurableService, as the Go SDK's Task methods do. A task
// runs from the top on every attempt; what an earlier attempt recorded comes
// with the assignment and is used without a call.
import { fromJson, toJson, type JsonObject, type JsonValue, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromDate, ValueSchema } from "@bufbuild/protobuf/wkt";

import type { SwitchyardClient } from "./client.js";
import { toSwitchyardError } from "./errors.js";
import { retry } from "./retry.js";
import type { Event } from "./gen/switchyard/v1/event_pb.js";
import {
  type ChildResult,
  type Step,
  StepKind,
  type WaitConditionSchema,
  WaitMode,
  type WaitResult,
  WaitState,
} from "./gen/switchyard/v1/durable_pb.js";
import type { TaskAssignment } from "./gen/switchyard/v1/worker_pb.js";

/**
 * SuspendedError is what a wait throws when it is not over: the attempt is
 * suspended (the task is WAITING on the server) and the TaskFunc must let it
 * propagate. The worker reports nothing for the attempt whatever the
 * TaskFunc does, aborts its signal with this error, and frees its slot; the
 * task runs again, from the top, when the wait is over.
 */
export class SuspendedError extends Error {
  constructor() {
    super("the task waits: attempt suspended");
    this.name = "SuspendedError";
  }
}

/** An event to wait for. */
export interface WaitSpec {
  /** The event key, or a key pattern as in a trigger (`payment.*`). */
  key: string;
  /** CEL over `event` and `input` that must be true, such as `event.payload.order_id == input.order_id`. */
  condition?: string;
  /** An event stored up to this long before the wait began counts, in milliseconds. */
  lookbackMs?: number;
  /** How long to wait, in milliseconds; 0 or unset waits until the run ends. */
  timeoutMs?: number;
}

/** One condition of {@link DurableTask.waitAny} or {@link DurableTask.waitAll}. */
export type Wait = MessageInitShape<typeof WaitConditionSchema>;

/** Satisfied ms after the wait began. */
export function forSleep(name: string, ms: number): Wait {
  return { name, kind: { case: "sleep", value: { duration: durationFromMs(ms) } } };
}

/** Satisfied at a time. */
export function forTime(name: string, at: Date): Wait {
  return { name, kind: { case: "sleep", value: { until: timestampFromDate(at) } } };
}

/** Satisfied by an event as spec says, or times out. */
export function forEvent(name: string, spec: WaitSpec): Wait {
  return {
    name,
    kind: {
      case: "event",
      value: {
        key: spec.key,
        condition: spec.condition ?? "",
        lookback: spec.lookbackMs ? durationFromMs(spec.lookbackMs) : undefined,
        timeout: spec.timeoutMs ? durationFromMs(spec.timeoutMs) : undefined,
      },
    },
  };
}

/** Satisfied when the child run ends. */
export function forChild(name: string, runId: string): Wait {
  return { name, kind: { case: "child", value: { runId } } };
}

/** The event that satisfied the condition name of a wait result, or undefined. */
export function eventOf(r: WaitResult, name: string): Event | undefined {
  const c = r.conditions.find((c) => c.name === name);
  return c?.state === WaitState.SATISFIED ? c.event : undefined;
}

/** A child spec of {@link DurableTask.spawnChildren}. */
export interface ChildSpec {
  /** The child's workflow. */
  workflow: string;
  /** Its input. */
  input?: JsonObject;
  /** The priority of its tasks, 0 to 9; unset means the parent run's. */
  priority?: number;
  /** When it starts (unset or past: at once; at most a year ahead). */
  runAt?: Date;
}

/** The durable methods of a task; each name is unique in the task. */
export interface DurableTask {
  /** Runs fn once: its JSON result is recorded, and later attempts get it without running fn. */
  step<T extends JsonValue>(name: string, fn: () => Promise<T> | T): Promise<T>;
  /** Suspends the task for ms. */
  sleep(name: string, ms: number): Promise<void>;
  /** Suspends the task until at. */
  sleepUntil(name: string, at: Date): Promise<void>;
  /** The matching event, or undefined when the timeout passed first. */
  waitForEvent(name: string, spec: WaitSpec): Promise<Event | undefined>;
  /** Waits until one condition is satisfied (the others are cancelled) or all timed out. */
  waitAny(name: string, ...waits: Wait[]): Promise<WaitResult>;
  /** Waits until every condition is satisfied or timed out. */
  waitAll(name: string, ...waits: Wait[]): Promise<WaitResult>;
  /** Starts 1 to 1,000 child runs at once, once, and returns their ids. */
  spawnChildren(name: string, children: ChildSpec[]): Promise<string[]>;
  /** Waits for child runs to end and returns how each ended, in order. */
  waitChildren(name: string, runIds: string[]): Promise<ChildResult[]>;
}

/**
 * durableTask returns the durable methods of an assigned attempt; suspend
 * ends the attempt without a report. signal is the attempt's.
 */
export function durableTask(
  client: SwitchyardClient,
  workerId: string,
  a: TaskAssignment,
  signal: AbortSignal,
  suspend: () => void,
): DurableTask {
  const steps = new Map<string, Step>(a.steps.map((s) => [s.name, s]));
  let suspended = false;
  const fence = { workerId, taskId: a.taskId, attempt: a.attempt };
  const co = () => client.callOptions({ signal });

  const recorded = (name: string, kind: StepKind): Step | undefined => {
    if (suspended) {
      throw new SuspendedError();
    }
    const s = steps.get(name);
    if (s && s.kind !== kind) {
      throw new Error(`step ${name}: recorded as ${StepKind[s.kind]}, used as ${StepKind[kind]}`);
    }
    return s;
  };
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await retry(client.retryPolicy, signal, fn);
    } catch (err) {
      throw toSwitchyardError(what, err);
    }
  };
  const wait = async (name: string, mode: WaitMode, waits: Wait[]): Promise<WaitResult> => {
    const s = recorded(name, StepKind.WAIT);
    if (s?.wait) {
      return s.wait;
    }
    const res = await call(`wait ${name}`, () =>
      client.durable.wait({ ...fence, name, wait: { mode, conditions: waits } }, co()),
    );
    if (!res.resolved || !res.result) {
      suspended = true;
      suspend();
      throw new SuspendedError();
    }
    steps.set(name, { name, kind: StepKind.WAIT, wait: res.result } as Step);
    return res.result;
  };
  const self: DurableTask = {
    async step<T extends JsonValue>(name: string, fn: () => Promise<T> | T): Promise<T> {
      let s = recorded(name, StepKind.RESULT);
      if (!s) {
        const result = await fn();
        const res = await call(`record step ${name}`, () =>
          client.durable.recordStep({ ...fence, name, result: fromJson(ValueSchema, result ?? null) }, co()),
        );
        s = res.step!;
        steps.set(name, s);
      }
      return (s.result ? toJson(ValueSchema, s.result) : null) as T;
    },
    async sleep(name, ms) {
      await wait(name, WaitMode.ALL, [forSleep("sleep", ms)]);
    },
    async sleepUntil(name, at) {
      await wait(name, WaitMode.ALL, [forTime("sleep", at)]);
    },
    async waitForEvent(name, spec) {
      return eventOf(await wait(name, WaitMode.ALL, [forEvent("event", spec)]), "event");
    },
    waitAny: (name, ...waits) => wait(name, WaitMode.ANY, waits),
    waitAll: (name, ...waits) => wait(name, WaitMode.ALL, waits),
    async spawnChildren(name, children) {
      const s = recorded(name, StepKind.SPAWN);
      if (s) {
        return s.childRunIds;
      }
      const specs = children.map((c) => ({
        workflow: c.workflow,
        input: c.input ?? {},
        priority: c.priority,
        runAt: c.runAt ? timestampFromDate(c.runAt) : undefined,
      }));
      const res = await call(`spawn ${name}`, () =>
        client.durable.spawnChildren({ ...fence, name, children: specs }, co()),
      );
      steps.set(name, { name, kind: StepKind.SPAWN, childRunIds: res.runIds } as Step);
      return res.runIds;
    },
    async waitChildren(name, runIds) {
      const r = await wait(name, WaitMode.ALL, runIds.map((id, i) => forChild(`child-${i}`, id)));
      return runIds.map((id, i) => {
        const c = r.conditions.find((c) => c.name === `child-${i}`);
        if (c?.state !== WaitState.SATISFIED || !c.child) {
          throw new Error(`wait ${name}: child run ${id} did not end (${WaitState[c?.state ?? 0]})`);
        }
        return c.child;
      });
    },
  };
  return self;
}
