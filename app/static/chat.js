// wsao_trio chat page: a client of PROTOCOL.md (contract v1) and the `auth` extension.
//
// Shape: one state object (S) fed by the socket; every agent event is deduplicated by
// its per-user `seq`, stored with its run, and the run's turn is re-derived from the
// run's events (so rendering is idempotent: replaying the same events after a
// reconnect or a reload draws the same turn). The page shows one thread at a time;
// every run of the user still arrives in every tab. What events mean lives in
// chat-model.js, wording in chat-text.js, drawing in chat-render.js, the shared
// sign-in session and token timing in chat-auth.js.
import {
  STATUS_LABELS, STARTERS, PLACEHOLDERS, errorFrameText, fmtAgo,
} from "/static/chat-text.js";
import { el, buildTurn, updateTurn, answerOf } from "/static/chat-render.js";
import { TERMINAL, deriveRun, isFinished, threadSummaries } from "/static/chat-model.js";
import {
  jwtClaims, tokenExpired, tokenExpiry, refreshAt, fetchDevToken,
  loadSession, saveSession, clearSession, watchSession, cacheStore,
} from "/static/chat-auth.js";

// ---------------------------------------------------------------- constants
const MAX_STORED_EVENTS = 500; // per user, in localStorage
const MAX_MEMORY_EVENTS = 10000; // in this tab; oldest finished runs go first
const ACK_EVERY = 20;
const TICK_MS = 500;
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 5000;
const PING_INTERVAL_MS = 20000;
const SILENCE_LIMIT_MS = 50000; // no frame at all for this long: drop and reconnect
const GAP_RESUME_MS = 1500; // a hole in seq for this long: ask for it again
const GAP_SKIP_MS = 5000; // still there: accept the hole and move on
const EPOCH_GAP_WAIT_MS = 800;
const AUTH_ANSWER_MS = 5000; // an `auth` frame unanswered this long: reconnect with the token
const REFRESH_RETRY_MS = 3000;
const cacheKey = (user) => "wsao:v1:events:" + user;
const $ = (sel, root = document) => root.querySelector(sel);

