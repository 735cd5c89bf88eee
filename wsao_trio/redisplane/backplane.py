"""RedisBackplane: the event store and fan-out of a service spread over processes.

Per user, Redis holds the log (a capped stream), ``seq``/``epoch``, the dedup keys,
the running runs and which processes hold the user's connections (presence). One Lua
script per event assigns the seq, appends and publishes it to those processes'
channels; each process hands events to its hub in seq order (:mod:`.feeds`). The
upkeep (:mod:`.upkeep`) renews this process's lease, refreshes presence, fills gaps
a lost pub/sub message left, and ends the runs of processes that died.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, Protocol

import trio

from wsao_trio.backplane import Claim, Stored, View
from wsao_trio.config import Settings
from wsao_trio.connections import ConnectionHub
from wsao_trio.context import new_id
from wsao_trio.errors import RunFinished
from wsao_trio.eventlog import EventDraft, LoggedEvent, Replay, event_of, gap_for
from wsao_trio.redisplane.batcher import EventBatcher, ScriptBatcher
from wsao_trio.redisplane.cursor import Cursor
from wsao_trio.redisplane.feeds import Feed, FeedSet
from wsao_trio.redisplane.keys import Keys
from wsao_trio.redisplane.store import Store
from wsao_trio.redisplane.wire import SEP, EventPieces, FanoutEvent, split_event, stop_message


class RunHost(Protocol):
    """What the backplane needs from its orchestrator."""

    def stop_requested(self, user_id: str, run_id: str, reason: str) -> bool:
        """Stop a run of this process for another process; False if it is not here."""
        ...

    def run_users(self) -> Iterable[str]:
        """Users with a run in this process."""
        ...


class RedisBackplane:
    """The :class:`~wsao_trio.backplane.Backplane` of one process of a Redis service."""

    kind = "redis"

    def __init__(self, hub: ConnectionHub, settings: Settings, clock: Callable[[], float]) -> None:
        assert settings.redis_url is not None
        self.settings = settings
        self.node = new_id()[:16]
        self.keys = Keys()
        self.store = Store(
            settings.redis_url, settings.redis_retry_timeout, settings.redis_max_connections
        )
        # Events in one queue (their order is the users' order), everything else in
        # another: an attach, a claim or an ack never waits behind a queue of events.
        common = SEP.join((self.keys.prefix, self.node, str(settings.retention_events)))
        common += SEP + str(self.ttl)
        call_key = partial(self.keys.publish_call, self.node)
        self.events = EventBatcher(self.store, self.store.publish_events, common, call_key)
        self.control = ScriptBatcher(self.store)
        self.hub = hub
        self.feeds = FeedSet(hub, self._read_range)
        self.clock = clock
        self.present_remote: set[str] = set()
        self.nodes_alive: list[str] = []
        self.host: RunHost | None = None
        self._epochs = itertools.count(1)

    @property
    def available(self) -> bool:
        """False while Redis cannot be reached."""
        return self.store.available

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

    # -- events -------------------------------------------------------------------------

    def publish(self, user_id: str, draft: EventDraft) -> Stored:
        """Queue the event's publish script: it assigns the seq in Redis, appends to
        the stream and fans out to the user's other nodes. Answered a round trip later."""
        return self._submit_event(self.node, user_id, draft)

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
        now = self.clock()
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
                self.feeds.offer(FanoutEvent(user_id, epoch, seq, now, event.text))
                stored.settle(event)

        self.events.submit(packed, deliver)
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
        return f"{self.node}{next(self._epochs):x}"

    async def _read_range(self, user_id: str, first: int, last: int) -> Sequence[LoggedEvent]:
        """Held events with ``first <= seq <= last``, oldest first, within the age bound."""
        key = self.keys.log(user_id)
        entries = await self.store.call(
            lambda: self.store.client.xrange(key, f"{first}-1", f"{last}-1")
        )
        cutoff = self.clock() - self.settings.retention_seconds
        held = (_logged(e.identifier, e.field_values) for e in entries)
        return [event for event in held if event.timestamp >= cutoff]

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
        feed = self.feeds.feeds.get(user_id)
        if feed is None:
            feed = self.feeds.feeds[user_id] = Feed(user_id)
        async with feed.lock:
            try:
                stored = await self._start_feed(user_id)
            except BaseException:
                if feed.cursor is None:
                    self.feeds.feeds.pop(user_id, None)
                raise
            await self.feeds.catch_up(feed, stored)
        return feed

    async def _start_feed(self, user_id: str) -> Cursor:
        """Mark this node present for the user, then read the log's epoch and seq."""
        k = self.keys
        keys = [k.meta(user_id), k.log(user_id), k.presence(user_id)]
        until = repr(self.clock() + self.presence_ttl)
        args = [self._epoch_candidate(), str(self.ttl), self.node, until]
        args.append(str(int(self.presence_ttl)))
        result: Any = await self.control.call(self.store.ensure_epoch, keys, args)
        return Cursor(str(result[0]), int(result[1]))

    async def _replay(
        self, user_id: str, cursor: Cursor, after_seq: int, epoch: str | None
    ) -> Replay:
        """Read only what was missed when that is all held; everything held after a gap."""
        if gap_for(after_seq, epoch, cursor.epoch, cursor.seq, after_seq + 1) is None:
            wanted = await self._read_range(user_id, after_seq + 1, cursor.seq)
            complete = len(wanted) == cursor.seq - after_seq
            if complete and (not wanted or wanted[0].seq == after_seq + 1):
                return Replay(None, tuple(wanted))
        held = await self._read_range(user_id, 1, cursor.seq)
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
        feed = self.feeds.feeds.get(user_id)
        if feed is None or feed.cursor is None:
            return 0
        feed.acked = max(feed.acked, min(seq, feed.cursor.seq))
        self.hub.mark_delivered(user_id, feed.acked)
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
        keys = [self.keys.meta(user_id), self.keys.user_runs(user_id)]
        args = [str(sent), self.node, self.keys.prefix, user_id]
        self.control.submit(self.store.ack, keys, args, written)

    def present_elsewhere(self, user_id: str) -> bool:
        """Another live process held a connection of the user at the last upkeep."""
        return user_id in self.present_remote

    # -- runs ---------------------------------------------------------------------------

    async def claim_run(
        self, user_id: str, message_id: str, ids: tuple[str, str], limit: int, agent_type: str
    ) -> Claim:
        """Claim the message id for a new run of this node, or name the existing run.

        The node's run table records who and what the run is, so that if this node
        dies, the node that ends the run can still say so in the user's log.
        """
        k = self.keys
        keys = [k.message(user_id, message_id), k.user_runs(user_id), k.node_runs(self.node)]
        window_ms = str(int(self.settings.dedup_window * 1000))
        owner = f"{user_id} {ids[1]} {agent_type} {message_id}"
        args = [" ".join(ids), window_ms, str(limit), ids[0], self.node, owner, k.prefix]
        result: Any = await self.control.call(self.store.claim_run, keys, args)
        if result[0] == "duplicate":
            run_id, _, thread_id = str(result[1]).partition(" ")
            return Claim(existing=(run_id, thread_id))
        return Claim(limited=result[0] == "limited")

    async def stop_elsewhere(self, user_id: str, run_id: str, reason: str) -> bool:
        """Send a stop to the node that owns the user's run; False if it has none."""
        key = self.keys.user_runs(user_id)
        owner = await self.store.call(lambda: self.store.client.hget(key, run_id))
        if owner is None or owner == self.node:
            return False
        channel = self.keys.channel(owner)
        message = stop_message(user_id, run_id, reason)
        await self.store.call(lambda: self.store.client.publish(channel, message))
        return True

    async def find_claim(self, user_id: str, message_id: str) -> tuple[str, str] | None:
        """The run a message id claimed on any node (its dedup key), within the window."""
        key = self.keys.message(user_id, message_id)
        value = await self.store.call(lambda: self.store.client.get(key))
        if value is None:
            return None
        run_id, _, thread_id = str(value).partition(" ")
        return run_id, thread_id

    async def running_elsewhere(self, user_id: str, run_id: str) -> bool:
        """Whether a node other than this one holds the user's run."""
        key = self.keys.user_runs(user_id)
        owner = await self.store.call(lambda: self.store.client.hget(key, run_id))
        return owner is not None and owner != self.node

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
            "node": self.node,
            "nodes": list(self.nodes_alive),
            "available": self.available,
            "feeds": len(self.feeds.feeds),
            "gap_fills": self.feeds.gap_fills,
            "publish_calls": self.events.batches,
            "control_calls": self.control.batches,
            **self.store.figures(),
        }

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect, subscribe, take the lease, then keep everything up until cancelled."""
        from wsao_trio.redisplane.upkeep import Upkeep

        async with self.store.client:
            await Upkeep(self).run(task_status=task_status)


def _logged(identifier: str | bytes, fields: Any) -> LoggedEvent:
    seq = int(str(identifier).partition("-")[0])
    return LoggedEvent(seq, float(fields["t"]), str(fields["x"]))


def wall_clock() -> float:
    """The clock the Redis backplane stamps events with."""
    return time.time()
