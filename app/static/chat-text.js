// wsao_trio chat page: the words people read.
//
// Every protocol code (error codes, cancel reasons, run states) is turned into a
// sentence here, so the page never shows "Cancelled: user" or "rate_limited: …".
// The raw code stays reachable in a run's Details panel for developers.

export const STATUS_LABELS = Object.freeze({
  connected: "Connected",
  connecting: "Connecting…",
  reconnecting: "Reconnecting…",
  offline: "Offline",
});

const ERROR_FRAME_TEXT = Object.freeze({
  rate_limited: "You're sending messages faster than the server allows. Wait a moment and try again.",
  overloaded: "The server is busy right now. Please try again in a moment.",
  shutting_down: "The server is restarting. Your message will be sent again once it is back.",
  run_not_found: "That response has already finished.",
  unauthorized: "Your sign-in could not be renewed on this connection.",
  invalid_json: "The server could not read a message from this page.",
  unknown_type: "The server did not understand a request from this page.",
  internal_error: "Something went wrong on the server while handling your request.",
});

/** A sentence for an `error` control frame; `message` is the server's detail. */
export function errorFrameText(code, message) {
  if (code === "invalid_message") {
    return message ? `The server could not accept that message: ${message}.` : "The server could not accept that message.";
  }
  return ERROR_FRAME_TEXT[code] || (message ? `Something went wrong: ${message}` : "Something went wrong.");
}

const CANCEL_TEXT = Object.freeze({
  user: "You stopped this response.",
  shutdown: "Stopped because the server restarted.",
  orphaned: "Stopped because no tab was connected for a while.",
  stale: "Stopped because it stopped making progress.",
});

/** A sentence for an `agent_cancelled` reason. */
export function cancelText(reason) {
  return CANCEL_TEXT[reason] || "This response was stopped.";
}

const AGENT_ERROR_TITLE = Object.freeze({
  agent_failed: "The agent ran into a problem and stopped.",
  run_timeout: "The agent took too long and was stopped.",
});

/** Title and detail for an `agent_error`. */
export function agentErrorText(code, message) {
  return {
    title: AGENT_ERROR_TITLE[code] || "The agent could not finish.",
    detail: cleanErrorMessage(message),
  };
}

/** "ValueError: bad script item" → "Bad script item". */
export function cleanErrorMessage(message) {
  const text = String(message ?? "").replace(/^[A-Za-z_.]*(Error|Exception|Failure):\s*/, "").trim();
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : "";
}

/** "calculator", "calculator and datetime", "echo, add and calculator". */
export function listNames(names) {
  if (names.length <= 1) return names.join("");
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

/** The one line that stands for a run's steps: {label, detail}. */
export function stepsSummary(v) {
  const tools = v.items.filter((i) => i.kind === "tool");
  const thoughts = v.items.filter((i) => i.kind === "thinking").length;
  if (v.state === "running") {
    const busy = tools.find((t) => !t.done);
    const lastThought = [...v.items].reverse().find((i) => i.kind === "thinking");
    if (busy) return { label: `Using ${busy.name ?? "a tool"}…`, detail: "" };
    return { label: v.started ? "Thinking…" : "Starting…", detail: lastThought ? lastThought.text : "" };
  }
  const counts = new Map();
  for (const t of tools) counts.set(String(t.name ?? "tool"), (counts.get(String(t.name ?? "tool")) || 0) + 1);
  const names = [...counts].map(([name, n]) => (n > 1 ? `${name} ×${n}` : name));
  const failed = tools.some((t) => t.done && t.done.ok === false);
  const steps = `${thoughts + tools.length} step${thoughts + tools.length === 1 ? "" : "s"}`;
  if (names.length) return { label: `Used ${listNames(names)}`, detail: failed ? `${steps} · a tool failed` : steps };
  return { label: thoughts ? "Thought it through" : "No steps", detail: steps };
}

/** "12 ms", "1.25 s", "14.0 s". */
export function fmtMs(ms) {
  if (typeof ms !== "number" || !isFinite(ms)) return "";
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

/** Local clock time of a server timestamp (seconds). */
export function fmtTime(ts, withSeconds = false) {
  if (typeof ts !== "number") return "";
  const opts = withSeconds ? { hour: "2-digit", minute: "2-digit", second: "2-digit" } : { hour: "2-digit", minute: "2-digit" };
  return new Date(ts * 1000).toLocaleTimeString([], opts);
}

/** "just now", "5 min ago", "3 h ago", or a date. */
export function fmtAgo(ts, now = Date.now()) {
  if (typeof ts !== "number") return "";
  const s = Math.max(0, now / 1000 - ts);
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(ts * 1000).toLocaleDateString();
}

/** Starter prompts for the empty state, by agent type. */
export const STARTERS = Object.freeze({
  assistant: [
    { title: "Do the math", prompt: "What is 17 * 23 + 4?" },
    { title: "Convert units", prompt: "How many miles is a marathon?" },
    { title: "Check a clock", prompt: "What time is it in Tokyo?" },
    { title: "Watch it think (try Stop)", prompt: "Think slowly about a long problem" },
  ],
  scripted: [
    { title: "Thoughts, tools and a streamed answer", prompt: "thoughts=2 tools=2 delay_ms=300 deltas=5" },
    { title: "A failing run", prompt: "thoughts=1 tools=1 delay_ms=300 fail=1" },
  ],
});

export const PLACEHOLDERS = Object.freeze({
  assistant: "Ask anything — e.g. what is 12*(3+4)?",
  scripted: "thoughts=2 tools=2 delay_ms=300 deltas=5",
});
