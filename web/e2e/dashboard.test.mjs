// Browser tests of the dashboard: one server, one dashboarddemo worker and one
// headless Chromium page shared by the tests below, which run in order (each
// test makes what it needs when an earlier one failed to). Run with
// `make e2e` or `npm run --prefix web e2e`; they test the dashboard in
// internal/dashboard/dist, as the binary embeds it.
//
// Environment: E2E_TASK_DELAY (a Go duration, default 3s) is how long each
// demo.order task takes; E2E_CHROMIUM the browser (default /usr/bin/chromium);
// UPDATE_SCREENSHOT=1 also copies the run page's screenshot to
// docs/run-page.png, the README's picture.
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { repoRoot, startStack, until, waitTimeout } from './harness.mjs';

/** @type {import('./harness.mjs').Stack} */
let stack;
/** @type {import('playwright-core').Page} */
let page;
/** Every request of the page to the API (paths /switchyard.v1.*), checked by the last test. */
const apiRequests = [];
/** What the push test made: the demo.order event and its run. */
let order;

before(async () => {
  stack = await startStack({ taskDelay: process.env.E2E_TASK_DELAY ?? '3s' });
  page = await stack.newPage();
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/switchyard.v1.')) apiRequests.push(r);
  });
}, { timeout: 10 * 60_000 }); // a first go build on a cold cache takes minutes

after(async () => {
  await stack?.stop();
});

/** A CSS selector for the element with test id id and the given attribute values. */
function tid(id, attrs = {}) {
  return `[data-testid="${id}"]` + Object.entries(attrs).map(([k, v]) => `[${k}="${v}"]`).join('');
}

/** Whether an element with test id id is visible. */
async function visible(id, attrs) {
  return page.locator(tid(id, attrs)).first().isVisible();
}

/**
 * Declares one test; a failure keeps a screenshot of the page as
 * artifacts/failure-<name>.png and the logs of the stack.
 */
function e2e(name, fn) {
  test(name, { timeout: 2 * waitTimeout }, async (t) => {
    assert.ok(stack && page, 'the server, worker and browser did not start');
    try {
      await fn(t);
    } catch (err) {
      stack.failed = true;
      await stack.screenshot(page, `failure-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`).catch(() => {});
      throw err;
    }
  });
}

/** Set when signing in failed, so that later tests fail at once instead of each waiting. */
let signInError;

/** Signs in with the admin token from the sign-in page. */
async function signIn() {
  if (signInError) throw new Error(`signing in failed before: ${signInError.message}`);
  try {
    await page.goto('/signin');
    await page.locator(tid('token-input')).fill(stack.token);
    await page.locator(tid('signin-submit')).click();
    await page.locator(tid('nav-runs')).waitFor();
  } catch (err) {
    signInError = err;
    throw err;
  }
}

/** Signs in unless the page shows the signed-in navigation already. */
async function ensureSignedIn() {
  if (!(await visible('nav-runs'))) await signIn();
}

/** Pushes an event through the API (not the dashboard) and returns its event and run ids. */
async function pushByAPI(key, payload) {
  const res = await stack.api('EventService/PushEvent', { key, payload });
  assert.equal(res.runIds?.length, 1, `a push of ${key} starts one run: ${JSON.stringify(res)}`);
  return { eventId: res.event.id, runId: res.runIds[0] };
}

/** The statuses of the run page's DAG nodes, by task name. */
async function dagStatuses() {
  return page.locator(tid('dag-node')).evaluateAll((nodes) =>
    Object.fromEntries(nodes.map((n) => [n.getAttribute('data-task'), n.getAttribute('data-status')])));
}

e2e('a wrong token is refused on the sign-in page', async () => {
  await page.goto('/');
  await page.waitForURL(/\/signin$/);
  await page.locator(tid('token-input')).fill('sy_not_a_token_of_this_server');
  await page.locator(tid('signin-submit')).click();
  const error = page.locator(tid('signin-error'));
  await error.waitFor();
  assert.match(await error.innerText(), /unauthenticated|not accepted/i);
  assert.equal(await visible('nav-runs'), false, 'no navigation before signing in');
  assert.equal(await visible('signout'), false, 'no sign-out before signing in');
  assert.match(page.url(), /\/signin$/);
  await stack.screenshot(page, 'signin-error');
});

