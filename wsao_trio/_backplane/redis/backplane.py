"""RedisBackplane: the event store and fan-out of a service spread over processes.

Per user, Redis holds the log (a capped stream), ``seq``/``epoch``, the dedup keys,
the running runs and which processes hold the user's connections (presence). One Lua
script per event assigns the seq, appends and publishes it to those processes'
channels; each process hands events to its hub in seq order (:mod:`.feeds`). The
upkeep (:mod:`.upkeep`) renews this process's lease, refreshes presence, fills gaps
a lost pub/sub message left, and ends the runs of processes that died. The plane and
its upkeep are both built from one :class:`~.node.NodeState` (node id, keys, store,
batchers, feeds, what is known of the cluster) and share it.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import trio

from wsao_trio._backplane.base import Claim, RunHost, Stored, View
from wsao_trio._backplane.redis.cursor import Cursor
from wsao_trio._backplane.redis.feeds import Feed
from wsao_trio._backplane.redis.node import NodeState
from wsao_trio._backplane.redis.upkeep import Upkeep
from wsao_trio._backplane.redis.wire import SEP, EventPieces, FanoutEvent, split_event, stop_message
from wsao_trio._delivery.connections import ConnectionHub
from wsao_trio._state.eventlog import EventDraft, Replay, event_of, gap_for
from wsao_trio.config import Settings
from wsao_trio.errors import RunFinished


class RedisBackplane:
    """The :class:`~wsao_trio._backplane.base.Backplane` of one process of a Redis service."""

    kind = "redis"

    def __init__(
        self,
        hub: ConnectionHub,
        settings: Settings,
        clock: Callable[[], float],
        *,
        host: RunHost | None = None,
    ) -> None:
        self.state = NodeState(settings, hub, clock, host)
        self._epochs = itertools.count(1)

    @property
    def available(self) -> bool:
        """False while Redis cannot be reached."""
        return self.state.store.available

    # -- events -------------------------------------------------------------------------

    def publish(self, user_id: str, draft: EventDraft) -> Stored:
        """Queue the event's publish script: it assigns the seq in Redis, appends to
        the stream and fans out to the user's other nodes. Answered a round trip later."""
        return self._submit_event(self.state.node, user_id, draft)

    async def publish_as(self, owner: str, user_id: str, draft: EventDraft) -> bool:
        """Publish for a dead ``owner``'s run, only while the run is still its (reaper)."""
        try:
            await self._submit_event(owner, user_id, draft).wait()
        except RunFinished:
            return False
        return True

    def _submit_event(self, owner: str, user_id: str, draft: EventDraft) -> Stored:
        """Queue the publish script for ``owner``'s run (the fence refuses a run that is
        no longer ``owner``'s). The stored event reaches this process's connections from
        the pipeline reply, in queue order (Redis sends this process no pub/sub copy)."""
        now = self.state.clock()
        pieces = split_event(draft, now)
        packed = self._packed(user_id, draft, owner, now, pieces)
        stored = Stored()

        def deliver(result: Any) -> None:
            if isinstance(result, Exception):
                stored.settle(None, result)
            elif not int(result[0]):  # the fence: the run is no longer the owner's
                stored.settle(None, RunFinished(f"run {draft.run_id} is not {owner}'s (node_lost)"))
            else:
                seq, epoch = int(result[0]), str(result[1])
                event = event_of(draft, user_id, epoch, seq, now, pieces.join(epoch, seq))
                self.state.feeds.offer(FanoutEvent(user_id, epoch, seq, now, event.text))
                stored.settle(event)

        self.state.events.submit(packed, deliver)
        return stored

    def _packed(
        self, user_id: str, draft: EventDraft, owner: str, now: float, pieces: EventPieces
    ) -> str:
        """The event's argument of the publish script (see ``PUBLISH_EVENTS``)."""
        payload = draft.payload
        call_id = str(payload.get("tool_call_id", "")).replace(SEP, " ")
        tool_name = str(payload.get("tool_name", "")).replace(SEP, " ")
        fields = (user_id, owner, draft.type, draft.run_id, call_id, tool_name, repr(now))
        return SEP.join((*fields, self._epoch_candidate(), pieces.head, pieces.tail))

    def _epoch_candidate(self) -> str:
        """A never-repeating epoch for a log created now (node id + a counter)."""
        return f"{self.state.node}{next(self._epochs):x}"

    # -- connections --------------------------------------------------------------------

    @asynccontextmanager
    async def view(
        self, user_id: str, after_seq: int | None, epoch: str | None
    ) -> AsyncIterator[View]:
        """Hold the user's fan-out at its cursor while a connection attaches and greets."""
        feed = await self._feed(user_id)
        async with feed.lock:
            assert feed.cursor is not None
            cursor = Cursor(feed.cursor.epoch, feed.cursor.seq)
            replay = None
            if after_seq is not None:
                replay = await self._replay(user_id, cursor, after_seq, epoch)
            yield View(cursor.epoch, cursor.seq, replay)

    async def _feed(self, user_id: str) -> Feed:
        """The user's feed, checked against Redis (epoch, seq) on every attach."""
        feed = self.state.feeds.feeds.get(user_id)
        if feed is None:
            feed = self.state.feeds.feeds[user_id] = Feed(user_id)
        async with feed.lock:
            try:
                stored = await self._start_feed(user_id)
            except BaseException:
                if feed.cursor is None:
                    self.state.feeds.feeds.pop(user_id, None)
                raise
            await self.state.feeds.catch_up(feed, stored)
        return feed

    async def _start_feed(self, user_id: str) -> Cursor:
        """Mark this node present for the user, then read the log's epoch and seq."""
        k = self.state.keys
        keys = [k.meta(user_id), k.log(user_id), k.presence(user_id)]
        until = repr(self.state.clock() + self.state.presence_ttl)
        args = [self._epoch_candidate(), str(self.state.ttl), self.state.node, until]
        args.append(str(int(self.state.presence_ttl)))
        result: Any = await self.state.control.call(self.state.store.ensure_epoch, keys, args)
        return Cursor(str(result[0]), int(result[1]))

    async def _replay(
        self, user_id: str, cursor: Cursor, after_seq: int, epoch: str | None
    ) -> Replay:
        """Read only what was missed when that is all held; everything held after a gap."""
        if gap_for(after_seq, epoch, cursor.epoch, cursor.seq, after_seq + 1) is None:
            wanted = await self.state.read_range(user_id, after_seq + 1, cursor.seq)
            complete = len(wanted) == cursor.seq - after_seq
            if complete and (not wanted or wanted[0].seq == after_seq + 1):
                return Replay(None, tuple(wanted))
        held = await self.state.read_range(user_id, 1, cursor.seq)
        oldest = held[0].seq if held else cursor.seq + 1
        gap = gap_for(after_seq, epoch, cursor.epoch, cursor.seq, oldest)
        if gap is None:
            return Replay(None, tuple(e for e in held if e.seq > after_seq))
        return Replay(gap, tuple(held))

    async def ack(self, user_id: str, seq: int) -> int:
        """Record a cumulative ack: at once for this process's delivery waiters, in
        Redis with the next pipeline (one write per user in flight; later acks of the
        user while it is in flight go out together after it)."""
        await trio.lowlevel.checkpoint()
        feed = self.state.feeds.feeds.get(user_id)
        if feed is None or feed.cursor is None:
            return 0
        feed.acked = max(feed.acked, min(seq, feed.cursor.seq))
        self.state.hub.mark_delivered(user_id, feed.acked)
        if not feed.ack_in_flight:
            self._write_ack(feed)
        return feed.acked

    def _write_ack(self, feed: Feed) -> None:
        sent = feed.acked
        feed.ack_in_flight = True

        def written(result: Any) -> None:
            feed.ack_in_flight = False
            if feed.acked > sent and not isinstance(result, Exception):
                self._write_ack(feed)

        user_id = feed.user_id
        keys = [self.state.keys.meta(user_id), self.state.keys.user_runs(user_id)]
        args = [str(sent), self.state.node, self.state.keys.prefix, user_id]
        self.state.control.submit(self.state.store.ack, keys, args, written)

    def present_elsewhere(self, user_id: str) -> bool:
        """Another live process held a connection of the user at the last upkeep."""
        return user_id in self.state.present_remote

    def behind(self, user_id: str) -> bool:
        """A connection of the user here has events its sender has not taken yet (the
        store's own backlog is the notifier's: events not answered yet)."""
        return self.state.hub.behind(user_id)

    # -- runs ---------------------------------------------------------------------------

    async def claim_run(
        self, user_id: str, message_id: str, ids: tuple[str, str], limit: int, agent_type: str
    ) -> Claim:
        """Claim the message id for a new run of this node, or name the existing run.

        The node's run table records who and what the run is, so that if this node
        dies, the node that ends the run can still say so in the user's log.
        """
        k = self.state.keys
        keys = [k.message(user_id, message_id), k.user_runs(user_id), k.node_runs(self.state.node)]
        window_ms = str(int(self.state.settings.dedup_window * 1000))
        owner = f"{user_id} {ids[1]} {agent_type} {message_id}"
        args = [" ".join(ids), window_ms, str(limit), ids[0], self.state.node, owner, k.prefix]
        result: Any = await self.state.control.call(self.state.store.claim_run, keys, args)
        if result[0] == "duplicate":
            run_id, _, thread_id = str(result[1]).partition(" ")
            return Claim(existing=(run_id, thread_id))
        return Claim(limited=result[0] == "limited")

    async def stop_elsewhere(self, user_id: str, run_id: str, reason: str) -> bool:
        """Send a stop to the node that owns the user's run; False if it has none."""
        key = self.state.keys.user_runs(user_id)
        owner = await self.state.store.call(lambda: self.state.store.client.hget(key, run_id))
        if owner is None or owner == self.state.node:
            return False
        channel = self.state.keys.channel(owner)
        message = stop_message(user_id, run_id, reason)
        await self.state.store.call(lambda: self.state.store.client.publish(channel, message))
        return True

    async def find_claim(self, user_id: str, message_id: str) -> tuple[str, str] | None:
        """The run a message id claimed on any node (its dedup key), within the window."""
        key = self.state.keys.message(user_id, message_id)
        value = await self.state.store.call(lambda: self.state.store.client.get(key))
        if value is None:
            return None
        run_id, _, thread_id = str(value).partition(" ")
        return run_id, thread_id

    async def running_elsewhere(self, user_id: str, run_id: str) -> bool:
        """Whether a node other than this one holds the user's run."""
        key = self.state.keys.user_runs(user_id)
        owner = await self.state.store.call(lambda: self.state.store.client.hget(key, run_id))
        return owner is not None and owner != self.state.node

    # -- upkeep and health --------------------------------------------------------------

    def forget_idle(self, keep: Iterable[str]) -> int:
        """Feeds are dropped by the upkeep, which also clears their presence."""
        return 0

    @property
    def held_events(self) -> int:
        """Not counted across Redis per health request (``/health`` stays O(1) in Redis)."""
        return 0

    def health(self) -> dict[str, Any]:
        """Store kind, this node, live nodes, availability and link figures."""
        return {
            "kind": self.kind,
            "node": self.state.node,
            "nodes": list(self.state.nodes_alive),
            "available": self.available,
            "feeds": len(self.state.feeds.feeds),
            "gap_fills": self.state.feeds.gap_fills,
            "publish_calls": self.state.events.batches,
            "control_calls": self.state.control.batches,
            **self.state.store.figures(),
        }

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect, subscribe, take the lease, then keep everything up until cancelled."""
        async with self.state.store.client:
            await Upkeep(self.state, self.publish_as).run(task_status=task_status)


def wall_clock() -> float:
    """The clock the Redis backplane stamps events with."""
    return time.time()
