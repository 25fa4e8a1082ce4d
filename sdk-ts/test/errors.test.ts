import assert from "node:assert/strict";
import { test } from "node:test";

import { Code, ConnectError } from "@connectrpc/connect";

import { PermanentError, SwitchyardError, backoffMs, ceilingMs, isTransient, retry, retryDelayMs, withDefaults } from "../src/index.js";

/** RetryInfo{retry_delay: Duration{seconds, nanos}} in the binary form servers send. */
function retryInfo(seconds: number, nanos: number): Uint8Array {
  const duration = [0x08, seconds, 0x10, ...varint(nanos)];
  return new Uint8Array([0x0a, duration.length, ...duration]);
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

test("retryDelayMs reads a google.rpc.RetryInfo detail; none is 0", () => {
  // As a client receives it: an incoming detail, its message still encoded.
  const err = new ConnectError("slow down", Code.ResourceExhausted);
  err.details.push({ type: "google.rpc.RetryInfo", value: retryInfo(2, 500_000_000) });
  assert.equal(retryDelayMs(err), 2500);
  assert.equal(new SwitchyardError("push event", err).retryDelayMs, 2500);
  assert.equal(retryDelayMs(new ConnectError("down", Code.Unavailable)), 0);
  // The server's delay wins over the jitter, even past maxBackoffMs.
  assert.equal(backoffMs(withDefaults({ maxBackoffMs: 100 }), 0, err) >= 2500, true);
});

test("isTransient: unavailable, resource_exhausted, deadline_exceeded and broken connections only", () => {
  const transient = [Code.Unavailable, Code.ResourceExhausted, Code.DeadlineExceeded, Code.Canceled];
  for (const code of transient) {
    assert.equal(isTransient(new ConnectError("x", code)), true, Code[code]);
  }
  for (const code of [Code.InvalidArgument, Code.NotFound, Code.AlreadyExists, Code.FailedPrecondition, Code.PermissionDenied, Code.Unauthenticated]) {
    assert.equal(isTransient(new ConnectError("x", code)), false, Code[code]);
  }
  const answered = new ConnectError("bug", Code.Internal, new Headers({ "x-request-id": "r1" }));
  assert.equal(isTransient(answered), false, "a server's internal is not retried");
  assert.equal(isTransient(new ConnectError("incomplete envelope", Code.Internal)), true, "a broken answer is retried");
  const aborted = AbortSignal.abort();
  assert.equal(isTransient(new ConnectError("x", Code.Unavailable), aborted), false, "nothing is retried once the caller aborted");
});

test("retry: up to maxAttempts, stops at once on a permanent error", async () => {
  const p = withDefaults({ maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 2 });
  let calls = 0;
  await assert.rejects(retry(p, undefined, async () => {
    calls++;
    throw new ConnectError("down", Code.Unavailable);
  }), (e: unknown) => e instanceof ConnectError && e.code === Code.Unavailable);
  assert.equal(calls, 3);
  calls = 0;
  await assert.rejects(retry(p, undefined, async () => {
    calls++;
    throw new ConnectError("bad", Code.InvalidArgument);
  }));
  assert.equal(calls, 1);
  calls = 0;
  const v = await retry(p, undefined, async () => {
    if (++calls < 3) {
      throw new ConnectError("down", Code.Unavailable);
    }
    return "ok";
  });
  assert.equal(v, "ok");
  assert.equal(ceilingMs(withDefaults({}), 0), 100);
  assert.equal(ceilingMs(withDefaults({}), 10), 5000);
});

test("PermanentError keeps the message and cause", () => {
  const cause = new Error("bad image");
  const e = new PermanentError(cause);
  assert.equal(e.message, "bad image");
  assert.equal(e.cause, cause);
});
