"""The AG-UI endpoint (protocol v1.2): runs over HTTP with SSE, resumable and stoppable.

- ``POST /agui`` (the default agent) and ``POST /agui/<agent_type>`` take a
  ``RunAgentInput`` and stream the run; the same ``runId`` again joins the run.
- ``GET /agui/runs/<runId>/events`` streams a run from its start, or after
  ``Last-Event-ID``, then live, and ends after its terminal event.
- ``POST /agui/runs/<runId>/stop`` cancels the run (202); an unknown, ended or
  another user's run is 404 alike.

Every route needs ``Authorization: Bearer <jwt>`` (401 otherwise). Bad input gets
a 4xx JSON ``{"error": "..."}``, never a 500. Each stream is served by a task in the
app's nursery, so a client that goes away ends its stream and never the run.
"""

from __future__ import annotations

from collections.abc import Coroutine
from types import MappingProxyType
from typing import Any

from quart import Response, jsonify, request
from quart_trio import QuartTrio
from werkzeug.exceptions import RequestEntityTooLarge

from app.gate import Refusal, authenticate
from app.routes_ws import credentials_for
from app.state import AppState
from wsao_trio.agui import (
    CONTENT_TYPE,
    AguiInputError,
    ResumePoint,
    RunEventStream,
    RunIds,
    RunProjection,
    RunRequest,
    RunTarget,
    parse_last_event_id,
    parse_run_input,
)
from wsao_trio.auth import Claims
from wsao_trio.errors import ClientError, RunNotFound
from wsao_trio.protocol import UserMessage

CLIENT_ERROR_STATUS = MappingProxyType(
    {
        "rate_limited": 429,
        "overloaded": 503,
        "shutting_down": 503,
        "unavailable": 503,
        "run_not_found": 404,
    }
)
STREAM_HEADERS = MappingProxyType({"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def add_agui_routes(app: QuartTrio, state: AppState) -> None:
    """Register the AG-UI routes."""

    @app.post("/agui")
    async def agui_default() -> Any:
        return await _guarded(_post_run(app, state, state.settings.default_agent))

    @app.post("/agui/<agent_type>")
    async def agui_agent(agent_type: str) -> Any:
        return await _guarded(_post_run(app, state, agent_type))

    @app.get("/agui/runs/<run_id>/events")
    async def agui_events(run_id: str) -> Any:
        return await _guarded(_join_run(app, state, run_id))

    @app.post("/agui/runs/<run_id>/stop")
    async def agui_stop(run_id: str) -> Any:
        return await _guarded(_stop_run(state, run_id))


async def _guarded(handler: Coroutine[Any, Any, Any]) -> Any:
    """Run a route body; every refusal it raises becomes a 4xx JSON answer."""
    try:
        return await handler
    except AguiInputError as exc:
        return jsonify(error=exc.message), exc.status
    except ClientError as exc:
        return jsonify(error=exc.message, code=exc.code), CLIENT_ERROR_STATUS.get(exc.code, 422)


def _claims(state: AppState) -> Claims:
    claims = authenticate(
        state.secret, {}, request.headers.get("Authorization", ""), state.settings
    )
    if isinstance(claims, Refusal):
        raise AguiInputError(claims.status, claims.message)
    return claims


async def _body(state: AppState) -> bytes:
    limit = state.settings.agui_max_body_bytes
    too_big = AguiInputError(413, f"the body is over the {limit} byte limit")
    if (request.content_length or 0) > limit:
        raise too_big
    try:
        body: bytes = await request.get_data(cache=False, as_text=False, parse_form_data=False)
    except RequestEntityTooLarge:
        raise too_big from None
    if len(body) > limit:
        raise too_big
    return body


async def _post_run(app: QuartTrio, state: AppState, agent_type: str) -> Response:
    claims = _claims(state)
    run = parse_run_input(await _body(state), max_text_bytes=state.settings.max_frame_bytes)
    resume = parse_last_event_id(request.headers.get("Last-Event-ID"))
    if not state.registry.has_agent(agent_type):
        known = ", ".join(state.registry.agent_types)
        raise AguiInputError(404, f"unknown agent type {agent_type!r}; known: {known}")
    _check_capacity(state, claims.user_id)
    orch = state.require_orchestrator()
    ticket = await orch.accept(claims.user_id, _user_message(run, agent_type))
    orch.start_execution(ticket)
    ids = RunIds(ticket.thread_id, run.run_id)
    ended = ticket.duplicate and ticket.context is None
    return _stream(app, state, claims, RunTarget(ticket.run_id, ids), resume, ended)


def _user_message(run: RunRequest, agent_type: str) -> UserMessage:
    return UserMessage(
        message_id=run.run_id, text=run.text, thread_id=run.thread_id, agent_type=agent_type
    )


async def _join_run(app: QuartTrio, state: AppState, run_id: str) -> Response:
    claims = _claims(state)
    resume = parse_last_event_id(request.headers.get("Last-Event-ID"))
    orch = state.require_orchestrator()
    found = await orch.find_run(claims.user_id, run_id)
    if found is None:
        raise AguiInputError(404, "no such run of yours")
    _check_capacity(state, claims.user_id)
    ours, thread_id = found
    ended = not await orch.run_is_live(claims.user_id, ours)
    target = RunTarget(ours, RunIds(thread_id, run_id))
    return _stream(app, state, claims, target, resume, ended)


async def _stop_run(state: AppState, run_id: str) -> Any:
    claims = _claims(state)
    orch = state.require_orchestrator()
    found = await orch.find_run(claims.user_id, run_id)
    if found is None:
        raise RunNotFound("no such run of yours is running")
    await orch.stop_run(claims.user_id, found[0])
    return jsonify(runId=run_id, stopping=True), 202


def _check_capacity(state: AppState, user_id: str) -> None:
    busy = state.require_orchestrator().capacity_refusal(user_id)
    if busy is not None:
        raise AguiInputError(503, f"try again later: {busy}")


def _stream(
    app: QuartTrio,
    state: AppState,
    claims: Claims,
    target: RunTarget,
    resume: ResumePoint | None,
    ended: bool,
) -> Response:
    stream = RunEventStream(
        state.require_orchestrator(),
        claims.user_id,
        target,
        RunProjection(target.ids, resume),
        ended=ended,
        keepalive=state.settings.agui_keepalive,
        credentials=credentials_for(state, claims),
    )
    app.nursery.start_soon(stream.serve)
    response = Response(stream.chunks(), content_type=CONTENT_TYPE, headers=dict(STREAM_HEADERS))
    response.timeout = None
    return response
