"""The demo service's agent registry: the ``assistant`` and ``scripted`` agents and tools."""

from __future__ import annotations

from pathlib import Path

from app.agents.assistant import AssistantAgent
from app.agents.scripted import ScriptedAgent
from app.tools import (
    calculator_tool,
    datetime_tool,
    docs_search_tool,
    echo_tool,
    units_tool,
)
from wsao_trio.agents import AgentRegistry


def build_registry(docs_dir: Path) -> AgentRegistry:
    """A registry with agents ``assistant`` and ``scripted`` and every demo tool.

    Args:
        docs_dir: the directory of Markdown files the ``search_docs`` tool searches.
    """
    registry = AgentRegistry()
    registry.register_agent("assistant", AssistantAgent())
    registry.register_agent("scripted", ScriptedAgent())
    for tool in (
        calculator_tool(),
        datetime_tool(),
        units_tool(),
        docs_search_tool(docs_dir),
        echo_tool(),
    ):
        registry.register_tool(tool)
    return registry