e2e('the admin token signs in', async () => {
  await signIn();
  await page.waitForURL(/\/runs$/);
  for (const nav of ['nav-runs', 'nav-events', 'nav-push', 'nav-workflows', 'nav-workers', 'signout']) {
    assert.ok(await visible(nav), `${nav} is shown once signed in`);
  }
  assert.equal(await visible('signin-error'), false);
  // WhoAmI names the tenant and the role.
  await page.locator(tid('nav-role')).waitFor();
  assert.equal(await page.locator(tid('nav-tenant')).innerText(), 'default');
  assert.equal(await page.locator(tid('nav-role')).innerText(), 'admin');
  // Signed in, / leads to the runs.
  await page.goto('/');
  await page.waitForURL(/\/runs$/);
  await page.locator(tid('nav-runs')).waitFor();
});

e2e('the push form pushes an event that starts a run', async () => {
  await ensureSignedIn();
  await page.locator(tid('nav-push')).click();
  await page.waitForURL(/\/push$/);
  const idempotencyKey = `e2e-order-${Date.now()}`;
  await page.locator(tid('push-key')).fill('demo.order.created');
  // A payload that is not a JSON object is refused before anything is sent.
  await page.locator(tid('push-payload')).fill('{"order_id": ');
  await page.locator(tid('push-payload-error')).waitFor();
  await page.locator(tid('push-payload')).fill('[1, 2]');
  await page.locator(tid('push-payload-error')).waitFor();
  await page.locator(tid('push-payload')).fill(JSON.stringify({ order_id: 'e2e-1', amount: 42 }, null, 2));
  await page.locator(tid('push-payload-error')).waitFor({ state: 'detached' });
  await page.locator(tid('push-metadata')).fill(JSON.stringify({ source: 'e2e', region: 'eu' }));
  await page.locator(tid('push-idempotency-key')).fill(idempotencyKey);
  await page.locator(tid('push-submit')).click();

  const result = page.locator(tid('push-result'));
  await result.waitFor();
  const eventId = await result.getAttribute('data-event-id');
  assert.match(eventId ?? '', /^[0-9a-f-]{36}$/, 'push-result names the event');
  const link = page.locator(tid('push-run-link'));
  await link.first().waitFor();
  assert.equal(await link.count(), 1, 'demo.order.created starts one run');
  const runId = await link.getAttribute('data-run-id');
  assert.match(runId ?? '', /^[0-9a-f-]{36}$/, 'push-run-link names the run');
  assert.match(await link.getAttribute('href'), new RegExp(`/runs/${runId}$`));
  order = { eventId, runId };

  // What the form sent is what the server stored.
  const { event } = await stack.api('EventService/GetEvent', { id: eventId });
  assert.equal(event.key, 'demo.order.created');
  assert.deepEqual(event.payload, { order_id: 'e2e-1', amount: 42 });
  assert.deepEqual(event.metadata, { source: 'e2e', region: 'eu' });
  assert.equal(event.idempotencyKey, idempotencyKey);
  assert.deepEqual(event.runIds, [runId]);
  await stack.screenshot(page, 'push');
});

