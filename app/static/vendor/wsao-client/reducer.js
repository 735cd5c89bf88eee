/**
 * The run reducer: pure functions that fold run events into run views.
 *
 * Nothing here mutates its input: a change gives new objects, no change gives back the
 * very same object, so `client.state` can be handed to React's `useSyncExternalStore`.
 */
const TERMINAL = new Set(["agent_completed", "agent_error", "agent_cancelled"]);
/** True for the three events that end a run. */
export function isTerminalEvent(event) {
    return TERMINAL.has(event.type);
}
/** True when a run view has seen its terminal event. */
export function isFinished(run) {
    return run.status === "completed" || run.status === "error" || run.status === "cancelled";
}
/** A run known only from `run_accepted`: no event yet. */
export function emptyRun(runId, threadId, agentType) {
    return {
        runId,
        threadId,
        agentType,
        status: "accepted",
        text: "",
        thinking: [],
        tools: [],
        approvals: [],
        events: [],
        lastSeq: 0,
    };
}
function str(value, fallback = "") {
    return typeof value === "string" ? value : fallback;
}
function num(value) {
    return typeof value === "number" ? value : undefined;
}
function updateTool(tools, id, make) {
    const at = tools.findIndex((t) => t.toolCallId === id);
    if (at < 0)
        return [...tools, make(undefined)];
    const copy = tools.slice();
    copy[at] = make(tools[at]);
    return copy;
}
function updateApproval(approvals, id, make) {
    const at = approvals.findIndex((a) => a.approvalId === id);
    if (at < 0)
        return [...approvals, make(undefined)];
    const copy = approvals.slice();
    copy[at] = make(approvals[at]);
    return copy;
}
/**
 * Fold one event into its run's view. `run` is the view so far (undefined for a run
 * not seen yet). An event at or below `run.lastSeq` is a duplicate: `run` is returned
 * unchanged (the same object). Events after the terminal one are recorded but change
 * nothing else (the contract says none come).
 */
export function reduceRun(run, event) {
    const base = run ?? emptyRun(event.run_id, event.thread_id, event.agent_type);
    if (event.seq <= base.lastSeq)
        return base;
    const p = event.payload ?? {};
    const next = { ...base, lastSeq: event.seq, events: [...base.events, event] };
    const finished = isFinished(base);
    if (finished)
        return next;
    if (next.status === "accepted" || next.status === "unknown")
        next.status = "running";
    switch (event.type) {
        case "agent_started":
            next.threadId = event.thread_id;
            next.agentType = event.agent_type;
            if (typeof p.message_id === "string")
                next.messageId = p.message_id;
            if (typeof p.message === "string")
                next.message = p.message;
            break;
        case "agent_thinking":
            next.thinking = [...base.thinking, str(p.thought)];
            break;
        case "agent_message_delta":
            next.text = base.text + str(p.delta);
            break;
        case "tool_executing": {
            const id = str(p.tool_call_id);
            next.tools = updateTool(base.tools, id, () => ({
                toolCallId: id,
                toolName: str(p.tool_name),
                arguments: p.arguments ?? null,
                status: "running",
            }));
            break;
        }
        case "tool_completed": {
            const id = str(p.tool_call_id);
            next.tools = updateTool(base.tools, id, (old) => {
                const done = {
                    toolCallId: id,
                    toolName: str(p.tool_name, old?.toolName ?? ""),
                    arguments: old?.arguments ?? null,
                    status: p.ok === true ? "ok" : "error",
                };
                if (p.result !== undefined)
                    done.result = p.result;
                if (p.error !== undefined)
                    done.error = p.error;
                const ms = num(p.duration_ms);
                if (ms !== undefined)
                    done.durationMs = ms;
                return done;
            });
            break;
        }
        case "approval_requested": {
            const id = str(p.approval_id);
            next.approvals = updateApproval(base.approvals, id, () => ({
                approvalId: id,
                toolCallId: str(p.tool_call_id),
                toolName: str(p.tool_name),
                arguments: p.arguments ?? null,
                prompt: str(p.prompt),
                expiresAt: num(p.expires_at) ?? 0,
                status: "pending",
            }));
            next.status = "awaiting_approval";
            break;
        }
        case "approval_resolved": {
            const id = str(p.approval_id);
            next.approvals = updateApproval(base.approvals, id, (old) => {
                const done = {
                    approvalId: id,
                    toolCallId: old?.toolCallId ?? "",
                    toolName: old?.toolName ?? "",
                    arguments: old?.arguments ?? null,
                    prompt: old?.prompt ?? "",
                    expiresAt: old?.expiresAt ?? 0,
                    status: p.approved === true ? "approved" : "rejected",
                    decidedBy: str(p.decided_by),
                };
                if (typeof p.note === "string")
                    done.note = p.note;
                return done;
            });
            next.status = next.approvals.some((a) => a.status === "pending") ? "awaiting_approval" : "running";
            break;
        }
        case "agent_completed": {
            next.status = "completed";
            next.result = p.result ?? null;
            const r = p.result;
            if (next.text === "" && r !== null && typeof r === "object" && !Array.isArray(r)) {
                next.text = str(r.answer);
            }
            break;
        }
        case "agent_error":
            next.status = "error";
            next.error = { code: str(p.code, "agent_failed"), message: str(p.message) };
            break;
        case "agent_cancelled":
            next.status = "cancelled";
            next.cancelReason = str(p.reason);
            break;
        default:
            break; // an event type added later: recorded in `events`
    }
    if (isTerminalEvent(event)) {
        const ms = num(p.duration_ms);
        if (ms !== undefined)
            next.durationMs = ms;
    }
    return next;
}
/** Fold one event into a map of runs; the same map back when nothing changed. */
export function reduceRuns(runs, event) {
    const old = runs[event.run_id];
    const next = reduceRun(old, event);
    return next === old ? runs : { ...runs, [event.run_id]: next };
}
/** Fold a whole list of events (in any order of replays and duplicates) into runs. */
export function foldEvents(events, runs = {}) {
    let out = runs;
    for (const event of events)
        out = reduceRuns(out, event);
    return out;
}
/**
 * A run's log was lost (an epoch change): seqs start again in the new log, so each
 * run's cursor is reset, and a run that had not finished becomes `unknown` (its end
 * may never come; if it still runs, its next events bring it back to `running`).
 */
export function forgetEpoch(runs) {
    const out = {};
    for (const [id, run] of Object.entries(runs)) {
        out[id] = { ...run, lastSeq: 0, status: isFinished(run) ? run.status : "unknown" };
    }
    return out;
}
/**
 * What the client does with an event's seq given its cursor (the last contiguous seq):
 * `new` (the next one), `duplicate` (at or below the cursor: dropped), `hole` (beyond
 * the next one without a `replay_gap`: not taken; the client resumes from the cursor).
 */
export function classifySeq(lastSeq, seq) {
    if (seq <= lastSeq)
        return "duplicate";
    return seq === lastSeq + 1 ? "new" : "hole";
}
