"""WebSocket compression is not offered: a deflate bomb has nothing to inflate.

hypercorn always offers wsproto's ``permessage-deflate`` to a client that asks, and
wsproto inflates each received chunk whole before hypercorn's message size limit is
checked: twenty 65 KB frames inflated to 1.4 GB (issue 7). hypercorn has no setting
for this, so :func:`refuse_websocket_compression` swaps the extension hypercorn
builds for one that declines every offer (the handshake then carries no
``Sec-WebSocket-Extensions``, and a client that sends compressed frames anyway gets a
protocol error close). It also saves each browser connection its zlib state. Our
events are short JSON lines; compress at a proxy if bandwidth matters more.
"""

from __future__ import annotations

import hypercorn.protocol.ws_stream as ws_stream
from wsproto.extensions import Extension


class DeclinedDeflate(Extension):
    """``permessage-deflate`` that is never agreed to, so it is never enabled."""

    name = "permessage-deflate"

    def offer(self) -> bool:
        """A server makes no offers of its own."""
        return False

    def accept(self, offer: str) -> None:
        """Decline the client's offer."""
        return None

    def enabled(self) -> bool:
        """Never enabled."""
        return False


def refuse_websocket_compression() -> None:
    """Make hypercorn's WebSocket handshake decline compression (idempotent)."""
    setattr(ws_stream, "PerMessageDeflate", DeclinedDeflate)  # noqa: B010 (a library patch)
