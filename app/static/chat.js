// wsao_trio chat page: the UI over @wsao/client (clients/js, vendored in /static/vendor).
//
// The SDK owns the socket and the whole delivery contract: reconnect with backoff, resume
// with last seq and epoch, dedup, acks, re-sending an unanswered message with its id,
// token renewal, replay gaps, and folding events into runs (`client.state.runs`). This
// file draws that state: one thread at a time, sign-in, threads, starters, pending
// messages, Stop, notices. What events mean for a turn lives in chat-model.js, wording
// in chat-text.js, drawing in chat-render.js, the shared sign-in session in chat-auth.js.
import { WsaoClient } from "/static/vendor/wsao-client/index.js";
import { STATUS_LABELS, STARTERS, PLACEHOLDERS, errorFrameText, fmtAgo } from "/static/chat-text.js";
import { el, buildTurn, updateTurn, answerOf } from "/static/chat-render.js";
import { deriveRun, threadSummaries } from "/static/chat-model.js";
import {
  jwtClaims, tokenExpired, tokenExpiry, fetchDevToken,
  loadSession, saveSession, clearSession, watchSession, cacheStore,
} from "/static/chat-auth.js";

// ---------------------------------------------------------------- constants
const BACKOFF = { initialMs: 250, maxMs: 5000 };
// A fresh page asks for the user's whole history: a resume from seq 0 naming no epoch
// the server has (it answers with `replay_gap` "epoch" and every event it holds).
const NO_EPOCH = "none";
const cacheKey = (user) => "wsao:v2:view:" + user;
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
  token: null, // this tab's newest token (sign-in, or the last one handed to the client)
  client: null, // the WsaoClient of the signed-in user
  offs: [], // its listeners, removed on sign-out
  status: null, // the client's last connection status
  lastClose: null,
  epoch: null, // the server epoch this page has shown runs of
  expectEpochGap: false, // the next `replay_gap` "epoch" is the one we asked for (or follows a notice)
  runs: new Map(), // run_id -> the page's card data; `events` are the SDK's run view's
  views: null, // client.state.runs last drawn
  retired: new Set(), // run ids of an earlier epoch: no longer shown
  thread: null, // the thread on screen (null: a new chat)
  follow: false, // on a fresh new chat: show the thread of the newest run (from any tab)
  newThread: null, // {messageId, promise}: the message whose run names the new thread
  pending: [], // messages sent and not yet accepted: {messageId, text, agentType, threadId}
  drafts: new Map(), // message_id -> {text, agent_type}
};

// The browser test reads the count of `auth_ok` answers (token renewals on the open socket).
window.__wsaoAuth = {
  get okCount() {
    return S.client ? S.client.stats.renewals : 0;
  },
};

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

// ---------------------------------------------------------------- persistence (view only)
let saveTimer = null;

function persistSoon() {
  if (saveTimer || !S.user) return;
  saveTimer = setTimeout(persistNow, 300);
}

function persistNow() {
  clearTimeout(saveTimer);
  saveTimer = null;
  if (!S.user) return;
  try {
    cacheStore.set(cacheKey(S.user), JSON.stringify({ epoch: S.epoch, thread: S.thread }));
  } catch {
    // quota: the view is only a convenience
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
  S.thread = typeof data.thread === "string" ? data.thread : null;
}

// ---------------------------------------------------------------- runs (the SDK's, drawn)
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
      view: null,
      ui: { stepsOpen: false, toolsOpen: new Set(), debugOpen: false, eventsOpen: new Set() },
    };
    S.runs.set(runId, run);
    threadsDirty = true;
  }
  return run;
}

/** Take the client's run views that changed since the last draw. */
function syncRuns(views) {
  if (views === S.views) return;
  S.views = views;
  for (const [id, view] of Object.entries(views)) {
    if (S.retired.has(id)) continue;
    const run = getRun(id);
    if (run.view === view) continue;
    run.view = view;
    run.events = view.events;
    run.firstSeq = view.events.length ? view.events[0].seq : Infinity;
    if (view.threadId && run.thread !== view.threadId) {
      run.thread = view.threadId;
      threadsDirty = true;
    }
    run.agent = view.agentType || run.agent;
    run.messageId = view.messageId || run.messageId;
    if (view.status !== "running" && view.status !== "accepted") threadsDirty = true;
    markDirty(run);
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
  S.retired.clear();
  S.views = null;
}

// ---------------------------------------------------------------- rendering
const dirty = new Set();
let threadsDirty = false;
let viewDirty = false; // the thread on screen, the pending messages or the connection changed
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
  return S.pending.filter((item) => (S.thread ? item.threadId === S.thread : !item.threadId));
}