e2e('the run is listed, and its page follows it live until it succeeds', async () => {
  await ensureSignedIn();
  order ??= await pushByAPI('demo.order.created', { order_id: 'e2e-api' });
  const { runId } = order;
  await page.locator(tid('nav-runs')).click();
  await page.waitForURL(/\/runs$/);
  const row = page.locator(tid('run-row', { 'data-run-id': runId }));
  await row.waitFor();
  assert.equal(await row.getAttribute('data-workflow'), 'demo.order');
  await stack.screenshot(page, 'runs');

  await row.locator(`a[href$="/runs/${runId}"]`).first().click();
  await page.waitForURL(new RegExp(`/runs/${runId}$`));
  const runPage = page.locator(tid('run-page', { 'data-run-id': runId }));
  await runPage.waitFor();
  // A reload would drop this mark: the page must change by itself.
  await page.evaluate(() => { window.__e2eNoReload = true; });

  // Catch the run in flight: a node queued or running while not all have
  // succeeded. Each task of the demo worker takes E2E_TASK_DELAY (3 s).
  const first = await page.waitForFunction(() => {
    const nodes = [...document.querySelectorAll('[data-testid="dag-node"]')];
    if (nodes.length < 4) return false;
    const statuses = Object.fromEntries(nodes.map((n) => [n.dataset.task, n.dataset.status]));
    const values = Object.values(statuses);
    if (values.some((s) => s === 'queued' || s === 'running')) return { inFlight: true, statuses };
    if (values.every((s) => s === 'succeeded')) return { inFlight: false, statuses };
    return false;
  }, null, { polling: 20, timeout: waitTimeout }).then((h) => h.jsonValue());
  assert.ok(first.inFlight, `a node is queued or running before all succeed; the page showed only ${JSON.stringify(first.statuses)}`);
  assert.deepEqual(Object.keys(first.statuses).sort(), ['charge', 'reserve', 'ship', 'validate']);

  await page.locator(tid('run-page', { 'data-run-id': runId, 'data-status': 'succeeded' })).waitFor();
  assert.equal(await page.evaluate(() => window.__e2eNoReload), true, 'the run page was not reloaded');
  assert.match(await page.locator(tid('run-status')).innerText(), /succeeded/i);
  await page.locator(tid('dag-node', { 'data-task': 'ship', 'data-status': 'succeeded' })).waitFor();
  assert.deepEqual(await dagStatuses(),
    { validate: 'succeeded', charge: 'succeeded', reserve: 'succeeded', ship: 'succeeded' });

  // Selecting a node shows that task.
  await page.locator(tid('dag-node', { 'data-task': 'ship' })).click();
  await page.locator(tid('task-detail')).filter({ hasText: 'ship' }).waitFor();
  const shot = await stack.screenshot(page, 'run');
  if (process.env.UPDATE_SCREENSHOT === '1') {
    await mkdir(join(repoRoot, 'docs'), { recursive: true });
    await copyFile(shot, join(repoRoot, 'docs', 'run-page.png'));
  }
});

e2e('the event page links to the run it started', async () => {
  await ensureSignedIn();
  order ??= await pushByAPI('demo.order.created', { order_id: 'e2e-api' });
  const { eventId, runId } = order;
  await page.locator(tid('nav-events')).click();
  await page.waitForURL(/\/events$/);
  const row = page.locator(tid('event-row', { 'data-event-id': eventId }));
  await row.waitFor();
  assert.equal(await row.getAttribute('data-key'), 'demo.order.created');
  await stack.screenshot(page, 'events');

  const link = row.locator(`a[href$="/events/${eventId}"]`);
  await ((await link.count()) > 0 ? link.first() : row).click();
  await page.waitForURL(new RegExp(`/events/${eventId}$`));
  await page.locator(tid('event-page', { 'data-event-id': eventId })).waitFor();
  assert.match(await page.locator(tid('event-payload')).innerText(), /order_id/);
  const runLink = page.locator(tid('event-run-link', { 'data-run-id': runId }));
  await runLink.waitFor();
  assert.match(await runLink.getAttribute('href'), new RegExp(`/runs/${runId}$`));
  assert.equal(await page.locator(tid('event-run-link')).count(), 1);
  await stack.screenshot(page, 'event');
});

e2e('a running run is cancelled from its page', async () => {
  await ensureSignedIn();
  const { runId } = await pushByAPI('demo.slow.requested', { reason: 'e2e cancel' });
  await page.goto(`/runs/${runId}`);
  await page.locator(tid('run-page', { 'data-run-id': runId })).waitFor();
  await page.locator(tid('dag-node', { 'data-task': 'wait', 'data-status': 'running' })).waitFor();
  await page.locator(tid('run-cancel')).click();
  await page.locator(tid('confirm-ok')).click();
  await page.locator(tid('run-page', { 'data-run-id': runId, 'data-status': 'cancelled' })).waitFor();
  await page.locator(tid('dag-node', { 'data-task': 'wait', 'data-status': 'cancelled' })).waitFor();
  assert.match(await page.locator(tid('run-status')).innerText(), /cancelled/i);
  const { run } = await stack.api('RunService/GetRun', { id: runId });
  assert.equal(run.status, 'RUN_STATUS_CANCELLED');
});

