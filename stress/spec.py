"""What one load run does: the validated parameters every mode reads."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

import attrs

from stress.scripted import Profile


@attrs.frozen
class Target:
    """A loopback WebSocket endpoint (``ws://127.0.0.1:8000`` → host, port, ``/ws``)."""

    host: str
    port: int
    path: str

    @property
    def http(self) -> str:
        """The server's HTTP base URL."""
        return f"http://{self.host}:{self.port}"


def parse_target(url: str) -> Target:
    """Parse a ``ws://`` URL and refuse anything that is not loopback."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "http"):
        raise ValueError(f"only ws:// (plain, loopback) URLs are accepted, got {url!r}")
    host = parts.hostname or ""
    if host != "localhost":
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(f"the harness loads loopback servers only, not {host!r}")
    if parts.port is None:
        raise ValueError(f"the URL must name a port: {url!r}")
    path = parts.path if parts.path not in ("", "/") else "/ws"
    return Target(host="127.0.0.1" if host == "localhost" else host, port=parts.port, path=path)


@attrs.frozen(kw_only=True)
class LoadSpec:
    """Parameters of one load run.

    ``rate`` is runs per second over all users (open loop: each user sends on a fixed
    schedule); without it every user sends its next run when the previous one ended
    (closed loop, the saturating load). ``duplicate_sends`` is the number of
    connections per user, each sending every message id. ``slow_pct`` percent of users
    send all their runs with ``slow_profile`` and stop reading for ``slow_pause`` s.
    """

    target: Target
    users: int = attrs.field(validator=attrs.validators.ge(1))
    runs_per_user: int = attrs.field(validator=attrs.validators.ge(1))
    profile: Profile = attrs.field(factory=Profile)
    rate: float | None = None
    think_ms: float = 0.0
    disconnect_every: float | None = None
    duplicate_sends: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    slow_pct: float = attrs.field(
        default=0.0, validator=[attrs.validators.ge(0.0), attrs.validators.le(100.0)]
    )
    slow_pause: float = 8.0
    slow_profile: Profile | None = None
    slow_rcvbuf: int = 4096
    duration_limit: float = 300.0
    run_timeout: float = 60.0
    connect_concurrency: int = 64
    ack_interval: float = 1.0
    secret: str | None = None
    server_pid: int | None = None
    seed: int = 1
    tag: str = ""
    alternates: tuple[Target, ...] = ()

    def target_for(self, lineage: int, session: int) -> Target:
        """Where a lineage's ``session``-th connection goes: with ``alternates`` (several
        processes of one service), lineages start on different processes and each
        reconnect moves to the next, as a load balancer would after a process died."""
        targets = (self.target, *self.alternates)
        return targets[(lineage + session) % len(targets)]

    def describe(self) -> dict[str, Any]:
        """JSON-able parameters for the report."""
        out = attrs.asdict(self, recurse=False)
        out["target"] = f"ws://{self.target.host}:{self.target.port}{self.target.path}"
        out["alternates"] = [f"{t.host}:{t.port}" for t in self.alternates]
        out["profile"] = self.profile.text
        out["slow_profile"] = self.slow_profile.text if self.slow_profile else None
        out.pop("secret")
        return out