function pendingBubble(item) {
  const waiting = S.client && S.client.state.status === "open" ? "Sending…" : "Waiting for the connection…";
  return el(
    "article",
    { class: "turn pending", "data-message-id": item.messageId },
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
    node.textContent = S.newThread ? "Starting a new conversation…" : "New conversation";
    node.title = "The next message opens a new thread";
  }
}

function selectThread(threadId) {
  S.thread = threadId;
  S.newThread = null;
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
  if (!S.client) return;
  const item = { messageId: uuid(), text, agentType: agentType || undefined, threadId: S.thread };
  const after = !S.thread && S.newThread ? S.newThread.promise : null; // behind the new thread's first message
  S.follow = false;
  S.drafts.set(item.messageId, { text, agent_type: item.agentType });
  S.pending.push(item);
  const promise = dispatch(item, after);
  if (!S.thread && !after) S.newThread = { messageId: item.messageId, promise };
  markView(true);
}

/** Hands the message to the client (which re-sends it after drops, by its id); resolves with its thread. */
async function dispatch(item, after) {
  const client = S.client;
  if (after) item.threadId = (await after) || null;
  if (client !== S.client) return null;
  const options = { messageId: item.messageId };
  if (item.agentType) options.agentType = item.agentType;
  if (item.threadId) options.threadId = item.threadId;
  try {
    const accepted = await client.send(item.text, options);
    if (client === S.client) onAccepted(item, accepted);
    return accepted.threadId;
  } catch (err) {
    if (client === S.client) onRefused(item, err);
    return null;
  }
}

function onAccepted(item, { runId, threadId, duplicate }) {
  S.pending = S.pending.filter((i) => i !== item);
  const shownBefore = S.thread;
  if (S.newThread && S.newThread.messageId === item.messageId) {
    S.newThread = null;
    if (!S.thread && threadId) S.thread = threadId;
  }
  if (S.retired.has(runId)) return;
  const run = getRun(runId);
  run.messageId = run.messageId || item.messageId;
  if (!run.thread && threadId) run.thread = threadId;
  if (!run.agent) run.agent = item.agentType || null;
  if (duplicate) run.duplicate = true;
  markDirty(run);
  markView(S.thread !== shownBefore);
  persistSoon();
}

function onRefused(item, err) {
  const code = String((err && err.code) || "error");
  if (code === "closed") return;
  S.pending = S.pending.filter((i) => i !== item);
  if (S.newThread && S.newThread.messageId === item.messageId) S.newThread = null;
  const text = errorFrameText(code, err && typeof err.message === "string" ? err.message : "");
  const box = $("#message");
  if (!box.value.trim()) {
    box.value = item.text; // nothing typed since: give the text back to edit or resend
    autoGrow();
  }
  toast(`Your message was not sent. ${text}`, code === "rate_limited" || code === "overloaded" ? "warn" : "error");
  markView();
}

function stopRun(runId) {
  const run = S.runs.get(runId);
  if (!run || !S.client) return;
  run.stopping = true; // the client sends `stop_agent` now, or once connected again
  markDirty(run);
  S.client.stop(runId).catch((err) => {
    if (!err || err.code === "closed") return;
    run.stopping = false;
    run.note = errorFrameText(String(err.code), String(err.message || ""));
    markDirty(run);
  });
}

// ---------------------------------------------------------------- the client's news
const EPOCH_TEXT = "The server restarted and kept no earlier messages; showing what it still has.";

function onClientState(state) {
  if (state.status !== S.status) {
    S.status = state.status;
    if (state.status === "open") setStatus("connected");
    else if (state.status === "closed") setStatus("offline", "Signed out");
    else setStatus("reconnecting", STATUS_LABELS[state.status]);
    markView(); // the pending messages' note
  }
  if (state.lastClose !== S.lastClose) {
    S.lastClose = state.lastClose;
    if (state.lastClose && state.lastClose.code === 1001) notice("The server is restarting; reconnecting…", "info");
  }
  if (state.epoch && state.epoch !== NO_EPOCH && state.epoch !== S.epoch) {
    if (S.epoch) {
      epochReset(state.runs); // a new log on the server: the runs shown are of the old one
      S.expectEpochGap = true;
    }
    S.epoch = state.epoch;
    persistSoon();
  }
  syncRuns(state.runs);
}

/** Runs of an earlier epoch (the client kept them with their cursor reset) leave the page. */
function epochReset(views) {
  for (const [id, view] of Object.entries(views)) {
    if (view.lastSeq !== 0 || !view.events.length) continue;
    S.retired.add(id);
    const run = S.runs.get(id);
    if (run) dropRun(run);
  }
  S.thread = null;
  S.newThread = null;
  S.follow = true;
  notice(EPOCH_TEXT, "warn");
  markView();
  persistSoon();
}