function uuid() {
  if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  // randomUUID needs a secure context; plain http on a LAN address lacks it.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ---------------------------------------------------------------- state
const S = {
  config: { dev_auth: true, agent_types: ["assistant", "scripted"], default_agent: "assistant" },
  user: null,
  token: null,
  epoch: null,
  contig: 0, // highest seq such that every event up to it was seen (or declared lost)
  pendingSeqs: new Set(), // seen seqs above contig (a hole is below them)
  runs: new Map(), // run_id -> run
  thread: null, // the thread on screen (null: a new chat)
  follow: false, // on a fresh new chat: show the thread of the newest run (from any tab)
  newThreadFor: null, // message_id whose run_accepted names the new thread
  outbox: [], // user_message frames not yet answered by run_accepted
  drafts: new Map(), // message_id -> {text, agent_type}
  acked: 0,
  sinceAck: 0,
  gapSince: null,
  gapResumeSent: false,
};

const conn = {
  ws: null,
  id: 0, // increments per socket; outbox items remember where they were sent
  opening: false,
  gotConnected: false, // the current socket received `connected`
  tokenUsed: null, // the token in the current socket's URL
  needFreshToken: false, // the last handshake failed or the server said 4401
  backoff: BACKOFF_MIN_MS,
  reconnectTimer: null,
  lastFrameAt: 0,
  lastPingAt: 0,
  epochGapTimer: null,
  expectEpochGap: false,
};

const auth = {
  refreshAt: null, // epoch ms at which to fetch a fresh token
  refreshing: false,
  pending: null, // token sent in an `auth` frame, not yet answered
  pendingSince: 0,
  okCount: 0, // `auth_ok` frames received (the browser test reads it)
  warned: false,
};
window.__wsaoAuth = auth;

// ---------------------------------------------------------------- status, toasts, notices
function setStatus(state, label) {
  const node = $("#status");
  if (!navigator.onLine && state !== "connected") state = "offline";
  node.dataset.state = state;
  const text = label || STATUS_LABELS[state] || state;
  $(".label", node).textContent = text;
  node.title = text;
}

function toast(text, kind = "error", ms = 6000) {
  const node = el("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  node.addEventListener("click", () => node.remove());
  $("#toasts").append(node);
  setTimeout(() => node.remove(), ms);
}

function notice(text, kind = "info") {
  const close = el("button", { class: "notice-close", type: "button", "aria-label": "Dismiss", text: "×" });
  const node = el("div", { class: `notice ${kind}` }, el("span", { text }), close);
  close.addEventListener("click", () => node.remove());
  const box = $("#notices");
  box.append(node);
  while (box.children.length > 4) box.firstElementChild.remove();
}

// ---------------------------------------------------------------- persistence
let saveTimer = null;

function persistSoon() {
  if (saveTimer || !S.user) return;
  saveTimer = setTimeout(persistNow, 300);
}

function eventsForStorage(limit) {
  const runs = [...S.runs.values()].filter((r) => r.events.length).sort((a, b) => b.firstSeq - a.firstSeq);
  const out = [];
  for (const run of runs) {
    if (out.length && out.length + run.events.length > limit) break;
    out.push(...run.events.slice(-limit));
  }
  return out.sort((a, b) => a.seq - b.seq);
}

function persistNow() {
  clearTimeout(saveTimer);
  saveTimer = null;
  if (!S.user) return;
  for (const limit of [MAX_STORED_EVENTS, 150, 30, 0]) {
    const data = { epoch: S.epoch, contig: S.contig, thread: S.thread, events: eventsForStorage(limit) };
    try {
      cacheStore.set(cacheKey(S.user), JSON.stringify(data));
      return;
    } catch {
      // quota: retry with fewer events
    }
  }
}

function restore(user) {
  let data = null;
  try {
    data = JSON.parse(cacheStore.get(cacheKey(user)) || "null");
  } catch {
    data = null;
  }
  if (!data || typeof data !== "object") return;
  S.epoch = typeof data.epoch === "string" ? data.epoch : null;
  S.contig = Number.isInteger(data.contig) ? data.contig : 0;
  S.thread = typeof data.thread === "string" ? data.thread : null;
  for (const ev of Array.isArray(data.events) ? data.events : []) {
    if (!ev || !Number.isInteger(ev.seq) || typeof ev.run_id !== "string") continue;
    if (ev.seq > S.contig) S.pendingSeqs.add(ev.seq);
    addToRun(ev);
  }
}

// ---------------------------------------------------------------- seq bookkeeping
function advanceContig() {
  while (S.pendingSeqs.has(S.contig + 1)) {
    S.pendingSeqs.delete(S.contig + 1);
    S.contig += 1;
  }
  for (const seq of S.pendingSeqs) if (seq <= S.contig) S.pendingSeqs.delete(seq);
  if (!S.pendingSeqs.size) {
    S.gapSince = null;
    S.gapResumeSent = false;
  } else if (S.gapSince === null) {
    S.gapSince = Date.now();
  }
}

/** Returns true when the event is new (and was stored), false for a copy. */
function ingestEvent(ev) {
  if (ev.seq <= S.contig || S.pendingSeqs.has(ev.seq)) return false;
  S.pendingSeqs.add(ev.seq);
  advanceContig();
  if (typeof ev.run_id === "string") addToRun(ev);
  if (S.follow && ev.type === "agent_started" && typeof ev.thread_id === "string" && ev.thread_id !== S.thread) {
    S.thread = ev.thread_id; // a run started in another tab while this one waits on a new chat
    markView(true);
  }
  S.sinceAck += 1;
  if (S.sinceAck >= ACK_EVERY) sendAck();
  persistSoon();
  return true;
}

function sendAck() {
  if (S.contig > S.acked && sendFrame({ type: "ack", seq: S.contig })) {
    S.acked = S.contig;
    S.sinceAck = 0;
  }
}

function checkGap() {
  if (!S.pendingSeqs.size || S.gapSince === null) return;
  const age = Date.now() - S.gapSince;
  if (age > GAP_SKIP_MS) {
    notice("A few updates never arrived; continuing without them.", "warn");
    S.contig = Math.min(...S.pendingSeqs) - 1;
    advanceContig();
    persistSoon();
  } else if (age > GAP_RESUME_MS && !S.gapResumeSent) {
    const frame = { type: "resume", last_seq: S.contig };
    if (S.epoch) frame.epoch = S.epoch;
    S.gapResumeSent = sendFrame(frame);
  }
}

// ---------------------------------------------------------------- runs (model)
function getRun(runId) {
  let run = S.runs.get(runId);
  if (!run) {
    run = {
      id: runId,
      thread: null,
      agent: null,
      events: [],
      firstSeq: Infinity,
      messageId: null,
      duplicate: false,
      stopping: false,
      note: null,
      lost: false,
      card: null,
      placedSeq: null,
      stale: true,
      ui: { stepsOpen: false, toolsOpen: new Set(), debugOpen: false, eventsOpen: new Set() },
    };
    S.runs.set(runId, run);
    threadsDirty = true;
  }
  return run;
}

function addToRun(ev) {
  const run = getRun(ev.run_id);
  if (ev.thread_id && run.thread !== ev.thread_id) {
    run.thread = ev.thread_id;
    threadsDirty = true;
  }
  run.agent = ev.agent_type || run.agent;
  const evs = run.events;
  if (!evs.length || evs[evs.length - 1].seq < ev.seq) evs.push(ev);
  else evs.splice(evs.findIndex((e) => e.seq > ev.seq), 0, ev);
  if (ev.seq < run.firstSeq) run.firstSeq = ev.seq;
  if (ev.type === "agent_started" && ev.payload && ev.payload.message_id) run.messageId = ev.payload.message_id;
  if (ev.type in TERMINAL || ev.type === "agent_started") threadsDirty = true;
  markDirty(run);
}

function trimMemory() {
  let total = 0;
  for (const run of S.runs.values()) total += run.events.length;
  if (total <= MAX_MEMORY_EVENTS) return;
  const finished = [...S.runs.values()].filter(isFinished).sort((a, b) => a.firstSeq - b.firstSeq);
  for (const run of finished) {
    if (total <= MAX_MEMORY_EVENTS * 0.8) break;
    total -= run.events.length;
    dropRun(run);
  }
}

function dropRun(run) {
  if (run.card) run.card.remove();
  S.runs.delete(run.id);
  dirty.delete(run);
  threadsDirty = true;
}

function clearAllRuns() {
  for (const run of [...S.runs.values()]) dropRun(run);
  S.pendingSeqs.clear();
  S.contig = 0;
  S.acked = 0;
  S.sinceAck = 0;
  S.gapSince = null;
  S.gapResumeSent = false;
}

// ---------------------------------------------------------------- rendering
const dirty = new Set();
let threadsDirty = false;
let viewDirty = false; // the thread on screen, the outbox or the connection changed
let jumpToEnd = false; // the thread on screen changed or this tab sent: show the newest turn
let renderTimer = null;
let agentTouched = false; // keep the user's agent choice when /api/config arrives late

function markDirty(run) {
  dirty.add(run);
  if (!renderTimer) renderTimer = setTimeout(flushRender, 16);
}

function markView(jump = false) {
  jumpToEnd = jumpToEnd || jump;
  viewDirty = true;
  threadsDirty = true;
  if (!renderTimer) renderTimer = setTimeout(flushRender, 16);
}

const visible = (run) => (run.thread || null) === S.thread;

function flushRender() {
  clearTimeout(renderTimer);
  renderTimer = null;
  trimMemory();
  const feed = $("#feed");
  const stick = jumpToEnd || feed.scrollHeight - feed.scrollTop - feed.clientHeight < 160;
  for (const run of dirty) renderRun(run);
  dirty.clear();
  if (threadsDirty) renderThreads();
  renderView(viewDirty);
  viewDirty = jumpToEnd = false;
  if (stick) feed.scrollTop = feed.scrollHeight;
}

function handlers() {
  return { onStop: (run) => stopRun(run.id), onCopy: copyAnswer, onToggle: (run) => markDirty(run) };
}

function placeCard(run) {
  if (run.placedSeq === run.firstSeq && run.card.isConnected) return;
  run.placedSeq = run.firstSeq;
  run.card.dataset.firstSeq = String(run.firstSeq);
  const turns = $("#turns");
  let before = null;
  for (const other of turns.children) {
    if (other !== run.card && Number(other.dataset.firstSeq) > run.firstSeq) {
      before = other;
      break;
    }
  }
  turns.insertBefore(run.card, before);
}

function renderRun(run) {
  if (!S.runs.has(run.id)) return;
  if (!run.card) run.card = buildTurn(run, handlers());
  placeCard(run);
  run.card.hidden = !visible(run);
  run.card.dataset.threadId = run.thread || "";
  if (run.card.hidden) {
    run.stale = true; // drawn when its thread is shown
    return;
  }
  run.stale = false;
  updateTurn(run, deriveRun(run, S.drafts), { defaultAgent: S.config.default_agent });
}

/** What is on screen: one thread's turns and pending messages, or the empty state. */
function renderView(full) {
  if (full) {
    for (const run of S.runs.values()) {
      if (!run.card) continue;
      const show = visible(run);
      if (show && run.stale) renderRun(run);
      run.card.hidden = !show;
    }
    $("#pending").replaceChildren(...pendingHere().map(pendingBubble));
    renderThreadIndicator();
  }
  const empty = !$("#turns > .run:not([hidden])") && !$("#pending").firstElementChild;
  if (empty && (full || $("#feed-empty").hidden)) renderStarters();
  $("#feed-empty").hidden = !empty;
}

function pendingHere() {
  return S.outbox.filter((item) => (S.thread ? item.thread_id === S.thread : !item.thread_id));
}

function pendingBubble(item) {
  const waiting = conn.ws && conn.gotConnected ? "Sending…" : "Waiting for the connection…";
  return el(
    "article",
    { class: "turn pending", "data-message-id": item.message_id },
    el("div", { class: "user-row" }, el("div", { class: "user-msg bubble", text: item.text })),
    el("div", { class: "pending-note", text: waiting }),
  );
}

function renderStarters() {
  const agent = $("#agent").value;
  const list = STARTERS[agent] || (S.config.agent_types.includes("assistant") ? [] : STARTERS.scripted);
  const cards = list.map((s) =>
    el(
      "button",
      { class: "starter", type: "button", "data-prompt": s.prompt, onclick: () => sendText(s.prompt, agent) },
      el("span", { class: "starter-title", text: s.title }),
      el("span", { class: "starter-prompt", text: s.prompt }),
    ),
  );
  $("#starters").replaceChildren(...cards);
  $("#empty-sub").textContent =
    agent === "scripted"
      ? "The scripted agent plays back thoughts, tool calls and streamed text, for testing."
      : "The assistant thinks in visible steps and uses real tools: a calculator, unit conversion, clocks and the project's docs.";
}

/** The conversation list, and the title of the one on screen. */
function renderThreads() {
  threadsDirty = false;
  const summaries = threadSummaries(S.runs.values(), S.drafts);
  const current = S.thread ? summaries.find((t) => t.id === S.thread) : null;
  const title = S.thread ? (current && current.title) || "Earlier conversation" : "New chat";
  $("#chat-title").textContent = title;
  document.title = S.thread ? `${title} · wsao_trio` : "wsao_trio · chat";
  const items = summaries.map((t) => {
    const meta = `${t.count} message${t.count === 1 ? "" : "s"}${t.lastTs ? " · " + fmtAgo(t.lastTs) : ""}`;
    const btn = el(
      "button",
      { class: "thread-btn", type: "button", title: t.title || "Earlier conversation", onclick: () => selectThread(t.id) },
      el("span", { class: "thread-title", text: t.title || "Earlier conversation" }),
      el("span", { class: "thread-meta" }, t.running ? el("span", { class: "spinner tiny", "aria-label": "running" }) : null, meta),
    );
    return el("li", { class: t.id === S.thread ? "thread active" : "thread", "data-thread-id": t.id }, btn);
  });
  $("#thread-list").replaceChildren(...items);
  $("#thread-empty").hidden = items.length > 0;
}

function renderThreadIndicator() {
  const node = $("#thread-indicator");
  if (S.thread) {
    node.textContent = "Replying in this conversation";
    node.title = `thread ${S.thread}`;
  } else {
    node.textContent = S.newThreadFor ? "Starting a new conversation…" : "New conversation";
    node.title = "The next message opens a new thread";
  }
}

function selectThread(threadId) {
  S.thread = threadId;
  S.newThreadFor = null;
  S.follow = false;
  closeDrawer();
  markView(true);
  persistSoon();
  focusComposer();
}

function newThread() {
  selectThread(null);
}

/** Focus the message box, except on touch screens (it would pop the keyboard up). */
function focusComposer() {
  if (window.matchMedia("(pointer: fine)").matches) $("#message").focus();
}

function openDrawer() {
  document.body.classList.add("drawer-open");
  $("#threads-toggle").setAttribute("aria-expanded", "true");
}

function closeDrawer() {
  document.body.classList.remove("drawer-open");
  $("#threads-toggle").setAttribute("aria-expanded", "false");
}

async function copyAnswer(run) {
  const text = answerOf(deriveRun(run, S.drafts)).text || "";
  try {
    await navigator.clipboard.writeText(text);
    toast("Copied to the clipboard.", "info", 2000);
  } catch {
    toast("This browser did not allow copying.", "warn", 3000);
  }
}

// ---------------------------------------------------------------- sending
function sendFrame(frame) {
  const ws = conn.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN) return false;
  try {
    ws.send(JSON.stringify(frame));
    return true;
  } catch {
    return false;
  }
}

function submitMessage(ev) {
  ev.preventDefault();
  const box = $("#message");
  const text = box.value.trim();
  if (!text || !S.user) return;
  box.value = "";
  autoGrow();
  sendText(text, $("#agent").value);
}

function sendText(text, agentType) {
  if (!S.user) return;
  const item = { type: "user_message", message_id: uuid(), text, agent_type: agentType || undefined };
  if (S.thread) item.thread_id = S.thread;
  else if (S.newThreadFor) item.awaitThreadOf = S.newThreadFor;
  else S.newThreadFor = item.message_id;
  S.follow = false;
  S.drafts.set(item.message_id, { text, agent_type: item.agent_type });
  S.outbox.push(item);
  markView(true);
  flushOutbox();
}

/** Sends queued user messages in order; a resend after reconnect is safe (message_id dedup). */
function flushOutbox() {
  for (const item of S.outbox) {
    if (item.sentOn === conn.id) continue;
    if (item.awaitThreadOf && !item.thread_id) return; // keeps order behind the new thread's first message
    const { sentOn, awaitThreadOf, ...frame } = item;
    if (!sendFrame(frame)) return;
    item.sentOn = conn.id;
  }
}

function stopRun(runId) {
  const run = S.runs.get(runId);
  if (!run) return;
  if (!sendFrame({ type: "stop_agent", run_id: runId })) {
    toast("Not connected right now, so the response can't be stopped yet. Try again in a moment.", "warn");
    return;
  }
  run.stopping = true;
  markDirty(run);
}

// ---------------------------------------------------------------- incoming frames
function handleLine(line) {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    console.warn("wsao: unparsable line", line);
    return;
  }
  if (!msg || typeof msg !== "object") return;
  if (Number.isInteger(msg.seq)) {
    ingestEvent(msg);
    return;
  }
  const handler = CONTROL[msg.type];
  if (handler) handler(msg);
  else console.info("wsao: ignoring frame", msg);
}

