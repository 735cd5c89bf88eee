/** A server restart on the memory backplane: 1001, a new epoch, replay_gap, seqs from 1 again. */

import assert from "node:assert/strict";
import { test } from "node:test";
import WebSocket from "ws";
import { WsaoClient, type ReplayGapFrame, type RunEvent } from "../src/index.js";
import { freePort, mint, Proxy, Server, until } from "./harness.js";

test("server restart: the run in flight ends shutdown, then a new epoch with replay_gap and seqs from 1", async () => {
  const first = await Server.start();
  const proxy = await new Proxy(first.port).listen(); // the client's address survives the restart
  let second: Server | null = null;
  const c = new WsaoClient({
    url: proxy.ws,
    token: async () => mint("restarter"),
    WebSocket,
    backoff: { initialMs: 40, maxMs: 300 },
  });
  const events: RunEvent[] = [];
  const gaps: ReplayGapFrame[] = [];
  const closes: number[] = [];
  c.subscribe((s) => {
    if (s.lastClose && s.lastClose.code !== closes.at(-1)) closes.push(s.lastClose.code);
  });
  c.onEvent((e) => (e.type === "replay_gap" ? gaps.push(e as ReplayGapFrame) : events.push(e as RunEvent)));
  try {
    await c.connect();
    const oldEpoch = c.state.epoch;
    const done = await c.send("thoughts=2 delay_ms=5", { agentType: "scripted" });
    assert.equal((await c.wait(done.runId)).status, "completed");
    const long = await c.send("thoughts=500 delay_ms=20", { agentType: "scripted" });
    await until(() => (c.state.runs[long.runId]?.thinking.length ?? 0) >= 1, 5000, "the long run thinking");

    assert.equal(await first.stop(), 0);
    const cut = await c.wait(long.runId);
    assert.equal(cut.status, "cancelled");
    assert.equal(cut.cancelReason, "shutdown");
    await until(() => closes.length > 0, 3000, "the close");
    assert.equal(closes[0], 1001); // then 1006s while nothing listens
    const before = c.state.lastSeq;

    second = await Server.start(await freePort());
    proxy.target = second.port;
    await until(() => c.state.status === "open" && c.state.epoch !== oldEpoch, 10000, "the new epoch");
    await until(() => gaps.length === 1, 3000, "replay_gap");
    assert.equal(gaps[0]!.reason, "epoch");
    assert.equal(gaps[0]!.requested_after, before);
    assert.deepEqual(
      c.state.gaps.map((g) => [g.reason, g.epoch, g.requestedAfter]),
      [["epoch", c.state.epoch, before]],
    );
    assert.equal(c.state.lastSeq, 0);
    assert.equal(c.state.runs[done.runId]!.status, "completed"); // the old runs stay as they were

    const next = await c.send("thoughts=2 delay_ms=5", { agentType: "scripted" });
    const run = await c.wait(next.runId);
    assert.equal(run.status, "completed");
    assert.deepEqual(
      run.events.map((e) => e.seq),
      [1, 2, 3, 4, 5, 6],
    );
    const oldSeqs = events.filter((e) => e.run_id !== next.runId).map((e) => e.seq);
    assert.deepEqual(oldSeqs, oldSeqs.map((_, i) => i + 1)); // the old epoch: 1..before, once each
    assert.equal(oldSeqs.length, before);
  } finally {
    c.close();
    await proxy.close();
    await first.stop();
    await second?.stop();
  }
});
