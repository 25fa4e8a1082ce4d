// The SDK against a real `switchyard serve`: push → run → worker → SUCCEEDED
// over each transport, a task failure and its retry, a permanent failure,
// cancel, client retries while the server is down, and a worker that
// reconnects after the server restarts.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import type { JsonObject } from "@bufbuild/protobuf";

import { Code, PermanentError, type RetryPolicy, type Run, RunStatus, SwitchyardClient, SwitchyardError, type Task, Worker, type WorkerOptions } from "../src/index.js";
import { createGrpcWebTransport } from "@connectrpc/connect-web";

import { type Protocol, createNodeTransport } from "../src/node.js";
import { TestServer, adminToken } from "./server.js";

/** The transports a worker and a client may use. */
const transports: { name: string; protocol: Protocol; httpVersion: "1.1" | "2"; useBinaryFormat: boolean }[] = [
  { name: "connect-http1.1-json", protocol: "connect", httpVersion: "1.1", useBinaryFormat: false },
  { name: "grpc-http2", protocol: "grpc", httpVersion: "2", useBinaryFormat: true },
  { name: "grpc-web-http1.1", protocol: "grpc-web", httpVersion: "1.1", useBinaryFormat: true },
];

function client(url: string, t = transports[0], retry: RetryPolicy = { maxAttempts: 5, initialBackoffMs: 50, maxBackoffMs: 500 }): SwitchyardClient {
  return new SwitchyardClient({ transport: createNodeTransport({ baseUrl: url, ...t }), token: adminToken, retry });
}

/** A worker running in the background until stop. */
function startWorker(
  c: SwitchyardClient,
  handlers: Record<string, (t: Task) => Promise<JsonObject | void>>,
  workflows: ReturnType<typeof oneTask>[] = [],
  opts: WorkerOptions = {},
) {
  const w = new Worker(c, { name: "ts-test", shutdownTimeoutMs: 2000, ...opts });
  for (const spec of workflows) {
    w.workflow(spec);
  }
  for (const [action, fn] of Object.entries(handlers)) {
    w.handle(action, fn);
  }
  const ctl = new AbortController();
  const done = w.run(ctl.signal);
  return { worker: w, stop: async () => { ctl.abort(); await done; }, done };
}

/** Watches the run until it ends and returns its last state. */
async function finalState(c: SwitchyardClient, runId: string): Promise<Run> {
  let last: Run | undefined;
  for await (const r of c.watchRun(runId, { signal: AbortSignal.timeout(60_000) })) {
    last = r;
  }
  assert.ok(last, "watchRun yielded no state");
  return last;
}

/** A one-task workflow on key whose task runs action. */
function oneTask(name: string, key: string, action: string, maxAttempts = 3) {
  return {
    name,
    onEvents: [key],
    tasks: [{ name: "only", action, retry: { maxAttempts, initialBackoff: { nanos: 10_000_000 }, maxBackoff: { nanos: 50_000_000 } } }],
  };
}

