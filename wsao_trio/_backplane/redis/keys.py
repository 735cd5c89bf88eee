"""Sans-IO: the Redis key and channel names of one service (all under a prefix).

A user's keys share the ``{user}`` hash tag, so they live on one Redis Cluster slot.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class Keys:
    """Names of everything the backplane stores, under ``prefix``."""

    prefix: str = "wsao"

    def meta(self, user_id: str) -> str:
        """Hash: the user's ``epoch``, ``seq`` and ``acked``."""
        return f"{self.prefix}:u:{{{user_id}}}:meta"

    def log(self, user_id: str) -> str:
        """Stream: the user's held events, id ``<seq>-1``, fields ``t`` and ``x``."""
        return f"{self.prefix}:u:{{{user_id}}}:log"

    def presence(self, user_id: str) -> str:
        """Hash: node id → until when that node holds a connection of the user."""
        return f"{self.prefix}:u:{{{user_id}}}:presence"

    def user_runs(self, user_id: str) -> str:
        """Hash: run id → owning node, for the user's running runs."""
        return f"{self.prefix}:u:{{{user_id}}}:runs"

    def message(self, user_id: str, message_id: str) -> str:
        """String: ``run_id thread_id`` claimed by a message id (dedup window TTL)."""
        return f"{self.prefix}:u:{{{user_id}}}:msg:{message_id}"

    def node_runs(self, node: str) -> str:
        """Hash: run id → ``user thread agent_type message_id`` of the runs a node owns."""
        return f"{self.prefix}:node:{node}:runs"

    def run_tools(self, run_id: str) -> str:
        """Hash: tool call id → tool name of a run's open tool calls; ``@started`` once
        its ``agent_started`` is out."""
        return f"{self.prefix}:run:{run_id}:tools"

    def publish_call(self, node: str, number: int) -> str:
        """String, 120 s: the reply of a node's publish call ``number`` (retries reuse it)."""
        return f"{self.prefix}:node:{node}:call:{number}"

    def lease(self, node: str) -> str:
        """String with a TTL: the node is alive while it exists."""
        return f"{self.prefix}:node:{node}:lease"

    def reaper(self, node: str) -> str:
        """String with a TTL: which live node is ending a dead node's runs right now."""
        return f"{self.prefix}:node:{node}:reaper"

    @property
    def nodes(self) -> str:
        """Set: every node that has not been declared dead."""
        return f"{self.prefix}:nodes"

    def channel(self, node: str) -> str:
        """Pub/sub channel of a node: events for its users and stop requests."""
        return f"{self.prefix}:node:{node}:ch"