e2e('a viewer token is offered only what a viewer may do', async () => {
  const { secret } = await stack.api('AdminService/CreateToken', { role: 'ROLE_VIEWER', name: 'e2e-viewer' });
  const { runId } = await pushByAPI('demo.slow.requested', { reason: 'e2e viewer' });
  const viewer = await stack.newPage();
  try {
    await viewer.goto('/signin');
    await viewer.locator(tid('token-input')).fill(secret);
    await viewer.locator(tid('signin-submit')).click();
    await viewer.locator(tid('nav-role')).waitFor();
    assert.equal(await viewer.locator(tid('nav-role')).innerText(), 'viewer');
    for (const nav of ['nav-runs', 'nav-events', 'nav-workflows', 'nav-workers']) {
      assert.ok(await viewer.locator(tid(nav)).isVisible(), `${nav} is shown to a viewer`);
    }
    assert.equal(await viewer.locator(tid('nav-push')).count(), 0, 'no Push event for a viewer (PushEvent is not a viewer\'s)');

    await viewer.goto(`/runs/${runId}`);
    await viewer.locator(tid('dag-node', { 'data-task': 'wait', 'data-status': 'running' })).waitFor();
    assert.equal(await viewer.locator(tid('run-cancel')).count(), 0, 'no Cancel for a viewer');
    await viewer.goto('/workflows/demo.order');
    await viewer.locator(tid('workflow-page')).waitFor();
    assert.equal(await viewer.locator(tid('workflow-run-submit')).count(), 0, 'no Run now for a viewer');
    await stack.screenshot(viewer, 'run-as-viewer');
  } finally {
    await viewer.context().close();
    await stack.api('RunService/CancelRun', { id: runId, reason: 'e2e viewer test done' });
  }
});

e2e('the workflow and worker pages show the demo worker', async () => {
  await ensureSignedIn();
  await page.locator(tid('nav-workflows')).click();
  await page.waitForURL(/\/workflows$/);
  for (const name of ['demo.order', 'demo.slow']) await page.locator(tid('workflow-row', { 'data-name': name })).waitFor();
  await stack.screenshot(page, 'workflows');

  const row = page.locator(tid('workflow-row', { 'data-name': 'demo.order' }));
  const link = row.locator('a[href$="/workflows/demo.order"]');
  await ((await link.count()) > 0 ? link.first() : row).click();
  await page.waitForURL(/\/workflows\/demo\.order$/);
  const wf = page.locator(tid('workflow-page'));
  await wf.waitFor();
  const text = await wf.innerText();
  for (const task of ['validate', 'charge', 'reserve', 'ship']) assert.match(text, new RegExp(task), `the workflow page shows task ${task}`);
  await page.locator(tid('workflow-run-input')).fill(JSON.stringify({ order_id: 'e2e-manual' }));
  await page.locator(tid('workflow-run-submit')).click();
  const runLink = page.locator(tid('workflow-run-link'));
  await runLink.waitFor();
  const [, runId] = (await runLink.getAttribute('href')).match(/\/runs\/([0-9a-f-]{36})$/) ?? [];
  assert.ok(runId, 'workflow-run-link links to the new run');
  const { run } = await stack.api('RunService/GetRun', { id: runId });
  assert.equal(run.workflow, 'demo.order');
  assert.deepEqual(run.input, { order_id: 'e2e-manual' });
  await stack.screenshot(page, 'workflow');
  // Not needed further: cancelled, so that the worker stops at once at the end.
  await stack.api('RunService/CancelRun', { id: runId });

  const { workers } = await stack.api('WorkerService/ListWorkers', {});
  const active = workers.find((w) => w.status === 'WORKER_STATUS_ACTIVE');
  await page.locator(tid('nav-workers')).click();
  await page.waitForURL(/\/workers$/);
  await page.locator(tid('worker-row', { 'data-worker-id': active.id, 'data-status': 'active' })).waitFor();
  await stack.screenshot(page, 'workers');
});

