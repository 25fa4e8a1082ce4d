import { Code, ConnectError } from "@connectrpc/connect";

import type { SwitchyardClient } from "./client.js";
import type { Keepalive, TaskAssignment } from "./gen/switchyard/v1/worker_pb.js";
import type { Logger } from "./worker.js";

/** Why the worker ended a Listen stream. */
export type StreamEnd =
  | { kind: "silent"; ms: number }
  | { kind: "not-open" }
  | { kind: "forgotten" };

/**
 * How long a stream may stay silent before the first keep-alive announces
 * the server's interval: three intervals of a server that announces none.
 */
const defaultSilenceMs = 45_000;
/** Bounds one Acknowledge call. */
const ackTimeoutMs = 5_000;
/** Spaces the retries of a failed Acknowledge while its stream lasts. */
const ackRetryMs = 250;

/** Ends a stream on which nothing arrived for three keep-alive intervals. */
export class Watchdog {
  #limitMs = defaultSilenceMs;
  #timer: ReturnType<typeof setTimeout>;
  readonly #end: (ms: number) => void;

  /** Starts a watchdog that calls end with the silence it saw. */
  constructor(end: (ms: number) => void) {
    this.#end = end;
    this.#timer = setTimeout(() => end(this.#limitMs), this.#limitMs);
  }

  /** A message arrived; a keep-alive's interval (0: none) sets the wait to three of them. */
  fed(intervalMs: number): void {
    if (intervalMs > 0) {
      this.#limitMs = 3 * intervalMs;
    }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#end(this.#limitMs), this.#limitMs);
  }

  /** Stops the watchdog. */
  stop(): void {
    clearTimeout(this.#timer);
  }
}

/**
 * Acknowledges what one Listen stream brings, in the background: what
 * arrives while a call is on its way goes in the next one.
 */
export class Acker {
  readonly #client: SwitchyardClient;
  readonly #workerId: string;
  readonly #log: Logger;
  readonly #notOpen: () => void;
  #streamId = "";
  #seq = 0n;
  #ackedSeq = 0n;
  #refs: { taskId: string; attempt: number }[] = [];
  #off = false;
  #busy = false;
  #stopped = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;

  /** Returns an acker of workerId's stream; notOpen ends the stream. */
  constructor(client: SwitchyardClient, workerId: string, log: Logger, notOpen: () => void) {
    this.#client = client;
    this.#workerId = workerId;
    this.#log = log;
    this.#notOpen = notOpen;
  }

  /** Notes a keep-alive to acknowledge. */
  keepalive(k: Keepalive): void {
    if (k.streamId !== "") {
      this.#streamId = k.streamId;
      if (k.seq > this.#seq) {
        this.#seq = k.seq;
      }
    }
    this.#poke();
  }

  /** Notes an assignment to acknowledge. */
  assignment(a: TaskAssignment): void {
    this.#refs.push({ taskId: a.taskId, attempt: a.attempt });
    this.#poke();
  }

  /** Sends what it holds once more, in the background, and stops. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    if (!this.#busy) {
      void this.#flush(false);
    }
  }

  #poke(): void {
    if (this.#busy || this.#stopped) {
      return;
    }
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    void this.#loop();
  }

  async #loop(): Promise<void> {
    this.#busy = true;
    try {
      while (!this.#stopped && this.#pending()) {
        if (!(await this.#flush(true))) {
          if (!this.#stopped) {
            this.#retryTimer = setTimeout(() => this.#poke(), ackRetryMs);
          }
          return;
        }
      }
    } finally {
      this.#busy = false;
      if (this.#stopped) {
        void this.#flush(false);
      }
    }
  }

  #pending(): boolean {
    return !this.#off && this.#streamId !== "" && (this.#seq !== this.#ackedSeq || this.#refs.length > 0);
  }

  /** Sends what is pending in one Acknowledge; false when it should be tried again. */
  async #flush(open: boolean): Promise<boolean> {
    if (!this.#pending()) {
      return true;
    }
    const streamId = this.#streamId;
    const seq = this.#seq;
    const refs = this.#refs;
    this.#refs = [];
    try {
      const res = await this.#client.workers.acknowledge(
        { workerId: this.#workerId, streamId, assignments: refs, keepaliveSeq: seq },
        this.#client.callOptions({ timeoutMs: ackTimeoutMs }),
      );
      if (seq > this.#ackedSeq) {
        this.#ackedSeq = seq;
      }
      if (open && !res.streamOpen) {
        this.#notOpen();
      }
      return true;
    } catch (err) {
      const code = ConnectError.from(err).code;
      if (code === Code.Unimplemented) {
        this.#off = true;
        return true;
      }
      if (code === Code.NotFound || code === Code.InvalidArgument) {
        this.#log.warn("acknowledgement refused", { worker_id: this.#workerId, code: Code[code], error: String(err) });
        return true;
      }
      this.#refs = [...refs, ...this.#refs];
      this.#log[open ? "debug" : "warn"]("acknowledgement failed", {
        worker_id: this.#workerId, assignments: refs.length, error: String(err),
      });
      return false;
    }
  }
}