const CONTROL = {
  connected: onConnected,
  run_accepted: onRunAccepted,
  error: onError,
  replay_gap: onReplayGap,
  auth_ok: onAuthOk,
  pong: () => {},
};

const EPOCH_TEXT = "The server restarted and kept no earlier messages; showing what it still has.";

function onConnected(f) {
  conn.backoff = BACKOFF_MIN_MS;
  conn.gotConnected = true;
  conn.needFreshToken = false;
  S.acked = 0;
  S.sinceAck = 0;
  setStatus("connected");
  if (S.token !== conn.tokenUsed) adoptToken(S.token); // refreshed while the socket opened
  if (S.epoch && typeof f.epoch === "string" && f.epoch !== S.epoch) {
    epochReset(EPOCH_TEXT);
    conn.expectEpochGap = true;
    clearTimeout(conn.epochGapTimer);
    conn.epochGapTimer = setTimeout(() => {
      // The server did not announce the gap itself: ask for its whole log.
      if (conn.expectEpochGap) sendFrame({ type: "resume", last_seq: 0, epoch: S.epoch });
      conn.expectEpochGap = false;
    }, EPOCH_GAP_WAIT_MS);
  }
  if (typeof f.epoch === "string") S.epoch = f.epoch;
  flushOutbox();
  markView();
  persistSoon();
}

