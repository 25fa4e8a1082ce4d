// The client's calls against a real `switchyard serve`: bulk push, list and
// replay events, manual runs with idempotency keys, workflows, admin, and
// retries that honour a rate limit's RetryInfo.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Code, ReplayMode, RunStatus, SwitchyardClient, SwitchyardError } from "../src/index.js";
import { Role } from "../src/gen/switchyard/v1/admin_pb.js";
import { createNodeTransport } from "../src/node.js";
import { TestServer, adminToken } from "./server.js";

describe("client calls", () => {
  let srv: TestServer;
  let c: SwitchyardClient;
  before(async () => {
    srv = await TestServer.start();
    c = new SwitchyardClient({ transport: createNodeTransport({ baseUrl: srv.url, protocol: "grpc-web" }), token: adminToken });
  });
  after(async () => {
    await srv?.close();
  });

  test("bulk push, list, get and replay events; a repeated bulk push is deduplicated", async () => {
    const events = [
      { key: "order.placed", payload: { n: 1 }, idempotencyKey: "bulk-1" },
      { key: "order.placed", payload: { n: 2 }, idempotencyKey: "bulk-2" },
      { key: "order.placed", payload: { n: 3 } },
    ];
    const res = await c.bulkPushEvents(events);
    assert.equal(res.results.length, 3);
    assert.deepEqual(res.results.map((r) => r.deduplicated), [false, false, false]);
    assert.ok(res.results[2].event?.idempotencyKey, "an event without a key gets one");
    const again = await c.bulkPushEvents(events.slice(0, 2));
    assert.deepEqual(again.results.map((r) => r.deduplicated), [true, true]);
    const listed = await c.listEvents({ key: "order.placed" });
    assert.equal(listed.events.length, 3);
    const got = await c.getEvent(res.results[0].event!.id);
    assert.deepEqual(got?.payload, { n: 1 });
    const replayed = await c.replayEvent(res.results[0].event!.id, { idempotencyKey: "replay-1" });
    const replayedAgain = await c.replayEvent(res.results[0].event!.id, { idempotencyKey: "replay-1" });
    assert.equal(replayed.deduplicated, false);
    assert.equal(replayedAgain.deduplicated, true);
  });

  test("workflows and manual runs: one run per idempotency key; cancel, replay and list", async () => {
    await c.putWorkflow({ name: "manual", tasks: [{ name: "a", action: "nobody.runs.this" }] });
    assert.ok((await c.listWorkflows()).workflows.some((w) => w.spec?.name === "manual"));
    assert.equal((await c.getWorkflow("manual"))?.version, 1);
    const first = await c.runWorkflow("manual", { x: 1 }, { idempotencyKey: "manual-1", priority: 5 });
    const second = await c.runWorkflow("manual", { x: 1 }, { idempotencyKey: "manual-1", priority: 5 });
    assert.equal(second.runId, first.runId);
    assert.equal(second.deduplicated, true);
    const other = await c.runWorkflow("manual", { x: 2 });
    assert.notEqual(other.runId, first.runId);
    assert.equal((await c.cancelRun(first.runId, "test"))?.status, RunStatus.CANCELLED);
    const replay = await c.replayRun(first.runId, ReplayMode.WHOLE);
    assert.equal(replay.run?.replayOf, first.runId);
    const runs = await c.listRuns({ workflow: "manual" });
    assert.equal(runs.runs.length, 3);
    await c.deleteWorkflow("manual");
    await assert.rejects(c.getWorkflow("manual"), (e: unknown) => e instanceof SwitchyardError && e.code === Code.NotFound);
  });

  test("admin: who am I, and a rate-limited token's pushes succeed by waiting as RetryInfo says", async () => {
    const me = await c.whoAmI();
    assert.equal(me.token?.role, Role.ADMIN);
    await c.admin.createTenant({ id: "slow", name: "Slow", rateLimit: { perSecond: 4, burst: 1 } }, c.callOptions());
    const token = await c.admin.createToken({ tenant: "slow", role: Role.PRODUCER, name: "p" }, c.callOptions());
    const transport = createNodeTransport({ baseUrl: srv.url, protocol: "grpc", httpVersion: "2" });
    // Without retries the second call at once is over the limit, with RetryInfo.
    const once = new SwitchyardClient({ transport, token: token.secret, retry: { maxAttempts: 1 } });
    await once.push("limited", {});
    await assert.rejects(once.push("limited", {}), (e: unknown) => {
      assert.ok(e instanceof SwitchyardError);
      assert.equal(e.code, Code.ResourceExhausted);
      assert.ok(e.retryDelayMs > 0, "the answer carries a RetryInfo delay");
      return true;
    });
    // With backoff caps of 1 ms, only the RetryInfo delay lets the retries through.
    const patient = new SwitchyardClient({ transport, token: token.secret, retry: { maxAttempts: 10, initialBackoffMs: 1, maxBackoffMs: 1 } });
    for (let i = 0; i < 4; i++) {
      const res = await patient.push("limited", { i });
      assert.equal(res.deduplicated, false);
    }
  });
});
