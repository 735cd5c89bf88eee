"""The demo service's agent registry: ``assistant``, ``scripted``, ``llm`` and the tools."""

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
from wsao_trio import AgentRegistry
from wsao_trio.config import Settings
from wsao_trio.errors import ConfigError


def build_registry(docs_dir: Path, settings: Settings | None = None) -> AgentRegistry:
    """A registry with agents ``assistant`` and ``scripted`` and every demo tool.

    With ``settings.llm_base_url`` set, the ``llm`` agent too (then the default agent);
    only then is the ``openai`` package (the ``llm`` extra) imported.

    Args:
        docs_dir: the directory of Markdown files the ``search_docs`` tool searches.
        settings: the service's settings; None registers no ``llm`` agent.
    """
    registry = AgentRegistry()
    registry.register_agent("assistant", AssistantAgent())
    registry.register_agent("scripted", ScriptedAgent())
    if settings is not None and settings.llm_base_url:
        _register_llm(registry, settings)
    for tool in (
        calculator_tool(),
        datetime_tool(),
        units_tool(),
        docs_search_tool(docs_dir),
        echo_tool(),
    ):
        registry.register_tool(tool)
    return registry


def _register_llm(registry: AgentRegistry, settings: Settings) -> None:
    try:
        from wsao_trio.llm import LlmAgent
    except ImportError as exc:  # the llm extra is not installed; exc names the pip install
        raise ConfigError(f"WSAO_LLM_BASE_URL is set, but {exc}") from exc
    registry.register_agent("llm", LlmAgent.from_settings(settings))