function epochReset(text) {
  clearAllRuns();
  S.thread = null;
  S.newThreadFor = null;
  S.follow = true;
  notice(text, "warn");
  markView();
  flushRender();
  persistSoon();
}

function onReplayGap(f) {
  const oldest = Number.isInteger(f.oldest_available) ? f.oldest_available : 1;
  if (f.reason === "epoch") {
    if (!conn.expectEpochGap) epochReset(EPOCH_TEXT);
    conn.expectEpochGap = false;
    clearTimeout(conn.epochGapTimer);
    S.contig = Math.max(0, oldest - 1);
  } else {
    notice("Some older updates are no longer kept by the server; showing what remains.", "warn");
    S.contig = Math.max(S.contig, oldest - 1);
    markRunsWithLostEvents(oldest);
  }
  advanceContig();
  persistSoon();
}

/** A run whose known events all predate the gap and which has no terminal event may have ended unseen. */
function markRunsWithLostEvents(oldest) {
  for (const run of S.runs.values()) {
    const last = run.events[run.events.length - 1];
    if (!last || last.seq >= oldest || last.type in TERMINAL) continue;
    run.lost = true;
    markDirty(run);
  }
}

function onRunAccepted(f) {
  const idx = S.outbox.findIndex((i) => i.message_id === f.message_id);
  if (idx >= 0) S.outbox.splice(idx, 1);
  if (typeof f.run_id !== "string") return;
  const shownBefore = S.thread;
  if (S.newThreadFor && S.newThreadFor === f.message_id) {
    S.newThreadFor = null;
    if (typeof f.thread_id === "string" && !S.thread) S.thread = f.thread_id;
  }
  for (const item of S.outbox) {
    if (item.awaitThreadOf === f.message_id) item.thread_id = f.thread_id;
  }
  const run = getRun(f.run_id);
  run.messageId = run.messageId || f.message_id;
  if (!run.thread && typeof f.thread_id === "string") run.thread = f.thread_id;
  if (!run.agent) run.agent = (S.drafts.get(f.message_id) || {}).agent_type || null;
  if (f.duplicate === true) run.duplicate = true;
  markDirty(run);
  markView(S.thread !== shownBefore);
  flushOutbox();
  persistSoon();
}

