"""The demo agents that ship with the wsao_trio service, and the registry holding them."""

from app.agents.registry import build_registry as build_registry

__all__ = ["build_registry"]
