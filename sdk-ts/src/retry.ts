import { Code, ConnectError } from "@connectrpc/connect";
import { retryDelayMs } from "./errors.js";

/**
 * RetryPolicy says how a client retries calls that failed with `unavailable`
 * or `resource_exhausted`, or on the way (a connection refused, reset or cut
 * mid-answer; a server's `deadline_exceeded`): up to maxAttempts attempts in
 * all, waiting a random time between zero and initialBackoffMs·2ⁿ (at most
 * maxBackoffMs) before retry n+1 ("full jitter"), and at least as long as the
 * server's RetryInfo asks, even past maxBackoffMs. Every call the client makes
 * is safe to repeat (its writes carry an idempotency key chosen before the
 * first attempt). No other error is retried, nor a call whose own signal was
 * aborted.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included; 1 means no retries. Default 5. */
  maxAttempts?: number;
  /** The cap of the first wait, in milliseconds. Default 100. */
  initialBackoffMs?: number;
  /** The cap of every wait but the server's RetryInfo, in milliseconds. Default 5000. */
  maxBackoffMs?: number;
}

/** A {@link RetryPolicy} with every field set. */
export type FullRetryPolicy = Required<RetryPolicy>;

/** The default retry settings. */
export const defaultRetryPolicy: FullRetryPolicy = {
  maxAttempts: 5,
  initialBackoffMs: 100,
  maxBackoffMs: 5000,
};

/** Fills in the unset fields of p with the defaults. */
export function withDefaults(p: RetryPolicy | undefined): FullRetryPolicy {
  const out: FullRetryPolicy = {
    maxAttempts: p?.maxAttempts && p.maxAttempts > 0 ? p.maxAttempts : defaultRetryPolicy.maxAttempts,
    initialBackoffMs: p?.initialBackoffMs && p.initialBackoffMs > 0 ? p.initialBackoffMs : defaultRetryPolicy.initialBackoffMs,
    maxBackoffMs: p?.maxBackoffMs && p.maxBackoffMs > 0 ? p.maxBackoffMs : defaultRetryPolicy.maxBackoffMs,
  };
  out.maxBackoffMs = Math.max(out.maxBackoffMs, out.initialBackoffMs);
  return out;
}

/** The longest wait before retry n+1 (n from 0). */
export function ceilingMs(p: FullRetryPolicy, n: number): number {
  return Math.min(p.initialBackoffMs * 2 ** Math.min(n, 30), p.maxBackoffMs);
}

/**
 * A full-jitter wait before retry n+1, raised to the delay the server asked
 * for in err's RetryInfo, if any.
 */
export function backoffMs(p: FullRetryPolicy, n: number, err: unknown): number {
  return Math.max(Math.random() * ceilingMs(p, n), retryDelayMs(err));
}

/**
 * Whether a call that failed with err may succeed if made again, while signal
 * (the caller's) is not aborted: `unavailable`, `resource_exhausted`,
 * `deadline_exceeded`, and a connection that broke (which Connect reports as
 * `canceled`, `unknown` or `internal` without an answer from a server).
 */
export function isTransient(err: unknown, signal?: AbortSignal): boolean {
  if (err === undefined || err === null || signal?.aborted) {
    return false;
  }
  const ce = ConnectError.from(err);
  switch (ce.code) {
    case Code.Unavailable:
    case Code.ResourceExhausted:
    case Code.DeadlineExceeded:
    case Code.Canceled:
      return true;
    case Code.Unknown:
    case Code.Internal:
      // An answer from a server carries a request id; a broken connection does not.
      return !ce.metadata.has("x-request-id");
  }
  return false;
}

/** Waits ms milliseconds, or until signal aborts (then it throws its reason). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Calls call until it succeeds, fails with an error that is not transient,
 * or was attempted p.maxAttempts times, sleeping between attempts.
 */
export async function retry<T>(p: FullRetryPolicy, signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await call();
    } catch (err) {
      if (!isTransient(err, signal) || n + 1 >= p.maxAttempts) {
        throw err;
      }
      await sleep(backoffMs(p, n, err), signal).catch(() => {
        throw err;
      });
    }
  }
}
