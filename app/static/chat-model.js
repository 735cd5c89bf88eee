// wsao_trio chat page: what a run looks like on screen, as plain data (no DOM, no socket).
//
// The run itself (status, answer text, result, error, cancel reason, duration) is
// @wsao/client's fold of its events (`client.state.runs[id]`, kept as `run.view`);
// `deriveRun` adds what only the page needs: the steps in the order they happened
// (thoughts and tool calls interleaved, with their times). `threadSummaries` groups
// runs into conversations for the list. Both are pure.

/** The page's turn states for the SDK's run statuses (anything else is still running). */
const STATE_OF = Object.freeze({ completed: "completed", error: "failed", cancelled: "cancelled" });

export const isFinished = (run) => Boolean(run.view && run.view.status in STATE_OF);

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
  const view = run.view;
  if (view) {
    const state = STATE_OF[view.status] || "running";
    Object.assign(v, {
      state,
      completed: state === "completed",
      stream: view.text,
      result: view.result,
      error: view.error || null,
      cancel: state === "cancelled" ? view.cancelReason || "cancelled" : null,
      duration: view.durationMs ?? null,
    });
    if (typeof view.message === "string") v.message = view.message;
  }
  return v;
}

/** The steps: every event type is either drawn as one, or left to the SDK's run view. */
function applyEvent(v, tools, ev) {
  const p = ev.payload && typeof ev.payload === "object" ? ev.payload : {};
  switch (ev.type) {
    case "agent_started":
      if (p.message !== undefined) v.message = typeof p.message === "string" ? p.message : JSON.stringify(p.message);
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
    case "agent_completed":
    case "agent_error":
    case "agent_cancelled":
      break; // text and outcome: the SDK's run view
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