function onError(f) {
  const code = String(f.code ?? "error");
  if (auth.pending && (code === "unauthorized" || code === "unknown_type")) {
    reconnectWithToken(); // the server refused (or does not know) the `auth` frame
    return;
  }
  const text = errorFrameText(code, typeof f.message === "string" ? f.message : "");
  const idx = f.ref ? S.outbox.findIndex((i) => i.message_id === f.ref) : -1;
  if (idx >= 0) return onMessageRefused(idx, code, text);
  const run = f.ref ? S.runs.get(f.ref) : null;
  if (run) {
    run.stopping = false;
    run.note = text;
    markDirty(run);
    return;
  }
  toast(text, code === "rate_limited" || code === "overloaded" ? "warn" : "error");
}

function onMessageRefused(idx, code, text) {
  if (code === "shutting_down") {
    toast(text, "info"); // stays queued: sent again on the next connection
    return;
  }
  const [item] = S.outbox.splice(idx, 1);
  if (S.newThreadFor === item.message_id) S.newThreadFor = null;
  S.outbox = S.outbox.filter((i) => i.awaitThreadOf !== item.message_id || i.thread_id);
  const box = $("#message");
  if (!box.value.trim()) {
    box.value = item.text; // nothing typed since: give the text back to edit or resend
    autoGrow();
  }
  toast(`Your message was not sent. ${text}`, code === "rate_limited" || code === "overloaded" ? "warn" : "error");
  markView();
  flushOutbox();
}

