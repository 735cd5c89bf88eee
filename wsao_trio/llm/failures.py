"""What went wrong with the language model service, in words its user understands.

Every failure of a request to the model becomes :class:`~wsao_trio.errors.AgentFailure`,
so the run ends with ``agent_error`` carrying one of these codes (docs/protocol.md):

=======================  ==========================================================
``llm_auth``             HTTP 401/403: the API key was refused
``llm_model_not_found``  HTTP 404: no such model (or a base URL without ``/v1``)
``llm_rate_limited``     HTTP 429: over the service's rate limit or quota
``llm_bad_request``      another 4xx: the service refused the request
``llm_server_error``     HTTP 5xx: the service failed
``llm_timeout``          no response, or a stream that stalled, for ``timeout`` s
``llm_unreachable``      no connection, or it dropped mid-answer
``llm_stream_error``     the service reported an error in the middle of the stream
``llm_bad_stream``       the stream could not be read (bad JSON, wrong shape, cut short)
``llm_step_limit``       the model still called tools after the step limit
=======================  ==========================================================
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import openai

from wsao_trio.errors import AgentFailure
from wsao_trio.llm.chunks import MalformedStream

DETAIL_CHARS = 300


def _detail(exc: openai.APIError) -> str:
    """The service's own message, whitespace folded and shortened, or ``""``."""
    body: Any = exc.body
    message = body.get("message") if isinstance(body, dict) else body
    if not isinstance(message, str) or not message.strip() or message.lstrip()[:1] == "<":
        return ""  # nothing, or an HTML error page
    text = " ".join(message.split())
    return text if len(text) <= DETAIL_CHARS else text[:DETAIL_CHARS] + "…"


def _retry_hint(exc: openai.APIStatusError) -> str:
    after = exc.response.headers.get("retry-after", "")
    return f"; it asks to retry after {after} s" if after.isdigit() else ""


def status_failure(exc: openai.APIStatusError, model: str) -> AgentFailure:
    """The failure for an HTTP error status from the service."""
    status = exc.status_code
    detail = _detail(exc)
    said = f": {detail}" if detail else ""
    if status in (401, 403):  # not quoted: OpenAI's message repeats part of the key
        return AgentFailure(
            "llm_auth",
            f"The language model service refused this server's credentials (HTTP {status})."
            " The operator should check WSAO_LLM_API_KEY.",
        )
    if status == 404:
        return AgentFailure(
            "llm_model_not_found",
            f"The language model service has no model {model!r} (HTTP 404{said}). The "
            "operator should check WSAO_LLM_MODEL, and that WSAO_LLM_BASE_URL ends in /v1.",
        )
    if status == 429:
        return AgentFailure(
            "llm_rate_limited",
            f"The language model service is over its rate limit (HTTP 429{said}"
            f"{_retry_hint(exc)}). Please try again in a moment.",
        )
    return _other_status(status, said)


def _other_status(status: int, said: str) -> AgentFailure:
    if status >= 500:
        return AgentFailure(
            "llm_server_error",
            f"The language model service failed (HTTP {status}{said}). Please try again later.",
        )
    return AgentFailure(
        "llm_bad_request",
        f"The language model service refused the request (HTTP {status}{said}).",
    )


def explain(exc: Exception, *, model: str, timeout: float) -> AgentFailure | None:
    """The failure ``exc`` stands for, or None when it is not about the model service."""
    if isinstance(exc, openai.APIStatusError):
        return status_failure(exc, model)
    if isinstance(exc, openai.APITimeoutError):
        return AgentFailure(
            "llm_timeout",
            f"The language model service sent nothing for {timeout:g} s, so the request "
            "was given up. Please try again; the operator can raise WSAO_LLM_TIMEOUT.",
        )
    if isinstance(exc, openai.APIConnectionError):
        return AgentFailure(
            "llm_unreachable",
            "Could not reach the language model service, or the connection dropped "
            "mid-answer. Please try again later.",
        )
    return _stream_failure(exc)


def _stream_failure(exc: Exception) -> AgentFailure | None:
    if isinstance(exc, openai.APIError):
        detail = _detail(exc) or exc.message
        return AgentFailure(
            "llm_stream_error",
            f"The language model service reported an error while answering: {detail}",
        )
    if isinstance(exc, MalformedStream | json.JSONDecodeError):
        reason = str(exc) if isinstance(exc, MalformedStream) else f"bad JSON: {exc.msg}"
        return AgentFailure(
            "llm_bad_stream",
            f"The language model service sent an answer this server cannot read ({reason}).",
        )
    return None


@contextmanager
def explained_failures(*, model: str, timeout: float) -> Iterator[None]:
    """Re-raise failures of the model service as :class:`AgentFailure` (chained)."""
    try:
        yield
    except (openai.OpenAIError, MalformedStream, json.JSONDecodeError) as exc:
        failure = explain(exc, model=model, timeout=timeout)
        if failure is None:
            raise
        raise failure from exc
