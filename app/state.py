"""What the routes of one application share."""

from __future__ import annotations

import attrs
from prometheus_client import CollectorRegistry

from app.tcp_server import ConnectionFailures
from wsao_trio import AgentRegistry, Orchestrator
from wsao_trio.config import Settings


@attrs.define
class AppState:
    """What the routes share: settings, the signing secret, and the open orchestrator."""

    settings: Settings
    secret: str | None
    registry: AgentRegistry
    orchestrator: Orchestrator | None = None
    metrics: CollectorRegistry | None = None
    failures: ConnectionFailures = attrs.field(factory=ConnectionFailures)

    def require_orchestrator(self) -> Orchestrator:
        """The orchestrator, once serving has started."""
        if self.orchestrator is None:
            raise RuntimeError("the orchestrator is not open (is the app serving?)")
        return self.orchestrator
