// A Switchyard worker in TypeScript for the four-task image pipeline of
// examples/imagepipeline:
//
//         ┌─> resize ─┐
// fetch ──┤           ├──> publish
//         └─> tag ────┘
//
// It declares the workflow image-pipeline-ts, which every image.uploaded
// event starts, runs its tasks until SIGINT or SIGTERM, and then shuts down
// gracefully: running tasks may finish and report. The tasks only pretend to
// work; each returns a small output derived from its input and its parents'.
//
// It reads SWITCHYARD_SERVER (default http://127.0.0.1:8080),
// SWITCHYARD_TOKEN and SWITCHYARD_PROTOCOL (connect, the default: Connect
// over HTTP/1.1; grpc; or grpc-web).
import { hostname } from "node:os";
import { basename, extname } from "node:path";

import { PermanentError, SwitchyardClient, type Task, Worker } from "@switchyard/sdk";
import { type Protocol, createNodeTransport } from "@switchyard/sdk/node";

const server = process.env.SWITCHYARD_SERVER || "http://127.0.0.1:8080";
const protocol = (process.env.SWITCHYARD_PROTOCOL || "connect") as Protocol;

const client = new SwitchyardClient({
  transport: createNodeTransport({ baseUrl: server, protocol }),
  token: process.env.SWITCHYARD_TOKEN,
});

const log = {
  debug: () => {},
  info: (msg: string, attrs?: Record<string, unknown>) => console.error(msg, attrs ?? ""),
  warn: (msg: string, attrs?: Record<string, unknown>) => console.error("WARN", msg, attrs ?? ""),
  error: (msg: string, attrs?: Record<string, unknown>) => console.error("ERROR", msg, attrs ?? ""),
};

const worker = new Worker(client, {
  name: `imagepipeline-ts@${hostname()}`,
  slots: 8,
  labels: { example: "imagepipeline-ts" },
  shutdownTimeoutMs: 20_000,
  logger: log,
});

worker.workflow({
  name: "image-pipeline-ts",
  description: "Fetch an uploaded image, resize and tag it, then publish the result (TypeScript worker).",
  onEvents: ["image.uploaded"],
  tasks: [
    { name: "fetch", action: "ts.image.fetch" },
    { name: "resize", action: "ts.image.resize", parents: ["fetch"] },
    { name: "tag", action: "ts.image.tag", parents: ["fetch"] },
    { name: "publish", action: "ts.image.publish", parents: ["resize", "tag"] },
  ],
});

// fetch "downloads" the image at the event's url.
worker.handle("ts.image.fetch", async (t: Task) => {
  const url = typeof t.input.url === "string" ? t.input.url : "";
  if (url === "") {
    // No retry can fix the event's payload.
    throw new PermanentError('the event payload has no "url"');
  }
  await work(t, 50);
  log.info("fetched image", { run_id: t.runId, url, attempt: t.attempt });
  return { url, bytes: url.length * 1024 };
});

// resize scales the fetched image to fit 1024 pixels.
worker.handle("ts.image.resize", async (t: Task) => {
  const size = Number(t.parentOutputs.fetch?.bytes ?? 0);
  await work(t, 100);
  const width = Math.min(1024, Math.floor(size / 10));
  return { width, height: Math.floor((width * 3) / 4) };
});

// tag labels the image from its file name.
worker.handle("ts.image.tag", async (t: Task) => {
  const url = String(t.parentOutputs.fetch?.url ?? "");
  await work(t, 80);
  const ext = extname(url);
  const tags = ["image", ext.replace(/^\./, ""), ...basename(url, ext).split(/[-_]/).map((s) => s.toLowerCase())];
  return { tags };
});

// publish combines what resize and tag produced.
worker.handle("ts.image.publish", async (t: Task) => {
  const resized = t.parentOutputs.resize ?? {};
  const tagged = t.parentOutputs.tag ?? {};
  await work(t, 30);
  const url = String(t.input.url ?? "");
  const published = `https://cdn.example.com/${t.runId}/${basename(url)}`;
  log.info("published image", { run_id: t.runId, at: published });
  return { source: url, width: resized.width ?? null, height: resized.height ?? null, tags: tagged.tags ?? [], published };
});

// work stands for real work of ms milliseconds, cut short when the task's signal aborts.
function work(t: Task, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    t.signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(t.signal.reason);
    }, { once: true });
  });
}

const stop = new AbortController();
process.once("SIGINT", () => stop.abort());
process.once("SIGTERM", () => stop.abort());
log.info("imagepipeline-ts starting", { server, protocol, workflow: "image-pipeline-ts", trigger: "image.uploaded" });
await worker.run(stop.signal);
