// A real `mechamental serve` for the tests: its own DATA_DIR (embedded SQLite), an org and
// keys made with the CLI, restartable on the same port. The repo's .venv (or
// MECHAMENTAL_BIN) provides the server; ports come from MM_TEST_PORTS (pytest's
// tests/ports.py hands them out) or the kernel.
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const repo = fileURLToPath(new URL("../../..", import.meta.url));
const BIN = process.env.MECHAMENTAL_BIN ?? join(repo, ".venv", "bin", "mechamental");
const given = (process.env.MM_TEST_PORTS ?? "").split(",").filter(Boolean).map(Number);

export async function freePort() {
  if (given.length) return given.shift();
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export class Server {
  static async start(extra = {}) {
    const server = new Server();
    server.dataDir = await mkdtemp(join(tmpdir(), "mm-ts-"));
    server.port = await freePort();
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("MECHAMENTAL_")));
    server.env = {
      ...env,
      MECHAMENTAL_ENV: "test",
      MECHAMENTAL_DATA_DIR: server.dataDir,
      MECHAMENTAL_SECRET_KEY: "ts-client-test-secret-" + "k".repeat(32),
      MECHAMENTAL_RUN_WORKER: "false",
      MECHAMENTAL_RATE_LIMITS: "false",
      MECHAMENTAL_LOG_LEVEL: "WARNING",
      MECHAMENTAL_LOG_FORMAT: "console",
      MECHAMENTAL_PRESENCE_GRACE_SECONDS: "1",
      ...extra,
    };
    await server.cli("migrate");
    server.orgId = (await server.cli("orgs", "create", "ts-client")).trim();
    server.keys = {};
    await server.start();
    return server;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async cli(...args) {
    const { stdout } = await run(BIN, args, { env: this.env });
    return stdout;
  }

  /** A key (the secret) for `user` with `role`. */
  async key(user, role = "member", ...more) {
    const secret = (await this.cli("tokens", "create", "--org", this.orgId, "--user", user, "--role", role, ...more)).trim();
    return secret;
  }

  async start() {
    this.log = [];
    this.proc = spawn(BIN, ["serve", "--host", "127.0.0.1", "--port", String(this.port), "--no-migrate"], {
      env: this.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    for (const s of [this.proc.stdout, this.proc.stderr]) s.on("data", (d) => this.log.push(String(d)));
    this.exited = new Promise((resolve) => this.proc.once("exit", resolve));
    const deadline = Date.now() + 120_000; // a bound on a loaded machine, never a measurement
    for (;;) {
      if (this.proc.exitCode !== null) throw new Error(`server exited: ${this.log.join("")}`);
      try {
        if ((await fetch(`${this.url}/healthz`)).ok) return;
      } catch {
        /* not yet */
      }
      if (Date.now() > deadline) throw new Error("server did not start");
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async kill(signal = "SIGKILL") {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill(signal);
      await this.exited;
    }
  }

  async restart(signal = "SIGKILL") {
    await this.kill(signal);
    await this.start();
  }

  async stop() {
    await this.kill();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

export async function until(predicate, what, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