describe("against a running switchyard serve", () => {
  let srv: TestServer;
  before(async () => {
    srv = await TestServer.start();
  });
  after(async () => {
    await srv?.close();
  });

  for (const t of transports) {
    test(`push → run → worker → SUCCEEDED over ${t.name}`, async () => {
      const c = client(srv.url, t);
      const action = `resize.${t.name}`;
      const w = startWorker(c, {
        [action]: async (task) => ({ resized: `${task.input.url}@small`, attempt: task.attempt }),
      }, [oneTask(`wf-${t.name}`, `image.${t.name}`, action)]);
      try {
        // The worker puts its workflow before it registers; wait until it listens.
        await listening(c, w.worker);
        const pushed = await c.push(`image.${t.name}`, { url: "s3://bucket/cat.png" });
        assert.equal(pushed.runIds.length, 1);
        assert.equal(pushed.deduplicated, false);
        const run = await finalState(c, pushed.runIds[0]);
        assert.equal(run.status, RunStatus.SUCCEEDED, `run ${RunStatus[run.status]}`);
        const got = await c.getRun(pushed.runIds[0]);
        assert.deepEqual(got?.tasks[0]?.output, { resized: "s3://bucket/cat.png@small", attempt: 1 });
        // The same idempotency key stores nothing new.
        const key = `dedupe-${t.name}`;
        const once = await c.pushEvent({ key: `other.${t.name}`, idempotencyKey: key });
        const twice = await c.pushEvent({ key: `other.${t.name}`, idempotencyKey: key });
        assert.equal(once.deduplicated, false);
        assert.equal(twice.deduplicated, true);
        assert.equal(twice.event?.id, once.event?.id);
      } finally {
        await w.stop();
      }
    });
  }

  test("push → run → worker → SUCCEEDED over the browser's gRPC-Web transport (@connectrpc/connect-web, fetch)", async () => {
    const c = new SwitchyardClient({ transport: createGrpcWebTransport({ baseUrl: srv.url }), token: adminToken });
    const w = startWorker(c, { "web.echo": async (task) => ({ echoed: task.input.msg ?? null }) }, [oneTask("wf-web", "web.go", "web.echo")]);
    try {
      await listening(c, w.worker);
      const pushed = await c.push("web.go", { msg: "hi" });
      assert.equal((await finalState(c, pushed.runIds[0])).status, RunStatus.SUCCEEDED);
      assert.deepEqual((await c.getRun(pushed.runIds[0]))?.tasks[0]?.output, { echoed: "hi" });
    } finally {
      await w.stop();
    }
  });

  test("a failed task is retried and the run succeeds; a PermanentError fails the run at once", async () => {
    const c = client(srv.url, transports[1]);
    const seen: number[] = [];
    const w = startWorker(c, {
      flaky: async (task) => {
        seen.push(task.attempt);
        if (task.attempt < 2) {
          throw new Error("temporary glitch");
        }
        return { ok: true };
      },
      doomed: async () => {
        throw new PermanentError("bad input");
      },
    });
    try {
      await c.putWorkflow(oneTask("wf-flaky", "flaky.go", "flaky"));
      await c.putWorkflow(oneTask("wf-doomed", "doomed.go", "doomed"));
      const flaky = await c.push("flaky.go", {});
      const run = await finalState(c, flaky.runIds[0]);
      assert.equal(run.status, RunStatus.SUCCEEDED);
      assert.deepEqual(seen, [1, 2]);
      const doomed = await c.push("doomed.go", {});
      const failed = await finalState(c, doomed.runIds[0]);
      assert.equal(failed.status, RunStatus.FAILED);
      const detail = await c.getRun(doomed.runIds[0]);
      assert.equal(detail?.tasks[0]?.attempt, 1, "a permanent failure is not retried");
      assert.match(detail?.tasks[0]?.error ?? "", /bad input/);
    } finally {
      await w.stop();
    }
  });

  test("cancel: the running task's signal is aborted and the run ends CANCELLED", async () => {
    const c = client(srv.url, transports[2]);
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    let reason = "";
    const w = startWorker(c, {
      slow: (task) => new Promise((_, reject) => {
        started();
        task.signal.addEventListener("abort", () => {
          reason = String(task.signal.reason?.message ?? task.signal.reason);
          reject(task.signal.reason);
        });
      }),
    });
    try {
      await c.putWorkflow(oneTask("wf-slow", "slow.go", "slow"));
      const pushed = await c.push("slow.go", {});
      await running;
      const cancelled = await c.cancelRun(pushed.runIds[0], "user asked");
      assert.equal(cancelled?.status, RunStatus.CANCELLED);
      await waitFor(async () => reason !== "");
      assert.match(reason, /cancelled by the server/);
      const run = await finalState(c, pushed.runIds[0]);
      assert.equal(run.status, RunStatus.CANCELLED);
    } finally {
      await w.stop();
    }
  });

  test("graceful shutdown: a running task may finish; one that outlasts the timeout is reported as a retryable failure and runs again elsewhere", async () => {
    const c = client(srv.url, transports[0]);
    let entered!: () => void;
    let inside = new Promise<void>((r) => (entered = r));
    const first = startWorker(c, {
      finishing: async () => {
        entered();
        await new Promise((r) => setTimeout(r, 300));
        return { finished: true };
      },
      stuck: (task) => {
        entered();
        return untilAborted(task);
      },
    }, [oneTask("wf-finishing", "finishing.go", "finishing"), oneTask("wf-stuck", "stuck.go", "stuck")], { shutdownTimeoutMs: 1000 });
    await listening(c, first.worker);
    const finishing = await c.push("finishing.go", {});
    await inside;
    await first.stop();
    assert.equal((await finalState(c, finishing.runIds[0])).status, RunStatus.SUCCEEDED, "the task finished during the shutdown");

    inside = new Promise<void>((r) => (entered = r));
    const second = startWorker(c, {
      stuck: (task) => {
        entered();
        return untilAborted(task);
      },
    }, [], { shutdownTimeoutMs: 300 });
    await listening(c, second.worker);
    const stuck = await c.push("stuck.go", {});
    await inside;
    await second.stop();
    const afterStop = await c.getRun(stuck.runIds[0]);
    assert.equal(afterStop?.tasks[0]?.error, "worker shutting down");
    const third = startWorker(c, { stuck: async (task) => ({ attempt: task.attempt }) });
    try {
      assert.equal((await finalState(c, stuck.runIds[0])).status, RunStatus.SUCCEEDED);
      assert.deepEqual((await c.getRun(stuck.runIds[0]))?.tasks[0]?.output, { attempt: 2 });
    } finally {
      await third.stop();
    }
  });

  test("acknowledged assignments: a task that runs past the server's acknowledgement timeout (5 s) keeps its attempt", async () => {
    const c = client(srv.url, transports[0]);
    let calls = 0;
    const w = startWorker(c, {
      long: async (task) => {
        calls++;
        await new Promise((r) => setTimeout(r, 6500));
        return { attempt: task.attempt };
      },
    }, [oneTask("wf-long", "long.go", "long")]);
    try {
      await listening(c, w.worker);
      const pushed = await c.push("long.go", {});
      assert.equal((await finalState(c, pushed.runIds[0])).status, RunStatus.SUCCEEDED);
      assert.deepEqual((await c.getRun(pushed.runIds[0]))?.tasks[0]?.output, { attempt: 1 });
      assert.equal(calls, 1);
    } finally {
      await w.stop();
    }
  });

  test("typed errors: the Connect code and field violations of a bad request", async () => {
    const c = client(srv.url, transports[0]);
    await assert.rejects(c.push("bad key!", {}), (e: unknown) => {
      assert.ok(e instanceof SwitchyardError);
      assert.equal(e.code, Code.InvalidArgument);
      assert.match(e.message, /^push event bad key!: /);
      assert.ok(e.details.some((d) => "type" in d && d.type === "buf.validate.Violations"));
      return true;
    });
    await assert.rejects(c.getRun("0190a9b2-0000-7000-8000-000000000001"), (e: unknown) => e instanceof SwitchyardError && e.code === Code.NotFound);
  });

  test("the OpenAPI document is served without a token", async () => {
    const res = await fetch(`${srv.url}/openapi.json`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    assert.equal(doc.openapi, "3.1.0");
    assert.ok(doc.paths["/v1/events"]);
  });
});

describe("across a server restart", () => {
  let srv: TestServer;
  before(async () => {
    srv = await TestServer.start();
  });
  after(async () => {
    await srv?.close();
  });

  test("a push retried while the server is down succeeds once it is back; the worker reconnects, runs new work, finishes an attempt that ran across the restart once, and registers again with a server that lost its data", async () => {
    const c = client(srv.url, transports[1], { maxAttempts: 100, initialBackoffMs: 50, maxBackoffMs: 300 });
    let ran = 0;
    const w = startWorker(c, { "after.restart": async () => ({ n: ++ran }) });
    try {
      await c.putWorkflow(oneTask("wf-restart", "restart.go", "after.restart"));
      const first = await c.push("restart.go", {});
      assert.equal((await finalState(c, first.runIds[0])).status, RunStatus.SUCCEEDED);

      await srv.stop();
      // Refused while the server is down: retried until it answers.
      const pending = c.push("restart.go", { during: "downtime" });
      await new Promise((r) => setTimeout(r, 500));
      await srv.startAgain();
      const pushed = await pending;
      assert.equal(pushed.deduplicated, false);
      const run = await finalState(c, pushed.runIds[0]);
      assert.equal(run.status, RunStatus.SUCCEEDED, "the worker reconnected and ran the task");
      assert.equal(ran, 2);

      // A task that runs across a restart: the new stream carries its
      // assignment again, which the worker ignores; its report is taken.
      let calls = 0;
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let entered!: () => void;
      const inside = new Promise<void>((r) => (entered = r));
      const w2 = startWorker(c, {
        "across.restart": async (task) => {
          calls++;
          entered();
          await gate;
          return { attempt: task.attempt };
        },
      }, [oneTask("wf-across", "across.go", "across.restart")]);
      try {
        await listening(c, w2.worker);
        const across = await c.push("across.go", {});
        await inside;
        await srv.stop();
        await srv.startAgain();
        await listening(c, w2.worker);
        release();
        const done = await finalState(c, across.runIds[0]);
        assert.equal(done.status, RunStatus.SUCCEEDED);
        assert.equal(calls, 1, "the repeated assignment was not run again");
        const detail = await c.getRun(across.runIds[0]);
        assert.deepEqual(detail?.tasks[0]?.output, { attempt: 1 });
      } finally {
        await w2.stop();
      }

      // A server that lost its data has forgotten the worker: it registers again.
      const firstId = w.worker.id;
      await srv.stop();
      srv.wipe();
      await srv.startAgain();
      await c.putWorkflow(oneTask("wf-restart", "restart.go", "after.restart"));
      await listening(c, w.worker);
      assert.notEqual(w.worker.id, firstId, "registered again under a new id");
      const afterWipe = await c.push("restart.go", {});
      assert.equal((await finalState(c, afterWipe.runIds[0])).status, RunStatus.SUCCEEDED);

      const noRetry = client(srv.url, transports[1], { maxAttempts: 1 });
      await srv.stop();
      await assert.rejects(noRetry.push("restart.go", {}), (e: unknown) => e instanceof SwitchyardError && e.code === Code.Unavailable);
      await srv.startAgain();
    } finally {
      await w.stop();
    }
  });
});

/** Waits until the worker's Listen stream is open. */
function listening(c: SwitchyardClient, w: Worker): Promise<void> {
  return waitFor(async () => (await c.workers.listWorkers({}, c.callOptions())).workers.some((x) => x.id === w.id && x.status === 1));
}

/** Rejects with the reason of the task's signal once it aborts. */
function untilAborted(task: Task): Promise<never> {
  return new Promise((_, reject) => task.signal.addEventListener("abort", () => reject(task.signal.reason)));
}

/** Polls cond until it holds (30 s at most). */
async function waitFor(cond: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + 30_000;
  while (!(await cond())) {
    if (Date.now() > until) {
      throw new Error("condition not met within 30 s");
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
