/** Property tests of the run reducer (fast-check): any resumes and duplicates give the same runs. */

import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { classifySeq, foldEvents, reduceRun, reduceRuns, tokenExpiry, type RunEvent, type Runs } from "../src/index.js";

type Step =
  | { type: "agent_thinking"; thought: string }
  | { type: "agent_message_delta"; delta: string }
  | { type: "tool"; name: string; ok: boolean }
  | { type: "approval"; approved: boolean };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ type: fc.constant("agent_thinking" as const), thought: fc.string({ maxLength: 8 }) }),
  fc.record({ type: fc.constant("agent_message_delta" as const), delta: fc.string({ maxLength: 8 }) }),
  fc.record({ type: fc.constant("tool" as const), name: fc.constantFrom("echo", "calculator"), ok: fc.boolean() }),
  fc.record({ type: fc.constant("approval" as const), approved: fc.boolean() }),
);
const terminal = fc.constantFrom("agent_completed", "agent_error", "agent_cancelled");

/** One run's event bodies (no seq yet), as the contract orders them. */
function runEvents(runId: string, steps: Step[], end: string): Array<Omit<RunEvent, "seq">> {
  const base = { run_id: runId, thread_id: `t-${runId}`, agent_type: "scripted", timestamp: 0, event_id: "" };
  const out: Array<Omit<RunEvent, "seq">> = [
    { ...base, type: "agent_started", payload: { message_id: `m-${runId}`, message: "hi" } },
  ];
  steps.forEach((s, i) => {
    if (s.type === "tool") {
      const id = `${runId}-call-${i}`;
      out.push({ ...base, type: "tool_executing", payload: { tool_call_id: id, tool_name: s.name, arguments: { i } } });
      out.push({
        ...base,
        type: "tool_completed",
        payload: { tool_call_id: id, tool_name: s.name, ok: s.ok, ...(s.ok ? { result: i } : { error: "no" }), duration_ms: 1 },
      });
    } else if (s.type === "approval") {
      const id = `${runId}-ap-${i}`;
      out.push({
        ...base,
        type: "approval_requested",
        payload: { approval_id: id, tool_call_id: `x${i}`, tool_name: "echo", arguments: {}, prompt: "ok?", expires_at: 1 },
      });
      out.push({ ...base, type: "approval_resolved", payload: { approval_id: id, approved: s.approved, decided_by: "user" } });
    } else if (s.type === "agent_thinking") {
      out.push({ ...base, type: s.type, payload: { thought: s.thought } });
    } else {
      out.push({ ...base, type: s.type, payload: { delta: s.delta } });
    }
  });
  const endPayload: RunEvent["payload"] =
    end === "agent_completed"
      ? { result: { answer: "done" }, duration_ms: 5 }
      : end === "agent_error"
        ? { code: "agent_failed", message: "boom", duration_ms: 5 }
        : { reason: "user", duration_ms: 5 };
  out.push({ ...base, type: end, payload: endPayload });
  return out;
}

/** Several runs interleaved (each run's order kept), numbered with one seq sequence from 1. */
const userLog: fc.Arbitrary<RunEvent[]> = fc
  .array(fc.tuple(fc.array(step, { maxLength: 6 }), terminal), { minLength: 1, maxLength: 3 })
  .chain((runs) => {
    const lists = runs.map(([steps, end], i) => runEvents(`r${i}`, steps, end));
    const total = lists.reduce((n, l) => n + l.length, 0);
    return fc.array(fc.nat({ max: lists.length - 1 }), { minLength: total, maxLength: total }).map((picks) => {
      const queues = lists.map((l) => [...l]);
      const merged: RunEvent[] = [];
      for (const pick of picks) {
        const q = queues[pick]!.length > 0 ? queues[pick]! : queues.find((x) => x.length > 0)!;
        merged.push({ ...q.shift()!, seq: merged.length + 1 } as RunEvent);
      }
      return merged;
    });
  });

/**
 * What a client may be sent: segments, each a replay from any point up to its cursor
 * (a resume after a cut, a resume frame naming an older seq, a duplicated batch), in
 * order within the segment; the last segment reaches the end of the log.
 */
function deliveries(log: RunEvent[]): fc.Arbitrary<RunEvent[]> {
  return fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.nat({ max: 6 })), { maxLength: 12 }).map(
    (segments) => {
      const out: RunEvent[] = [];
      let cursor = 0;
      for (const [where, length] of segments) {
        const start = Math.min(cursor, Math.floor(where * (cursor + 1))); // first index: 0..cursor
        const slice = log.slice(start, start + length);
        out.push(...slice);
        cursor = Math.max(cursor, start + slice.length);
      }
      out.push(...log.slice(cursor));
      return out;
    },
  );
}