function onAuthOk() {
  auth.pending = null;
  auth.okCount += 1;
}

// ---------------------------------------------------------------- tokens
/** Take a fresh token of the signed-in user: the next connect uses it, an open socket gets an `auth` frame. */
function adoptToken(token) {
  S.token = token;
  auth.refreshAt = refreshAt(token, Math.random());
  auth.warned = false;
  if (conn.ws && conn.ws.readyState === WebSocket.OPEN && sendFrame({ type: "auth", token })) {
    auth.pending = token;
    auth.pendingSince = Date.now();
  }
}

async function refreshToken() {
  if (auth.refreshing || !S.user) return;
  if (S.config.dev_auth === false) return warnExpiry();
  const user = S.user;
  auth.refreshing = true;
  try {
    const got = await fetchDevToken(user);
    if (S.user !== user) return;
    if (got.disabled) {
      S.config.dev_auth = false;
      return warnExpiry();
    }
    saveSession(user, got.token);
    adoptToken(got.token);
  } catch (err) {
    console.warn("wsao: token refresh failed; retrying", err);
    auth.refreshAt = Date.now() + REFRESH_RETRY_MS;
  } finally {
    auth.refreshing = false;
  }
}

function warnExpiry() {
  auth.refreshAt = null;
  if (auth.warned) return;
  auth.warned = true;
  const exp = tokenExpiry(S.token);
  const mins = exp ? Math.max(1, Math.round((exp * 1000 - Date.now()) / 60000)) : null;
  notice(`Your sign-in expires${mins ? ` in about ${mins} min` : " soon"}. Sign out and in again with a new token to keep chatting.`, "warn");
}

function reconnectWithToken() {
  auth.pending = null;
  dropSocket();
  connect();
}

/** Before opening a socket: a token that the server will take, fetched anew when needed. */
async function tokenForConnect() {
  const expired = tokenExpired(S.token);
  if (!expired && !conn.needFreshToken) return true;
  if (S.config.dev_auth !== false) {
    try {
      const got = await fetchDevToken(S.user);
      if (got.token) {
        saveSession(S.user, got.token);
        adoptToken(got.token);
        return true;
      }
      S.config.dev_auth = false;
    } catch (err) {
      console.warn("wsao: cannot fetch a fresh token", err);
      if (!expired) return true;
      scheduleReconnect();
      return false;
    }
  }
  if (!expired) return true;
  signOut("Your session has expired. Please sign in again.");
  return false;
}

