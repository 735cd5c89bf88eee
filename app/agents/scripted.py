"""The ``scripted`` agent: behaviour set by the message text, for tests and load.

The text is space-separated ``key=value`` pairs (PROTOCOL.md, "Agents every server
offers")::

    thoughts=N   agent_thinking events              (default 1)
    tools=N      calls of the built-in echo tool     (default 1)
    deltas=N     agent_message_delta events          (default 0)
    delay_ms=N   pause after each step               (default 0)
    tool_ms=N    how long each echo call takes       (default 0; an extension)
    tokens=N     paced answer tokens                  (default 0; an extension)
    rate=K       tokens per second                    (default 0: unpaced; an extension)
    fail=1       after the other steps, raise ScriptedFailure → agent_error agent_failed

Steps run in that order: thoughts, tool calls, deltas, tokens. Every pause is a
``trio.sleep`` or ``trio.sleep_until``, so stopping the run cancels it at once.

With ``tokens=N`` the agent first emits one ``agent_thinking`` that states the
schedule, ``"scripted tokens: N at K/s from W"`` (``W``: the wall-clock time, in
seconds since the epoch, of token 0), then streams token ``i`` (0-based), text
``"t{i} "``, as ``agent_message_delta`` at ``start + i/K`` on the monotonic clock —
a schedule, not accumulated sleeps, so a late wake-up is caught up rather than
carried into every later token. A client can therefore split whatever deltas it gets
into tokens and knows each token's emit time, ``W + i/K``, without anything extra in
the text (``stress tokens`` does). ``rate=0`` emits the tokens back to back.
"""

from __future__ import annotations

import time
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs
import trio

if TYPE_CHECKING:
    from wsao_trio import RunContext

MAX_COUNT = 1000
MAX_DELAY_MS = 60_000
MAX_TOKENS = 60_000
MAX_RATE = 1000
KEYS = frozenset({"thoughts", "tools", "deltas", "delay_ms", "tool_ms", "fail", "tokens", "rate"})
LIMITS = MappingProxyType(
    {"delay_ms": MAX_DELAY_MS, "tool_ms": MAX_DELAY_MS, "fail": 1, "tokens": MAX_TOKENS,
     "rate": MAX_RATE}
)  # fmt: skip


class ScriptedFailure(Exception):
    """Raised by the scripted agent when its script says ``fail=1``."""


@attrs.frozen
class Script:
    """A parsed script: how many of each step, the pause between them, and failure."""

    thoughts: int = 1
    tools: int = 1
    deltas: int = 0
    delay_ms: int = 0
    tool_ms: int = 0
    fail: bool = False
    tokens: int = 0
    rate: int = 0


def parse_script(text: str) -> Script:
    """Parse ``"thoughts=2 tools=3 delay_ms=10"`` into a :class:`Script`.

    Raises :class:`ValueError` for an unknown or repeated key, a value that is not a
    whole number, or one outside its range (counts up to 1000, ``delay_ms`` up to
    60000, ``tokens`` up to 60000, ``rate`` up to 1000, ``fail`` 0 or 1).
    """
    values: dict[str, int] = {}
    for token in text.split():
        key, sep, raw = token.partition("=")
        if not sep or key not in KEYS:
            raise ValueError(f"bad script item {token[:40]!r}; expected one of {sorted(KEYS)}=N")
        if key in values:
            raise ValueError(f"script key {key!r} given twice")
        values[key] = _parse_value(key, raw)
    fail = bool(values.pop("fail", 0))
    return Script(**values, fail=fail)


def _parse_value(key: str, raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > len(str(MAX_DELAY_MS)):
        raise ValueError(f"script value {key}={raw!r} is not a whole number")
    value = int(raw)
    limit = LIMITS.get(key, MAX_COUNT)
    if value > limit:
        raise ValueError(f"script value {key}={value} is over its limit {limit}")
    return value


class ScriptedAgent:
    """Plays the script in the message text; see the module docstring."""

    async def run(self, run: RunContext) -> Any:
        """Emit the scripted thoughts, echo calls and deltas, then finish or fail."""
        script = parse_script(run.message)
        for i in range(1, script.thoughts + 1):
            await run.thinking(f"scripted thought {i} of {script.thoughts}")
            await _pause(script)
        for i in range(1, script.tools + 1):
            arguments = {"index": i, "text": f"scripted call {i}"}
            if script.tool_ms:
                arguments["sleep_ms"] = script.tool_ms
            await run.call_tool("echo", arguments)
            await _pause(script)
        for i in range(1, script.deltas + 1):
            await run.delta(f"chunk {i} ")
            await _pause(script)
        if script.tokens:
            await _stream_tokens(run, script)
        if script.fail:
            raise ScriptedFailure("the script asked to fail (fail=1)")
        result = {"thoughts": script.thoughts, "tools": script.tools, "deltas": script.deltas}
        if script.tokens:
            result["tokens"] = script.tokens
        return result


def token_text(index: int) -> str:
    """The text of token ``index`` (0-based) of a ``tokens=N`` stream."""
    return f"t{index} "


def schedule_thought(tokens: int, rate: int, origin: float) -> str:
    """The thought that states a token stream's schedule (see the module docstring)."""
    return f"scripted tokens: {tokens} at {rate}/s from {origin:.6f}"


async def _stream_tokens(run: RunContext, script: Script) -> None:
    start, origin = trio.current_time(), time.time()
    await run.thinking(schedule_thought(script.tokens, script.rate, origin))
    for i in range(script.tokens):
        if script.rate:
            await trio.sleep_until(start + i / script.rate)
        await run.delta(token_text(i))


async def _pause(script: Script) -> None:
    if script.delay_ms:
        await trio.sleep(script.delay_ms / 1000)
