/** @wsao/client against the real server (`python -m app`), through a proxy that cuts. */

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import WebSocket from "ws";
import { WsaoClient, WsaoError, type ClientEvent, type RunEvent, type WsaoClientOptions } from "../src/index.js";
import { mint, Proxy, Server, sleep, until } from "./harness.js";

let server: Server;
const clients: WsaoClient[] = [];

function client(url: string, user: string, extra: Partial<WsaoClientOptions> = {}): WsaoClient {
  const c = new WsaoClient({
    url,
    token: async () => mint(user),
    WebSocket,
    backoff: { initialMs: 40, maxMs: 400 },
    ackDelayMs: 50,
    ...extra,
  });
  clients.push(c);
  return c;
}

/** Every run event a client delivers, and a check that they come once each, in order. */
function record(c: WsaoClient): { events: RunEvent[]; all: ClientEvent[] } {
  const seen = { events: [] as RunEvent[], all: [] as ClientEvent[] };
  c.onEvent((e) => {
    seen.all.push(e);
    if ("seq" in e) {
      const prev = seen.events.at(-1);
      if (prev) assert.equal(e.seq, prev.seq + 1, `seq ${e.seq} after ${prev.seq}`);
      seen.events.push(e);
    }
  });
  return seen;
}

function ofRun(events: RunEvent[], runId: string): RunEvent[] {
  return events.filter((e) => e.run_id === runId);
}

before(async () => {
  server = await Server.start();
});

after(async () => {
  for (const c of clients) c.close();
  await server.stop();
});

test("cut every 300 ms during a 2 s run of 40 thoughts: every seq once, in order, completed", async () => {
  const proxy = await new Proxy(server.port).listen();
  const c = client(proxy.ws, "cutter");
  const seen = record(c);
  await c.connect();
  proxy.cutEvery(300);
  const started = Date.now();
  const { runId } = await c.send("thoughts=40 delay_ms=50", { agentType: "scripted" });
  const run = await c.wait(runId);
  const took = Date.now() - started;
  proxy.stopCutting();
  await proxy.close();
  const events = ofRun(seen.events, runId);
  assert.equal(run.status, "completed");
  assert.equal(events.length, 44); // started, 40 thoughts, a tool call (2), completed
  assert.equal(events[0]!.type, "agent_started");
  assert.equal(events.at(-1)!.type, "agent_completed");
  const seqs = events.map((e) => e.seq);
  assert.deepEqual(seqs, seqs.map((_, i) => seqs[0]! + i));
  assert.equal(new Set(seqs).size, seqs.length);
  assert.deepEqual(run.thinking, Array.from({ length: 40 }, (_, i) => `scripted thought ${i + 1} of 40`));
  assert.equal(run.tools.length, 1);
  assert.equal(run.tools[0]!.status, "ok");
  assert.equal(c.state.runs[runId], run);
  assert.ok(proxy.cuts >= 5, `only ${proxy.cuts} cuts`);
  assert.ok(c.stats.drops >= 5);
  console.log(
    `proxy-cut: run took ${took} ms; cuts=${proxy.cuts} connections=${proxy.connections} ` +
      `delivered=${events.length} (seq ${seqs[0]}..${seqs.at(-1)}) duplicatesDropped=${c.stats.duplicatesDropped} ` +
      `drops=${c.stats.drops} resent=${c.stats.resent} holes=${c.stats.holes}`,
  );
});

test("cuts before run_accepted: the message is sent again and starts exactly one run", async () => {
  const proxy = await new Proxy(server.port).listen();
  const watcher = client(server.ws, "resender"); // the same user, not behind the proxy
  const watched = record(watcher);
  await watcher.connect();
  const c = client(proxy.ws, "resender");
  const seen = record(c);
  proxy.cutAfterFirstFrame = 3; // the first three connections are cut right after the user_message
  const messageId = "msg-cut-before-accept";
  const sent = await c.send("thoughts=3 delay_ms=5", { agentType: "scripted", messageId });
  assert.equal(proxy.cuts, 3);
  assert.equal(c.stats.resent, 3);
  assert.equal(sent.duplicate, true); // the first copy had started the run
  const run = await c.wait(sent.runId);
  assert.equal(run.status, "completed");
  await watcher.wait(sent.runId);
  await sleep(200); // a second run, if any, would have started by now
  const starts = watched.events.filter((e) => e.type === "agent_started" && e.payload.message_id === messageId);
  assert.equal(starts.length, 1);
  assert.equal(starts[0]!.run_id, sent.runId);
  assert.deepEqual(
    ofRun(seen.events, sent.runId).map((e) => e.seq),
    ofRun(watched.events, sent.runId).map((e) => e.seq),
  );
  // The same messageId again (a reload): no new run, the same ids.
  const again = await c.send("thoughts=3 delay_ms=5", { agentType: "scripted", messageId });
  assert.deepEqual([again.runId, again.duplicate], [sent.runId, true]);
  await proxy.close();
});

