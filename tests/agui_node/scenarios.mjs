// Drives wsao_trio's /agui endpoint with the real @ag-ui/client (HttpAgent), whose
// verifier checks the order of every event it receives. Run by tests/e2e/test_agui_node.py:
//
//   WSAO_URL=http://127.0.0.1:8000 WSAO_TOKEN=<jwt> node scenarios.mjs <scenario>
//
// Prints one JSON object with what the client saw; the Python test asserts on it.
import { HttpAgent, runHttpRequest, transformHttpEventStream } from "@ag-ui/client";
import { randomUUID } from "node:crypto";

const BASE = process.env.WSAO_URL;
const HEADERS = { Authorization: `Bearer ${process.env.WSAO_TOKEN}` };

// Joins a run (GET /agui/runs/{runId}/events) instead of starting one: AG-UI's
// connectAgent() calls connect(). With lastEventId it resumes after that event.
class ResumableAgent extends HttpAgent {
  constructor(config) {
    super(config);
    this.lastEventId = config.lastEventId;
  }

  connect(input) {
    const headers = { ...this.headers, Accept: "text/event-stream" };
    if (this.lastEventId) headers["Last-Event-ID"] = this.lastEventId;
    const url = `${BASE}/agui/runs/${encodeURIComponent(input.runId)}/events`;
    const signal = this.abortController.signal;
    return transformHttpEventStream(runHttpRequest(() => fetch(url, { headers, signal })));
  }
}

function userMessage(text) {
  return { id: randomUUID(), role: "user", content: text };
}

function newAgent(text, path = "/agui/scripted", threadId = randomUUID()) {
  return new HttpAgent({
    url: `${BASE}${path}`,
    headers: HEADERS,
    threadId,
    initialMessages: [userMessage(text)],
  });
}

// Records every event the client accepted, with the id it carries in metadata.
function recorder(onEach = () => {}) {
  const events = [];
  return {
    events,
    subscriber: {
      onEvent: ({ event }) => {
        events.push(event);
        onEach(event, events);
      },
    },
  };
}

function summary(agent, events, extra = {}) {
  const texts = agent.messages
    .filter((m) => m.role === "assistant" && typeof m.content === "string" && m.content)
    .map((m) => m.content);
  const toolCalls = agent.messages.flatMap((m) => m.toolCalls ?? []).map((c) => c.function.name);
  const toolResults = agent.messages.filter((m) => m.role === "tool").map((m) => m.content);
  const reasoning = agent.messages.filter((m) => m.role === "reasoning").map((m) => m.content);
  return {
    types: events.map((e) => e.type),
    ids: events.map((e) => e.metadata?.wsao?.id ?? null),
    texts,
    toolCalls,
    toolResults,
    reasoning,
    messageIds: agent.messages.map((m) => m.id),
    ...extra,
  };
}

async function run(agent, runId, subscriber) {
  try {
    const result = await agent.runAgent({ runId }, subscriber);
    return { result: result.result ?? null, error: null };
  } catch (error) {
    return { result: null, error: String(error?.message ?? error) };
  }
}

async function completed() {
  const agent = newAgent("thoughts=2 tools=2 deltas=4");
  const rec = recorder();
  const outcome = await run(agent, randomUUID(), rec.subscriber);
  return summary(agent, rec.events, outcome);
}

async function failed() {
  const agent = newAgent("tools=1 fail=1");
  const rec = recorder();
  const outcome = await run(agent, randomUUID(), rec.subscriber);
  return summary(agent, rec.events, outcome);
}

async function stopped() {
  const agent = newAgent("thoughts=200 tools=0 delay_ms=30");
  const runId = randomUUID();
  const stops = [];
  const rec = recorder((event, events) => {
    if (events.length === 3) {
      const url = `${BASE}/agui/runs/${runId}/stop`;
      stops.push(fetch(url, { method: "POST", headers: HEADERS }).then((r) => r.status));
    }
  });
  const outcome = await run(agent, runId, rec.subscriber);
  const last = rec.events.at(-1);
  return summary(agent, rec.events, {
    ...outcome,
    stopStatus: await Promise.all(stops),
    finishOutcome: last?.outcome ?? null,
  });
}

async function repeated() {
  const runId = randomUUID();
  const threadId = randomUUID();
  const text = "thoughts=2 tools=2 deltas=5 delay_ms=20";
  const agents = [newAgent(text, "/agui/scripted", threadId), newAgent(text, "/agui/scripted", threadId)];
  const recs = [recorder(), recorder()];
  const outcomes = await Promise.all(agents.map((a, i) => run(a, runId, recs[i].subscriber)));
  return { runs: agents.map((a, i) => summary(a, recs[i].events, outcomes[i])) };
}

async function resumed() {
  const runId = randomUUID();
  const threadId = randomUUID();
  const first = newAgent("thoughts=2 tools=3 deltas=30 delay_ms=10", "/agui/scripted", threadId);
  const cut = recorder((event, events) => {
    // Drop the connection abruptly inside a tool call, as a network failure would.
    if (event.type === "TOOL_CALL_ARGS" && events.filter((e) => e.type === "TOOL_CALL_ARGS").length === 2) {
      first.abortRun();
    }
  });
  await run(first, runId, cut.subscriber);
  const seen = cut.events.filter((e) => e.metadata?.wsao?.id);
  const lastEventId = seen.at(-1).metadata.wsao.id;

  const resume = new ResumableAgent({
    url: `${BASE}/agui/scripted`,
    headers: HEADERS,
    threadId,
    initialMessages: first.messages,
    lastEventId,
  });
  const rest = recorder();
  const resumeOutcome = await resume.connectAgent({ runId }, rest.subscriber);

  const fresh = new ResumableAgent({ url: `${BASE}/agui/scripted`, headers: HEADERS, threadId });
  const whole = recorder();
  await fresh.connectAgent({ runId }, whole.subscriber);
  return {
    lastEventId,
    before: summary(first, seen),
    after: summary(resume, rest.events, { result: resumeOutcome.result ?? null }),
    whole: summary(fresh, whole.events),
    beforeEvents: seen,
    afterEvents: rest.events,
    wholeEvents: whole.events,
  };
}

const SCENARIOS = { completed, failed, stopped, repeated, resumed };
const name = process.argv[2];
if (!SCENARIOS[name]) {
  console.error(`unknown scenario ${name}; one of ${Object.keys(SCENARIOS).join(", ")}`);
  process.exit(2);
}
console.log(JSON.stringify(await SCENARIOS[name]()));