function onClientEvent(ev) {
  if (ev.type === "replay_gap") return onReplayGap(ev);
  if (S.follow && ev.type === "agent_started" && typeof ev.thread_id === "string" && ev.thread_id !== S.thread) {
    S.thread = ev.thread_id; // a run started in another tab while this one waits on a new chat
    markView(true);
    persistSoon();
  }
}

function onReplayGap(gap) {
  if (gap.reason === "epoch") {
    if (!S.expectEpochGap) epochReset(S.client.state.runs);
    S.expectEpochGap = false;
    return;
  }
  notice("Some older updates are no longer kept by the server; showing what remains.", "warn");
  // A run whose known events all predate the gap and which has not ended may have ended unseen.
  const oldest = Number.isInteger(gap.oldest_available) ? gap.oldest_available : 1;
  for (const run of S.runs.values()) {
    const last = run.events[run.events.length - 1];
    if (!last || last.seq >= oldest || (run.view && run.view.status !== "running")) continue;
    run.lost = true;
    markDirty(run);
  }
}

function onClientError(err) {
  const code = String(err.code || "error");
  if (code === "unauthorized" || code === "connect_failed") {
    console.warn("wsao:", err.message); // the client reconnects with a fresh token
    return;
  }
  const run = err.ref ? S.runs.get(err.ref) : null;
  const text = errorFrameText(code, typeof err.message === "string" ? err.message : "");
  if (run) {
    run.stopping = false;
    run.note = text;
    markDirty(run);
    return;
  }
  toast(text, code === "rate_limited" || code === "overloaded" ? "warn" : "error");
}

// ---------------------------------------------------------------- tokens
/** The client's token source: the sign-in token first, then a fresh one each time it asks. */
function tokenSource(user) {
  let first = true;
  return async () => {
    if (S.user !== user) throw new Error("signed out");
    if (first && S.token && !tokenExpired(S.token)) {
      first = false;
      return S.token;
    }
    first = false;
    if (S.config.dev_auth !== false) {
      const got = await fetchDevToken(user);
      if (S.user !== user) throw new Error("signed out");
      if (!got.disabled) {
        S.token = got.token;
        saveSession(user, got.token);
        return got.token;
      }
      S.config.dev_auth = false;
    }
    if (tokenExpired(S.token)) {
      setTimeout(() => signOut("Your session has expired. Please sign in again."), 0);
      throw new Error("the token has expired");
    }
    warnExpiry(); // a pasted token cannot be renewed here
    if (S.client && S.client.state.status === "open") throw new Error("no fresh token to renew with");
    return S.token; // a reconnect: the same token while it lasts
  };
}

let expiryWarned = false;

function warnExpiry() {
  if (expiryWarned) return;
  expiryWarned = true;
  const exp = tokenExpiry(S.token);
  const mins = exp ? Math.max(1, Math.round((exp * 1000 - Date.now()) / 60000)) : null;
  notice(`Your sign-in expires${mins ? ` in about ${mins} min` : " soon"}. Sign out and in again with a new token to keep chatting.`, "warn");
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
  S.token = token;
  restore(name);
  S.follow = !S.thread;
  S.expectEpochGap = !S.epoch;
  expiryWarned = false;
  const client = new WsaoClient({
    url: "/ws",
    token: tokenSource(name),
    backoff: BACKOFF,
    resume: { epoch: S.epoch || NO_EPOCH, lastSeq: 0 }, // replays what the server holds
  });
  S.client = client;
  S.offs = [client.subscribe(onClientState), client.onEvent(onClientEvent), client.onError(onClientError)];
  $("#signin-view").hidden = true;
  $("#app-view").hidden = false;
  $("#account").hidden = false;
  $("#whoami").textContent = name;
  $("#avatar").textContent = name.slice(0, 1).toUpperCase();
  markView(true);
  flushRender();
  client.connect().catch(() => undefined);
  focusComposer();
}

/** Leave this tab's session; `fromOtherTab`: another tab already cleared the shared one. */
function signOut(message, fromOtherTab = false) {
  const user = S.user;
  const client = S.client;
  S.client = null;
  for (const off of S.offs.splice(0)) off();
  if (client) client.close();
  clearTimeout(saveTimer);
  saveTimer = null;
  if (!fromOtherTab) clearSession();
  if (user && !fromOtherTab) cacheStore.remove(cacheKey(user));
  clearAllRuns();
  Object.assign(S, { user: null, token: null, epoch: null, thread: null, newThread: null, pending: [], follow: false });
  Object.assign(S, { status: null, lastClose: null, expectEpochGap: false });
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
  if (session.token !== S.token && theirs > (tokenExpiry(S.token) || 0)) S.token = session.token; // for a reload
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
  // Reconnecting when the network is back is the client's; the indicator is the page's.
  window.addEventListener("offline", () => {
    if (S.status !== "open") setStatus("offline");
  });
  window.addEventListener("pagehide", persistNow);
  watchSession(onSharedSession);
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