test("cut every 60 ms while ten messages are sent: ten runs, one per messageId, every seq once", async () => {
  const proxy = await new Proxy(server.port).listen();
  const watcher = client(server.ws, "storm");
  const watched = record(watcher);
  await watcher.connect();
  const c = client(proxy.ws, "storm", { backoff: { initialMs: 20, maxMs: 200 } });
  const seen = record(c);
  await c.connect();
  proxy.cutEvery(60);
  const sending = [];
  for (let i = 0; i < 10; i++) {
    sending.push(c.send("thoughts=10 delay_ms=30", { agentType: "scripted", messageId: `storm-${i}` }));
    await sleep(37); // sends land anywhere between cuts, some on a dead socket
  }
  const sent = await Promise.all(sending);
  const runs = await Promise.all(sent.map((s) => c.wait(s.runId)));
  proxy.stopCutting();
  await Promise.all(sent.map((s) => watcher.wait(s.runId)));
  await proxy.close();
  assert.ok(runs.every((r) => r.status === "completed"));
  assert.equal(new Set(sent.map((s) => s.runId)).size, 10);
  const starts = watched.events.filter((e) => e.type === "agent_started");
  assert.deepEqual(starts.map((e) => e.payload.message_id).sort(), sent.map((s) => s.messageId).sort());
  assert.deepEqual(
    seen.events.map((e) => e.seq),
    watched.events.map((e) => e.seq),
  );
  console.log(`storm: cuts=${proxy.cuts} resent=${c.stats.resent} drops=${c.stats.drops} delivered=${seen.events.length}`);
});

test("two clients as one user see the same events; each sees the other's runs", async () => {
  const a = client(server.ws, "twin");
  const b = client(server.ws, "twin");
  const sa = record(a);
  const sb = record(b);
  await Promise.all([a.connect(), b.connect()]);
  assert.equal(a.state.userId, "twin");
  assert.equal(a.state.epoch, b.state.epoch);
  const r1 = await a.send("thoughts=5 tools=2 deltas=3 delay_ms=5", { agentType: "scripted" });
  const r2 = await b.send("thoughts=2 delay_ms=5", { agentType: "scripted" });
  const [a1, a2, b1, b2] = await Promise.all([a.wait(r1.runId), a.wait(r2.runId), b.wait(r1.runId), b.wait(r2.runId)]);
  for (const run of [a1, a2, b1, b2]) assert.equal(run.status, "completed");
  assert.deepEqual(a1.events, b1.events);
  assert.deepEqual(a2.events, b2.events);
  assert.equal(a1.text, "chunk 1 chunk 2 chunk 3 ");
  assert.equal(a1.tools.length, 2);
  await until(() => a.state.lastSeq === b.state.lastSeq, 2000, "the same cursor");
  assert.deepEqual(
    sa.events.map((e) => e.seq),
    sb.events.map((e) => e.seq),
  );
});

test("stop a run: it ends cancelled by the user; an unknown run is run_not_found", async () => {
  const c = client(server.ws, "stopper");
  await c.connect();
  const { runId } = await c.send("thoughts=500 delay_ms=20", { agentType: "scripted" });
  await until(() => (c.state.runs[runId]?.thinking.length ?? 0) >= 2, 5000, "two thoughts");
  const run = await c.stop(runId);
  assert.equal(run.status, "cancelled");
  assert.equal(run.cancelReason, "user");
  assert.ok(run.thinking.length < 500);
  assert.equal(await c.stop(runId), run); // already finished: at once
  await assert.rejects(c.stop("no-such-run"), (e: unknown) => e instanceof WsaoError && e.code === "run_not_found");
});

