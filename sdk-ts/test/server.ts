// A real `switchyard serve`, built from this repository, on a free loopback
// port with its SQLite data in a temporary directory.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/** The repository's root (this file runs from sdk-ts/dist/test). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** The admin token every test server stores for the default tenant. */
export const adminToken = "sy_tssdk_test_admin_token";

let binary: Promise<string> | undefined;

/** Builds the switchyard binary once per test process. */
export function buildBinary(): Promise<string> {
  binary ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-bin-"));
    const out = join(dir, "switchyard");
    await promisify(execFile)("go", ["build", "-o", out, "./cmd/switchyard"], { cwd: repoRoot });
    return out;
  })();
  return binary;
}

/** A free loopback port. */
function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      s.close(() => (typeof addr === "object" && addr ? res(addr.port) : rej(new Error("no port"))));
    });
  });
}

/** A running `switchyard serve`; restart keeps its port and data. */
export class TestServer {
  readonly url: string;
  readonly #bin: string;
  readonly #port: number;
  readonly #dataDir: string;
  #proc: ChildProcess | undefined;
  /** The server's output so far, for failing tests. */
  log = "";

  private constructor(bin: string, port: number) {
    this.#bin = bin;
    this.#port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.#dataDir = mkdtempSync(join(tmpdir(), "switchyard-data-"));
  }

  /** Builds the binary if needed and starts a server. */
  static async start(): Promise<TestServer> {
    const s = new TestServer(await buildBinary(), await freePort());
    await s.startAgain();
    return s;
  }

  /** Starts the server process (again) and waits until it is ready. */
  async startAgain(): Promise<void> {
    const proc = spawn(
      this.#bin,
      ["serve", "--addr", `127.0.0.1:${this.#port}`, "--data-dir", this.#dataDir, "--admin-token", adminToken,
        "--dashboard=false", "--shutdown-timeout", "2s", "--log-level", "warn"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    proc.stdout?.on("data", (b: Buffer) => (this.log += b.toString()));
    proc.stderr?.on("data", (b: Buffer) => (this.log += b.toString()));
    this.#proc = proc;
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      if (proc.exitCode !== null) {
        throw new Error(`switchyard serve exited ${proc.exitCode}:\n${this.log}`);
      }
      try {
        const res = await fetch(`${this.url}/readyz`);
        if (res.status === 200) {
          return;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`switchyard serve not ready after 30 s:\n${this.log}`);
  }

  /** Stops the server as SIGTERM does and waits for the process to exit. */
  async stop(): Promise<void> {
    const proc = this.#proc;
    this.#proc = undefined;
    if (!proc || proc.exitCode !== null) {
      return;
    }
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGTERM");
    await exited;
  }

  /** Removes the data of a stopped server, so that it starts again empty. */
  wipe(): void {
    rmSync(this.#dataDir, { recursive: true, force: true });
  }

  /** Stops the server and removes its data. */
  async close(): Promise<void> {
    await this.stop();
    rmSync(this.#dataDir, { recursive: true, force: true });
  }
}
