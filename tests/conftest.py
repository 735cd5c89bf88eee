"""Shared fixtures, defined in :mod:`tests.support.live` and made visible to every test here."""

from __future__ import annotations

from tests.support.live import server as server
from tests.support.live import server_factory as server_factory