test("4 s tokens: renewed with the auth frame, or (renewal off) a 4401 and a fresh token", async () => {
  const renewing = client(server.ws, "renewer", { token: async () => mint("renewer", 4) });
  const expiring = client(server.ws, "expirer", { token: async () => mint("expirer", 4), renewTokens: false });
  const seenR = record(renewing);
  const seenE = record(expiring);
  await Promise.all([renewing.connect(), expiring.connect()]);
  const script = "thoughts=60 delay_ms=100"; // 6 s: longer than one 4 s token
  const [r, e] = await Promise.all([
    renewing.send(script, { agentType: "scripted" }),
    expiring.send(script, { agentType: "scripted" }),
  ]);
  const [runR, runE] = await Promise.all([renewing.wait(r.runId), expiring.wait(e.runId)]);
  assert.equal(runR.status, "completed");
  assert.equal(runE.status, "completed");
  assert.equal(renewing.state.connections, 1, "the renewing client never reconnected");
  assert.ok(renewing.stats.renewals >= 1, `renewals: ${renewing.stats.renewals}`);
  assert.ok(expiring.state.connections >= 2, "the expiring client reconnected");
  assert.equal(expiring.stats.renewals, 0);
  assert.ok(expiring.state.lastClose?.code === 4401, JSON.stringify(expiring.state.lastClose));
  for (const [seen, run] of [
    [seenR, runR],
    [seenE, runE],
  ] as const) {
    assert.equal(ofRun(seen.events, run.runId).length, 64);
  }
});

test("a message over the frame limit: refused before sending, or (limit raised) the 1009 close rejects it, not re-sent", async () => {
  const big = "x".repeat(70000);
  const strict = client(server.ws, "big");
  await assert.rejects(strict.send(big), (e: unknown) => e instanceof WsaoError && e.code === "frame_too_large");
  const loose = client(server.ws, "big", { maxFrameBytes: 1 << 20 });
  await loose.connect();
  await assert.rejects(loose.send(big), (e: unknown) => e instanceof WsaoError && e.code === "frame_too_large");
  assert.equal(loose.state.lastClose?.code, 1009);
  await until(() => loose.state.status === "open", 5000, "the reconnect");
  const ok = await loose.send("thoughts=1", { agentType: "scripted" });
  assert.equal((await loose.wait(ok.runId)).status, "completed");
});

test("approve (contract v1.3): resolves once sent; the server's answer to an unknown approval is an error", async () => {
  const c = client(server.ws, "approver");
  const errors: WsaoError[] = [];
  c.onError((e) => errors.push(e));
  await c.approve("no-such-approval", true, "fine"); // before connect: sent once open
  await until(() => errors.length > 0, 3000, "the answer");
  // approval_not_found where v1.3 is served; unknown_type from a server without it
  assert.ok(["approval_not_found", "unknown_type"].includes(errors[0]!.code), errors[0]!.code);
  assert.equal(c.state.status, "open");
});

test("npm pack: the tarball installs into an empty project and the docs' example runs", async () => {
  const { packAndRunExample } = await import("./pack.js");
  const out = await packAndRunExample(server);
  assert.match(out, /17 \* 23 \+ 4 = 395/);
});

test("close() stops everything: pending promises reject, no reconnect", async () => {
  const proxy = await new Proxy(server.port).listen();
  const c = client(proxy.ws, "closer");
  await c.connect();
  proxy.cutAfterFirstFrame = 100; // run_accepted never arrives
  const pending = c.send("thoughts=1", { agentType: "scripted" });
  await until(() => proxy.cuts >= 1, 3000, "a cut");
  c.close();
  await assert.rejects(pending, (e: unknown) => e instanceof WsaoError && e.code === "closed");
  const connections = proxy.connections;
  await sleep(500);
  assert.equal(proxy.connections, connections);
  assert.equal(c.state.status, "closed");
  await assert.rejects(c.send("x"), (e: unknown) => e instanceof WsaoError && e.code === "closed");
  await proxy.close();
});
