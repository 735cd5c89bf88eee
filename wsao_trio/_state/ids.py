"""Ids: one source of fresh random ids for runs, threads, tool calls and connections."""

from __future__ import annotations

import uuid


def new_id() -> str:
    """A fresh random id (run, thread, tool call, event and connection ids).

    128 random bits as 32 hex digits: unique without coordination across processes,
    so two nodes of a Redis service never mint the same run id.
    """
    return uuid.uuid4().hex
