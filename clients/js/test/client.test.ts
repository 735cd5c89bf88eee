/**
 * WsaoClient itself against a fake server (fast-check): any cuts, batching, replayed
 * copies and a restart (new epoch) give every seq once, in order, and the clean runs.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { foldEvents, WsaoClient, type ClientEvent, type RunEvent, type WebSocketLike } from "../src/index.js";
import { sleep, until } from "./harness.js";

function makeLog(runs: number[], epoch: string): RunEvent[] {
  const log: RunEvent[] = [];
  runs.forEach((thoughts, r) => {
    const base = { run_id: `${epoch}-r${r}`, thread_id: "t", agent_type: "scripted", timestamp: 0 };
    const types = ["agent_started", ...Array<string>(thoughts).fill("agent_thinking"), "agent_completed"];
    for (const [i, type] of types.entries()) {
      const seq = log.length + 1;
      const payload: RunEvent["payload"] = type === "agent_thinking" ? { thought: `t${i}` } : type === "agent_started" ? { message_id: `m${r}` } : { result: null };
      log.push({ ...base, type, seq, event_id: `${epoch}-${seq}`, payload });
    }
  });
  return log;
}

/** One connection's behaviour: frame sizes, how many frames before the cut, replayed copies. */
interface Plan {
  batches: number[];
  rewind: number; // before each frame, re-send this many already-sent events (copies)
  restart: boolean; // the server restarts (new epoch, new log) before this connection
}

const plan: fc.Arbitrary<Plan> = fc.record({
  batches: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
  rewind: fc.nat({ max: 3 }),
  restart: fc.boolean().map((b) => b && Math.random() < 0.3),
});

class FakeServer {
  epoch = "e0";
  log: RunEvent[];
  connections = 0;
  copiesSent = 0;
  constructor(
    readonly logs: RunEvent[][],
    readonly plans: Plan[],
  ) {
    this.log = logs[0]!;
  }
  restart(): void {
    const n = Number(this.epoch.slice(1)) + 1;
    if (n >= this.logs.length) return;
    this.epoch = `e${n}`;
    this.log = this.logs[n]!;
  }
}

function fakeSocket(server: FakeServer) {
  return class FakeSocket implements WebSocketLike {
    onopen: ((e: unknown) => void) | null = null;
    onmessage: ((e: { data: unknown }) => void) | null = null;
    onclose: ((e: { code: number; reason: string }) => void) | null = null;
    onerror: ((e: unknown) => void) | null = null;
    private closed = false;
    constructor(url: string) {
      const u = new URL(url);
      const index = server.connections++;
      const p = server.plans[index];
      if (p?.restart) server.restart();
      const lastSeq = u.searchParams.has("last_seq") ? Number(u.searchParams.get("last_seq")) : null;
      const epoch = u.searchParams.get("epoch");
      void this.serve(p, lastSeq, epoch);
    }
    private async serve(p: Plan | undefined, lastSeq: number | null, epoch: string | null): Promise<void> {
      await sleep(0);
      const log = server.log;
      const newest = log.length; // every event of the log exists already
      this.frame([{ type: "connected", protocol: 1, connection_id: "c", user_id: "u", epoch: server.epoch, last_seq: newest }]);
      let next = lastSeq ?? newest; // index of the next event to send
      if (lastSeq !== null && (epoch !== server.epoch || lastSeq > newest)) {
        this.frame([{ type: "replay_gap", requested_after: lastSeq, oldest_available: 1, reason: "epoch" }]);
        next = 0;
      }
      const batches = p ? p.batches : [Infinity];
      for (const size of batches) {
        await sleep(0);
        if (this.closed) return;
        const from = Math.max(0, next - (p?.rewind ?? 0));
        server.copiesSent += next - from;
        const items = log.slice(from, next + size);
        next = Math.min(log.length, next + size);
        if (items.length > 0) this.frame(items);
      }
      if (p && !this.closed) {
        this.closed = true;
        this.onclose?.({ code: 1006, reason: "" }); // cut
      }
    }
    private frame(items: object[]): void {
      if (!this.closed) this.onmessage?.({ data: items.map((i) => JSON.stringify(i)).join("\n") });
    }
    send(): void {}
    close(): void {
      this.closed = true;
    }
  };
}

