"""The figures of one ``stress tokens`` load, from its tabs (no I/O).

Per token: latency is receipt (the client's ``time.time()`` when it read the frame that
completed the token) minus the token's due time on the agent's schedule (``W + i/K``,
:mod:`stress.tokencheck`) — so it includes any lateness of the agent itself, not only
delivery. ``event_latency_ms`` is the envelope's ``timestamp`` to receipt, per delta.

Per tab: ``slowdown`` = (last token's receipt - ``W`` + 1/K) / (N/K); the tab's
delivered rate = distinct tokens received / that actual duration. ``delivered`` is
the mean over tabs of delivered rate / K (missing tokens and a slowed stream both
lower it); ``offered_tokens_per_s`` = R x K (tokens the agents produce each second),
``offered_deliveries_per_s`` = R x T x K (tokens the tabs should receive each second).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

import attrs

from stress.report import histogram
from stress.stats import summarize
from stress.tokencheck import TextCheck, compare_tokens, token_latencies
from stress.tokenload import Tab, TokenOutcome

P99_BOUND_MS = 50.0
DELIVERED_BOUND = 0.95
SLOWDOWN_BOUND = 1.1


@attrs.frozen
class TabFigures:
    """One tab's verdict: its text check, slowdown and delivered fraction."""

    check: TextCheck
    slowdown: float | None
    delivered: float
    deltas: int


def tab_figures(tab: Tab, outcome: TokenOutcome) -> TabFigures:
    """The figures of one tab (a tab without a schedule delivered nothing)."""
    spec, schedule = outcome.spec, tab.schedule
    check = compare_tokens(tab.assembler.tokens, spec.tokens)
    deltas = len(tab.event_latencies)
    if schedule is None or not schedule.rate:
        return TabFigures(check, None, 0.0, deltas)
    last = max(tab.assembler.received_at, default=outcome.ended_at)
    if check.missing:
        last = max(last, tab.ended_at or outcome.ended_at)
    actual = max(1e-9, last - schedule.origin + 1 / schedule.rate)
    distinct = check.expected - check.missing
    return TabFigures(check, actual / schedule.nominal, distinct / actual / spec.rate, deltas)


def _text(figures: Sequence[TabFigures]) -> dict[str, int]:
    checks = [f.check for f in figures]
    return {
        "tabs": len(checks),
        "identical": sum(c.identical for c in checks),
        "mismatched": sum(not c.identical for c in checks),
        "missing": sum(c.missing for c in checks),
        "doubled": sum(c.doubled for c in checks),
        "reordered": sum(c.reordered for c in checks),
        "malformed": sum(c.malformed for c in checks),
    }


def _slowdown(figures: Sequence[TabFigures]) -> dict[str, float | None]:
    values = [f.slowdown for f in figures if f.slowdown is not None]
    if not values:
        return {"p50": None, "max": None, "mean": None}
    return {
        "p50": round(statistics.median(values), 4),
        "max": round(max(values), 4),
        "mean": round(statistics.fmean(values), 4),
    }


def _latencies(outcome: TokenOutcome) -> list[float]:
    out: list[float] = []
    for tab in outcome.tabs:
        if tab.schedule is not None:
            out.extend(token_latencies(tab.assembler, tab.schedule))
    return out


def load_figures(outcome: TokenOutcome) -> dict[str, Any]:
    """The JSON-able figures of one load (CPU and memory are added by the shell)."""
    spec, figures = outcome.spec, [tab_figures(t, outcome) for t in outcome.tabs]
    latencies = _latencies(outcome)
    delivered = statistics.fmean([f.delivered for f in figures]) if figures else 0.0
    deltas = sum(f.deltas for f in figures)
    return {
        "users": spec.users, "tabs": spec.tabs, "rate": spec.rate,
        "duration_s": spec.duration, "tokens_per_run": spec.tokens,
        "offered_tokens_per_s": spec.users * spec.rate,
        "offered_deliveries_per_s": spec.users * spec.tabs * spec.rate,
        "delivered_deliveries_per_s": round(delivered * spec.users * spec.tabs * spec.rate, 1),
        "delivered": round(delivered, 4),
        "token_latency_ms": summarize(latencies).as_dict(),
        "token_latency_histogram_ms": histogram(latencies),
        "event_latency_ms": summarize(e for t in outcome.tabs for e in t.event_latencies).as_dict(),
        "tokens_per_delta": round(len(latencies) / max(1, deltas), 3),
        "text": _text(figures), "slowdown": _slowdown(figures),
        **_ends(outcome),
    }  # fmt: skip


def _ends(outcome: TokenOutcome) -> dict[str, Any]:
    terminals: dict[str, int] = {}
    for tab in outcome.tabs:
        key = tab.terminal or tab.error or "none"
        terminals[key] = terminals.get(key, 0) + 1
    return {
        "tabs_by_end": terminals,
        "tabs_without_schedule": sum(t.schedule is None for t in outcome.tabs),
        "connect_failures": outcome.connect_failures,
        "timed_out": outcome.timed_out,
        "elapsed_s": round(outcome.ended_at - outcome.go_at, 3),
    }


def verdict(figures: dict[str, Any]) -> dict[str, bool]:
    """The knee's bounds: p99 < 50 ms, delivered >= 95 %, slowdown <= 1.1, texts identical."""
    slowdown = figures["slowdown"]["max"]
    text = figures["text"]
    return {
        "p99_under_50ms": figures["token_latency_ms"]["p99"] < P99_BOUND_MS,
        "delivered_at_least_95pct": figures["delivered"] >= DELIVERED_BOUND,
        "slowdown_at_most_1.1": slowdown is not None and slowdown <= SLOWDOWN_BOUND,
        "every_text_identical": text["identical"] == text["tabs"] and text["tabs"] > 0,
    }
