"""A closed connection's hypercorn objects are freed at once, not at the next full GC.

hypercorn's per-connection ``TCPServer`` holds its protocol, whose ``send`` is the
server's own bound method: a reference cycle (with the h11 state machine, locks,
events and the socket: 28 objects, about 3.8 KB). Refcounting never frees a cycle,
and with the service's raised GC thresholds (``app.server.tune_gc``) these cycles
outlived their connections until a rare full collection: 2,000 connections opened
and closed left 7.5 MB behind each time (docs/performance.md). :class:`CycleFreeTCPServer`
drops the protocol when the connection's handler returns, which breaks the cycle;
:func:`free_closed_connections` makes hypercorn's trio worker build it.
"""

from __future__ import annotations

import hypercorn.trio.run as trio_run
from hypercorn.trio.tcp_server import TCPServer


class CycleFreeTCPServer(TCPServer):
    """hypercorn's TCPServer, letting go of its protocol once the connection is over."""

    async def run(self) -> None:
        """Serve the connection, then break the server ↔ protocol cycle."""
        try:
            await super().run()
        finally:
            vars(self).pop("protocol", None)
            vars(self).pop("_task_group", None)


def free_closed_connections() -> None:
    """Make hypercorn's trio worker serve connections with :class:`CycleFreeTCPServer`."""
    setattr(trio_run, "TCPServer", CycleFreeTCPServer)  # noqa: B010 (a library patch)
