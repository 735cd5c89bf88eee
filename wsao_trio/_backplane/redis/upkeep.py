"""The Redis backplane's background work for one process.

- the subscription to this node's channel (events for its users, stop requests);
- every ``node_timeout / 3``: renew the lease, refresh presence and the TTLs of
  connected users' logs, fill from the stream any tail a lost pub/sub message left,
  drop feeds of users no longer connected here, learn which users other nodes hold;
- every ``node_timeout / 2``: find nodes whose lease expired and end their runs
  (``node_lost``); ``SREM`` on the node set makes exactly one survivor do it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import anyio
import trio
from coredis.tokens import PureToken

from wsao_trio._backplane.redis.cursor import Cursor
from wsao_trio._backplane.redis.node import NodeState
from wsao_trio._backplane.redis.store import FAILURES
from wsao_trio._backplane.redis.wire import AckNotice, FanoutEvent, StopRequest, parse_message
from wsao_trio._state.eventlog import EventDraft
from wsao_trio.errors import Unavailable

PublishAs = Callable[[str, str, EventDraft], Awaitable[bool]]
"""Publish for a dead node's run while it is still that node's (the plane's publish_as)."""

# The logger keeps its documented name (docs/operations.md), whatever the module path.
logger = logging.getLogger("wsao_trio.redisplane.upkeep")
TOUCH_CHUNK = 500
"""Connected users whose presence one script call renews."""
NODE_LOST = "node_lost"
STARTED_MARK = "@started"
NODE_LOST_MESSAGE = "the server running this went away; please send your message again"


class Upkeep:
    """Runs the subscription and the periodic tasks of one node.

    Built from the same :class:`NodeState` as the node's plane, and handed the plane's
    ``publish_as`` to end a dead node's runs with the fence the plane applies.
    """

    def __init__(self, state: NodeState, publish_as: PublishAs) -> None:
        self.state = state
        self.store = state.store
        self.keys = state.keys
        self._publish_as = publish_as

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Subscribe and take the lease, report started, then loop until cancelled."""
        await self.store.call(self.renew_lease)
        async with trio.open_nursery() as nursery:
            await nursery.start(self.subscribe)
            self.state.feeds.nursery = nursery
            nursery.start_soon(self.state.events.run)
            nursery.start_soon(self.state.control.run)
            timeout = self.state.settings.node_timeout
            nursery.start_soon(self._every, timeout / 4, self.keep_alive)
            nursery.start_soon(self._every, timeout / 3, self.refresh)
            nursery.start_soon(self._every, timeout / 2, self.reap)
            task_status.started()

    async def _every(self, interval: float, step: Callable[[], Awaitable[None]]) -> None:
        while True:
            await trio.sleep(interval)
            try:
                await step()
            except (Unavailable, *FAILURES) as exc:
                logger.warning("redis upkeep step failed: %s", exc)
                self.store.available = False

    async def subscribe(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Read this node's channel for the process's lifetime (coredis reconnects)."""
        channel = self.keys.channel(self.state.node)
        client = self.store.client
        try:
            async with client.pubsub(channels=[channel], ignore_subscribe_messages=True) as ps:
                task_status.started()
                async for message in ps:
                    self.handle(str(message["data"]))
        except* anyio.ClosedResourceError:
            pass  # coredis unsubscribes on a connection that cancellation already closed

    def handle(self, data: str) -> None:
        """Deliver an event, honour a stop request, count another process's ack."""
        message = parse_message(data)
        if isinstance(message, FanoutEvent):
            self.state.feeds.offer(message)
        elif isinstance(message, StopRequest) and self.state.host is not None:
            self.state.host.stop_requested(message.user_id, message.run_id, message.reason)
        elif isinstance(message, AckNotice):
            self.state.hub.mark_delivered(message.user_id, message.seq)

    async def renew_lease(self) -> None:
        """Keep this node alive in Redis for another ``node_timeout``."""
        ttl_ms = int(self.state.settings.node_timeout * 1000)
        client = self.store.client
        await client.set(self.keys.lease(self.state.node), "1", px=ttl_ms)
        await client.sadd(self.keys.nodes, [self.state.node])

    async def keep_alive(self) -> None:
        """Probe Redis (health) and renew the lease, on its own short loop."""
        if await self.store.probe():
            await self.store.call(self.renew_lease)

    async def refresh(self) -> None:
        """Presence, tail fills, idle feeds, remote presence: a few pipelined round trips."""
        if not self.store.available:
            return
        feeds = self.state.feeds.feeds
        idle = [u for u, f in feeds.items() if not self.state.hub.is_connected(u)]
        for user_id in idle:
            if not feeds[user_id].lock.locked():
                del feeds[user_id]
        await self.store.pipelined([self._forget(u) for u in idle])
        connected = [u for u in feeds if self.state.hub.is_connected(u)]
        for start in range(0, len(connected), TOUCH_CHUNK):
            await self._touch(connected[start : start + TOUCH_CHUNK])
        await self._learn_remote_presence()

    def _forget(self, user_id: str) -> Callable[[Any], Awaitable[Any]]:
        key, node = self.keys.presence(user_id), self.state.node
        return lambda pipe: pipe.hdel(key, [node])

    async def _touch(self, users: list[str]) -> None:
        """One script call renews the users' presence and TTLs and reads their tails."""
        state, keys = self.state, self.keys
        until = repr(state.clock() + state.presence_ttl)
        args = [state.node, until, str(int(state.presence_ttl) + 1), str(state.ttl)]
        names = [name for u in users for name in (keys.presence(u), keys.meta(u), keys.log(u))]
        held = await state.control.call(self.store.touch_users, names, args)
        for i, user_id in enumerate(users):
            await self._catch_up(user_id, str(held[2 * i]), int(held[2 * i + 1]))

    async def _catch_up(self, user_id: str, epoch: str, last: int) -> None:
        """A lost log restarts the feed; a tail Redis already held at the previous
        refresh (a lost pub/sub message, not one still on its way) is filled."""
        feed = self.state.feeds.feeds.get(user_id)
        if feed is None or feed.cursor is None or feed.lock.locked():
            return
        seen, feed.tail_seen = feed.tail_seen, last
        if epoch == feed.cursor.epoch and min(seen, last) <= feed.cursor.seq:
            return
        async with feed.lock:
            if not epoch:  # Redis lost the log: the next attach starts a new epoch
                self.state.feeds.restart(feed)
            elif epoch != feed.cursor.epoch:
                await self.state.feeds.catch_up(feed, Cursor(epoch, last))
            else:
                await self.state.feeds.fill(feed, min(seen, last))

    async def _learn_remote_presence(self) -> None:
        state = self.state
        users = set(state.host.run_users()) if state.host is not None else set()
        absent = sorted(u for u in users if not state.hub.is_connected(u))
        keys = [self.keys.presence(u) for u in absent]
        entries = await self.store.pipelined([partial(_hgetall, key) for key in keys])
        now = state.clock()
        state.present_remote = {
            user_id
            for user_id, held in zip(absent, entries, strict=True)
            if any(node != state.node and float(until) > now for node, until in held.items())
        }

    async def reap(self) -> None:
        """End the runs of every node whose lease expired, one reaper per dead node.

        The reaper holds a short lock; if it dies midway, another node takes over and
        skips what was already ended (the publish script refuses events of a run its
        node no longer owns). The dead node leaves the set only once all is ended.
        """
        client = self.store.client
        nodes = await self.store.call(partial(client.smembers, self.keys.nodes))
        alive = []
        for node in sorted(nodes):
            if await self.store.call(partial(client.exists, [self.keys.lease(node)])):
                alive.append(node)
            elif await self._take_reaper_lock(node):
                await self.end_runs_of(node)
                await self.store.call(partial(client.srem, self.keys.nodes, [node]))
        self.state.nodes_alive = alive

    async def _take_reaper_lock(self, node: str) -> bool:
        ttl_ms = int(self.state.settings.node_timeout * 1000)
        lock = partial(
            self.store.client.set,
            self.keys.reaper(node),
            self.state.node,
            px=ttl_ms,
            condition=PureToken.NX,
        )
        return bool(await self.store.call(lock))

    async def end_runs_of(self, node: str) -> None:
        """Close every open tool call and run of a dead node with ``node_lost``."""
        client = self.store.client
        runs = await self.store.call(lambda: client.hgetall(self.keys.node_runs(node)))
        logger.warning("node %s is gone; ending its %d runs (node_lost)", node, len(runs))
        self.state.store.stats.reaped_nodes += 1
        async with trio.open_nursery() as nursery:  # runs at once: their events share trips
            for run_id, owner in runs.items():
                nursery.start_soon(self._end_run, node, run_id, *_owner_fields(owner))
        # No DEL of the whole hash: a run claimed after the snapshot above belongs to a
        # node that is alive after all (its lease had lapsed); each ended run's terminal
        # event removed its own field, and Redis drops the hash once it is empty.

    async def _end_run(
        self, node: str, run_id: str, user_id: str, thread_id: str, agent_type: str, message: str
    ) -> None:
        tools = await self.store.call(
            partial(self.store.client.hgetall, self.keys.run_tools(run_id))
        )
        if tools.pop(STARTED_MARK, None) is None:  # died before its first event was out
            started = {"message_id": message, "message": ""}
            await self._publish_lost(node, user_id, run_id, thread_id, agent_type, started)
        error = {"code": NODE_LOST, "message": NODE_LOST_MESSAGE}
        for call_id, name in tools.items():
            payload = {"tool_call_id": call_id, "tool_name": name, "ok": False, "error": error}
            payload["duration_ms"] = 0
            await self._publish_lost(
                node, user_id, run_id, thread_id, agent_type, payload, "tool_completed"
            )
        ended = error | {"duration_ms": 0}
        if await self._publish_lost(
            node, user_id, run_id, thread_id, agent_type, ended, "agent_error"
        ):
            self.state.store.stats.node_lost_runs += 1

    async def _publish_lost(
        self,
        node: str,
        user_id: str,
        run_id: str,
        thread_id: str,
        agent_type: str,
        payload: dict[str, Any],
        kind: str = "agent_started",
    ) -> bool:
        draft = EventDraft(kind, run_id, thread_id, agent_type, payload)
        return await self._publish_as(node, user_id, draft)


def _hgetall(key: str, pipe: Any) -> Any:
    return pipe.hgetall(key)


def _owner_fields(owner: str) -> tuple[str, str, str, str]:
    """``user thread agent_type message_id`` from a node's run table."""
    user_id, _, rest = owner.partition(" ")
    thread_id, _, rest = rest.partition(" ")
    agent_type, _, message_id = rest.partition(" ")
    return user_id, thread_id, agent_type or "unknown", message_id
