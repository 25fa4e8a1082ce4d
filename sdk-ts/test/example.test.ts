// The TypeScript example worker (examples/imagepipeline-ts, built by make
// tstest) completes a run of its four-task pipeline against a real server
// and stops cleanly on SIGTERM.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { RunStatus, SwitchyardClient } from "../src/index.js";
import { createNodeTransport } from "../src/node.js";
import { TestServer, adminToken, repoRoot } from "./server.js";

test("examples/imagepipeline-ts runs image.uploaded to SUCCEEDED", async () => {
  const script = join(repoRoot, "examples/imagepipeline-ts/dist/worker.js");
  assert.ok(existsSync(script), `${script} is missing: make tstest builds it`);
  const srv = await TestServer.start();
  const proc = spawn(process.execPath, [script], {
    env: { ...process.env, SWITCHYARD_SERVER: srv.url, SWITCHYARD_TOKEN: adminToken },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let logs = "";
  proc.stderr.on("data", (b: Buffer) => (logs += b.toString()));
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  try {
    const c = new SwitchyardClient({ transport: createNodeTransport({ baseUrl: srv.url }), token: adminToken });
    // The worker declares its workflow first; push once it listens.
    const until = Date.now() + 30_000;
    while (!(await c.workers.listWorkers({}, c.callOptions())).workers.some((w) => w.status === 1)) {
      assert.ok(Date.now() < until, `the example worker did not connect:\n${logs}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const pushed = await c.push("image.uploaded", { url: "https://example.com/summer_cat.png" });
    assert.equal(pushed.runIds.length, 1);
    let status = RunStatus.UNSPECIFIED;
    for await (const run of c.watchRun(pushed.runIds[0], { signal: AbortSignal.timeout(30_000) })) {
      status = run.status;
    }
    assert.equal(status, RunStatus.SUCCEEDED, logs);
    const run = await c.getRun(pushed.runIds[0]);
    const publish = run?.tasks.find((t) => t.name === "publish");
    assert.deepEqual(publish?.output?.tags, ["image", "png", "summer", "cat"]);
    assert.equal(publish?.output?.published, `https://cdn.example.com/${pushed.runIds[0]}/summer_cat.png`);
  } finally {
    proc.kill("SIGTERM");
    const code = await exited;
    await srv.close();
    assert.equal(code, 0, `the example worker exited ${code}:\n${logs}`);
  }
  assert.match(logs, /worker stopped/);
});
