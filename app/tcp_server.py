"""hypercorn's per-connection server, made to end one connection, never the process.

hypercorn's trio worker serves every TCP connection with a ``TCPServer`` task in the
listeners' handler nursery. ``TCPServer.run`` catches only ``OSError``: any other
exception from hypercorn's protocol code, h11, wsproto, Quart or ours escaped into
that nursery and ended the whole service (issue 15: a refused handshake followed by
an early frame, an upgrade with a body, a bad chunk header racing a streamed answer).
:class:`GuardedTCPServer` contains every ``Exception`` a connection raises to that
connection: it is already closed by hypercorn's own ``finally``; the failure is
logged once (one record, with its traceback) and counted in
``wsao_connection_failures_total``. Cancellation and ``KeyboardInterrupt`` still
propagate, so shutdown is unchanged.

It closes the socket even from a task being cancelled (``_close``), and frees the
connection's objects at once: hypercorn's ``TCPServer`` holds its
protocol, whose ``send`` is the server's own bound method, a 28-object reference
cycle (about 3.8 KB) that outlived its connection until a rare full GC under the
service's raised GC thresholds (``app.server.tune_gc``): 2,000 connections opened
and closed left 7.5 MB behind (docs/performance.md). Dropping the protocol when the
connection ends breaks the cycle.

:func:`contain_connection_failures` makes hypercorn's trio worker build this class.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any

import attrs
import hypercorn.trio.run as trio_run
import trio
from hypercorn.events import Closed, Event
from hypercorn.trio.tcp_server import TCPServer
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)
FAILURES_KEY = "wsao.connection_failures"


@attrs.define
class ConnectionFailures:
    """How many connections ended by an exception, by the exception's type."""

    by_type: Counter[str] = attrs.field(factory=Counter)

    def record(self, group: BaseExceptionGroup[Exception]) -> None:
        """Count one failed connection under each distinct exception type it raised."""
        for name in {type(exc).__name__ for exc in _leaves(group)}:
            self.by_type[name] += 1

    @property
    def total(self) -> int:
        """Connections ended by a failure (a connection counts once per type)."""
        return sum(self.by_type.values())


class FailuresCollector(Collector):
    """Exposes :class:`ConnectionFailures` as ``wsao_connection_failures_total``."""

    def __init__(self, failures: ConnectionFailures) -> None:
        self._failures = failures

    def collect(self) -> Iterator[Metric]:
        """One counter family, labelled by exception type."""
        family = CounterMetricFamily(
            "wsao_connection_failures",
            "Connections ended by an exception in the server stack (the process lives on)",
            labels=["exception"],
        )
        for name, count in sorted(self._failures.by_type.items()):
            family.add_metric([name], count)
        yield family


def _leaves(group: BaseExceptionGroup[Exception]) -> Iterator[Exception]:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            yield from _leaves(exc)
        else:
            yield exc


def failures_of(asgi: Any) -> ConnectionFailures | None:
    """The counter of the app hypercorn serves (its ASGI wrapper's ``app``), if any."""
    extensions = getattr(getattr(asgi, "app", None), "extensions", None)
    found = extensions.get(FAILURES_KEY) if isinstance(extensions, dict) else None
    return found if isinstance(found, ConnectionFailures) else None


class GuardedTCPServer(TCPServer):
    """hypercorn's TCPServer: a failure ends its connection only, and the connection's
    objects are freed when it ends."""

    async def run(self) -> None:
        """Serve the connection; contain any ``Exception``; break the protocol cycle."""
        try:
            await super().run()
        except* Exception as group:
            self._contained(group)
        finally:
            vars(self).pop("protocol", None)
            vars(self).pop("_task_group", None)

    async def protocol_send(self, event: Event) -> None:
        """hypercorn's send, where a write that meets the socket being shut by another
        task (``BusyResourceError`` from ``send_eof`` racing ``send_all``: a broken
        chunked body while an answer streams) means what a broken socket means: the
        connection is over. hypercorn catches only Broken/ClosedResourceError there."""
        try:
            await super().protocol_send(event)
        except trio.BusyResourceError:
            await self.protocol.handle(Closed())

    async def _close(self) -> None:
        """Close the socket even when the task that closes it is being cancelled.

        hypercorn closes from whichever task sends ``Closed`` (often the route's
        own, in the middle of being cancelled because its peer left): a cancellation
        at ``send_eof`` skipped the ``aclose`` and left the socket open for good.
        Both steps are non-blocking, so the shield costs no wait.
        """
        with trio.CancelScope(shield=True):
            await super()._close()

    def _contained(self, group: BaseExceptionGroup[Exception]) -> None:
        failures = failures_of(self.app)
        if failures is not None:
            failures.record(group)
        peer = _peer(vars(self).get("protocol"))
        logger.error("connection from %s ended by a failure (contained)", peer, exc_info=group)


def _peer(protocol: Any) -> str:
    """``HOST:PORT`` of the client, as hypercorn parsed it when the connection began
    (the socket is closed by the time a failure is logged)."""
    client = getattr(protocol, "client", None)
    return f"{client[0]}:{client[1]}" if client else "an unknown peer"


def contain_connection_failures() -> None:
    """Make hypercorn's trio worker serve connections with :class:`GuardedTCPServer`."""
    setattr(trio_run, "TCPServer", GuardedTCPServer)  # noqa: B010 (a library patch)
