"""NodeState: what one process of a Redis service is, as one record.

The plane (:mod:`.backplane`, the calls the orchestrator makes) and its upkeep
(:mod:`.upkeep`, the background tasks) are both built from this record and share it:
the node id, keys, the store and its two batchers, the feeds of connected users, and
what the upkeep learns of the cluster (live nodes, users present elsewhere). Neither
side reaches into the other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from wsao_trio._backplane.base import RunHost
from wsao_trio._backplane.redis.batcher import EventBatcher, ScriptBatcher
from wsao_trio._backplane.redis.feeds import FeedSet
from wsao_trio._backplane.redis.keys import Keys
from wsao_trio._backplane.redis.store import Store
from wsao_trio._backplane.redis.wire import SEP
from wsao_trio._delivery.connections import ConnectionHub
from wsao_trio._state.eventlog import LoggedEvent
from wsao_trio._state.ids import new_id
from wsao_trio.config import Settings


def _node_id() -> str:
    return new_id()[:16]


@attrs.define(eq=False)
class NodeState:
    """The state of this process's node that the plane and the upkeep share."""

    settings: Settings
    hub: ConnectionHub
    clock: Callable[[], float]
    host: RunHost | None = None
    node: str = attrs.field(factory=_node_id)
    keys: Keys = attrs.field(factory=Keys)
    present_remote: set[str] = attrs.field(factory=set)
    nodes_alive: list[str] = attrs.field(factory=list)
    store: Store = attrs.field(init=False)
    events: EventBatcher = attrs.field(init=False)
    control: ScriptBatcher = attrs.field(init=False)
    feeds: FeedSet = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        settings = self.settings
        assert settings.redis_url is not None
        self.store = Store(
            settings.redis_url, settings.redis_retry_timeout, settings.redis_max_connections
        )
        # Events in one queue (their order is the users' order), everything else in
        # another: an attach, a claim or an ack never waits behind a queue of events.
        common = SEP.join((self.keys.prefix, self.node, str(settings.retention_events)))
        common += SEP + str(self.ttl)
        call_key = self._publish_call_key
        self.events = EventBatcher(self.store, self.store.publish_events, common, call_key)
        self.control = ScriptBatcher(self.store)
        self.feeds = FeedSet(self.hub, self.read_range)

    def _publish_call_key(self, number: int) -> str:
        return self.keys.publish_call(self.node, number)

    @property
    def ttl(self) -> int:
        """Seconds an idle user's log and meta live in Redis (renewed by each run's
        start and end, so never shorter than a run may last)."""
        longest = max(self.settings.retention_seconds, self.settings.run_timeout)
        return int(longest) + 60

    @property
    def presence_ttl(self) -> float:
        """How long a presence entry of this node counts without a refresh."""
        return self.settings.node_timeout * 3

    async def read_range(self, user_id: str, first: int, last: int) -> Sequence[LoggedEvent]:
        """Held events with ``first <= seq <= last``, oldest first, within the age bound."""
        key = self.keys.log(user_id)
        entries = await self.store.call(
            lambda: self.store.client.xrange(key, f"{first}-1", f"{last}-1")
        )
        cutoff = self.clock() - self.settings.retention_seconds
        held = (_logged(e.identifier, e.field_values) for e in entries)
        return [event for event in held if event.timestamp >= cutoff]


def _logged(identifier: str | bytes, fields: Any) -> LoggedEvent:
    seq = int(str(identifier).partition("-")[0])
    return LoggedEvent(seq, float(fields["t"]), str(fields["x"]))