e2e('a paused workflow holds its runs; Cancel all cancels them from the runs list', async () => {
  await ensureSignedIn();
  await page.goto('/workflows/demo.order');
  await page.locator(tid('workflow-pause')).click();
  await page.locator(tid('confirm-ok')).click();
  await page.locator(tid('workflow-paused')).waitFor();
  const held = [await pushByAPI('demo.order.created', { order_id: 'e2e-held-1' }), await pushByAPI('demo.order.created', { order_id: 'e2e-held-2' })];
  for (const { runId } of held) {
    const { run } = await stack.api('RunService/GetRun', { id: runId });
    assert.equal(run.status, 'RUN_STATUS_PAUSED', `run ${runId} of the paused workflow is held`);
  }
  await page.goto('/runs?workflow=demo.order&status=paused');
  for (const { runId } of held) await page.locator(tid('run-row', { 'data-run-id': runId, 'data-status': 'paused' })).waitFor();
  await page.locator(tid('runs-bulk-cancel')).click();
  await page.locator(tid('confirm-ok')).click();
  const progress = page.locator(tid('runs-bulk-progress', { 'data-done': 'true' }));
  await progress.waitFor();
  assert.match(await progress.innerText(), /2 cancelled of 2 matched/);
  for (const { runId } of held) {
    const { run } = await stack.api('RunService/GetRun', { id: runId });
    assert.equal(run.status, 'RUN_STATUS_CANCELLED', `run ${runId} was cancelled in bulk`);
  }
  await stack.screenshot(page, 'runs-bulk-cancel');
  await page.goto('/workflows/demo.order');
  await page.locator(tid('workflow-resume')).click();
  await page.locator(tid('workflow-pause')).waitFor();
  assert.equal(await visible('workflow-paused'), false, 'no paused badge once resumed');
  const { workflow } = await stack.api('WorkflowService/GetWorkflow', { name: 'demo.order' });
  assert.ok(!workflow.paused, 'the workflow is resumed');
});

e2e('the rate limits page shows each key\'s fill, and a held run says why it waits', async () => {
  await ensureSignedIn();
  await stack.api('RateLimitService/PutRateLimit', { rateLimit: { name: 'e2e-api', max: 1, period: '3600s' } });
  await stack.api('WorkflowService/PutWorkflow', {
    spec: {
      name: 'e2e.limited',
      onEvents: ['e2e.limited'],
      tasks: [{ name: 'validate', action: 'demo.validate', rateLimits: [{ limit: 'e2e-api', key: 'input.customer' }] }],
    },
  });
  await pushByAPI('e2e.limited', { customer: 'c1' });
  const held = await pushByAPI('e2e.limited', { customer: 'c1' });
  await page.locator(tid('nav-limits')).click();
  await page.waitForURL(/\/limits$/);
  const row = page.locator(tid('limit-row', { 'data-limit': 'e2e-api', 'data-key': 'c1' }));
  await row.waitFor();
  await until(async () => (await row.locator(tid('limit-used')).innerText()) === '1 / 1', 'the fill of key c1 to show 1 / 1');
  await stack.screenshot(page, 'limits');
  await page.goto(`/runs/${held.runId}`);
  const reason = page.locator(tid('run-wait-reason'));
  await reason.waitFor();
  assert.match(await reason.innerText(), /^rate limited by e2e-api \(key "c1"\) until /);
  await stack.api('RunService/CancelRun', { id: held.runId });
});

e2e('a waiting task shows its condition and deadline, and links the event that satisfied it', async () => {
  await ensureSignedIn();
  const orderId = `e2e-${Date.now()}`;
  const { runId } = await pushByAPI('demo.payment.requested', { order_id: orderId });
  await page.goto(`/runs/${runId}`);
  const node = page.locator(tid('dag-node', { 'data-task': 'await-payment', 'data-status': 'waiting' }));
  await node.waitFor();
  assert.match(await node.getAttribute('data-wait'),
    /^event demo\.payment\.confirmed where event\.payload\.order_id == input\.order_id until /);
  assert.match(await node.locator(tid('dag-node-wait')).textContent(), /^event until \S+/);
  await page.locator(tid('run-status')).filter({ hasText: 'waiting' }).waitFor();
  assert.match(await page.locator(tid('run-waits')).innerText(), /^Waiting for event demo\.payment\.confirmed where .* until .+\.$/);
  await node.click();
  const row = page.locator(tid('wait-row', { 'data-kind': 'event', 'data-state': 'open' }));
  await row.waitFor();
  assert.equal(await row.locator(tid('wait-key')).innerText(), 'demo.payment.confirmed');
  assert.equal(await row.locator(tid('wait-expression')).innerText(), 'event.payload.order_id == input.order_id');
  assert.notEqual(await row.locator(tid('wait-deadline')).innerText(), 'never', 'the wait times out in an hour');
  assert.match(await page.locator(tid('task-waiting-for')).innerText(), /demo\.payment\.confirmed/);
  await stack.screenshot(page, 'run-waiting');

  const paid = await stack.api('EventService/PushEvent', { key: 'demo.payment.confirmed', payload: { order_id: orderId } });
  await page.locator(tid('run-page', { 'data-status': 'succeeded' })).waitFor();
  const link = page.locator(tid('wait-row', { 'data-state': 'satisfied' })).locator(tid('wait-event-link'));
  await link.waitFor();
  assert.equal(await link.getAttribute('data-event-id'), paid.event.id);
  await link.click();
  await page.locator(tid('event-page', { 'data-event-id': paid.event.id })).waitFor();
  const woke = page.locator(tid('event-woke-link', { 'data-run-id': runId }));
  await woke.waitFor();
});

