// wsao_trio chat page: what a run's events mean, as plain data (no DOM, no socket).
//
// `deriveRun` folds a run's events (ordered by seq) into one view object that the
// renderer draws; `threadSummaries` groups runs into conversations for the list.
// Both are pure, so replaying the same events always gives the same page.

export const TERMINAL = Object.freeze({
  agent_completed: "completed",
  agent_error: "failed",
  agent_cancelled: "cancelled",
});

export const isFinished = (run) => run.events.length > 0 && run.events[run.events.length - 1].type in TERMINAL;

/** The view of a run: its state, message, steps, streamed text and outcome. */
export function deriveRun(run, drafts) {
  const draft = run.messageId ? drafts.get(run.messageId) : null;
  const v = {
    state: "running",
    message: draft ? draft.text : null,
    started: false,
    startedAt: null,
    items: [],
    stream: "",
    result: undefined,
    completed: false,
    error: null,
    cancel: null,
    duration: null,
  };
  const tools = new Map();
  for (const ev of run.events) applyEvent(v, tools, ev);
  return v;
}

function applyEvent(v, tools, ev) {
  const p = ev.payload && typeof ev.payload === "object" ? ev.payload : {};
  switch (ev.type) {
    case "agent_started":
      v.message = typeof p.message === "string" ? p.message : JSON.stringify(p.message);
      v.started = true;
      v.startedAt = ev.timestamp;
      break;
    case "agent_thinking":
      v.items.push({ kind: "thinking", text: String(p.thought ?? ""), ts: ev.timestamp });
      break;
    case "tool_executing": {
      const t = { kind: "tool", id: p.tool_call_id, name: p.tool_name, args: p.arguments, done: null, ts: ev.timestamp };
      tools.set(t.id, t);
      v.items.push(t);
      break;
    }
    case "tool_completed": {
      let t = tools.get(p.tool_call_id);
      if (!t) {
        t = { kind: "tool", id: p.tool_call_id, name: p.tool_name, args: undefined, done: null, ts: ev.timestamp };
        tools.set(t.id, t);
        v.items.push(t);
      }
      t.done = p;
      break;
    }
    case "agent_message_delta":
      v.stream += typeof p.delta === "string" ? p.delta : "";
      break;
    case "agent_completed":
      Object.assign(v, { state: TERMINAL[ev.type], completed: true, result: p.result, duration: p.duration_ms });
      break;
    case "agent_error":
      v.state = TERMINAL[ev.type];
      v.error = { code: String(p.code ?? "error"), message: String(p.message ?? "") };
      v.duration = p.duration_ms;
      break;
    case "agent_cancelled":
      Object.assign(v, { state: TERMINAL[ev.type], cancel: String(p.reason ?? "cancelled"), duration: p.duration_ms });
      break;
    default:
      v.items.push({ kind: "other", type: String(ev.type), payload: p, ts: ev.timestamp });
  }
  if (!v.startedAt && typeof ev.timestamp === "number") v.startedAt = ev.timestamp;
}

/** One entry per thread (newest first): title, number of runs, last activity, running. */
export function threadSummaries(runs, drafts) {
  const threads = new Map();
  const ordered = [...runs].sort((a, b) => a.firstSeq - b.firstSeq);
  for (const run of ordered) {
    if (!run.thread) continue;
    let t = threads.get(run.thread);
    if (!t) {
      t = { id: run.thread, title: null, count: 0, lastSeq: 0, lastTs: null, running: false };
      threads.set(run.thread, t);
    }
    if (t.title === null) t.title = firstMessage(run, drafts);
    t.count += 1;
    t.running = t.running || !isFinished(run);
    t.lastSeq = Math.max(t.lastSeq, Number.isFinite(run.firstSeq) ? run.firstSeq : Number.MAX_SAFE_INTEGER);
    const last = run.events[run.events.length - 1];
    if (last && typeof last.timestamp === "number") t.lastTs = Math.max(t.lastTs || 0, last.timestamp);
  }
  return [...threads.values()].sort((a, b) => b.lastSeq - a.lastSeq);
}

function firstMessage(run, drafts) {
  const started = run.events.find((e) => e.type === "agent_started");
  if (started && started.payload && typeof started.payload.message === "string") return started.payload.message;
  const draft = run.messageId ? drafts.get(run.messageId) : null;
  return draft ? draft.text : null;
}
