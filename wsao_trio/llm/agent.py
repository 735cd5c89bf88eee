"""The ``llm`` agent: any OpenAI-compatible Chat Completions endpoint, streamed.

One run is a loop of steps. Each step streams one model turn: its text goes to the
user as ``agent_message_delta`` as it arrives, its reasoning (where the server streams
it) as ``agent_thinking``, and its tool calls, once complete, run through the run's
tool dispatcher (``tool_executing``/``tool_completed``; several calls of one turn run
concurrently) and go back to the model as ``tool`` messages. The loop ends when the
model answers without calling a tool, or fails with ``llm_step_limit`` after
``max_steps`` turns.

The HTTP client is the ``openai`` package's ``AsyncOpenAI`` (httpx2 on anyio, which
runs on trio). Each run opens its own client and closes it when the run ends, so a
stopped run's cancellation closes the HTTP stream at once and nothing outlives the
run; the TLS context (the costly part, ~40 ms) is built once per agent. Requests go
through ``client.post`` and yield the raw JSON chunks, so server extensions such as
``reasoning_content`` survive and :mod:`wsao_trio.llm.chunks` checks every shape
itself. The client never retries: a rate limit or an outage is told to the user at
once (:mod:`wsao_trio.llm.failures`).
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

import attrs
import trio
from openai import AsyncOpenAI, AsyncStream, DefaultAsyncHttpxClient

from wsao_trio.config import Settings
from wsao_trio.errors import AgentFailure, ToolFailed
from wsao_trio.llm.chunks import Action, TextDelta, ToolCall, Turn, TurnAssembler
from wsao_trio.llm.conversation import (
    DEFAULT_SYSTEM_PROMPT,
    Message,
    assistant_message,
    error_text,
    opening_messages,
    parse_arguments,
    result_text,
    tool_message,
    tool_specs,
)
from wsao_trio.llm.failures import explained_failures
from wsao_trio.llm.memory import ThreadMemory

if TYPE_CHECKING:
    from wsao_trio._runs.runcontext import RunContext

NO_KEY = "unused"  # what servers without keys (Ollama, llama.cpp) are sent


@attrs.frozen
class LlmAgent:
    """Answers with a language model; see the module docstring.

    Attributes:
        base_url: the API root, ending in ``/v1`` (``http://127.0.0.1:11434/v1``).
        model: the model name the server knows.
        api_key: sent as ``Authorization: Bearer``; None for servers without keys.
        timeout: seconds to wait to connect, and for each piece of the stream.
        max_steps: model turns per run (each tool round is one).
        system_prompt: the first message of every conversation.
        memory: earlier exchanges of each thread, replayed to the model.
    """

    base_url: str
    model: str
    api_key: str | None = attrs.field(default=None, repr=False)
    timeout: float = 60.0
    max_steps: int = 8
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    memory: ThreadMemory = attrs.field(factory=ThreadMemory, eq=False, repr=False)
    _tls: ssl.SSLContext = attrs.field(
        factory=ssl.create_default_context, init=False, eq=False, repr=False
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> LlmAgent:
        """The agent the ``WSAO_LLM_*`` settings describe."""
        return cls(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key,
            timeout=settings.llm_timeout,
            max_steps=settings.llm_max_steps,
            system_prompt=settings.llm_system_prompt or DEFAULT_SYSTEM_PROMPT,
        )

    async def run(self, run: RunContext) -> Any:
        """Stream the model's turns and run its tool calls until it answers."""
        history = self.memory.history(run.user_id, run.thread_id)
        messages = opening_messages(self.system_prompt, history, run.message)
        tools = tool_specs(run.tools)
        answer: list[str] = []
        async with self._client() as client:
            for step in range(1, self.max_steps + 1):
                turn = await self._step(client, run, {"messages": messages, "tools": tools}, answer)
                messages.append(assistant_message(turn))
                if not turn.tool_calls:
                    return await self._finish(run, "".join(answer), step, turn)
                messages.extend(await call_tools(run, turn.tool_calls))
        raise AgentFailure(
            "llm_step_limit",
            f"The model was still calling tools after {self.max_steps} steps, so it was "
            "stopped before it answered. Try a simpler question.",
        )

    def _client(self) -> AsyncOpenAI:
        return AsyncOpenAI(
            base_url=self.base_url,
            api_key=self.api_key or NO_KEY,
            timeout=self.timeout,
            max_retries=0,
            http_client=DefaultAsyncHttpxClient(verify=self._tls),
        )

    async def _step(
        self, client: AsyncOpenAI, run: RunContext, request: dict[str, Any], answer: list[str]
    ) -> Turn:
        """Stream one turn, passing its text and thoughts on as they arrive."""
        assembler = TurnAssembler(separator="\n\n" if answer else "")
        body = {"model": self.model, "stream": True, **request}
        if not body["tools"]:
            del body["tools"]
        with explained_failures(model=self.model, timeout=self.timeout):
            stream = await client.post(
                "/chat/completions", body=body, cast_to=object, stream=True,
                stream_cls=AsyncStream[Any],
            )  # fmt: skip
            async with stream:
                async for chunk in stream:
                    await _perform(run, assembler.feed(chunk), answer)
            actions, turn = assembler.finish()
        await _perform(run, actions, answer)
        return turn

    async def _finish(self, run: RunContext, answer: str, steps: int, turn: Turn) -> Any:
        if turn.finish_reason == "length":
            await run.thinking("The answer was cut off: the model reached its length limit.")
        elif not answer.strip():
            await run.thinking("The model finished without any text.")
        self.memory.remember(run.user_id, run.thread_id, run.message, answer)
        return {"answer": answer, "model": self.model, "steps": steps}


async def _perform(run: RunContext, actions: list[Action], answer: list[str]) -> None:
    for action in actions:
        if isinstance(action, TextDelta):
            answer.append(action.text)
            await run.delta(action.text)
        else:
            await run.thinking(action.text)


async def call_tools(run: RunContext, calls: tuple[ToolCall, ...]) -> list[Message]:
    """Run ``calls`` concurrently; return their ``tool`` messages in the calls' order."""
    replies: dict[int, Message] = {}
    async with trio.open_nursery() as nursery:
        for call in calls:
            nursery.start_soon(_call_tool, run, call, replies)
    return [replies[call.index] for call in calls]


async def _call_tool(run: RunContext, call: ToolCall, replies: dict[int, Message]) -> None:
    """One call: a failure of any kind goes back to the model, which may try again."""
    try:
        arguments = parse_arguments(call.arguments)
    except ValueError as exc:
        await run.thinking(f"The model's arguments for {call.name} are {exc}; telling it so.")
        replies[call.index] = tool_message(call, error_text(f"arguments are {exc}"))
        return
    try:
        result = await run.call_tool(call.name, arguments)
    except ToolFailed as exc:
        replies[call.index] = tool_message(call, error_text(exc.error))
        return
    replies[call.index] = tool_message(call, result_text(result))
