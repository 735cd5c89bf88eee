"""AG-UI request bodies and headers, validated, sans-IO.

:func:`parse_run_input` turns the body of ``POST /agui`` into the run to start or
join, validated with the ``ag-ui-protocol`` models; anything wrong raises
:class:`AguiInputError` with the HTTP status and a message that names the field.
What the service does not use (``tools``, ``state``, ``context``,
``forwardedProps``) is accepted and ignored: the agent's tools are the server's.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import pydantic
from ag_ui.core import RunAgentInput, TextPart, UserMessage

from wsao_trio.agui.projection import ResumePoint
from wsao_trio.protocol import MAX_ID_LENGTH

MAX_ERRORS_SHOWN = 3
MAX_MESSAGE_CHARS = 600


class AguiInputError(Exception):
    """A request the AG-UI endpoint refuses: ``status`` (4xx) and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@attrs.frozen
class RunRequest:
    """What a valid ``RunAgentInput`` asks for: the AG-UI ids and the text to answer.

    ``run_id`` is the idempotency key (our ``message_id``): the same ``runId`` posted
    again joins the run it started.
    """

    thread_id: str
    run_id: str
    text: str


def parse_run_input(body: bytes, *, max_text_bytes: int) -> RunRequest:
    """Validate a ``POST /agui`` body; AguiInputError (400 or 422) says what is wrong."""
    data = _json_object(body)
    try:
        run_input = RunAgentInput.model_validate(data)
    except pydantic.ValidationError as exc:
        raise AguiInputError(422, f"invalid RunAgentInput: {describe_errors(exc)}") from None
    _check_id("threadId", run_input.thread_id)
    _check_id("runId", run_input.run_id)
    text = last_user_text(run_input)
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_text_bytes:
        raise AguiInputError(
            422, f"the last user message is {size} bytes, over the {max_text_bytes} byte limit"
        )
    return RunRequest(run_input.thread_id, run_input.run_id, text)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise AguiInputError(400, "the body is not JSON; send an AG-UI RunAgentInput") from None
    if not isinstance(data, dict):
        raise AguiInputError(400, "the body must be a JSON object (an AG-UI RunAgentInput)")
    return data


def describe_errors(exc: pydantic.ValidationError) -> str:
    """Pydantic's errors as ``field.path: message`` items, the first few of them."""
    items = []
    for error in exc.errors()[:MAX_ERRORS_SHOWN]:
        where = ".".join(str(part) for part in error["loc"]) or "body"
        items.append(f"{where}: {error['msg']}")
    more = len(exc.errors()) - MAX_ERRORS_SHOWN
    text = "; ".join(items) + (f" (and {more} more)" if more > 0 else "")
    return text[:MAX_MESSAGE_CHARS]


def _check_id(field: str, value: str) -> None:
    if not value.strip():
        raise AguiInputError(422, f"field '{field}' must not be empty")
    if len(value) > MAX_ID_LENGTH:
        raise AguiInputError(422, f"field '{field}' must be at most {MAX_ID_LENGTH} characters")


def last_user_text(run_input: RunAgentInput) -> str:
    """The text of the last user message (its text parts joined); AguiInputError if none."""
    users = [m for m in run_input.messages if isinstance(m, UserMessage)]
    if not users:
        raise AguiInputError(422, "field 'messages' holds no user message to answer")
    content = users[-1].content
    if isinstance(content, str):
        text = content
    else:
        text = "".join(part.text for part in content if isinstance(part, TextPart))
    if not text.strip():
        raise AguiInputError(422, "the last user message has no text")
    return text


def parse_last_event_id(raw: str | None) -> ResumePoint | None:
    """The ``Last-Event-ID`` header as a resume point; AguiInputError 400 if malformed."""
    if raw is None or not raw.strip():
        return None
    try:
        return ResumePoint.parse(raw)
    except ValueError as exc:
        raise AguiInputError(400, str(exc)) from None
