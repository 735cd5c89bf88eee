// The docs/agui.md example, run as written (WSAO_URL, WSAO_TOKEN from the environment).
import { HttpAgent, runHttpRequest, transformHttpEventStream } from "@ag-ui/client";

const base = process.env.WSAO_URL; // e.g. http://127.0.0.1:8000
const headers = { Authorization: `Bearer ${process.env.WSAO_TOKEN}` };

// 1. Stream a run. Every event carries its SSE id in metadata.wsao.id.
const agent = new HttpAgent({ url: `${base}/agui`, headers });
agent.addMessage({ id: "m1", role: "user", content: "What is 17 * 23 + 4? Answer slowly." });
let lastEventId = null;
const runId = crypto.randomUUID();
await agent.runAgent({ runId }, {
  onEvent: ({ event }) => {
    lastEventId = event.metadata?.wsao?.id ?? lastEventId;
    console.log(event.metadata?.wsao?.id ?? "(client)", event.type);
    if (event.type === "REASONING_MESSAGE_END") agent.abortRun(); // the network drops
  },
});
console.log(`cut off after event ${lastEventId}`);

// 2. Resume: join the run after the last event seen; nothing is lost or repeated.
class ResumingAgent extends HttpAgent {
  connect(input) {
    const url = `${base}/agui/runs/${input.runId}/events`;
    const h = { ...headers, Accept: "text/event-stream", "Last-Event-ID": lastEventId };
    return transformHttpEventStream(runHttpRequest(() => fetch(url, { headers: h })));
  }
}
const resumed = new ResumingAgent({ url: `${base}/agui`, headers, threadId: agent.threadId });
resumed.setMessages(agent.messages);
await resumed.connectAgent({ runId }, {
  onEvent: ({ event }) => console.log(event.metadata?.wsao?.id, event.type),
});
const answer = resumed.messages.filter((m) => m.role === "assistant").at(-1);
console.log("answer:", answer?.content);