const withDeliveries = userLog.chain((log) => deliveries(log).map((sent) => ({ log, sent })));

/** The client's pipeline: drop what is at or below the cursor, fold the rest. */
function clientFold(sent: RunEvent[]): { accepted: RunEvent[]; runs: Runs; dropped: number } {
  let lastSeq = 0;
  let runs: Runs = {};
  let dropped = 0;
  const accepted: RunEvent[] = [];
  for (const e of sent) {
    const kind = classifySeq(lastSeq, e.seq);
    assert.notEqual(kind, "hole", "a server never skips a seq without replay_gap");
    if (kind === "duplicate") {
      dropped += 1;
      continue;
    }
    lastSeq = e.seq;
    accepted.push(e);
    runs = reduceRuns(runs, e);
  }
  return { accepted, runs, dropped };
}

test("any resumes and duplicates: every seq once, in order, and the same runs as the clean log", () => {
  fc.assert(
    fc.property(withDeliveries, ({ log, sent }) => {
      const clean = foldEvents(log);
      const got = clientFold(sent);
      assert.deepEqual(
        got.accepted.map((e) => e.seq),
        log.map((e) => e.seq),
      );
      assert.equal(got.dropped, sent.length - log.length);
      assert.deepEqual(got.runs, clean);
      // The reducer alone is idempotent too: fed every copy, it ends the same.
      assert.deepEqual(foldEvents(sent), clean);
    }),
    { numRuns: 300 },
  );
});

test("a run's view says what its events said", () => {
  fc.assert(
    fc.property(userLog, (log) => {
      const runs = foldEvents(log);
      for (const [runId, run] of Object.entries(runs)) {
        const mine = log.filter((e) => e.run_id === runId);
        assert.deepEqual(run.events, mine);
        assert.equal(run.lastSeq, mine.at(-1)!.seq);
        const end = mine.at(-1)!.type;
        assert.equal(run.status, { agent_completed: "completed", agent_error: "error", agent_cancelled: "cancelled" }[end]);
        const deltas = mine.filter((e) => e.type === "agent_message_delta").map((e) => e.payload.delta).join("");
        assert.equal(run.text, deltas === "" && end === "agent_completed" ? "done" : deltas);
        assert.deepEqual(
          run.thinking,
          mine.filter((e) => e.type === "agent_thinking").map((e) => e.payload.thought),
        );
        const calls = mine.filter((e) => e.type === "tool_executing");
        assert.equal(run.tools.length, calls.length);
        for (const [i, tool] of run.tools.entries()) {
          assert.equal(tool.toolCallId, calls[i]!.payload.tool_call_id);
          assert.deepEqual(tool.arguments, calls[i]!.payload.arguments);
          assert.notEqual(tool.status, "running");
          assert.equal(tool.status === "ok", tool.result !== undefined);
        }
        assert.ok(run.approvals.every((a) => a.status !== "pending"));
        assert.equal(run.messageId, `m-${runId}`);
      }
    }),
    { numRuns: 200 },
  );
});

test("a duplicate gives back the same object; a change gives new ones, the input untouched", () => {
  fc.assert(
    fc.property(userLog, fc.nat(), (log, k) => {
      const runs = foldEvents(log);
      const frozen = JSON.stringify(runs);
      const copy = log[k % log.length]!;
      assert.equal(reduceRuns(runs, copy), runs);
      assert.equal(reduceRun(runs[copy.run_id], copy), runs[copy.run_id]);
      const later = { ...copy, seq: log.length + 1, type: "agent_thinking", payload: { thought: "x" } };
      const next = reduceRuns(runs, later);
      assert.notEqual(next, runs);
      assert.equal(JSON.stringify(runs), frozen);
    }),
    { numRuns: 100 },
  );
});

test("tokenExpiry reads exp without verifying", () => {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  assert.equal(tokenExpiry(`${part({ alg: "HS256" })}.${part({ sub: "ü", exp: 1800000000 })}.sig`), 1800000000);
  assert.equal(tokenExpiry("not-a-jwt"), null);
  assert.equal(tokenExpiry(`a.${part({ sub: "x" })}.b`), null);
  assert.equal(tokenExpiry("a.!!!.b"), null);
});