// ---------------------------------------------------------------- connection
function wsUrl() {
  const params = new URLSearchParams({ token: S.token, last_seq: String(S.contig) });
  if (S.epoch) params.set("epoch", S.epoch);
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}/ws?${params}`;
}

async function connect() {
  clearTimeout(conn.reconnectTimer);
  conn.reconnectTimer = null;
  if (!S.token || conn.opening || conn.ws) return;
  conn.opening = true;
  try {
    setStatus("reconnecting", conn.id === 0 ? STATUS_LABELS.connecting : STATUS_LABELS.reconnecting);
    if (!(await tokenForConnect()) || !S.token || conn.ws) return;
    openSocket();
  } finally {
    conn.opening = false;
  }
}

function openSocket() {
  let ws;
  try {
    ws = new WebSocket(wsUrl());
  } catch (err) {
    console.warn("wsao: cannot open socket", err);
    scheduleReconnect();
    return;
  }
  conn.id += 1;
  conn.ws = ws;
  conn.gotConnected = false;
  conn.tokenUsed = S.token;
  conn.lastFrameAt = Date.now();
  ws.onmessage = (e) => onSocketMessage(ws, e);
  ws.onclose = (e) => onSocketClose(ws, e);
  ws.onerror = () => {}; // onclose follows and decides
}

function onSocketMessage(ws, e) {
  if (ws !== conn.ws) return;
  conn.lastFrameAt = Date.now();
  if (typeof e.data !== "string") return;
  for (const line of e.data.split("\n")) if (line.trim()) handleLine(line);
}

function onSocketClose(ws, e) {
  if (ws !== conn.ws) return;
  conn.ws = null;
  auth.pending = null;
  markView();
  if (!S.token) return;
  // 4401: the token expired on the socket. A refused handshake (HTTP 401 before the
  // upgrade, seen as 1006) may be a token the server no longer takes (a restarted dev
  // server signs with a new secret): fetch a fresh one before the next try.
  if (e.code === 4401 || !conn.gotConnected) conn.needFreshToken = true;
  if (e.code === 4401) conn.backoff = BACKOFF_MIN_MS;
  if (e.code === 4408) console.info("wsao: closed as a slow consumer; resuming");
  if (e.code === 1001) notice("The server is restarting; reconnecting…", "info");
  scheduleReconnect();
}

function scheduleReconnect() {
  if (!S.token || conn.reconnectTimer) return;
  const delay = conn.backoff;
  conn.backoff = Math.min(BACKOFF_MAX_MS, conn.backoff * 2);
  setStatus("reconnecting", delay >= 1000 ? `Reconnecting in ${Math.round(delay / 1000)} s` : STATUS_LABELS.reconnecting);
  conn.reconnectTimer = setTimeout(connect, delay);
}

function dropSocket() {
  const ws = conn.ws;
  conn.ws = null;
  if (ws) {
    ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close(1000, "client closing");
    } catch {
      /* already closed */
    }
  }
}

function tick() {
  if (!S.token) return;
  sendAck();
  checkGap();
  if (auth.refreshAt !== null && Date.now() >= auth.refreshAt) refreshToken();
  if (auth.pending && Date.now() - auth.pendingSince > AUTH_ANSWER_MS) reconnectWithToken();
  const ws = conn.ws;
  if (ws && ws.readyState === WebSocket.OPEN) {
    const quiet = Date.now() - conn.lastFrameAt;
    if (quiet > SILENCE_LIMIT_MS) {
      dropSocket();
      scheduleReconnect();
    } else if (quiet > PING_INTERVAL_MS && Date.now() - conn.lastPingAt > PING_INTERVAL_MS) {
      conn.lastPingAt = Date.now();
      sendFrame({ type: "ping", id: uuid() });
    }
  }
}

// ---------------------------------------------------------------- sign in / out
async function loadConfig() {
  try {
    const res = await fetch("/api/config", { headers: { Accept: "application/json" } });
    if (res.ok) Object.assign(S.config, await res.json());
  } catch (err) {
    console.warn("wsao: /api/config unavailable", err);
  }
  applyConfig();
}

function applyConfig() {
  const types = Array.isArray(S.config.agent_types) && S.config.agent_types.length ? S.config.agent_types : ["assistant"];
  const select = $("#agent");
  const previous = select.value;
  select.replaceChildren(...types.map((t) => el("option", { value: String(t), text: String(t) })));
  const wanted = agentTouched && types.includes(previous) ? previous : S.config.default_agent;
  if (types.includes(wanted)) select.value = wanted;
  updatePlaceholder();
  setSigninMode(S.config.dev_auth !== false);
  markView();
}

function setSigninMode(devAuth) {
  $("#name-field").hidden = !devAuth;
  $("#token-field").hidden = devAuth;
  $("#signin-hint").textContent = devAuth
    ? "Pick any name — this development server signs you in without a password."
    : "Development sign-in is off on this server. Paste a token (an HS256 JWT whose sub is your user id).";
}

function updatePlaceholder() {
  $("#message").placeholder = PLACEHOLDERS[$("#agent").value] || "Type a message…";
}

async function signIn(ev) {
  ev.preventDefault();
  showSigninError(null);
  const button = $("#signin");
  button.disabled = true;
  try {
    const dev = S.config.dev_auth !== false;
    const token = dev ? await devTokenForSignIn($("#name").value.trim()) : pastedToken();
    if (!token) return;
    const claims = jwtClaims(token);
    const name = dev ? $("#name").value.trim() : claims && claims.sub;
    if (!name) return showSigninError("That token has no sub claim.");
    saveSession(String(name), token);
    start(token, String(name));
  } catch (err) {
    showSigninError(String(err && err.message ? err.message : err));
  } finally {
    button.disabled = false;
  }
}

function pastedToken() {
  const token = $("#token").value.trim();
  if (!token) showSigninError("Paste a token first.");
  else if (!jwtClaims(token)) showSigninError("That does not look like a JWT.");
  else if (tokenExpired(token)) showSigninError("That token has expired.");
  else return token;
  return null;
}

async function devTokenForSignIn(name) {
  if (!name) {
    showSigninError("Enter a name.");
    return null;
  }
  const got = await fetchDevToken(name);
  if (got.disabled) {
    S.config.dev_auth = false;
    setSigninMode(false);
    showSigninError("Development sign-in is disabled on this server; paste a token instead.");
    return null;
  }
  return got.token;
}

function showSigninError(text) {
  const node = $("#signin-error");
  node.hidden = !text;
  node.textContent = text || "";
}

function start(token, name) {
  S.user = name;
  restore(name);
  S.follow = !S.thread;
  adoptToken(token);
  $("#signin-view").hidden = true;
  $("#app-view").hidden = false;
  $("#account").hidden = false;
  $("#whoami").textContent = name;
  $("#avatar").textContent = name.slice(0, 1).toUpperCase();
  for (const run of S.runs.values()) markDirty(run);
  markView(true);
  flushRender();
  connect();
  focusComposer();
}

/** Leave this tab's session; `fromOtherTab`: another tab already cleared the shared one. */
function signOut(message, fromOtherTab = false) {
  const user = S.user;
  clearTimeout(conn.reconnectTimer);
  conn.reconnectTimer = null;
  dropSocket();
  clearTimeout(saveTimer);
  saveTimer = null;
  if (!fromOtherTab) clearSession();
  if (user && !fromOtherTab) cacheStore.remove(cacheKey(user));
  clearAllRuns();
  Object.assign(S, { user: null, token: null, epoch: null, thread: null, newThreadFor: null, outbox: [], follow: false });
  Object.assign(auth, { refreshAt: null, pending: null, warned: false });
  conn.needFreshToken = false;
  S.drafts.clear();
  $("#notices").replaceChildren();
  $("#app-view").hidden = true;
  $("#signin-view").hidden = false;
  $("#account").hidden = true;
  closeDrawer();
  setStatus("offline", "Signed out");
  renderThreads();
  showSigninError(typeof message === "string" ? message : null);
  $(S.config.dev_auth === false ? "#token" : "#name").focus();
}

/** Another tab signed in, refreshed the token or signed out. */
function onSharedSession(session) {
  if (!session) {
    if (S.user) signOut("You signed out in another tab.", true);
    return;
  }
  if (S.user && session.name !== S.user) signOut(null, true);
  if (!S.user) {
    start(session.token, session.name);
    return;
  }
  const theirs = tokenExpiry(session.token) || 0;
  if (session.token !== S.token && theirs > (tokenExpiry(S.token) || 0)) adoptToken(session.token);
}

// ---------------------------------------------------------------- boot
function autoGrow() {
  const box = $("#message");
  box.style.height = "auto";
  box.style.height = `${Math.min(box.scrollHeight + 2, 200)}px`;
  $("#composer").classList.toggle("empty", !box.value.trim());
}

function wire() {
  $("#signin-form").addEventListener("submit", signIn);
  $("#signout").addEventListener("click", () => signOut());
  $("#composer").addEventListener("submit", submitMessage);
  $("#new-thread").addEventListener("click", newThread);
  $("#new-chat-top").addEventListener("click", newThread);
  $("#threads-toggle").addEventListener("click", () =>
    document.body.classList.contains("drawer-open") ? closeDrawer() : openDrawer(),
  );
  $("#drawer-backdrop").addEventListener("click", closeDrawer);
  $("#agent").addEventListener("change", () => {
    agentTouched = true;
    updatePlaceholder();
    markView();
  });
  const box = $("#message");
  box.addEventListener("input", autoGrow);
  box.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $("#composer").requestSubmit();
    }
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") closeDrawer();
  });
  window.addEventListener("online", () => {
    if (S.token && !conn.ws) connect();
  });
  window.addEventListener("offline", () => {
    if (!conn.ws) setStatus("offline");
  });
  window.addEventListener("pagehide", persistNow);
  watchSession(onSharedSession);
  setInterval(tick, TICK_MS);
}

function boot() {
  wire();
  applyConfig();
  autoGrow();
  const configured = loadConfig();
  const session = loadSession();
  if (session) start(session.token, session.name);
  else setStatus("offline", "Signed out");
  return configured;
}

boot();
