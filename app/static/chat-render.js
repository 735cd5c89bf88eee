// wsao_trio chat page: drawing one run as a chat turn.
//
// A turn is the user's bubble (right), then the agent's side: one folded line for the
// run's steps ("Used calculator ▸", a spinner while it runs), the answer as Markdown
// (marked + DOMPurify, vendored), a structured view of non-text results, a sentence
// for errors and stops, and a footer with Stop, Copy and Details (run id, seqs, raw
// events) for developers. Rendering is idempotent: the same run view draws the same
// turn, and what the reader opened (steps, tools, details) stays open.
import { agentErrorText, cancelText, cleanErrorMessage, fmtMs, fmtTime, stepsSummary } from "/static/chat-text.js";

const MAX_LIST_ITEMS = 20;
const MAX_DEPTH = 3;

/** document.createElement with props ("class", "text", "on…", attributes) and children. */
export function el(tag, props = {}, ...kids) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid !== null && kid !== undefined && kid !== false) node.append(kid);
  }
  return node;
}

/** JSON.stringify that never throws. */
export function compactJson(value) {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text;
  } catch {
    return String(value);
  }
}

// ---------------------------------------------------------------- markdown
let purifyReady = false;

function sanitizer() {
  const purify = window.DOMPurify;
  if (!purify || !purify.isSupported) return null;
  if (!purifyReady) {
    purify.addHook("afterSanitizeAttributes", (node) => {
      if (node.tagName === "A" && node.hasAttribute("href")) {
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer");
      }
    });
    purifyReady = true;
  }
  return purify;
}

/** Markdown → sanitised HTML string, or null when the libraries are missing. */
export function markdownHtml(text) {
  const md = window.marked;
  const purify = sanitizer();
  if (!md || !purify) return null;
  const html = md.parse(String(text), { gfm: true, breaks: true, async: false });
  return purify.sanitize(html, {
    USE_PROFILE: { html: true },
    FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "iframe"],
  });
}

/** Fill `node` with `text` rendered as Markdown (plain text if the libraries are missing). */
export function setMarkdown(node, text) {
  if (node.dataset.source === text) return;
  node.dataset.source = text;
  const html = markdownHtml(text);
  node.classList.toggle("plain", html === null);
  if (html === null) node.textContent = text;
  else node.innerHTML = html;
  for (const table of node.querySelectorAll("table")) {
    const wrap = el("div", { class: "table-scroll" }); // wide tables scroll, the page does not
    table.before(wrap);
    wrap.append(table);
  }
}

// ---------------------------------------------------------------- structured values
function isPlainObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** A readable view of any JSON value: key/value lists for objects, lists for arrays. */
export function renderValue(value, depth = 0) {
  if (value === null || value === undefined) return el("span", { class: "v-null", text: "—" });
  if (typeof value === "string") return el("span", { class: "v-str", text: value });
  if (typeof value === "number" || typeof value === "boolean") return el("span", { class: "v-num", text: String(value) });
  if (depth >= MAX_DEPTH) return el("code", { class: "v-json", text: compactJson(value) });
  if (Array.isArray(value)) {
    if (!value.length) return el("span", { class: "v-null", text: "(empty list)" });
    const items = value.slice(0, MAX_LIST_ITEMS).map((item) => el("li", {}, renderValue(item, depth + 1)));
    if (value.length > MAX_LIST_ITEMS) items.push(el("li", { class: "v-null", text: `… ${value.length - MAX_LIST_ITEMS} more` }));
    return el("ol", { class: "v-list" }, items);
  }
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    if (!keys.length) return el("span", { class: "v-null", text: "(nothing)" });
    return el("dl", { class: "v-obj" }, keys.map((k) => [el("dt", { text: humanKey(k) }), el("dd", {}, renderValue(value[k], depth + 1))]));
  }
  return el("span", { text: String(value) });
}

/** "duration_ms" → "Duration ms", "utc_offset" → "Utc offset". */
export function humanKey(key) {
  const text = String(key).replace(/[_-]+/g, " ").trim();
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : String(key);
}

/** A one-line preview of tool arguments: the single value, or k=v pairs. */
function argsPreview(args) {
  if (args === undefined) return "";
  if (!isPlainObject(args)) return compactJson(args);
  const entries = Object.entries(args);
  if (entries.length === 1 && typeof entries[0][1] !== "object") return String(entries[0][1]);
  return entries.map(([k, v]) => `${k}=${typeof v === "string" ? v : compactJson(v)}`).join(" ");
}

// ---------------------------------------------------------------- the answer
/** What a run's answer area shows: Markdown text and/or a structured result. */
export function answerOf(v) {
  const out = { text: null, structured: undefined, live: false, partial: false };
  if (!v.completed) {
    if (v.stream) Object.assign(out, { text: v.stream, live: v.state === "running", partial: v.state !== "running" });
    return out;
  }
  let r = v.result;
  if (isPlainObject(r) && "answer" in r) r = r.answer;
  if (typeof r === "string") out.text = r;
  else if (typeof r === "number" || typeof r === "boolean") out.text = String(r);
  else {
    out.text = v.stream || null;
    if (r !== null && r !== undefined) out.structured = r;
  }
  return out;
}

