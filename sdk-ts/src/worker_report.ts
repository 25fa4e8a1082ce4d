import type { JsonObject } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";

import type { SwitchyardClient } from "./client.js";
import { backoffMs, isTransient } from "./retry.js";
import type { AttemptKey, Logger } from "./worker.js";

/**
 * A finished attempt's result, kept until a server acknowledges it: sent with
 * CompleteTask or FailTask and sent again, with backoff, after every transient
 * failure, until the attempt's deadline (at least a minute) has passed; at
 * once when a stream opens or the attempt is assigned again.
 */
export interface Report {
  key: AttemptKey;
  workerId: string;
  taskId: string;
  attempt: number;
  runId: string;
  action: string;
  deadline?: Date;
  ok: boolean;
  output?: JsonObject;
  error?: string;
  retryable?: boolean;
}

/** How long a report is tried at least, and when its attempt named no deadline. */
const reportWindowMs = 60_000;
/** Bounds one try of a report. */
const reportTryMs = 10_000;
/** How many settled attempts are remembered, to ignore repeated assignments. */
const settledKept = 1024;
/** The longest error text FailTask accepts. */
const maxErrorChars = 16384;

/** A pending report's delivery. */
interface Delivery {
  report: Report;
  wake: () => void;
  stop: AbortController;
}

/** The pending reports of a worker and the attempts it settled lately. */
export class Reports {
  readonly #client: SwitchyardClient;
  readonly #log: Logger;
  readonly #pending = new Map<AttemptKey, Delivery>();
  readonly #settled = new Set<AttemptKey>();
  #waiters: (() => void)[] = [];

  /** Returns an empty set of reports, sent through client. */
  constructor(client: SwitchyardClient, log: Logger) {
    this.#client = client;
    this.#log = log;
  }

  /** How many reports are pending. */
  count(): number {
    return this.#pending.size;
  }

  /** Whether the attempt's report was settled lately. */
  settled(key: AttemptKey): boolean {
    return this.#settled.has(key);
  }

  /** Remembers the attempt as settled (reported, or suspended: never reported). */
  remember(key: AttemptKey): void {
    this.#settled.add(key);
    if (this.#settled.size > settledKept) {
      const oldest = this.#settled.values().next().value;
      if (oldest !== undefined) {
        this.#settled.delete(oldest);
      }
    }
  }

  /** Asks the attempt's pending report for a try at once; false when none is pending. */
  wakeIfPending(key: AttemptKey): boolean {
    const d = this.#pending.get(key);
    d?.wake();
    return d !== undefined;
  }

  /** Asks every pending report for a try at once. */
  sendAllNow(workerId: string, why: string): void {
    if (this.#pending.size === 0) {
      return;
    }
    this.#log.info(`sending pending reports now: ${why}`, { worker_id: workerId, reports: this.#pending.size });
    for (const d of this.#pending.values()) {
      d.wake();
    }
  }

  /** Keeps r until a server acknowledges it, and starts sending it. */
  pend(r: Report): void {
    if (!r.ok && r.error !== undefined && [...r.error].length > maxErrorChars) {
      r.error = [...r.error].slice(0, maxErrorChars - 1).join("") + "…";
    }
    let wake = () => {};
    const d: Delivery = { report: r, wake: () => wake(), stop: new AbortController() };
    this.#pending.set(r.key, d);
    void this.#deliver(d, (fn) => {
      wake = fn;
    });
  }

  /** Gives up every pending report now. */
  stopAll(): void {
    for (const d of this.#pending.values()) {
      d.stop.abort(new Error("worker stopped"));
    }
  }

  /** Waits up to ms until no report is pending; says whether none is. */
  async waitAll(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.#pending.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) {
        return false;
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  /** Sends the report until a server answers it, its window ends or it is stopped. */
  async #deliver(d: Delivery, setWake: (fn: () => void) => void): Promise<void> {
    const r = d.report;
    const until = Math.max(r.deadline?.getTime() ?? 0, Date.now() + reportWindowMs);
    let err: unknown;
    let tries = 0;
    let woken = false;
    let wakeNow: () => void = () => {
      woken = true;
    };
    setWake(() => wakeNow());
    while (Date.now() < until && !d.stop.signal.aborted) {
      tries++;
      err = await this.#send(r, until);
      if (r.ok && err !== undefined && ConnectError.from(err).code === Code.InvalidArgument) {
        // No retry can make the server take this output.
        r.ok = false;
        r.error = `output refused: ${ConnectError.from(err).rawMessage}`;
        r.retryable = false;
        r.output = undefined;
        err = await this.#send(r, until);
      }
      if (err === undefined || !isTransient(err, d.stop.signal)) {
        break;
      }
      const wait = Math.min(backoffMs(this.#client.retryPolicy, tries - 1, err), until - Date.now());
      if (tries === 1) {
        this.#log.warn("report pending: no server acknowledged it; retrying until the attempt's lease ends", {
          ...attrs(r), code: Code[ConnectError.from(err).code], error: String(err), until: new Date(until).toISOString(),
        });
      }
      if (woken) {
        woken = false;
        continue;
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, Math.max(0, wait));
        function done() {
          clearTimeout(t);
          d.stop.signal.removeEventListener("abort", done);
          resolve();
        }
        wakeNow = done;
        d.stop.signal.addEventListener("abort", done, { once: true });
      });
      wakeNow = () => {
        woken = true;
      };
    }
    this.#settle(r, err, tries);
  }

  /** Tries r once; returns the error, or undefined on success. */
  async #send(r: Report, until: number): Promise<unknown> {
    const co = this.#client.callOptions({ timeoutMs: Math.max(1, Math.min(reportTryMs, until - Date.now())) });
    try {
      if (r.ok) {
        await this.#client.workers.completeTask({ workerId: r.workerId, taskId: r.taskId, attempt: r.attempt, output: r.output }, co);
      } else {
        const res = await this.#client.workers.failTask(
          { workerId: r.workerId, taskId: r.taskId, attempt: r.attempt, error: r.error ?? "", retryable: r.retryable ?? true },
          co,
        );
        this.#log.debug("failure reported", { ...attrs(r), will_retry: res.willRetry });
      }
      return undefined;
    } catch (err) {
      return err ?? new Error("report failed");
    }
  }

  /** Forgets r as pending, remembers it as settled, and logs how it ended. */
  #settle(r: Report, err: unknown, tries: number): void {
    const a = { ...attrs(r), tries, outcome: r.ok ? "completed" : "failed", ...(r.ok ? {} : { error: r.error, retryable: r.retryable }) };
    if (err === undefined) {
      this.#log.info(`task ${r.ok ? "completed" : "failed"}`, a);
    } else if (ConnectError.from(err).code === Code.FailedPrecondition) {
      this.#log.info("report dropped: the attempt is no longer this worker's", { ...a, reason: ConnectError.from(err).rawMessage });
    } else {
      this.#log.error("report given up", { ...a, code: Code[ConnectError.from(err).code], report_error: String(err) });
    }
    this.#pending.delete(r.key);
    this.remember(r.key);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) {
      w();
    }
  }
}

function attrs(r: Report): Record<string, unknown> {
  return { worker_id: r.workerId, task_id: r.taskId, attempt: r.attempt, run_id: r.runId, action: r.action };
}
