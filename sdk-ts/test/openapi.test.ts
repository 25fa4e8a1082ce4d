// The committed OpenAPI document (internal/server/openapi.json, generated at
// make generate) validates as OpenAPI 3.1, and the REST routes the curl
// examples of the README and docs/ use are in it.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { Validator } from "@seriousme/openapi-schema-validator";

import { repoRoot } from "./server.js";

type Doc = { openapi: string; paths: Record<string, Record<string, unknown>> };

const doc = JSON.parse(readFileSync(join(repoRoot, "internal/server/openapi.json"), "utf8")) as Doc;

test("the OpenAPI document validates as OpenAPI 3.1", async () => {
  const v = new Validator();
  const res = await v.validate(doc as unknown as Record<string, unknown>);
  assert.equal(v.version, "3.1");
  assert.deepEqual(res.errors, undefined);
  assert.equal(res.valid, true);
});

test("a broken document does not validate (the check can fail)", async () => {
  const broken = structuredClone(doc) as unknown as Record<string, unknown>;
  (broken.paths as Record<string, unknown>)["/v1/events"] = { post: { responses: "none" } };
  const res = await new Validator().validate(broken);
  assert.equal(res.valid, false);
});

test("every REST route the curl examples of the README and docs/ call is documented", () => {
  const docs = ["README.md", ...readdirSync(join(repoRoot, "docs")).filter((f) => f.endsWith(".md")).map((f) => join("docs", f))];
  const readme = docs.map((f) => readFileSync(join(repoRoot, f), "utf8")).join("\n");
  const calls = [...readme.matchAll(/curl -s (?:-X (POST|PUT|PATCH|DELETE) )?'?http:\/\/127\.0\.0\.1:8080(\/v1\/[^'\s?]*)/g)];
  assert.ok(calls.length >= 10, `found ${calls.length} REST examples in the README and docs/`);
  const templates = Object.keys(doc.paths).map((p) => ({
    path: p,
    re: new RegExp("^" + p.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{[^}]+\\?\}|\{[^}]+\}/g, "[^/:]+") + "$"),
  }));
  for (const [, m, path] of calls) {
    const method = (m ?? "GET").toLowerCase();
    const match = templates.find((t) => t.re.test(path) && doc.paths[t.path][method]);
    assert.ok(match, `README or docs/: ${method.toUpperCase()} ${path} is not in the OpenAPI document`);
  }
});