// ---------------------------------------------------------------- one turn
/** The empty skeleton of a turn; `handlers` has onStop(run), onCopy(run), onToggle(run). */
export function buildTurn(run, handlers) {
  const steps = el("details", { class: "steps" }, el("summary", { class: "steps-line" }), el("ol", { class: "timeline" }));
  steps.addEventListener("toggle", () => {
    if (run.ui.stepsOpen === steps.open) return;
    run.ui.stepsOpen = steps.open;
    handlers.onToggle(run);
  });
  const stop = el("button", { class: "stop chip-btn danger", type: "button", onclick: () => handlers.onStop(run) }, "■ Stop");
  const copy = el("button", { class: "copy chip-btn", type: "button", onclick: () => handlers.onCopy(run) }, "Copy");
  const debugBtn = el("button", { class: "debug-toggle chip-btn", type: "button", "aria-expanded": "false" }, "Details");
  debugBtn.addEventListener("click", () => {
    run.ui.debugOpen = !run.ui.debugOpen;
    handlers.onToggle(run);
  });
  const foot = el("div", { class: "run-foot" }, el("span", { class: "run-meta" }), stop, copy, debugBtn);
  const body = el("div", { class: "bot-body" }, steps, el("div", { class: "answer md" }), el("div", { class: "result-card" }),
    el("div", { class: "outcome" }), el("div", { class: "run-notes" }), foot, el("div", { class: "debug", hidden: true }));
  return el(
    "article",
    { class: "run turn", "data-run-id": run.id, "data-state": "running" },
    el("div", { class: "user-row" }, el("div", { class: "user-msg bubble" })),
    el("div", { class: "bot-row" }, el("div", { class: "avatar", "aria-hidden": "true", text: "◆" }), body),
  );
}

/** Draw run view `v` into the run's turn; `ctx.defaultAgent` is not named in the footer. */
export function updateTurn(run, v, ctx = {}) {
  const card = run.card;
  card.dataset.state = v.state;
  card.dataset.threadId = run.thread || "";
  const msg = card.querySelector(".user-msg");
  msg.textContent = v.message ?? "(the start of this conversation is no longer available)";
  msg.classList.toggle("missing", v.message === null);
  updateSteps(run, v);
  updateAnswer(card, v);
  card.querySelector(".outcome").replaceChildren(...outcomeNodes(v));
  card.querySelector(".run-notes").replaceChildren(...noteNodes(run, v));
  updateFoot(run, v, ctx);
  updateDebug(run, v);
}

function updateSteps(run, v) {
  const steps = run.card.querySelector(".steps");
  const running = v.state === "running";
  steps.hidden = !running && !v.items.length;
  if (steps.hidden) return;
  const { label, detail } = stepsSummary(v);
  const failed = v.items.some((i) => i.kind === "tool" && i.done && i.done.ok === false);
  const icon = running ? el("span", { class: "spinner", "aria-hidden": "true" }) : el("span", { class: failed ? "steps-icon warn" : "steps-icon", "aria-hidden": "true", text: failed ? "!" : "✓" });
  steps.querySelector("summary").replaceChildren(
    icon,
    el("span", { class: "steps-label", text: label }),
    detail ? el("span", { class: "steps-detail", text: detail }) : null,
    el("span", { class: "chev", "aria-hidden": "true", text: "▸" }),
  );
  if (steps.open !== run.ui.stepsOpen) steps.open = run.ui.stepsOpen;
  const timeline = steps.querySelector(".timeline");
  timeline.replaceChildren(...(run.ui.stepsOpen ? v.items.map((item) => renderItem(run, item)) : []));
}

function renderItem(run, item) {
  if (item.kind === "thinking") return el("li", { class: "thinking", text: item.text });
  if (item.kind === "tool") return renderTool(run, item);
  return el("li", { class: "event-other" }, el("code", { text: `${item.type} ${compactJson(item.payload)}` }));
}

function renderTool(run, t) {
  const done = t.done;
  const ok = done ? done.ok !== false : null;
  const status = done ? (ok ? "ok" : "error") : "running";
  const icon = status === "running" ? el("span", { class: "spinner small" }) : el("span", { class: `tool-icon ${status}`, text: ok ? "✓" : "✕" });
  const key = String(t.id ?? t.name);
  const details = el(
    "details",
    { class: "tool-details", open: run.ui.toolsOpen.has(key) },
    el("summary", { class: "tool-head" }, icon, el("span", { class: "tool-name", text: String(t.name ?? "tool") }),
      el("span", { class: "tool-preview", text: argsPreview(t.args) }),
      el("span", { class: "tool-duration", text: done ? fmtMs(done.duration_ms) : "running…" })),
    el("div", { class: "tool-body" },
      el("div", { class: "tool-section" }, el("h4", { text: "Arguments" }), el("div", { class: "tool-args" }, renderValue(t.args))),
      done ? toolOutcome(done, ok) : null),
  );
  details.addEventListener("toggle", () => {
    if (details.open) run.ui.toolsOpen.add(key);
    else run.ui.toolsOpen.delete(key);
  });
  return el("li", { class: `tool ${status}`, "data-tool-name": String(t.name ?? ""), "data-tool-call-id": String(t.id ?? "") }, details);
}