e2e('an unknown run shows the API error with its code and request id', async () => {
  await ensureSignedIn();
  await page.goto('/runs/01a21680-0000-7000-8000-000000000000');
  const error = page.locator(tid('api-error', { 'data-code': 'not_found' }));
  await error.waitFor();
  assert.match(await error.locator(tid('api-error-request-id')).innerText(), /^[0-9a-f-]{36}$/);
  assert.equal(await visible('run-page'), false);
});

e2e('signing out clears the session', async () => {
  await ensureSignedIn();
  await page.locator(tid('signout')).click();
  await page.waitForURL(/\/signin$/);
  await page.locator(tid('token-input')).waitFor();
  assert.equal(await visible('nav-runs'), false);
  const kept = await page.evaluate((token) =>
    Object.keys(sessionStorage).filter((k) => sessionStorage.getItem(k).includes(token)), stack.token);
  assert.deepEqual(kept, [], 'no token left in sessionStorage');

  await page.reload();
  await page.locator(tid('token-input')).waitFor();
  assert.equal(await visible('nav-runs'), false, 'a reload stays signed out');
  await page.goto('/runs');
  await page.waitForURL(/\/signin$/);
  assert.equal(await page.locator(tid('run-row')).count(), 0, 'no runs shown when signed out');
});

e2e('a dashboard on another origin reaches the server through CORS', async () => {
  // The same dashboard files, loaded from http://localhost:PORT, pointed at the
  // API on http://127.0.0.1:PORT: every call is cross-origin, and the browser
  // hands the page only answers that allow its origin (Playwright does not
  // show the preflights themselves).
  const api = new URL(stack.baseURL);
  const elsewhere = `http://localhost:${api.port}`;
  const other = await stack.newPage(elsewhere);
  const calls = [];
  other.on('response', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/switchyard.v1.')) calls.push({ origin: u.origin, method: r.request().method(), status: r.status(), allow: r.headers()['access-control-allow-origin'] });
  });
  try {
    await other.goto('/signin');
    await other.locator(tid('server-input')).fill(stack.baseURL);
    await other.locator(tid('token-input')).fill(stack.token);
    await other.locator(tid('signin-submit')).click();
    await other.locator(tid('nav-runs')).waitFor();
    await other.locator(tid('run-row', { 'data-workflow': 'demo.order' })).first().waitFor();
    assert.ok(calls.length > 0, 'the dashboard called the API');
    for (const c of calls) {
      assert.equal(c.origin, api.origin, `${c.method} went to the server named on the sign-in page`);
      assert.equal(c.allow, elsewhere, `${c.method} ${c.status}: Access-Control-Allow-Origin`);
    }
  } finally {
    await other.context().close();
  }
});

e2e('every call of the dashboard to the API was gRPC-Web', async (t) => {
  const calls = apiRequests.filter((r) => r.method() !== 'OPTIONS');
  assert.ok(calls.length > 0, 'the dashboard called the API');
  const procedures = new Set();
  for (const r of calls) {
    const path = new URL(r.url()).pathname;
    procedures.add(path);
    const headers = await r.allHeaders();
    assert.equal(headers['content-type'], 'application/grpc-web+proto', `content-type of ${r.method()} ${path}`);
  }
  t.diagnostic(`${calls.length} gRPC-Web calls: ${[...procedures].sort().join(', ')}`);
});
