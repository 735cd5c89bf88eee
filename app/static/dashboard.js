// wsao_trio dashboard: polls /health every second and draws tiles, a two-minute
// chart (events/s from the `events.emitted` counter delta, and p95 latency) and
// the table of active runs. Tolerant of missing or extra keys in /health.
"use strict";

(() => {
  const POLL_MS = 1000;
  const FETCH_TIMEOUT_MS = 2500;
  const WINDOW_MS = 120000;
  const SVG_NS = "http://www.w3.org/2000/svg";

  const $ = (sel) => document.querySelector(sel);
  const samples = []; // {t, eps, p95}; null values draw a gap
  let previous = null; // {emitted, uptime, at}

  // ---------------------------------------------------------------- formatting
  const num = (v) => (typeof v === "number" && isFinite(v) ? v : null);

  function fmtInt(v) {
    v = num(v);
    return v === null ? "–" : Math.round(v).toLocaleString();
  }

  function fmtFloat(v, digits = 1) {
    v = num(v);
    if (v === null) return "–";
    if (Math.abs(v) >= 100) return Math.round(v).toLocaleString();
    return v.toFixed(v < 10 ? Math.max(digits, 2) : digits);
  }

  function fmtAge(s) {
    s = num(s);
    if (s === null) return "–";
    if (s < 60) return `${s.toFixed(1)} s`;
    if (s < 3600) return `${Math.floor(s / 60)} m ${Math.round(s % 60)} s`;
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} m`;
  }

  const get = (obj, ...path) => path.reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), obj);

  function setText(sel, text) {
    const node = $(sel);
    if (node && node.textContent !== text) node.textContent = text;
  }

  function setServerStatus(state, label) {
    const node = $("#server-status");
    node.dataset.state = state;
    node.querySelector(".label").textContent = label;
  }

  // ---------------------------------------------------------------- polling
  // ---------------------------------------------------------------- sign-in
  // /health/details names users and runs, so it needs an admin token; the dashboard
  // signs in like the chat page (a dev token by name, or a pasted token).
  const KEY_ADMIN_TOKEN = "wsao:admin-token";
  let devAuth = null;

  async function loadConfig() {
    try {
      const res = await fetch("/api/config", { cache: "no-store" });
      devAuth = (await res.json()).dev_auth === true;
    } catch (err) {
      devAuth = false;
    }
    $("#dash-name-field").hidden = !devAuth;
    $("#dash-token-field").hidden = devAuth;
  }

  function showSignin(why) {
    $("#dash-signin").hidden = false;
    if (why) $("#dash-signin-why").textContent = why;
  }

  async function signIn(event) {
    event.preventDefault();
    $("#dash-signin-error").textContent = "";
    let token = $("#dash-token").value.trim();
    if (devAuth) {
      const res = await fetch("/api/dev/token", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ user_id: $("#dash-name").value.trim() }),
      });
      const body = await res.json().catch(() => ({}));
      if (!res.ok) return ($("#dash-signin-error").textContent = body.error || `HTTP ${res.status}`);
      token = body.token;
    }
    if (!token) return;
    localStorage.setItem(KEY_ADMIN_TOKEN, token);
    $("#dash-signin").hidden = true;
  }

  class AuthNeeded extends Error {}

  async function fetchHealth() {
    const token = localStorage.getItem(KEY_ADMIN_TOKEN);
    if (!token) throw new AuthNeeded("Sign in as an operator to see the dashboard.");
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), FETCH_TIMEOUT_MS);
    try {
      const headers = { Accept: "application/json", Authorization: `Bearer ${token}` };
      const res = await fetch("/health/details", { cache: "no-store", signal: ctrl.signal, headers });
      if (res.status === 401 || res.status === 403) {
        localStorage.removeItem(KEY_ADMIN_TOKEN);
        throw new AuthNeeded(res.status === 403 ? "That user is not an operator." : "Your sign-in expired.");
      }
      const body = await res.json().catch(() => null);
      if (!body || typeof body !== "object") throw new Error(`HTTP ${res.status}`);
      return body;
    } finally {
      clearTimeout(timer);
    }
  }

  async function poll() {
    try {
      const health = await fetchHealth();
      onHealth(health);
    } catch (err) {
      if (err instanceof AuthNeeded) {
        showSignin(err.message);
        setServerStatus("unknown", "signed out");
        return;
      }
      setServerStatus("down", "unreachable");
      previous = null;
      addSample({ t: Date.now(), eps: null, p95: null });
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }

  function eventsPerSecond(health) {
    const emitted = num(get(health, "events", "emitted"));
    const uptime = num(health.uptime_seconds);
    const now = performance.now();
    const prev = previous;
    previous = { emitted, uptime, at: now };
    if (!prev || emitted === null || prev.emitted === null || emitted < prev.emitted) return null;
    // Prefer the server's clock; fall back to ours. A lower uptime means a restart.
    let dt = uptime !== null && prev.uptime !== null ? uptime - prev.uptime : (now - prev.at) / 1000;
    if (!(dt > 0.05)) dt = (now - prev.at) / 1000;
    if (!(dt > 0.05) || (uptime !== null && prev.uptime !== null && uptime < prev.uptime)) return null;
    return (emitted - prev.emitted) / dt;
  }

  function onHealth(h) {
    const status = typeof h.status === "string" ? h.status : "ok";
    setServerStatus(status === "ok" ? "ok" : "warn", status);
    setText("#uptime", num(h.uptime_seconds) === null ? "" : `up ${fmtAge(h.uptime_seconds)}`);
    const eps = eventsPerSecond(h);
    renderTiles(h, eps);
    renderActiveRuns(Array.isArray(h.active_runs) ? h.active_runs : []);
    addSample({ t: Date.now(), eps, p95: num(get(h, "delivery_latency_ms", "p95")) });
  }

  // ---------------------------------------------------------------- tiles and table
  function renderTiles(h, eps) {
    setText("#connections", fmtInt(h.connections));
    setText("#users", fmtInt(h.users_connected));
    setText("#events-per-second", eps === null ? "–" : fmtFloat(eps, 1));
    setText("#events-emitted", fmtInt(get(h, "events", "emitted")));
    setText("#events-delivered", fmtInt(get(h, "events", "delivered")));
    for (const state of ["running", "pending", "completed", "failed", "cancelled"]) {
      setText(`#runs-${state}`, fmtInt(get(h, "runs", state)));
    }
    const lat = h.delivery_latency_ms || {};
    setText("#p50", fmtFloat(lat.p50));
    setText("#p95", fmtFloat(lat.p95));
    setText("#p99", fmtFloat(lat.p99));
    setText("#latency-max", fmtFloat(lat.max));
    setText("#latency-samples", fmtInt(lat.samples));
    setText("#dedup-hits", fmtInt(h.dedup_hits));
    setText("#slow-consumer-closes", fmtInt(get(h, "drops", "slow_consumer_closes")));
    setText("#deadline-misses", fmtInt(get(h, "drops", "deadline_misses")));
    setText("#buffer-overflows", fmtInt(get(h, "drops", "buffer_overflows")));
    const cleanups = h.cleanups || {};
    const total = num(cleanups.total) ?? (num(cleanups.orphaned) ?? 0) + (num(cleanups.stale) ?? 0);
    setText("#cleanups", fmtInt(total));
    setText("#cleanups-orphaned", fmtInt(cleanups.orphaned));
    setText("#cleanups-stale", fmtInt(cleanups.stale));
  }

  function cell(text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  function renderActiveRuns(runs) {
    const rows = runs
      .filter((r) => r && typeof r === "object")
      .sort((a, b) => (num(b.age_seconds) ?? 0) - (num(a.age_seconds) ?? 0))
      .map((r) => {
        const tr = document.createElement("tr");
        const id = String(r.run_id ?? "");
        const runCell = cell(id.slice(0, 8), "mono");
        runCell.title = id;
        const state = String(r.state ?? "");
        const stateCell = cell("", "");
        const pill = document.createElement("span");
        pill.className = `pill ${state}`;
        pill.textContent = state;
        stateCell.append(pill);
        const msg = cell(String(r.message ?? ""), "msg");
        msg.title = String(r.message ?? "");
        tr.append(runCell, cell(String(r.user_id ?? "")), cell(String(r.agent_type ?? "")), stateCell, cell(fmtAge(r.age_seconds), "num"), msg);
        return tr;
      });
    $("#active-runs tbody").replaceChildren(...rows);
    $("#no-active").hidden = rows.length > 0;
    setText("#active-count", rows.length ? `(${rows.length})` : "");
  }

  // ---------------------------------------------------------------- chart
  function addSample(sample) {
    samples.push(sample);
    const cutoff = Date.now() - WINDOW_MS;
    while (samples.length && samples[0].t < cutoff) samples.shift();
    drawChart();
  }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const pow = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * pow >= v) return m * pow;
    return 10 * pow;
  }

  function fmtTick(v) {
    if (Number.isInteger(v)) return String(v);
    return String(Number(v.toFixed(v < 1 ? 2 : 1)));
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function linePath(key, x, y) {
    let d = "";
    let pen = false;
    for (const s of samples) {
      const v = s[key];
      if (v === null || v === undefined) {
        pen = false;
        continue;
      }
      d += `${pen ? "L" : "M"}${x(s.t).toFixed(1)},${y(v).toFixed(1)} `;
      pen = true;
    }
    return d.trim();
  }

  function drawChart() {
    const chart = $("#chart");
    const width = Math.max(320, chart.clientWidth || 800); // CSS sizes the svg; the viewBox follows it
    const height = Math.max(160, chart.clientHeight || 240);
    const pad = { l: 52, r: 58, t: 12, b: 26 };
    const now = Date.now();
    const x = (t) => pad.l + ((t - (now - WINDOW_MS)) / WINDOW_MS) * (width - pad.l - pad.r);
    const epsMax = niceMax(Math.max(0, ...samples.map((s) => s.eps ?? 0)));
    const p95Max = niceMax(Math.max(0, ...samples.map((s) => s.p95 ?? 0)));
    const yFor = (max) => (v) => height - pad.b - (v / max) * (height - pad.t - pad.b);
    const nodes = [];
    for (let i = 0; i <= 4; i += 1) {
      const gy = pad.t + (i / 4) * (height - pad.t - pad.b);
      nodes.push(svg("line", { x1: pad.l, x2: width - pad.r, y1: gy, y2: gy, class: "grid" }));
      nodes.push(svg("text", { x: pad.l - 8, y: gy + 4, class: "axis eps", "text-anchor": "end" }, fmtTick(epsMax * (1 - i / 4))));
      nodes.push(svg("text", { x: width - pad.r + 8, y: gy + 4, class: "axis p95", "text-anchor": "start" }, fmtTick(p95Max * (1 - i / 4))));
    }
    for (const [label, ago] of [["-2 min", WINDOW_MS], ["-1 min", WINDOW_MS / 2], ["now", 0]]) {
      nodes.push(svg("text", { x: x(now - ago), y: height - 6, class: "axis", "text-anchor": "middle" }, label));
    }
    nodes.push(svg("path", { d: linePath("eps", x, yFor(epsMax)), class: "series eps" }));
    nodes.push(svg("path", { d: linePath("p95", x, yFor(p95Max)), class: "series p95" }));
    chart.setAttribute("viewBox", `0 0 ${width} ${height}`);
    chart.replaceChildren(...nodes);
  }

  window.addEventListener("resize", drawChart);
  $("#dash-signin").addEventListener("submit", (event) => signIn(event).catch((err) => {
    $("#dash-signin-error").textContent = String(err.message || err);
  }));
  drawChart();
  loadConfig().then(poll);
})();