function toolOutcome(done, ok) {
  if (ok) return el("div", { class: "tool-section" }, el("h4", { text: "Result" }), el("div", { class: "tool-result" }, renderValue(done.result)));
  const error = typeof done.error === "string" ? cleanErrorMessage(done.error) || "failed" : renderValue(done.error);
  return el("div", { class: "tool-section" }, el("h4", { text: "Error" }), el("div", { class: "tool-result tool-error" }, error));
}

function updateAnswer(card, v) {
  const a = answerOf(v);
  const node = card.querySelector(".answer");
  node.hidden = a.text === null;
  if (a.text !== null) setMarkdown(node, a.text);
  node.classList.toggle("streaming", a.live);
  node.classList.toggle("partial", a.partial);
  const box = card.querySelector(".result-card");
  box.hidden = a.structured === undefined;
  box.replaceChildren(...(a.structured === undefined ? [] : [el("div", { class: "result-title", text: "Result" }), renderValue(a.structured)]));
  if (v.completed && a.text === null && a.structured === undefined) {
    node.hidden = false;
    setMarkdown(node, "_Done — this run returned no answer._");
  }
}

function outcomeNodes(v) {
  const out = [];
  if (v.error) {
    const { title, detail } = agentErrorText(v.error.code, v.error.message);
    out.push(el("div", { class: "agent-error", role: "alert" }, el("strong", { text: title }), detail ? el("span", { class: "error-message", text: detail }) : null));
  }
  if (v.cancel !== null) {
    out.push(el("div", { class: "agent-cancelled" }, el("span", { class: "cancel-reason", text: cancelText(v.cancel) })));
  }
  return out;
}

function noteNodes(run, v) {
  const notes = [];
  if (run.lost && v.state === "running") notes.push("Part of this response was lost while reconnecting; how it ended may be unknown.");
  if (run.duplicate) notes.push("This message was already sent once; showing that response.");
  if (run.note) notes.push(run.note);
  return notes.map((text) => el("div", { class: "run-note", text }));
}

function updateFoot(run, v, ctx) {
  const card = run.card;
  const bits = [fmtTime(v.startedAt)];
  if (v.state !== "running" && typeof v.duration === "number") bits.push(fmtMs(v.duration));
  if (run.agent && run.agent !== ctx.defaultAgent) bits.push(run.agent);
  const meta = card.querySelector(".run-meta");
  meta.textContent = bits.filter(Boolean).join(" · ");
  meta.title = v.startedAt ? new Date(v.startedAt * 1000).toLocaleString() : "";
  const stop = card.querySelector(".stop");
  stop.hidden = v.state !== "running";
  stop.disabled = run.stopping;
  stop.textContent = run.stopping ? "Stopping…" : "■ Stop";
  card.querySelector(".copy").hidden = answerOf(v).text === null || v.state === "running";
  const toggle = card.querySelector(".debug-toggle");
  toggle.setAttribute("aria-expanded", String(run.ui.debugOpen));
  toggle.textContent = run.ui.debugOpen ? "Hide details" : "Details";
}

// ---------------------------------------------------------------- developer details
function updateDebug(run, v) {
  const box = run.card.querySelector(".debug");
  box.hidden = !run.ui.debugOpen;
  if (!run.ui.debugOpen) {
    box.replaceChildren();
    return;
  }
  const evs = run.events;
  const seqs = evs.length ? `${evs[0].seq}–${evs[evs.length - 1].seq} (${evs.length} events)` : "none yet";
  const raw = v.error ? `${v.state} · ${v.error.code}: ${v.error.message}` : v.cancel !== null ? `${v.state} · reason ${v.cancel}` : v.state;
  const rows = [["Run id", run.id], ["Thread id", run.thread || "—"], ["Agent", run.agent || "—"], ["Message id", run.messageId || "—"],
    ["Seq", seqs], ["State", raw]];
  if (run.duplicate) rows.push(["Duplicate", "run_accepted said duplicate: true"]);
  const meta = el("dl", { class: "debug-meta" }, rows.map(([k, val]) => [el("dt", { text: k }), el("dd", {}, el("code", { text: val }))]));
  const events = el("ol", { class: "debug-events" }, evs.map((ev) => rawEvent(run, ev)));
  box.replaceChildren(meta, events);
}

function rawEvent(run, ev) {
  const details = el("details", { open: run.ui.eventsOpen.has(ev.seq) },
    el("summary", {}, el("code", { text: `#${ev.seq}` }), ` ${ev.type} `, el("span", { class: "muted", text: fmtTime(ev.timestamp, true) })),
    el("pre", { class: "raw-event", text: JSON.stringify(ev, null, 2) }));
  details.addEventListener("toggle", () => {
    if (details.open) run.ui.eventsOpen.add(ev.seq);
    else run.ui.eventsOpen.delete(ev.seq);
  });
  return el("li", {}, details);
}
