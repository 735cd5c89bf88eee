"""A local OpenAI-compatible Chat Completions server for tests: real HTTP, real SSE.

A Quart-Trio app under hypercorn on an ephemeral loopback port. Each
``POST /v1/chat/completions`` takes the next scripted reply: a :class:`Status` (an
HTTP error with a JSON body) or a stream, a list of chunk dicts (sent as
``data: {...}\\n\\n``), raw bytes (sent verbatim) and :class:`Pause` items. It records
every request body and header, and whether a client went away mid-stream.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import attrs
import hypercorn.trio
import trio
from hypercorn.config import Config
from quart import request
from quart_trio import QuartTrio

DONE = b"data: [DONE]\n\n"


@attrs.frozen
class Pause:
    """Send nothing for ``seconds``."""

    seconds: float


@attrs.frozen
class Status:
    """Answer with HTTP ``code`` and a JSON ``body`` instead of a stream, after ``delay``."""

    code: int
    body: Any = None
    headers: dict[str, str] = attrs.Factory(dict)
    delay: float = 0.0  # seconds of silence before the response starts


Reply = Status | list[dict[str, Any] | bytes | Pause]


@attrs.define
class FakeLlm:
    """The running server, its script and what it saw."""

    url: str = ""
    replies: list[Reply] = attrs.Factory(list)
    requests: list[dict[str, Any]] = attrs.Factory(list)
    headers: list[dict[str, str]] = attrs.Factory(list)
    disconnected: trio.Event = attrs.Factory(trio.Event)
    streams_finished: int = 0

    def add(self, *replies: Reply) -> None:
        self.replies.extend(replies)


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None) -> dict[str, Any]:
    """One ``chat.completion.chunk`` with choice 0."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "fake-model",
        "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}],
    }


def text_reply(*pieces: str, finish: str = "stop") -> list[dict[str, Any] | bytes | Pause]:
    """A streamed answer made of ``pieces``, as OpenAI sends it."""
    return [
        chunk({"role": "assistant", "content": ""}),
        *(chunk({"content": piece}) for piece in pieces),
        chunk(finish=finish),
        DONE,
    ]


def split(text: str, parts: int) -> list[str]:
    """``text`` in ``parts`` nearly equal pieces (some may be empty)."""
    size = -(-len(text) // parts) or 1
    return [text[i * size : (i + 1) * size] for i in range(parts)]


def tool_reply(*calls: tuple[str, str, str], parts: int = 3) -> list[Any]:
    """Tool calls ``(id, name, arguments)``, each announced, then arguments in ``parts``
    pieces interleaved across the calls by index, then ``finish_reason: tool_calls``."""
    items: list[Any] = [chunk({"role": "assistant", "content": None})]
    for index, (call_id, name, _) in enumerate(calls):
        head = {"index": index, "id": call_id, "type": "function"}
        items.append(chunk({"tool_calls": [{**head, "function": {"name": name, "arguments": ""}}]}))
    pieces = [split(arguments, parts) for _, _, arguments in calls]
    for round_ in range(parts):
        for index in range(len(calls)):
            fragment = {"index": index, "function": {"arguments": pieces[index][round_]}}
            items.append(chunk({"tool_calls": [fragment]}))
    return [*items, chunk(finish="tool_calls"), DONE]


def _fake_app(fake: FakeLlm) -> QuartTrio:
    app = QuartTrio("fakellm")

    @app.post("/v1/chat/completions")
    async def completions() -> Any:
        fake.requests.append(await request.get_json())
        fake.headers.append({key.lower(): value for key, value in request.headers.items()})
        if not fake.replies:
            return {"error": {"message": "the test scripted no more replies"}}, 500
        reply = fake.replies.pop(0)
        if isinstance(reply, Status):
            await trio.sleep(reply.delay)
            return (
                json.dumps(reply.body),
                reply.code,
                {"Content-Type": "application/json", **reply.headers},
            )
        return _stream(fake, reply), 200, {"Content-Type": "text/event-stream"}

    return app


async def _stream(fake: FakeLlm, items: list[Any]) -> AsyncIterator[bytes]:
    try:
        for item in items:
            if isinstance(item, Pause):
                await trio.sleep(item.seconds)
            else:
                yield item if isinstance(item, bytes) else f"data: {json.dumps(item)}\n\n".encode()
    except BaseException:  # the client went away: hypercorn cancels the body
        fake.disconnected.set()
        raise
    fake.streams_finished += 1


async def start_fake_llm(nursery: trio.Nursery) -> FakeLlm:
    """Serve a :class:`FakeLlm` on 127.0.0.1:0 in ``nursery``; its ``url`` ends in /v1."""
    fake = FakeLlm()
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 0.1
    serve = partial(hypercorn.trio.serve, _fake_app(fake), config)
    binds = await nursery.start(serve)
    fake.url = binds[0] + "/v1"
    return fake