const scenario = fc.record({
  logs: fc.array(fc.array(fc.nat({ max: 4 }), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 2 }),
  plans: fc.array(plan, { maxLength: 8 }),
});

test("any cuts, batches, copies and a restart: every seq once, in order; runs as the clean log", async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async ({ logs: shapes, plans }) => {
      const logs = shapes.map((runs, i) => makeLog(runs, `e${i}`));
      const server = new FakeServer(logs, plans);
      // The client's first connection has no cursor; start it from the beginning of log 0.
      const client = new WsaoClient({
        url: "ws://fake/ws",
        token: () => "x.e30.y",
        WebSocket: fakeSocket(server),
        backoff: { initialMs: 1, maxMs: 2 },
        resume: { epoch: "e0", lastSeq: 0 },
      });
      const seen: ClientEvent[] = [];
      client.onEvent((e) => seen.push(e));
      try {
        await client.connect();
        await until(
          () => server.connections > plans.length && client.state.lastSeq === server.log.length && client.state.status === "open",
          5000,
          "everything delivered",
        );
      } finally {
        client.close();
      }
      // Split what was delivered at each epoch gap; each part is 1..k of one log, once, in order.
      const parts: RunEvent[][] = [[]];
      for (const e of seen) {
        if (e.type === "replay_gap") parts.push([]);
        else parts.at(-1)!.push(e as RunEvent);
      }
      for (const part of parts) assert.deepEqual(part.map((e) => e.seq), part.map((_, i) => i + 1));
      const final = parts.at(-1)!;
      assert.deepEqual(final, server.log); // the last log whole
      assert.equal(client.state.gaps.length, parts.length - 1);
      for (const [runId, run] of Object.entries(foldEvents(server.log))) {
        assert.deepEqual(client.state.runs[runId], run);
      }
      assert.equal(client.stats.delivered, seen.length - (parts.length - 1));
      if (parts.length === 1) assert.equal(client.stats.duplicatesDropped, server.copiesSent);
    }),
    { numRuns: 60 },
  );
});

test("a seq skipped without replay_gap is not delivered: the client resumes from its cursor", async () => {
  const log = makeLog([1], "e0"); // seqs 1..3
  const urls: string[] = [];
  class Skipping implements WebSocketLike {
    onopen = null;
    onmessage: ((e: { data: unknown }) => void) | null = null;
    onclose = null;
    onerror = null;
    constructor(url: string) {
      urls.push(url);
      const after = Number(new URL(url).searchParams.get("last_seq"));
      const items = urls.length === 1 ? [log[0], log[2]] : log.slice(after); // the first one skips seq 2
      setTimeout(() => {
        const connected = { type: "connected", protocol: 1, connection_id: "c", user_id: "u", epoch: "e0", last_seq: 3 };
        this.onmessage?.({ data: [connected, ...items].map((i) => JSON.stringify(i)).join("\n") });
      }, 0);
    }
    send(): void {}
    close(): void {}
  }
  let tokens = 0;
  const client = new WsaoClient({
    url: "ws://fake/ws",
    token: () => (tokens++, "x.e30.y"),
    WebSocket: Skipping,
    backoff: { initialMs: 1, maxMs: 2 },
    resume: { epoch: "e0", lastSeq: 0 },
  });
  const seqs: number[] = [];
  client.onEvent((e) => "seq" in e && seqs.push(e.seq));
  try {
    await client.connect();
    await until(() => client.state.lastSeq === 3, 2000, "all three");
  } finally {
    client.close();
  }
  assert.deepEqual(seqs, [1, 2, 3]);
  assert.equal(client.stats.holes, 1);
  assert.equal(urls.length, 2);
  assert.match(urls[1]!, /last_seq=1&epoch=e0/);
  assert.equal(tokens, 1, "the token was still good");
  assert.equal(client.state.attempt, 0);
});
