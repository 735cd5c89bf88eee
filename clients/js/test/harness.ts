/**
 * Test harness: the real server (`python -m app`) as a child process, HS256 tokens minted
 * here with node:crypto, and a TCP proxy (node:net) that cuts connections abruptly.
 */

import { spawn, type ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync } from "node:fs";
import net from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: this file runs from clients/js/dist-test/test/. */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");
export const SECRET = "wsao-js-client-tests-secret-0123456789";

function python(): string {
  if (process.env.CLIENT_TEST_PYTHON) return process.env.CLIENT_TEST_PYTHON;
  const venv = resolve(REPO, ".venv", "bin", "python");
  return existsSync(venv) ? venv : "python3";
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString("base64url");
}

/** An HS256 JWT for `userId`, living `ttl` seconds. */
export function mint(userId: string, ttl = 600): string {
  const now = Math.floor(Date.now() / 1000);
  const head = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64url(JSON.stringify({ sub: userId, iat: now, exp: now + ttl }));
  const sig = createHmac("sha256", SECRET).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = net.createServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => res(typeof addr === "object" && addr ? addr.port : 0));
    });
  });
}

/** Every server this process started: killed if the test process ends first (or is killed). */
const children = new Set<ChildProcess>();
function killChildren(): void {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
}
process.once("exit", killChildren);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    killChildren();
    process.exit(128 + (signal === "SIGINT" ? 2 : 15));
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Server {
  proc: ChildProcess | null = null;
  output = "";
  constructor(readonly port: number) {}

  get http(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get ws(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  static async start(port?: number, env: Record<string, string> = {}): Promise<Server> {
    const server = new Server(port ?? (await freePort()));
    const proc = spawn(python(), ["-m", "app"], {
      cwd: REPO,
      env: {
        // Hermetic: no WSAO_* setting from the caller's environment (the server refuses unknown ones).
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("WSAO_"))),
        WSAO_DEV_AUTH: "1",
        WSAO_JWT_SECRET: SECRET,
        WSAO_BIND: `127.0.0.1:${server.port}`,
        PYTHONUNBUFFERED: "1",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    server.proc = proc;
    children.add(proc);
    proc.once("exit", () => children.delete(proc));
    proc.stdout?.on("data", (d: Buffer) => (server.output += d.toString()));
    proc.stderr?.on("data", (d: Buffer) => (server.output += d.toString()));
    const deadline = Date.now() + 30000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`python -m app exited ${proc.exitCode}:\n${server.output}`);
      try {
        const res = await fetch(`${server.http}/health`);
        if (res.ok) return server;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    proc.kill("SIGKILL");
    throw new Error(`python -m app did not answer /health in 30 s:\n${server.output}`);
  }

  /** SIGTERM (runs end `shutdown`, sockets close 1001) and wait for the exit. */
  async stop(): Promise<number | null> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return proc?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 15000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }
}

/** A TCP proxy in front of the server that can cut every connection abruptly. */
export class Proxy {
  private server: net.Server;
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private timer: ReturnType<typeof setInterval> | null = null;
  port = 0;
  cuts = 0;
  connections = 0;
  /** Connections left to cut right after the client's first frame (before the server's answer). */
  cutAfterFirstFrame = 0;

  constructor(public target: number) {
    this.server = net.createServer((client) => this.accept(client));
  }

  get ws(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  async listen(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", () => r()));
    const addr = this.server.address();
    this.port = typeof addr === "object" && addr ? addr.port : 0;
    return this;
  }

  private accept(client: net.Socket): void {
    this.connections += 1;
    const upstream = net.connect(this.target, "127.0.0.1");
    const pair: [net.Socket, net.Socket] = [client, upstream];
    this.pairs.add(pair);
    let clientChunks = 0;
    let blackhole = false;
    const end = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("data", (chunk) => {
      clientChunks += 1;
      upstream.write(chunk);
      if (clientChunks === 2 && this.cutAfterFirstFrame > 0) {
        // The client's first frame after the handshake (a user_message) reaches the
        // server; its answer (run_accepted) never reaches the client.
        this.cutAfterFirstFrame -= 1;
        blackhole = true;
        setTimeout(() => this.cut(pair), 60);
      }
    });
    upstream.on("data", (chunk) => {
      if (!blackhole) client.write(chunk);
    });
    for (const s of pair) {
      s.on("error", end);
      s.on("close", end);
    }
  }

  /** Reset both sides of one connection: no close frame, no FIN, just gone. */
  private cut(pair: [net.Socket, net.Socket]): void {
    if (!this.pairs.has(pair)) return;
    this.pairs.delete(pair);
    this.cuts += 1;
    for (const s of pair) {
      if (typeof s.resetAndDestroy === "function" && !s.destroyed && !s.connecting) s.resetAndDestroy();
      else s.destroy();
    }
  }

  cutAll(): number {
    const n = this.pairs.size;
    for (const pair of [...this.pairs]) this.cut(pair);
    return n;
  }

  /** Cut every open connection every `ms` milliseconds until {@link stopCutting}. */
  cutEvery(ms: number): void {
    this.timer = setInterval(() => this.cutAll(), ms);
  }

  stopCutting(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  async close(): Promise<void> {
    this.stopCutting();
    for (const pair of [...this.pairs]) for (const s of pair) s.destroy();
    this.pairs.clear();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** Resolve when `check()` is true, polling; reject after `ms`. */
export async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}
