// wsao_trio chat page: a client of PROTOCOL.md (contract v1).
//
// Shape: one state object (S) fed by the socket; every agent event is
// deduplicated by its per-user `seq`, stored with its run, and the run's card
// is re-derived from the run's events (so rendering is idempotent: replaying
// the same events after a reconnect or a reload draws the same card).
"use strict";

(() => {
  // ---------------------------------------------------------------- constants
  const MAX_STORED_EVENTS = 500; // per user, in sessionStorage
  const MAX_MEMORY_EVENTS = 10000; // in this tab; oldest finished runs go first
  const ACK_EVERY = 20;
  const ACK_INTERVAL_MS = 500;
  const BACKOFF_MIN_MS = 250;
  const BACKOFF_MAX_MS = 5000;
  const PING_INTERVAL_MS = 20000;
  const SILENCE_LIMIT_MS = 50000; // no frame at all for this long: drop and reconnect
  const GAP_RESUME_MS = 1500; // a hole in seq for this long: ask for it again
  const GAP_SKIP_MS = 5000; // still there: accept the hole and move on
  const EPOCH_GAP_WAIT_MS = 800;
  const TERMINAL = Object.freeze({
    agent_completed: "completed",
    agent_error: "failed",
    agent_cancelled: "cancelled",
  });
  const KEY_TOKEN = "wsao:token";
  const KEY_NAME = "wsao:name";
  const cacheKey = (user) => "wsao:v1:events:" + user;
  const PLACEHOLDERS = Object.freeze({
    assistant: "Ask something, e.g. what is 12*(3+4)?",
    scripted: "thoughts=2 tools=2 delay_ms=300 deltas=5",
  });

  // ---------------------------------------------------------------- helpers
  const $ = (sel, root = document) => root.querySelector(sel);

  function el(tag, props = {}, ...kids) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const kid of kids.flat()) {
      if (kid !== null && kid !== undefined && kid !== false) node.append(kid);
    }
    return node;
  }

  function uuid() {
    if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
    // randomUUID needs a secure context; plain http on a LAN address lacks it.
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function jwtClaims(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const json = decodeURIComponent(
        [...atob(part + "===".slice((part.length + 3) % 4))]
          .map((c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0"))
          .join(""),
      );
      return JSON.parse(json);
    } catch {
      return null;
    }
  }

  function tokenExpired(token) {
    const claims = jwtClaims(token);
    return !!(claims && typeof claims.exp === "number" && claims.exp * 1000 < Date.now());
  }

  function fmtJson(value) {
    if (typeof value === "string") return value;
    try {
      const compact = JSON.stringify(value);
      if (compact === undefined || compact.length <= 80) return String(compact);
      return JSON.stringify(value, null, 2);
    } catch {
      return String(value);
    }
  }

  function fmtCompactJson(value) {
    try {
      return JSON.stringify(value);
    } catch {
      return String(value);
    }
  }

  function fmtTime(ts) {
    if (typeof ts !== "number") return "";
    return new Date(ts * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function fmtMs(ms) {
    if (typeof ms !== "number" || !isFinite(ms)) return "";
    if (ms < 1000) return `${Math.round(ms)} ms`;
    return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
  }

  const shortId = (id) => (id ? String(id).slice(0, 8) : "");

  // ---------------------------------------------------------------- state
  const S = {
    config: { dev_auth: true, agent_types: ["assistant", "scripted"], default_agent: "assistant" },
    user: null,
    token: null,
    epoch: null,
    contig: 0, // highest seq such that every event up to it was seen (or declared lost)
    pendingSeqs: new Set(), // seen seqs above contig (a hole is below them)
    runs: new Map(), // run_id -> run
    thread: null, // current thread_id
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
    backoff: BACKOFF_MIN_MS,
    reconnectTimer: null,
    lastFrameAt: 0,
    epochGapTimer: null,
    expectEpochGap: false,
  };

  // ---------------------------------------------------------------- status, toasts, notices
  function setStatus(state, label) {
    const node = $("#status");
    if (!navigator.onLine && state !== "connected") state = "offline";
    node.dataset.state = state;
    $(".label", node).textContent = label || state;
    node.title = label || state;
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
        sessionStorage.setItem(cacheKey(S.user), JSON.stringify(data));
        return;
      } catch {
        // quota: retry with fewer events
      }
    }
  }

  function restore(user) {
    let data = null;
    try {
      data = JSON.parse(sessionStorage.getItem(cacheKey(user)) || "null");
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
      const lowest = Math.min(...S.pendingSeqs);
      notice(`Events ${S.contig + 1}–${lowest - 1} never arrived; continuing without them.`, "warn");
      S.contig = lowest - 1;
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
    if (ev.seq < run.firstSeq) {
      run.firstSeq = ev.seq;
      threadsDirty = true;
    }
    if (ev.type === "agent_started" && ev.payload && ev.payload.message_id) run.messageId = ev.payload.message_id;
    markDirty(run);
  }

  function deriveRun(run) {
    const draft = run.messageId ? S.drafts.get(run.messageId) : null;
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
        v.message = typeof p.message === "string" ? p.message : fmtCompactJson(p.message);
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
        v.state = TERMINAL[ev.type];
        v.completed = true;
        v.result = p.result;
        v.duration = p.duration_ms;
        break;
      case "agent_error":
        v.state = TERMINAL[ev.type];
        v.error = { code: String(p.code ?? "error"), message: String(p.message ?? "") };
        v.duration = p.duration_ms;
        break;
      case "agent_cancelled":
        v.state = TERMINAL[ev.type];
        v.cancel = String(p.reason ?? "cancelled");
        v.duration = p.duration_ms;
        break;
      default:
        v.items.push({ kind: "other", type: String(ev.type), payload: p, ts: ev.timestamp });
    }
  }

  function trimMemory() {
    let total = 0;
    for (const run of S.runs.values()) total += run.events.length;
    if (total <= MAX_MEMORY_EVENTS) return;
    const finished = [...S.runs.values()]
      .filter((r) => r.events.some((e) => e.type in TERMINAL))
      .sort((a, b) => a.firstSeq - b.firstSeq);
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
  let renderTimer = null;
  let agentTouched = false; // keep the user's agent choice when /api/config arrives late

  function markDirty(run) {
    dirty.add(run);
    if (!renderTimer) renderTimer = setTimeout(flushRender, 16);
  }

  function flushRender() {
    clearTimeout(renderTimer);
    renderTimer = null;
    trimMemory();
    const feed = $("#feed");
    const stick = feed.scrollHeight - feed.scrollTop - feed.clientHeight < 120;
    for (const run of dirty) renderRun(run);
    dirty.clear();
    if (threadsDirty) renderThreads();
    $("#feed-empty").hidden = S.runs.size > 0;
    if (stick) feed.scrollTop = feed.scrollHeight;
  }

  function buildCard(run) {
    const stop = el("button", { class: "stop btn small danger", type: "button", text: "Stop" });
    stop.addEventListener("click", () => stopRun(run.id));
    const card = el(
      "article",
      { class: "run", "data-run-id": run.id, "data-state": "running" },
      el(
        "header",
        { class: "run-head" },
        el("span", { class: "badge" }),
        el("span", { class: "run-agent" }),
        el("span", { class: "run-thread" }),
        el("span", { class: "spacer" }),
        el("time", { class: "run-time" }),
        stop,
      ),
      el("div", { class: "user-msg" }),
      el("ol", { class: "timeline" }),
      el("div", { class: "outcome" }),
      el("div", { class: "run-notes" }),
    );
    run.stopButton = stop;
    return card;
  }

  function placeCard(run) {
    if (run.placedSeq === run.firstSeq && run.card.isConnected) return;
    run.placedSeq = run.firstSeq;
    run.card.dataset.firstSeq = String(run.firstSeq);
    const feed = $("#feed");
    let before = null;
    for (const other of feed.querySelectorAll(".run")) {
      if (other === run.card) continue;
      const seq = Number(other.dataset.firstSeq);
      if (seq > run.firstSeq) {
        before = other;
        break;
      }
    }
    feed.insertBefore(run.card, before);
  }

  function renderRun(run) {
    if (!S.runs.has(run.id)) return;
    if (!run.card) run.card = buildCard(run);
    placeCard(run);
    const v = deriveRun(run);
    const card = run.card;
    card.dataset.state = v.state;
    card.dataset.threadId = run.thread || "";
    card.classList.toggle("current-thread", !!run.thread && run.thread === S.thread);
    $(".badge", card).textContent = v.state === "running" && !v.started ? "starting" : v.state;
    $(".run-agent", card).textContent = run.agent || "";
    $(".run-thread", card).textContent = run.thread ? `thread ${shortId(run.thread)}` : "";
    $(".run-thread", card).title = run.thread || "";
    $(".run-time", card).textContent = fmtTime(v.startedAt);
    $(".user-msg", card).textContent = v.message ?? "(the start of this run is no longer available)";
    $(".user-msg", card).classList.toggle("missing", v.message === null);
    $(".timeline", card).replaceChildren(...v.items.map(renderItem));
    $(".outcome", card).replaceChildren(...renderOutcome(v));
    renderStop(run, v);
    renderNotes(run, card, v);
  }

  function renderStop(run, v) {
    const stop = run.stopButton;
    if (v.state !== "running") {
      stop.remove();
      return;
    }
    if (!stop.isConnected) $(".run-head", run.card).append(stop);
    stop.disabled = run.stopping;
    stop.textContent = run.stopping ? "Stopping…" : "Stop";
  }

  function renderNotes(run, card, v) {
    const notes = [];
    if (run.lost && v.state === "running") {
      notes.push(el("div", { class: "run-note", text: "Some events of this run were lost in a replay gap; its outcome may be unknown." }));
    }
    if (run.duplicate) {
      notes.push(el("div", { class: "duplicate-note", text: "Duplicate send: the server reused this run (same message id)." }));
    }
    if (run.note) notes.push(el("div", { class: "run-note", text: run.note }));
    $(".run-notes", card).replaceChildren(...notes);
  }

  function renderItem(item) {
    if (item.kind === "thinking") {
      return el("li", { class: "thinking", text: item.text });
    }
    if (item.kind === "tool") return renderTool(item);
    return el("li", { class: "event-other", text: `${item.type} ${fmtCompactJson(item.payload)}` });
  }

  function renderTool(t) {
    const done = t.done;
    const ok = done ? done.ok !== false : null;
    const status = done ? (ok ? "ok" : "error") : "running";
    const head = el(
      "div",
      { class: "tool-head" },
      el("span", { class: "tool-name", text: String(t.name ?? "tool") }),
      el("span", { class: `tool-status ${status}`, text: done ? (ok ? "done" : "failed") : "running…" }),
      done ? el("span", { class: "tool-duration", text: fmtMs(done.duration_ms) }) : null,
    );
    const body = [head, el("code", { class: "tool-args", text: t.args === undefined ? "" : fmtCompactJson(t.args) })];
    if (done) {
      const text = ok ? fmtJson(done.result) : fmtJson(done.error ?? "error");
      body.push(el("pre", { class: ok ? "tool-result" : "tool-result tool-error", text }));
    }
    return el("li", { class: `tool ${status}`, "data-tool-name": String(t.name ?? ""), "data-tool-call-id": String(t.id ?? "") }, body);
  }

  function answerText(result) {
    if (result && typeof result === "object" && !Array.isArray(result) && "answer" in result) {
      return fmtJson(result.answer);
    }
    return fmtJson(result);
  }

  function renderOutcome(v) {
    const out = [];
    if (v.completed) {
      out.push(el("div", { class: "answer" }, answerText(v.result)));
    } else if (v.stream) {
      const cls = v.state === "running" ? "answer-stream live" : "answer-stream partial";
      out.push(el("div", { class: cls, text: v.stream }));
    }
    if (v.error) {
      out.push(
        el(
          "div",
          { class: "agent-error", role: "alert" },
          el("span", { class: "error-code", text: v.error.code }),
          el("span", { class: "error-message", text: v.error.message }),
        ),
      );
    }
    if (v.cancel !== null) {
      out.push(el("div", { class: "agent-cancelled" }, "Cancelled: ", el("span", { class: "cancel-reason", text: v.cancel })));
    }
    if (v.state !== "running" && typeof v.duration === "number") {
      out.push(el("div", { class: "run-duration", text: `took ${fmtMs(v.duration)}` }));
    }
    return out;
  }

  function threadSummaries() {
    const threads = new Map();
    const runs = [...S.runs.values()].sort((a, b) => a.firstSeq - b.firstSeq);
    for (const run of runs) {
      if (!run.thread) continue;
      let t = threads.get(run.thread);
      if (!t) {
        const first = deriveRun(run).message;
        t = { id: run.thread, title: first || "(earlier messages)", count: 0, lastSeq: 0 };
        threads.set(run.thread, t);
      }
      t.count += 1;
      t.lastSeq = Math.max(t.lastSeq, Number.isFinite(run.firstSeq) ? run.firstSeq : Number.MAX_SAFE_INTEGER);
    }
    return [...threads.values()].sort((a, b) => b.lastSeq - a.lastSeq);
  }

  function renderThreads() {
    threadsDirty = false;
    const items = threadSummaries().map((t) => {
      const btn = el(
        "button",
        { class: "thread-btn", type: "button", title: t.id },
        el("span", { class: "thread-title", text: t.title }),
        el("span", { class: "thread-count", text: `${t.count} run${t.count === 1 ? "" : "s"}` }),
      );
      btn.addEventListener("click", () => selectThread(t.id));
      return el("li", { class: t.id === S.thread ? "thread active" : "thread", "data-thread-id": t.id }, btn);
    });
    $("#thread-list").replaceChildren(...items);
    $("#thread-empty").hidden = items.length > 0;
    renderThreadIndicator();
  }

  function renderThreadIndicator() {
    const node = $("#thread-indicator");
    if (S.thread) {
      node.textContent = `Thread ${shortId(S.thread)}`;
      node.title = S.thread;
      node.classList.remove("new");
    } else {
      node.textContent = S.newThreadFor ? "New thread (starting…)" : "New thread";
      node.title = "The next message opens a new thread";
      node.classList.add("new");
    }
    for (const run of S.runs.values()) {
      if (run.card) run.card.classList.toggle("current-thread", !!run.thread && run.thread === S.thread);
    }
  }

  function selectThread(threadId) {
    S.thread = threadId;
    S.newThreadFor = null;
    renderThreads();
    persistSoon();
    const cards = [...document.querySelectorAll(".run")].filter((c) => c.dataset.threadId === threadId);
    if (cards.length) cards[cards.length - 1].scrollIntoView({ block: "nearest", behavior: "smooth" });
    $("#message").focus();
  }

  function newThread() {
    S.thread = null;
    S.newThreadFor = null;
    renderThreads();
    persistSoon();
    $("#message").focus();
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
    const item = { type: "user_message", message_id: uuid(), text, agent_type: $("#agent").value || undefined };
    if (S.thread) item.thread_id = S.thread;
    else if (S.newThreadFor) item.awaitThreadOf = S.newThreadFor;
    else S.newThreadFor = item.message_id;
    S.drafts.set(item.message_id, { text, agent_type: item.agent_type });
    S.outbox.push(item);
    box.value = "";
    renderThreadIndicator();
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
      toast("Not connected: cannot stop the run right now.", "warn");
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
    pong: () => {},
  };

  function onConnected(f) {
    conn.backoff = BACKOFF_MIN_MS;
    S.acked = 0;
    S.sinceAck = 0;
    setStatus("connected");
    if (S.epoch && typeof f.epoch === "string" && f.epoch !== S.epoch) {
      epochReset("The server's event log was reset (new epoch); rebuilding from what it holds.");
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
    persistSoon();
  }

  function epochReset(text) {
    clearAllRuns();
    S.thread = null;
    S.newThreadFor = null;
    notice(text, "warn");
    renderThreads();
    flushRender();
    persistSoon();
  }

  function onReplayGap(f) {
    const oldest = Number.isInteger(f.oldest_available) ? f.oldest_available : 1;
    if (f.reason === "epoch") {
      if (!conn.expectEpochGap) epochReset("The server's event log was reset (new epoch); rebuilding from what it holds.");
      conn.expectEpochGap = false;
      clearTimeout(conn.epochGapTimer);
      S.contig = Math.max(0, oldest - 1);
    } else {
      const from = (Number.isInteger(f.requested_after) ? f.requested_after : S.contig) + 1;
      notice(`Events ${from}–${oldest - 1} are no longer held by the server; showing what remains.`, "warn");
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
    if (S.newThreadFor && S.newThreadFor === f.message_id) {
      S.newThreadFor = null;
      if (typeof f.thread_id === "string") S.thread = f.thread_id;
    }
    for (const item of S.outbox) {
      if (item.awaitThreadOf === f.message_id) item.thread_id = f.thread_id;
    }
    const run = getRun(f.run_id);
    run.messageId = run.messageId || f.message_id;
    if (!run.thread && typeof f.thread_id === "string") run.thread = f.thread_id;
    if (!run.agent) run.agent = (S.drafts.get(f.message_id) || {}).agent_type || null;
    if (f.duplicate === true) run.duplicate = true;
    threadsDirty = true;
    markDirty(run);
    flushOutbox();
    persistSoon();
  }

  function onError(f) {
    const code = String(f.code ?? "error");
    const text = `${code}: ${f.message ?? ""}`;
    const idx = f.ref ? S.outbox.findIndex((i) => i.message_id === f.ref) : -1;
    if (idx >= 0) {
      const [item] = S.outbox.splice(idx, 1);
      if (S.newThreadFor === item.message_id) S.newThreadFor = null;
      S.outbox = S.outbox.filter((i) => i.awaitThreadOf !== item.message_id || i.thread_id);
      toast(`Message not sent — ${text}`);
      renderThreadIndicator();
      flushOutbox();
      return;
    }
    const run = f.ref ? S.runs.get(f.ref) : null;
    if (run) {
      run.stopping = false;
      run.note = text;
      markDirty(run);
    }
    toast(text, code === "rate_limited" ? "warn" : "error");
  }

  // ---------------------------------------------------------------- connection
  function wsUrl() {
    const params = new URLSearchParams({ token: S.token, last_seq: String(S.contig) });
    if (S.epoch) params.set("epoch", S.epoch);
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}/ws?${params}`;
  }

  function connect() {
    clearTimeout(conn.reconnectTimer);
    conn.reconnectTimer = null;
    if (!S.token) return;
    if (tokenExpired(S.token)) {
      signOut("Your token has expired. Please sign in again.");
      return;
    }
    setStatus("reconnecting", conn.id === 0 ? "connecting" : "reconnecting");
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
    if (e.code === 4401) {
      signOut("The server rejected your token (4401). Please sign in again.");
      return;
    }
    if (!S.token) return;
    if (e.code === 4408) console.info("wsao: closed as a slow consumer; resuming");
    if (e.code === 1001) notice("The server is restarting; reconnecting…", "info");
    scheduleReconnect();
  }

  function scheduleReconnect() {
    if (!S.token || conn.reconnectTimer) return;
    const delay = conn.backoff;
    conn.backoff = Math.min(BACKOFF_MAX_MS, conn.backoff * 2);
    setStatus("reconnecting", `reconnecting in ${(delay / 1000).toFixed(delay < 1000 ? 2 : 0)} s`);
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
    const ws = conn.ws;
    if (ws && ws.readyState === WebSocket.OPEN) {
      const quiet = Date.now() - conn.lastFrameAt;
      if (quiet > SILENCE_LIMIT_MS) {
        dropSocket();
        scheduleReconnect();
      } else if (quiet > PING_INTERVAL_MS && Date.now() - (conn.lastPingAt || 0) > PING_INTERVAL_MS) {
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
  }

  function setSigninMode(devAuth) {
    $("#name-field").hidden = !devAuth;
    $("#token-field").hidden = devAuth;
    $("#signin-hint").textContent = devAuth
      ? "Pick a name. The development server issues you a token."
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
      const token = S.config.dev_auth === false ? pastedToken() : await devToken($("#name").value.trim());
      if (!token) return;
      const claims = jwtClaims(token);
      const name = S.config.dev_auth === false ? claims && claims.sub : $("#name").value.trim();
      if (!name) return showSigninError("That token has no sub claim.");
      sessionStorage.setItem(KEY_TOKEN, token);
      sessionStorage.setItem(KEY_NAME, String(name));
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

  async function devToken(name) {
    if (!name) {
      showSigninError("Enter a name.");
      return null;
    }
    const res = await fetch("/api/dev/token", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ user_id: name }),
    });
    if (res.status === 404) {
      S.config.dev_auth = false;
      setSigninMode(false);
      showSigninError("Development sign-in is disabled on this server; paste a token instead.");
      return null;
    }
    if (!res.ok) throw new Error(`Sign-in failed (HTTP ${res.status}).`);
    const body = await res.json();
    if (!body || typeof body.token !== "string") throw new Error("Sign-in failed: no token in the answer.");
    return body.token;
  }

  function showSigninError(text) {
    const node = $("#signin-error");
    node.hidden = !text;
    node.textContent = text || "";
  }

  function start(token, name) {
    S.token = token;
    S.user = name;
    restore(name);
    $("#signin-view").hidden = true;
    $("#app-view").hidden = false;
    $("#whoami").hidden = false;
    $("#whoami").textContent = name;
    $("#signout").hidden = false;
    for (const run of S.runs.values()) markDirty(run);
    threadsDirty = true;
    flushRender();
    connect();
    $("#message").focus();
  }

  function signOut(message) {
    const user = S.user;
    clearTimeout(conn.reconnectTimer);
    conn.reconnectTimer = null;
    dropSocket();
    clearTimeout(saveTimer);
    saveTimer = null;
    sessionStorage.removeItem(KEY_TOKEN);
    sessionStorage.removeItem(KEY_NAME);
    if (user) sessionStorage.removeItem(cacheKey(user));
    clearAllRuns();
    Object.assign(S, { user: null, token: null, epoch: null, thread: null, newThreadFor: null, outbox: [] });
    S.drafts.clear();
    $("#notices").replaceChildren();
    $("#app-view").hidden = true;
    $("#signin-view").hidden = false;
    $("#whoami").hidden = true;
    $("#signout").hidden = true;
    setStatus("offline");
    renderThreads();
    showSigninError(typeof message === "string" ? message : null);
    $(S.config.dev_auth === false ? "#token" : "#name").focus();
  }

  // ---------------------------------------------------------------- boot
  function wire() {
    $("#signin-form").addEventListener("submit", signIn);
    $("#signout").addEventListener("click", () => signOut());
    $("#composer").addEventListener("submit", submitMessage);
    $("#new-thread").addEventListener("click", newThread);
    $("#agent").addEventListener("change", () => {
      agentTouched = true;
      updatePlaceholder();
    });
    $("#message").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        $("#composer").requestSubmit();
      }
    });
    window.addEventListener("online", () => {
      if (S.token && !conn.ws) connect();
    });
    window.addEventListener("offline", () => {
      if (!conn.ws) setStatus("offline");
    });
    window.addEventListener("pagehide", persistNow);
    setInterval(tick, ACK_INTERVAL_MS);
  }

  function boot() {
    wire();
    applyConfig();
    const configured = loadConfig();
    const token = sessionStorage.getItem(KEY_TOKEN);
    const name = sessionStorage.getItem(KEY_NAME);
    if (token && name) start(token, name);
    else setStatus("offline");
    return configured;
  }

  boot();
})();
