"""``wsao_trio.client``: the Python client, with the delivery guarantee to the last hop.

``async with open_client("ws://host/ws", token=...) as client:`` — then
``await client.send(text)``, ``client.events()`` (each of the user's events once, in
order, across reconnects), ``await client.stop(run_id)``, ``client.runs`` (each run's
view, :class:`RunView`). The sans-IO parts (the cursor, the outbox, the run reducer)
are importable on their own. Needs only the core dependencies (trio, trio-websocket).
"""

from wsao_trio.client.connection import (
    Backoff as Backoff,
)
from wsao_trio.client.connection import (
    ClientClosed as ClientClosed,
)
from wsao_trio.client.connection import (
    ClientError as ClientError,
)
from wsao_trio.client.connection import (
    WsaoClient as WsaoClient,
)
from wsao_trio.client.connection import (
    open_client as open_client,
)
from wsao_trio.client.connection import (
    token_expiry as token_expiry,
)
from wsao_trio.client.cursor import Accepted as Accepted
from wsao_trio.client.cursor import Cursor as Cursor
from wsao_trio.client.cursor import Outbox as Outbox
from wsao_trio.client.reducer import RunView as RunView
from wsao_trio.client.reducer import ToolCall as ToolCall
from wsao_trio.client.reducer import fold_runs as fold_runs
from wsao_trio.client.reducer import reduce_run as reduce_run

__all__ = [
    "Accepted",
    "Backoff",
    "ClientClosed",
    "ClientError",
    "Cursor",
    "Outbox",
    "RunView",
    "ToolCall",
    "WsaoClient",
    "fold_runs",
    "open_client",
    "reduce_run",
    "token_expiry",
]
