// The harness of the dashboard's browser tests: it builds `switchyard` and the
// dashboarddemo worker, starts both (the server on a free port of 127.0.0.1
// with a temporary data directory and a known admin token), opens headless
// Chromium, and tears it all down again. Screenshots go to e2e/artifacts/; on
// failure the server's, the worker's and the browser's logs go there too.
import { spawn, execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));

/** The repository's root, where `go build` runs. */
export const repoRoot = resolve(here, '../..');

/** Where screenshots and, after a failure, logs are written. */
export const artifactsDir = join(here, 'artifacts');

/** How long a test waits for anything to appear or change. */
export const waitTimeout = 30_000;

/** The Chromium of the Debian package, and flags that keep it quiet and offline. */
const chromiumPath = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';
const chromiumArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const run = promisify(execFile);

/**
 * Stack is a running server, a demo worker connected to it and a browser.
 * Start one with {@link startStack}; end it with {@link Stack.stop}.
 */
export class Stack {
  /** @type {string} the server's base URL, e.g. http://127.0.0.1:41234 */
  baseURL = '';
  /** @type {string} the admin token the server was started with */
  token = `sy_e2e_${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  /** @type {import('playwright-core').Browser | undefined} */
  browser;
  /** Set by a failing test so that stop keeps the logs. */
  failed = false;
  /** Lines of the browser console and page errors, kept for a failure. */
  browserLog = [];

  #tmp = '';
  #procs = [];

  /** Builds the binaries into a fresh temporary directory. */
  async build() {
    this.#tmp = await mkdtemp(join(tmpdir(), 'switchyard-e2e-'));
    const started = Date.now();
    // One go build for both main packages: -o with a trailing slash names a directory.
    await run('go', ['build', '-o', this.#tmp + '/', './cmd/switchyard', './examples/dashboarddemo'], {
      cwd: repoRoot, maxBuffer: 16 << 20,
    });
    log(`built switchyard and dashboarddemo in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  /** Starts the server and waits until /readyz answers 200. */
  async startServer() {
    const server = this.#spawn('server', join(this.#tmp, 'switchyard'), [
      'serve', '--addr', '127.0.0.1:0', '--data-dir', join(this.#tmp, 'data'),
      '--admin-token', this.token, '--retention', '0', '--log-level', 'debug',
      // The dashboard loaded from http://localhost:PORT is another origin than
      // the API at http://127.0.0.1:PORT: the cross-origin test uses that.
      '--cors-origins', 'http://localhost:*',
    ]);
    // With port 0 the kernel picks a free port; serve prints the address it got.
    const m = await server.waitForOutput(/switchyard listening on (http:\/\/[^\s]+)/, waitTimeout);
    this.baseURL = m[1];
    await until(async () => (await fetch(`${this.baseURL}/readyz`)).ok, 'the server to be ready');
    log(`server ready at ${this.baseURL}`);
  }

  /** Starts the demo worker and waits until it is active and its workflows exist. */
  async startWorker({ taskDelay }) {
    // The token goes in the environment, where ps does not show it.
    this.#spawn('worker', join(this.#tmp, 'dashboarddemo'), [
      '--server', this.baseURL, '--task-delay', taskDelay,
    ], { SWITCHYARD_TOKEN: this.token });
    await until(async () => {
      const { workers } = await this.api('WorkerService/ListWorkers', {});
      const { workflows = [] } = await this.api('WorkflowService/ListWorkflows', {});
      const names = workflows.map((w) => w.spec?.name ?? w.name);
      return (workers ?? []).some((w) => w.status === 'WORKER_STATUS_ACTIVE')
        && names.includes('demo.order') && names.includes('demo.slow') && names.includes('demo.payment');
    }, 'the demo worker to be active with its workflows');
    log('demo worker active');
  }

  /** Launches Chromium. */
  async launchBrowser() {
    this.browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
  }

  /**
   * Opens a page of the dashboard in a fresh context (viewport 1280×800,
   * relative URLs against baseURL, the server by default) that records its
   * console into the log.
   */
  async newPage(baseURL = this.baseURL) {
    const context = await this.browser.newContext({ baseURL, viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(waitTimeout);
    const page = await context.newPage();
    page.on('console', (m) => this.browserLog.push(`${new Date().toISOString()} console.${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => this.browserLog.push(`${new Date().toISOString()} pageerror: ${e.stack ?? e}`));
    page.on('requestfailed', (r) => this.browserLog.push(`${new Date().toISOString()} requestfailed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
    return page;
  }

  /**
   * Calls a procedure of the API with Connect JSON, as an admin, and returns
   * the response message; a Connect error is thrown with its code.
   * @param {string} procedure e.g. 'EventService/PushEvent'
   */
  async api(procedure, body) {
    const res = await fetch(`${this.baseURL}/switchyard.v1.${procedure}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.token}` },
      body: JSON.stringify(body),
    });
    const msg = await res.json();
    if (!res.ok) throw new Error(`${procedure}: ${res.status} ${msg.code}: ${msg.message}`);
    return msg;
  }

  /** Writes a full-page screenshot to artifacts/<name>.png and returns its path. */
  async screenshot(page, name) {
    const file = join(artifactsDir, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  }

  /**
   * Ends the browser, the worker and the server (each process group:
   * SIGTERM, then SIGKILL after 10 s), saves the logs into the artifacts when
   * a test failed, and removes the temporary directory.
   */
  async stop() {
    await this.browser?.close().catch(() => {});
    for (const p of this.#procs.reverse()) await p.stop();
    if (this.failed) {
      await mkdir(artifactsDir, { recursive: true });
      for (const p of this.#procs) await copyFile(p.logFile, join(artifactsDir, `${p.name}.log`)).catch(() => {});
      await writeFile(join(artifactsDir, 'browser.log'), this.browserLog.join('\n') + '\n');
      log(`logs saved in ${artifactsDir}`);
    }
    if (this.#tmp) await rm(this.#tmp, { recursive: true, force: true });
  }

  /** Starts a process in its own process group (env added to this process's), its output into <tmp>/<name>.log. */
  #spawn(name, bin, args, env = {}) {
    const logFile = join(this.#tmp, `${name}.log`);
    const out = createWriteStream(logFile);
    const child = spawn(bin, args, {
      cwd: this.#tmp, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
    });
    let text = '';
    const waiters = new Set();
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      out.write(`\n[e2e] ${name} exited: code ${code}, signal ${signal}\n`);
      resolve();
    }));
    for (const stream of [child.stdout, child.stderr]) {
      stream.on('data', (chunk) => {
        out.write(chunk);
        text += chunk;
        for (const w of waiters) w();
      });
    }
    const proc = {
      name,
      logFile,
      waitForOutput(re, ms) {
        return new Promise((resolve, reject) => {
          const check = () => {
            const m = text.match(re);
            if (m) { clear(); resolve(m); }
          };
          const timer = setTimeout(() => { clear(); reject(new Error(`${name}: no output matching ${re} within ${ms} ms:\n${text}`)); }, ms);
          const clear = () => { clearTimeout(timer); waiters.delete(check); };
          waiters.add(check);
          child.once('exit', () => { if (waiters.has(check)) { clear(); reject(new Error(`${name} exited:\n${text}`)); } });
          check();
        });
      },
      async stop() {
        if (child.exitCode === null && child.signalCode === null) {
          signalGroup(child.pid, 'SIGTERM');
          const timer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), 10_000);
          await exited;
          clearTimeout(timer);
        }
        await new Promise((resolve) => out.end(resolve));
      },
    };
    this.#procs.push(proc);
    live.add(child.pid);
    child.once('exit', () => live.delete(child.pid));
    return proc;
  }
}

/** The process groups still running, killed if the test process exits first. */
const live = new Set();
process.once('exit', () => { for (const pid of live) signalGroup(pid, 'SIGKILL'); });
// The processes have groups of their own, so a Ctrl-C does not reach them.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => process.exit(130));
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

/**
 * Builds and starts everything: server, demo worker (whose tasks take
 * taskDelay, a Go duration) and browser. On a failure it stops what it
 * started and throws.
 */
export async function startStack({ taskDelay = '3s' } = {}) {
  await rm(artifactsDir, { recursive: true, force: true });
  await mkdir(artifactsDir, { recursive: true });
  const stack = new Stack();
  try {
    await stack.build();
    await stack.startServer();
    await stack.startWorker({ taskDelay });
    await stack.launchBrowser();
  } catch (err) {
    stack.failed = true;
    await stack.stop();
    throw err;
  }
  return stack;
}

/** Polls fn (errors count as false) every 100 ms until it is true, for at most waitTimeout. */
export async function until(fn, what, ms = waitTimeout) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      if (await fn()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function log(msg) {
  process.stderr.write(`[e2e] ${msg}\n`);
}
