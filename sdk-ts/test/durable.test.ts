// Durable tasks against a real `switchyard serve`: recorded steps are not run
// again after a sleep, an event pushed before the wait counts within its
// lookback, a suspended attempt frees its slot and reports nothing even when
// its code swallows the suspension, and children take their options.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { type Run, RunStatus, SuspendedError, SwitchyardClient, TaskStatus, Worker } from "../src/index.js";
import { createNodeTransport } from "../src/node.js";
import { TestServer, adminToken } from "./server.js";

/** Watches the run until cond holds (or it ends) and returns that state. */
async function until(c: SwitchyardClient, runId: string, cond: (r: Run) => boolean): Promise<Run> {
  let last: Run | undefined;
  for await (const r of c.watchRun(runId, { signal: AbortSignal.timeout(60_000) })) {
    last = r;
    if (cond(r)) {
      return r;
    }
  }
  assert.ok(last, "watchRun yielded no state");
  return last;
}

describe("durable tasks against a running switchyard serve", () => {
  let srv: TestServer;
  let c: SwitchyardClient;
  let stop: () => Promise<void>;
  let charges = 0;
  let attempts = 0;
  let sawSuspended = false;
  before(async () => {
    srv = await TestServer.start();
    c = new SwitchyardClient({ transport: createNodeTransport({ baseUrl: srv.url, protocol: "grpc", httpVersion: "2" }), token: adminToken });
    const w = new Worker(c, { name: "ts-durable", slots: 1, shutdownTimeoutMs: 2000 });
    w.workflow({ name: "ts-steps", tasks: [{ name: "main", action: "ts.steps" }] });
    w.workflow({ name: "ts-paid", tasks: [{ name: "main", action: "ts.paid" }] });
    w.workflow({ name: "ts-quick", tasks: [{ name: "main", action: "ts.quick" }] });
    w.handle("ts.steps", async (task) => {
      attempts++;
      const charge = await task.step("charge", () => ({ id: `ch-${++charges}` }));
      try {
        await task.sleep("nap", 50);
      } catch (err) {
        sawSuspended = err instanceof SuspendedError && task.signal.reason instanceof SuspendedError;
        return { swallowed: true, charge: null, attempt: 0 }; // ignored: the attempt is suspended
      }
      return { swallowed: false, charge, attempt: task.attempt };
    });
    w.handle("ts.paid", async (task) => {
      const ev = await task.waitForEvent("paid", {
        key: "ts.payment.confirmed",
        condition: "event.payload.order_id == input.order_id",
        lookbackMs: 3_600_000,
      });
      return { eventId: ev?.id ?? "" };
    });
    w.handle("ts.quick", async () => ({ quick: true }));
    w.workflow({ name: "ts-fan", tasks: [{ name: "main", action: "ts.fan" }] });
    w.handle("ts.fan", async (task) => {
      const ids = await task.spawnChildren("kids", [
        { workflow: "ts-quick" },
        { workflow: "ts-quick", priority: 6, runAt: new Date(Date.now() + 3_600_000) },
      ]);
      return { ids };
    });
    const ctl = new AbortController();
    const done = w.run(ctl.signal);
    stop = async () => {
      ctl.abort();
      await done;
    };
    for (;;) {
      const wf = await c.getWorkflow("ts-quick").catch(() => undefined);
      if (wf) break;
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  after(async () => {
    await stop?.();
    await srv?.close();
  });

  test("a recorded step is not run again after a sleep; a swallowed suspension reports nothing", async () => {
    const { runId } = await c.runWorkflow("ts-steps", {});
    const run = await until(c, runId, (r) => r.status === RunStatus.SUCCEEDED || r.status === RunStatus.FAILED);
    assert.equal(run.status, RunStatus.SUCCEEDED, run.error);
    assert.deepEqual(run.tasks[0].output, { swallowed: false, charge: { id: "ch-1" }, attempt: 2 });
    assert.equal(charges, 1);
    assert.equal(attempts, 2);
    assert.ok(sawSuspended, "the wait threw SuspendedError and aborted the task's signal");
  });

  test("an event pushed before the wait counts within its lookback; the slot is free while a task waits", async () => {
    const early = await c.push("ts.payment.confirmed", { order_id: "ts-1" });
    const first = await c.runWorkflow("ts-paid", { order_id: "ts-1" });
    const paid = await until(c, first.runId, (r) => r.status === RunStatus.SUCCEEDED);
    assert.deepEqual(paid.tasks[0].output, { eventId: early.event?.id });

    const waiting = await c.runWorkflow("ts-paid", { order_id: "ts-2" });
    await until(c, waiting.runId, (r) => r.tasks[0]?.status === TaskStatus.WAITING);
    const quick = await c.runWorkflow("ts-quick", {});
    assert.equal((await until(c, quick.runId, (r) => r.status === RunStatus.SUCCEEDED)).status, RunStatus.SUCCEEDED);
    const late = await c.push("ts.payment.confirmed", { order_id: "ts-2" });
    const done = await until(c, waiting.runId, (r) => r.status === RunStatus.SUCCEEDED);
    assert.deepEqual(done.tasks[0].output, { eventId: late.event?.id });
  });

  test("children take the parent's priority unless they name one, and start at their runAt", async () => {
    const { runId } = await c.runWorkflow("ts-fan", {}, { priority: 3 });
    const run = await until(c, runId, (r) => r.status === RunStatus.SUCCEEDED || r.status === RunStatus.FAILED);
    assert.equal(run.status, RunStatus.SUCCEEDED, run.error);
    const [now, later] = (run.tasks[0].output as { ids: string[] }).ids;
    assert.equal((await c.getRun(now))?.priority, 3);
    const scheduled = await c.getRun(later);
    assert.ok(scheduled, `child ${later} not found`);
    assert.equal(scheduled.priority, 6);
    assert.equal(scheduled.status, RunStatus.SCHEDULED);
    assert.equal(scheduled.parentRunId, runId);
  });
});
