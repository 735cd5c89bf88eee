/**
 * `WsaoClient`: the client half of the wsao_trio delivery guarantee.
 *
 * One WebSocket at a time; after any drop it reconnects with capped exponential backoff
 * and jitter, resuming from the last contiguous seq with its epoch, so `onEvent` sees
 * every run event exactly once, in seq order. A `send` whose `run_accepted` was not seen
 * is sent again with the same `message_id` (the server's idempotency key), acks are
 * debounced, and the token is renewed with the `auth` frame before it expires.
 */
import { tokenExpiry } from "./jwt.js";
import { classifySeq, emptyRun, forgetEpoch, isFinished, reduceRuns } from "./reducer.js";
/** A refusal from the server (`code` as in the contract) or from the client itself. */
export class WsaoError extends Error {
    code;
    ref;
    constructor(code, message, ref) {
        super(message);
        this.name = "WsaoError";
        this.code = code;
        this.ref = ref;
    }
}
const RETRY_LATER_CODES = new Set([1012, 1013]);
/** Send errors that mean "the server is going away": the message is sent again after reconnecting. */
const RESEND_ERRORS = new Set(["shutting_down"]);
function deferred() {
    let resolve;
    let reject;
    const promise = new Promise((res, rej) => {
        resolve = res;
        reject = rej;
    });
    return { promise, resolve, reject };
}
function uuid() {
    const c = globalThis.crypto;
    if (c?.randomUUID)
        return c.randomUUID();
    return `m-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
}
function byteLength(text) {
    return new TextEncoder().encode(text).length;
}
function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
}
function isRunEvent(frame) {
    return typeof frame.seq === "number" && typeof frame.run_id === "string";
}
/** The browser's window (for its `online` event); undefined on Node. */
function globalWindow() {
    const w = globalThis.window;
    return w && typeof w.addEventListener === "function" ? w : undefined;
}
/** `url` as a WebSocket URL: `http(s)` becomes `ws(s)`, a relative path resolves against the page. */
function socketUrl(url) {
    const page = globalThis.location?.href;
    const u = page ? new URL(url, page) : new URL(url);
    if (u.protocol === "http:")
        u.protocol = "ws:";
    if (u.protocol === "https:")
        u.protocol = "wss:";
    return u;
}
/** A token provider for `POST /api/dev/token` (servers started with `WSAO_DEV_AUTH=1`). */
export function devToken(baseUrl, userId) {
    return async () => {
        const u = new URL("/api/dev/token", baseUrl.replace(/^ws/, "http"));
        const res = await fetch(u, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ user_id: userId }),
        });
        if (!res.ok)
            throw new WsaoError("unauthorized", `POST ${u.pathname} answered ${res.status}`);
        const body = (await res.json());
        if (typeof body.token !== "string")
            throw new WsaoError("unauthorized", "no token in the answer");
        return body.token;
    };
}
export class WsaoClient {
    opts;
    Socket;
    _state;
    /** Counters (no notifications): delivered, duplicates dropped, holes, re-sends, drops, renewals. */
    stats = { delivered: 0, duplicatesDropped: 0, holes: 0, resent: 0, drops: 0, renewals: 0 };
    stateListeners = new Set();
    eventListeners = new Set();
    errorListeners = new Set();
    ws = null;
    gen = 0;
    ready = false; // `connected` seen on the current socket
    started = false;
    closed = false;
    cursorKnown; // whether a resume cursor (epoch + lastSeq) is held
    token = null;
    freshTokenNeeded = false;
    pending = new Map();
    stops = new Map();
    waiters = new Map();
    openWaiters = [];
    outbox = [];
    ackedSeq = 0;
    ackTimer = null;
    renewTimer = null;
    reconnectTimer = null;
    openTimer = null;
    pingTimer = null;
    lastHeard = 0;
    /** Browsers: when the network comes back, a waiting reconnect happens at once. */
    onOnline = () => {
        if (this.reconnectTimer !== null) {
            clearTimeout(this.reconnectTimer);
            this.reconnectTimer = null;
            void this.open();
        }
    };
    constructor(options) {
        this.opts = options;
        const Ctor = options.WebSocket ?? globalThis.WebSocket;
        if (!Ctor)
            throw new TypeError("no WebSocket: pass the `WebSocket` option (on Node 20, the `ws` package)");
        this.Socket = Ctor;
        socketUrl(options.url); // throws early on a malformed URL
        this.cursorKnown = options.resume !== undefined;
        this._state = {
            status: "closed",
            userId: null,
            epoch: options.resume?.epoch ?? null,
            lastSeq: options.resume?.lastSeq ?? 0,
            runs: {},
            gaps: [],
            connectionId: null,
            connections: 0,
            attempt: 0,
            lastClose: null,
        };
        this.ackedSeq = this._state.lastSeq;
    }
    /** The current state; a new object on every change, the same one between changes. */
    get state() {
        return this._state;
    }
    /** Called with every run event once, in seq order, across reconnects, and with each `replay_gap`. */
    onEvent(listener) {
        this.eventListeners.add(listener);
        return () => this.eventListeners.delete(listener);
    }
    /** Called with the new state on every change (`useSyncExternalStore(client.subscribe, () => client.state)`). */
    subscribe = (listener) => {
        this.stateListeners.add(listener);
        return () => {
            this.stateListeners.delete(listener);
        };
    };
    /** Called with `error` frames that answer nothing the client waits for (and refused token renewals). */
    onError(listener) {
        this.errorListeners.add(listener);
        return () => this.errorListeners.delete(listener);
    }
    /** Open the connection (once); resolves when the server's `connected` frame has arrived. */
    connect() {
        if (this.closed)
            return Promise.reject(new WsaoError("closed", "the client was closed"));
        if (!this.started) {
            this.started = true;
            globalWindow()?.addEventListener("online", this.onOnline);
            void this.open();
        }
        if (this.ready)
            return Promise.resolve();
        const d = deferred();
        this.openWaiters.push(d);
        return d.promise;
    }
    /** Start a run; resolves with `run_accepted`. Survives drops: it is re-sent with its `messageId`. */
    send(text, options = {}) {
        if (this.closed)
            return Promise.reject(new WsaoError("closed", "the client was closed"));
        const messageId = options.messageId ?? uuid();
        const existing = this.pending.get(messageId);
        if (existing)
            return existing.promise;
        const frame = JSON.stringify({
            type: "user_message",
            message_id: messageId,
            text,
            ...(options.threadId !== undefined ? { thread_id: options.threadId } : {}),
            ...(options.agentType !== undefined ? { agent_type: options.agentType } : {}),
        });
        const bytes = byteLength(frame);
        const limit = this.opts.maxFrameBytes ?? 65536;
        if (bytes > limit) {
            return Promise.reject(new WsaoError("frame_too_large", `the message is ${bytes} bytes; the server takes at most ${limit}`, messageId));
        }
        const d = deferred();
        const entry = { ...d, frame, bytes, messageId, sentOn: 0 };
        this.pending.set(messageId, entry);
        if (this.ready)
            this.writePending(entry);
        else if (!this.started)
            void this.connect().catch(() => undefined);
        return d.promise;
    }
    /** Stop a run; resolves with its view once its terminal event (`agent_cancelled`, or another) arrived. */
    stop(runId) {
        if (this.closed)
            return Promise.reject(new WsaoError("closed", "the client was closed"));
        const run = this._state.runs[runId];
        if (run && isFinished(run))
            return Promise.resolve(run);
        const d = deferred();
        const list = this.stops.get(runId) ?? [];
        list.push(d);
        this.stops.set(runId, list);
        if (list.length === 1 && this.ready)
            this.write(JSON.stringify({ type: "stop_agent", run_id: runId }));
        else if (!this.started)
            void this.connect().catch(() => undefined);
        return d.promise;
    }
    /** Answer an approval (contract v1.3); resolves once the `approve` frame is sent. */
    approve(approvalId, approved, note) {
        if (this.closed)
            return Promise.reject(new WsaoError("closed", "the client was closed"));
        const frame = JSON.stringify({
            type: "approve",
            approval_id: approvalId,
            approved,
            ...(note !== undefined ? { note } : {}),
        });
        if (this.ready) {
            this.write(frame);
            return Promise.resolve();
        }
        const done = deferred();
        this.outbox.push({ frame, done });
        if (!this.started)
            void this.connect().catch(() => undefined);
        return done.promise;
    }
    /** Resolves with the run's view once it has finished (at once if it has). */
    wait(runId) {
        const run = this._state.runs[runId];
        if (run && isFinished(run))
            return Promise.resolve(run);
        if (this.closed)
            return Promise.reject(new WsaoError("closed", "the client was closed"));
        const d = deferred();
        const list = this.waiters.get(runId) ?? [];
        list.push(d);
        this.waiters.set(runId, list);
        return d.promise;
    }
    /** Stop everything: the socket, every timer; pending promises reject with `closed`. */
    close() {
        if (this.closed)
            return;
        this.closed = true;
        globalWindow()?.removeEventListener("online", this.onOnline);
        this.clearConnectionTimers();
        if (this.reconnectTimer !== null)
            clearTimeout(this.reconnectTimer);
        this.reconnectTimer = null;
        this.flushAck();
        const ws = this.ws;
        this.detach();
        try {
            ws?.close(1000, "client closed");
        }
        catch {
            // already closing
        }
        const err = () => new WsaoError("closed", "the client was closed");
        for (const p of this.pending.values())
            p.reject(err());
        this.pending.clear();
        for (const list of [...this.stops.values(), ...this.waiters.values()])
            for (const d of list)
                d.reject(err());
        this.stops.clear();
        this.waiters.clear();
        for (const d of this.openWaiters.splice(0))
            d.reject(err());
        for (const o of this.outbox.splice(0))
            o.done.reject(err());
        this.commit({ status: "closed" });
    }
    // -- connection ------------------------------------------------------------------
    async open() {
        this.reconnectTimer = null;
        if (this.closed)
            return;
        this.commit({ status: this._state.connections === 0 && this._state.attempt === 0 ? "connecting" : "reconnecting" });
        let token;
        try {
            token = await this.currentToken(this.freshTokenNeeded);
        }
        catch (error) {
            this.emitError(new WsaoError("unauthorized", `the token provider failed: ${String(error)}`));
            this.retry(this._state.attempt + 1, { code: 4401, reason: "no token" });
            return;
        }
        if (this.closed)
            return;
        const u = socketUrl(this.opts.url);
        u.searchParams.set("token", token);
        if (this.cursorKnown && this._state.epoch !== null) {
            u.searchParams.set("last_seq", String(this._state.lastSeq));
            u.searchParams.set("epoch", this._state.epoch);
        }
        let ws;
        try {
            ws = new this.Socket(u.toString());
        }
        catch (error) {
            this.emitError(new WsaoError("connect_failed", String(error)));
            this.retry(this._state.attempt + 1, { code: 1006, reason: String(error) });
            return;
        }
        this.gen += 1;
        this.ws = ws;
        this.ready = false;
        ws.onopen = null;
        ws.onerror = () => undefined; // a close follows
        ws.onmessage = (event) => {
            if (this.ws === ws)
                this.onFrame(event.data);
        };
        ws.onclose = (event) => {
            if (this.ws === ws)
                this.onDrop(event.code, event.reason ?? "");
        };
        this.openTimer = setTimeout(() => {
            if (this.ws === ws && !this.ready)
                this.abandon(4000, "no connected frame in time");
        }, this.opts.openTimeoutMs ?? 10000);
    }
    async currentToken(fresh) {
        const t = this.token;
        const now = Date.now() / 1000;
        if (!fresh && t && (t.exp === null || t.exp - now > (t.exp - t.fetchedAt) / 2))
            return t.value;
        const value = await this.opts.token();
        this.token = { value, exp: tokenExpiry(value), fetchedAt: Date.now() / 1000 };
        this.freshTokenNeeded = false;
        return value;
    }
    detach() {
        const ws = this.ws;
        if (ws) {
            ws.onmessage = null;
            ws.onclose = null;
            ws.onerror = () => undefined;
        }
        this.ws = null;
        this.ready = false;
    }
    /** End the current socket now (without waiting for its close handshake) and reconnect. */
    abandon(code, reason) {
        const ws = this.ws;
        const wasReady = this.ready;
        this.detach();
        try {
            ws?.close(code, reason);
        }
        catch {
            // already closed
        }
        this.onDrop(code, reason, wasReady);
    }
    clearConnectionTimers() {
        for (const t of [this.ackTimer, this.renewTimer, this.openTimer])
            if (t !== null)
                clearTimeout(t);
        if (this.pingTimer !== null)
            clearInterval(this.pingTimer);
        this.ackTimer = this.renewTimer = this.openTimer = this.pingTimer = null;
    }
    onDrop(code, reason, readyBefore) {
        const wasReady = readyBefore ?? this.ready;
        const gen = this.gen;
        this.detach();
        this.clearConnectionTimers();
        if (this.closed)
            return;
        this.stats.drops += 1;
        let attempt = wasReady ? 1 : this._state.attempt + 1;
        if (code === 4401 || !wasReady)
            this.freshTokenNeeded = true; // a refused handshake looks like 1006
        if (RETRY_LATER_CODES.has(code))
            attempt = Math.max(attempt, 3);
        if (code === 1009)
            this.rejectTooBig(gen);
        this.retry(attempt, { code, reason });
    }
    retry(attempt, lastClose) {
        if (this.closed || this.reconnectTimer !== null)
            return;
        const initial = this.opts.backoff?.initialMs ?? 250;
        const cap = this.opts.backoff?.maxMs ?? 10000;
        const ceiling = Math.min(cap, initial * 2 ** Math.max(0, attempt - 1));
        const delay = ceiling / 2 + Math.random() * (ceiling / 2); // "equal jitter"
        this.commit({ status: "reconnecting", attempt, lastClose, connectionId: null });
        this.reconnectTimer = setTimeout(() => void this.open(), delay);
    }
    /** A 1009 close: our biggest frame on that connection was over the server's limit; it is not re-sent. */
    rejectTooBig(gen) {
        let worst = null;
        for (const p of this.pending.values())
            if (p.sentOn === gen && (!worst || p.bytes > worst.bytes))
                worst = p;
        if (worst) {
            this.pending.delete(worst.messageId);
            worst.reject(new WsaoError("frame_too_large", "the server closed the connection (1009): frame too big", worst.messageId));
        }
    }
    write(frame) {
        if (!this.ws || !this.ready)
            return false;
        try {
            this.ws.send(frame);
            return true;
        }
        catch {
            return false; // a close follows
        }
    }
    writePending(p) {
        if (p.sentOn !== 0 && p.sentOn !== this.gen)
            this.stats.resent += 1;
        if (this.write(p.frame))
            p.sentOn = this.gen;
    }
    // -- frames ----------------------------------------------------------------------
    onFrame(data) {
        this.lastHeard = Date.now();
        const text = typeof data === "string" ? data : String(data);
        let runs = this._state.runs;
        let lastSeq = this._state.lastSeq;
        let gaps = this._state.gaps;
        let patch = {};
        const events = [];
        const accepted = [];
        let hole = false;
        let opened = false;
        for (const line of text.split("\n")) {
            if (line.trim() === "")
                continue;
            let frame;
            try {
                frame = JSON.parse(line);
            }
            catch {
                continue; // the server sends JSON only; nothing to do with anything else
            }
            if (!isObject(frame) || typeof frame.type !== "string")
                continue;
            if (isRunEvent(frame)) {
                const kind = classifySeq(lastSeq, frame.seq);
                if (kind === "duplicate") {
                    this.stats.duplicatesDropped += 1;
                    continue;
                }
                if (kind === "hole" || hole) {
                    this.stats.holes += kind === "hole" ? 1 : 0;
                    hole = true; // later events are not taken either: the resume brings them in order
                    continue;
                }
                lastSeq = frame.seq;
                runs = reduceRuns(runs, frame);
                events.push(frame);
                continue;
            }
            switch (frame.type) {
                case "connected": {
                    const f = frame;
                    if (!this.cursorKnown) {
                        lastSeq = f.last_seq; // no cursor sent: live events follow the server's newest
                        this.ackedSeq = lastSeq;
                    }
                    else if (this._state.epoch !== null && f.epoch !== this._state.epoch) {
                        runs = forgetEpoch(runs); // a new log: seqs start again; replay_gap follows
                        lastSeq = 0;
                        this.ackedSeq = 0;
                    }
                    this.cursorKnown = true;
                    this.ready = true;
                    patch = {
                        ...patch,
                        status: "open",
                        userId: f.user_id,
                        epoch: f.epoch,
                        connectionId: f.connection_id,
                        connections: this._state.connections + 1,
                        attempt: 0,
                    };
                    opened = true;
                    break;
                }
                case "replay_gap": {
                    const f = frame;
                    const epoch = (patch.epoch ?? this._state.epoch) || "";
                    const gap = {
                        reason: f.reason,
                        epoch,
                        requestedAfter: f.requested_after,
                        oldestAvailable: f.oldest_available,
                        at: Date.now(),
                    };
                    gaps = [...gaps, gap];
                    if (f.reason === "retention") {
                        lastSeq = Math.max(lastSeq, f.oldest_available - 1);
                    }
                    else {
                        if (lastSeq !== 0)
                            runs = forgetEpoch(runs);
                        lastSeq = f.oldest_available - 1;
                        this.ackedSeq = Math.min(this.ackedSeq, lastSeq);
                    }
                    events.push(f);
                    break;
                }
                case "run_accepted": {
                    const f = frame;
                    if (!runs[f.run_id]) {
                        const run = emptyRun(f.run_id, f.thread_id, "");
                        runs = { ...runs, [f.run_id]: f.duplicate ? { ...run, status: "unknown", messageId: f.message_id } : { ...run, messageId: f.message_id } };
                    }
                    const p = this.pending.get(f.message_id);
                    if (p) {
                        this.pending.delete(f.message_id);
                        accepted.push([p, { runId: f.run_id, threadId: f.thread_id, messageId: f.message_id, duplicate: f.duplicate }]);
                    }
                    break;
                }
                case "error":
                    this.onErrorFrame(frame);
                    break;
                case "auth_ok": {
                    const f = frame;
                    this.stats.renewals += 1;
                    if (this.token)
                        this.token = { ...this.token, exp: f.expires_at };
                    this.scheduleRenewal();
                    break;
                }
                default:
                    break; // pong, and frames added later
            }
        }
        const changed = { ...patch };
        if (runs !== this._state.runs)
            changed.runs = runs;
        if (lastSeq !== this._state.lastSeq)
            changed.lastSeq = lastSeq;
        if (gaps !== this._state.gaps)
            changed.gaps = gaps;
        if (Object.keys(changed).length > 0)
            this.commit(changed);
        for (const event of events) {
            if ("seq" in event)
                this.stats.delivered += 1;
            for (const listener of [...this.eventListeners])
                this.safely(() => listener(event));
        }
        for (const [p, result] of accepted)
            p.resolve(result);
        if (events.length > 0)
            this.settleRuns();
        if (opened)
            this.onOpened();
        if (events.some((e) => "seq" in e))
            this.scheduleAck();
        if (hole)
            this.abandon(4000, "a seq was skipped without replay_gap: resuming");
    }
    onErrorFrame(f) {
        const err = new WsaoError(f.code, f.message, f.ref);
        const p = f.ref !== undefined ? this.pending.get(f.ref) : undefined;
        if (p) {
            if (RESEND_ERRORS.has(f.code))
                return; // sent again after the reconnect that follows
            this.pending.delete(f.ref);
            p.reject(err);
            return;
        }
        const stops = f.ref !== undefined ? this.stops.get(f.ref) : undefined;
        if (stops && f.code === "run_not_found") {
            const run = this._state.runs[f.ref];
            if (!run) {
                this.stops.delete(f.ref);
                for (const d of stops)
                    d.reject(err);
            }
            else if (run.status === "unknown") {
                this.stops.delete(f.ref);
                for (const d of stops)
                    d.resolve(run);
            } // else: it has ended; its terminal event is on its way and resolves the stop
            return;
        }
        if (f.code === "unauthorized")
            this.freshTokenNeeded = true;
        this.emitError(err);
    }
    onOpened() {
        if (this.openTimer !== null)
            clearTimeout(this.openTimer);
        this.openTimer = null;
        for (const p of this.pending.values())
            this.writePending(p);
        for (const [runId] of this.stops) {
            const run = this._state.runs[runId];
            if (!run || !isFinished(run))
                this.write(JSON.stringify({ type: "stop_agent", run_id: runId }));
        }
        for (const o of this.outbox.splice(0)) {
            this.write(o.frame);
            o.done.resolve();
        }
        for (const d of this.openWaiters.splice(0))
            d.resolve();
        this.scheduleRenewal();
        this.lastHeard = Date.now();
        const every = this.opts.pingIntervalMs ?? 25000;
        this.pingTimer = setInterval(() => {
            if (Date.now() - this.lastHeard > 2 * every)
                this.abandon(4000, "nothing heard: reconnecting");
            else
                this.write(JSON.stringify({ type: "ping" }));
        }, every);
    }
    /** Resolve `wait` and `stop` promises of runs that have finished. */
    settleRuns() {
        for (const table of [this.waiters, this.stops]) {
            for (const [runId, list] of table) {
                const run = this._state.runs[runId];
                if (run && isFinished(run)) {
                    table.delete(runId);
                    for (const d of list)
                        d.resolve(run);
                }
            }
        }
    }
    // -- acks and tokens ---------------------------------------------------------------
    scheduleAck() {
        if (this.ackTimer !== null)
            return;
        this.ackTimer = setTimeout(() => {
            this.ackTimer = null;
            this.flushAck();
        }, this.opts.ackDelayMs ?? 200);
    }
    flushAck() {
        const seq = this._state.lastSeq;
        if (seq > this.ackedSeq && this.write(JSON.stringify({ type: "ack", seq })))
            this.ackedSeq = seq;
    }
    scheduleRenewal() {
        if (this.renewTimer !== null)
            clearTimeout(this.renewTimer);
        this.renewTimer = null;
        const exp = this.token?.exp;
        if (this.opts.renewTokens === false || exp === null || exp === undefined)
            return;
        const remaining = exp * 1000 - Date.now();
        const delay = Math.max(500, remaining - Math.min(60000, remaining / 3));
        const gen = this.gen;
        this.renewTimer = setTimeout(() => void this.renew(gen), delay);
    }
    async renew(gen) {
        this.renewTimer = null;
        let value;
        try {
            value = await this.opts.token();
        }
        catch (error) {
            this.emitError(new WsaoError("unauthorized", `the token provider failed: ${String(error)}`));
            return; // the server closes with 4401 at exp; the reconnect asks again
        }
        if (this.closed || gen !== this.gen || !this.ready)
            return;
        this.token = { value, exp: tokenExpiry(value), fetchedAt: Date.now() / 1000 };
        this.write(JSON.stringify({ type: "auth", token: value }));
    }
    // -- state -------------------------------------------------------------------------
    commit(patch) {
        this._state = { ...this._state, ...patch };
        const state = this._state;
        for (const listener of [...this.stateListeners])
            this.safely(() => listener(state));
    }
    emitError(error) {
        for (const listener of [...this.errorListeners])
            this.safely(() => listener(error));
    }
    safely(fn) {
        try {
            fn();
        }
        catch (error) {
            setTimeout(() => {
                throw error;
            }, 0); // reported like an uncaught error, without breaking delivery
        }
    }
}
