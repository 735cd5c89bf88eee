"""Centralised configuration: the only module that reads the environment.

Every setting has a ``WSAO_*`` variable, a type, a default that serves the embedded
single-process mode, and a validator. :func:`load_settings` reads the environment once
and returns a frozen :class:`Settings`; everything else receives that object. Unknown
``WSAO_*`` names are rejected so a misspelled variable never silently does nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from wsao_trio.errors import ConfigError

SECONDS = 1.0
MINUTES = 60 * SECONDS
KIB = 1024
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:  # also rejects NaN
        raise ConfigError(f"{_env_name(attribute.name)} must be > 0, got {value!r}")


def _non_negative(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value >= 0:  # also rejects NaN
        raise ConfigError(f"{_env_name(attribute.name)} must be >= 0, got {value!r}")


def _bind(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not (port.isascii() and port.isdigit()) or not 0 <= int(port) < 65536:
        raise ConfigError(f"WSAO_BIND must look like HOST:PORT, got {value!r}")


def _log_level(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if value.upper() not in LOG_LEVELS:
        choices = ", ".join(LOG_LEVELS)
        raise ConfigError(f"WSAO_LOG_LEVEL must be one of {choices}, got {value!r}")


def _http_url(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if value and not value.startswith(("http://", "https://")):
        raise ConfigError(
            f"{_env_name(attribute.name)} must be an http:// or https:// URL such as "
            f"http://127.0.0.1:11434/v1, got {value!r}"
        )


def _default_agent(settings: Settings) -> str:
    """``llm`` when a language model is configured, else the rule-based ``assistant``."""
    return "llm" if settings.llm_base_url else "assistant"


def _check_llm(settings: Settings) -> None:
    if settings.llm_base_url and not settings.llm_model.strip():
        raise ConfigError(
            "WSAO_LLM_MODEL must name the model when WSAO_LLM_BASE_URL is set "
            "(for example llama3.2 for Ollama or gpt-4o-mini for OpenAI)"
        )


def _env_name(field: str) -> str:
    return "WSAO_" + field.upper()


@attrs.frozen(kw_only=True)
class Settings:
    """Every tunable of the orchestrator and the app, with defaults for one process.

    Durations are in seconds, sizes in bytes or counts. Build it with
    :func:`load_settings` (from ``WSAO_*`` variables) or directly in tests.
    """

    bind: str = attrs.field(default="127.0.0.1:8000", validator=_bind)
    jwt_secret: str | None = None
    dev_auth: bool = False
    dev_token_ttl: float = attrs.field(default=12 * 60 * MINUTES, validator=_positive)
    max_frame_bytes: int = attrs.field(default=64 * KIB, validator=_positive)
    send_deadline: float = attrs.field(default=5 * SECONDS, validator=_positive)
    delivery_deadline: float = attrs.field(default=5 * SECONDS, validator=_positive)
    connection_buffer: int = attrs.field(default=1024, validator=_positive)
    batch_max: int = attrs.field(default=64, validator=_positive)
    retention_events: int = attrs.field(default=1000, validator=_positive)
    retention_seconds: float = attrs.field(default=5 * MINUTES, validator=_positive)
    dedup_window: float = attrs.field(default=10 * MINUTES, validator=_positive)
    orphan_timeout: float = attrs.field(default=60 * SECONDS, validator=_positive)
    run_timeout: float = attrs.field(default=5 * MINUTES, validator=_positive)
    janitor_interval: float = attrs.field(default=5 * SECONDS, validator=_positive)
    shutdown_grace: float = attrs.field(default=2 * SECONDS, validator=_non_negative)
    max_runs_per_user: int = attrs.field(default=20, validator=_positive)
    max_frames_per_second: float = attrs.field(default=50.0, validator=_positive)
    frame_burst: int = attrs.field(default=100, validator=_positive)
    # a resume frame reads up to the retention from the log (on Redis: a stream read)
    max_resumes_per_second: float = attrs.field(default=1.0, validator=_positive)
    resume_burst: int = attrs.field(default=5, validator=_positive)
    # the ``llm`` agent (issue 10): any OpenAI-compatible Chat Completions endpoint.
    # Declared before default_agent, whose default depends on llm_base_url.
    llm_base_url: str = attrs.field(default="", validator=_http_url)
    llm_model: str = ""
    llm_api_key: str | None = attrs.field(default=None, repr=False)  # a secret
    llm_timeout: float = attrs.field(default=60 * SECONDS, validator=_positive)
    llm_max_steps: int = attrs.field(default=8, validator=_positive)
    llm_system_prompt: str = ""
    default_agent: str = attrs.Factory(_default_agent, takes_self=True)
    log_level: str = attrs.field(default="INFO", validator=_log_level)
    # hardening (issue 7): caps on what a client can make the service hold
    max_token_lifetime: float = attrs.field(default=24 * 60 * MINUTES, validator=_positive)
    allowed_origins: str = ""
    admin_users: str = ""
    max_connections: int = attrs.field(default=10_000, validator=_positive)
    max_connections_per_user: int = attrs.field(default=20, validator=_positive)
    max_running_runs: int = attrs.field(default=2_000, validator=_positive)
    handshake_timeout: float = attrs.field(default=5 * SECONDS, validator=_positive)
    loop_lag_interval: float = attrs.field(default=0.5 * SECONDS, validator=_positive)
    loop_lag_warning: float = attrs.field(default=0.25 * SECONDS, validator=_positive)
    log_quote_chars: int = attrs.field(default=80, validator=_positive)
    tool_threads: int = attrs.field(default=4, validator=_positive)
    max_tool_argument_bytes: int = attrs.field(default=16 * KIB, validator=_positive)
    # AG-UI over SSE (protocol v1.2): a comment line this often while a run is idle,
    # and the largest RunAgentInput accepted (it carries the whole conversation).
    agui_keepalive: float = attrs.field(default=15 * SECONDS, validator=_positive)
    agui_max_body_bytes: int = attrs.field(default=1024 * KIB, validator=_positive)
    # never down (issue 15): a request body must arrive whole within this time
    http_body_timeout: float = attrs.field(default=10 * SECONDS, validator=_positive)
    # token streaming (issue 17): a run's answer deltas merge while the user's earlier
    # events are still on their way, at most this long and this big; 0 ms: never
    delta_max_delay_ms: float = attrs.field(default=20.0, validator=_non_negative)
    delta_max_bytes: int = attrs.field(default=4 * KIB, validator=_positive)
    # an idle connection holds no sender task: it ends after this long with nothing sent
    sender_linger: float = attrs.field(default=2 * SECONDS, validator=_positive)
    # scale-out (contract v1.1): several processes on one Redis
    redis_url: str | None = None
    workers: int = attrs.field(default=1, validator=_positive)
    node_timeout: float = attrs.field(default=10 * SECONDS, validator=_positive)
    redis_retry_timeout: float = attrs.field(default=30 * SECONDS, validator=_positive)
    redis_max_connections: int = attrs.field(default=16, validator=_positive)

    def __attrs_post_init__(self) -> None:
        _check_llm(self)  # the model is required once a base URL is set

    @property
    def origins(self) -> frozenset[str]:
        """``allowed_origins`` as a set (comma-separated; empty means same origin only)."""
        return _csv(self.allowed_origins)

    @property
    def admins(self) -> frozenset[str]:
        """``admin_users`` as a set of user ids (comma-separated)."""
        return _csv(self.admin_users)


def _csv(raw: str) -> frozenset[str]:
    return frozenset(item.strip() for item in raw.split(",") if item.strip())


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected a boolean (1/0, true/false, yes/no, on/off), got {raw!r}")


def _parser_for(field: attrs.Attribute[Any]) -> Callable[[str], Any]:
    kind = field.type
    if kind in ("bool", bool):
        return _parse_bool
    if kind in ("int", int):
        return int
    if kind in ("float", float):
        return float
    return str


def _coerce(fields: Mapping[str, attrs.Attribute[Any]], env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, raw in env.items():
        if not name.startswith("WSAO_"):
            continue
        field_name = name[len("WSAO_") :].lower()
        if field_name not in fields:
            known = ", ".join(sorted(_env_name(f) for f in fields))
            raise ConfigError(f"unknown setting {name}; known settings: {known}")
        try:
            values[field_name] = _parser_for(fields[field_name])(raw)
        except ValueError as exc:
            raise ConfigError(f"{name}: {exc}") from None
    return values


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build :class:`Settings` from ``WSAO_*`` variables (``os.environ`` by default).

    ``overrides`` win over the environment; tests use them instead of touching
    ``os.environ``. Raises :class:`~wsao_trio.errors.ConfigError` naming the variable
    on any unknown name, unparsable value or out-of-range value.
    """
    env = os.environ if environ is None else environ
    fields = attrs.fields_dict(Settings)
    values = _coerce(fields, env)
    values.update(overrides)
    return Settings(**values)


def setting_names() -> list[str]:
    """All recognised ``WSAO_*`` variable names, for docs and error messages."""
    return sorted(_env_name(name) for name in attrs.fields_dict(Settings))


def environ_subset(prefix: str = "WSAO_") -> dict[str, str]:
    """A copy of the environment variables starting with ``prefix``.

    The app and the stress harness use this to pass configuration to child
    processes without reading ``os.environ`` themselves.
    """
    return {k: v for k, v in os.environ.items() if k.startswith(prefix)}


def process_environment() -> dict[str, str]:
    """A copy of the whole process environment, for spawning child processes."""
    return dict(os.environ)
