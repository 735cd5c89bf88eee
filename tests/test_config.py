"""Tests for configuration: defaults, parsing, unknown names and validators.

:func:`load_settings` takes the environment as a mapping, so no test touches
``os.environ``.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsao_trio.config import Settings, load_settings, setting_names
from wsao_trio.errors import ConfigError

FIELDS = attrs.fields_dict(Settings)
INT_FIELDS = sorted(n for n, f in FIELDS.items() if f.type in ("int", int))
FLOAT_FIELDS = sorted(n for n, f in FIELDS.items() if f.type in ("float", float))
NUMBER_FIELDS = INT_FIELDS + FLOAT_FIELDS
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")


def env_name(field: str) -> str:
    return "WSAO_" + field.upper()


def _config_error(env: dict[str, str], *names: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    for name in names:
        assert name in str(info.value), (name, str(info.value))
    return info.value


# --- defaults --------------------------------------------------------------------------


def test_defaults_serve_one_process_and_match_the_contract() -> None:
    settings = load_settings({})
    assert settings == Settings()
    assert settings.bind == "127.0.0.1:8000"
    assert settings.jwt_secret is None and settings.dev_auth is False
    assert settings.max_frame_bytes == 64 * 1024
    assert settings.retention_events >= 1000 and settings.retention_seconds >= 300
    assert settings.dedup_window == 600
    assert settings.orphan_timeout == 60
    assert settings.default_agent == "assistant"


@given(
    st.dictionaries(
        st.text(min_size=1).filter(lambda k: not k.startswith("WSAO_")), st.text(), max_size=8
    )
)
def test_other_variables_are_ignored(env: dict[str, str]) -> None:
    assert load_settings(env) == Settings()


def test_setting_names_cover_every_field() -> None:
    assert setting_names() == sorted(env_name(f) for f in FIELDS)
    assert all(name.startswith("WSAO_") and name.isupper() for name in setting_names())


def test_overrides_win_over_the_environment() -> None:
    settings = load_settings({"WSAO_BATCH_MAX": "7", "WSAO_DEV_AUTH": "1"}, batch_max=9)
    assert settings.batch_max == 9 and settings.dev_auth is True


def test_settings_are_frozen() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        load_settings({}).bind = "0.0.0.0:1"  # type: ignore[misc]


@pytest.mark.parametrize("field", sorted(f for f in FIELDS if FIELDS[f].default is not None))
def test_every_default_round_trips_through_its_variable(field: str) -> None:
    default = getattr(Settings(), field)  # a Factory default (default_agent) resolved
    assert getattr(load_settings({env_name(field): str(default)}), field) == default


# --- the llm agent's settings --------------------------------------------------------

LLM = {"WSAO_LLM_BASE_URL": "http://127.0.0.1:11434/v1", "WSAO_LLM_MODEL": "llama3.2"}


def test_the_llm_agent_becomes_the_default_once_a_base_url_is_set() -> None:
    assert load_settings({}).default_agent == "assistant"
    settings = load_settings(LLM)
    assert settings.default_agent == "llm"
    assert settings.llm_timeout == 60 and settings.llm_max_steps == 8
    assert settings.llm_api_key is None
    assert load_settings({**LLM, "WSAO_DEFAULT_AGENT": "assistant"}).default_agent == "assistant"
    keyed = load_settings({**LLM, "WSAO_LLM_API_KEY": "sk-secret-1"})
    assert keyed.llm_api_key == "sk-secret-1" and "sk-secret-1" not in repr(keyed)


def test_a_base_url_without_a_model_is_refused_naming_both() -> None:
    _config_error({"WSAO_LLM_BASE_URL": LLM["WSAO_LLM_BASE_URL"]}, "WSAO_LLM_MODEL")
    _config_error({**LLM, "WSAO_LLM_MODEL": "  "}, "WSAO_LLM_MODEL", "WSAO_LLM_BASE_URL")


@pytest.mark.parametrize("url", ["localhost:11434/v1", "ftp://x/v1", " http://x/v1", "v1"])
def test_the_base_url_must_be_http(url: str) -> None:
    _config_error({**LLM, "WSAO_LLM_BASE_URL": url}, "WSAO_LLM_BASE_URL")


# --- parsing ---------------------------------------------------------------------------


def _spelling(words: tuple[str, ...]) -> st.SearchStrategy[str]:
    """A word in random case with random surrounding whitespace."""
    case = st.sampled_from(words).flatmap(
        lambda w: st.lists(st.booleans(), min_size=len(w), max_size=len(w)).map(
            lambda up: "".join(c.upper() if u else c for c, u in zip(w, up, strict=True))
        )
    )
    pad = st.sampled_from(["", " ", "\t", "  "])
    return st.tuples(pad, case, pad).map("".join)


@given(_spelling(TRUE_WORDS))
def test_true_spellings(raw: str) -> None:
    assert load_settings({"WSAO_DEV_AUTH": raw}).dev_auth is True


@given(_spelling(FALSE_WORDS))
def test_false_spellings(raw: str) -> None:
    assert load_settings({"WSAO_DEV_AUTH": raw}).dev_auth is False


@given(st.text())
def test_other_booleans_are_rejected_naming_the_variable(raw: str) -> None:
    if raw.strip().lower() in TRUE_WORDS + FALSE_WORDS:
        return
    _config_error({"WSAO_DEV_AUTH": raw}, "WSAO_DEV_AUTH")


@given(st.sampled_from(INT_FIELDS), st.integers(min_value=1, max_value=10**12), st.booleans())
def test_integers_parse(field: str, value: int, padded: bool) -> None:
    raw = f" {value} " if padded else str(value)
    assert getattr(load_settings({env_name(field): raw}), field) == value


@given(st.sampled_from(FLOAT_FIELDS), st.floats(min_value=1e-6, max_value=1e9), st.booleans())
def test_floats_parse(field: str, value: float, exponent: bool) -> None:
    raw = f"{value:e}" if exponent else repr(value)
    assert getattr(load_settings({env_name(field): raw}), field) == float(raw)


@given(st.sampled_from(NUMBER_FIELDS), st.sampled_from(["abc", "", "1.5.2", "one", "0x10", "1,5"]))
def test_unparsable_numbers_name_the_variable(field: str, raw: str) -> None:
    _config_error({env_name(field): raw}, env_name(field))


@pytest.mark.parametrize("field", INT_FIELDS)
def test_integer_fields_reject_fractions(field: str) -> None:
    _config_error({env_name(field): "2.5"}, env_name(field))


@pytest.mark.parametrize("field", ["jwt_secret", "default_agent"])
def test_strings_are_taken_verbatim(field: str) -> None:
    assert getattr(load_settings({env_name(field): " x y "}), field) == " x y "


@pytest.mark.parametrize("level", ["debug", "INFO", "Warning", "ERROR", "critical"])
def test_log_level_accepts_level_names(level: str) -> None:
    assert load_settings({"WSAO_LOG_LEVEL": level}).log_level == level


@pytest.mark.parametrize("level", ["", "chatty", " x y ", "10"])
def test_log_level_rejects_other_values(level: str) -> None:
    _config_error({"WSAO_LOG_LEVEL": level}, "WSAO_LOG_LEVEL")


# --- unknown names ---------------------------------------------------------------------

suffixes = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", max_size=20)


@given(suffixes.filter(lambda s: s.lower() not in FIELDS))
def test_unknown_wsao_names_are_rejected_by_name(suffix: str) -> None:
    error = _config_error({"WSAO_" + suffix: "1"}, "WSAO_" + suffix)
    assert "WSAO_BIND" in str(error)  # it lists the known names


def test_a_typo_is_rejected_even_beside_valid_settings() -> None:
    _config_error({"WSAO_BATCH_MAX": "3", "WSAO_DEDUP_WINDOWS": "5"}, "WSAO_DEDUP_WINDOWS")


# --- validators ------------------------------------------------------------------------

NON_NEGATIVE = ("shutdown_grace", "delta_max_delay_ms")  # 0 means "no grace" / "off"
POSITIVE = sorted(n for n in NUMBER_FIELDS if n not in NON_NEGATIVE)


@given(
    st.sampled_from(POSITIVE),
    st.sampled_from(["0", "-1", "-0.5", "nan", "-inf"]) | st.integers(max_value=0).map(str),
)
def test_non_positive_values_name_the_variable(field: str, raw: str) -> None:
    if field in INT_FIELDS and not raw.lstrip("-").isdigit():
        raw = "0"
    _config_error({env_name(field): raw}, env_name(field))


@pytest.mark.parametrize("raw", ["-0.001", "-5", "nan"])
@pytest.mark.parametrize("name", ["WSAO_SHUTDOWN_GRACE", "WSAO_DELTA_MAX_DELAY_MS"])
def test_non_negative_settings_must_not_be_negative(raw: str, name: str) -> None:
    _config_error({name: raw}, name)


def test_shutdown_grace_may_be_zero() -> None:
    assert load_settings({"WSAO_SHUTDOWN_GRACE": "0"}).shutdown_grace == 0


@pytest.mark.parametrize("field", FLOAT_FIELDS)
def test_nan_durations_are_rejected_directly_too(field: str) -> None:
    with pytest.raises(ConfigError, match=env_name(field)):
        overrides: dict[str, Any] = {field: math.nan}
        Settings(**overrides)


hosts = st.sampled_from(["127.0.0.1", "0.0.0.0", "localhost", "[::1]", "example.org"])


@given(hosts, st.integers(min_value=0, max_value=65535))
def test_good_binds(host: str, port: int) -> None:
    assert load_settings({"WSAO_BIND": f"{host}:{port}"}).bind == f"{host}:{port}"


BAD_BINDS = ["", "localhost", ":8000", "localhost:", "h:65536", "h:-1", "h:+80", "h:80a"]
BAD_BINDS += ["h: 80", "h:²", "h:٣", "h:8O"]


@given(st.sampled_from(BAD_BINDS) | st.text().filter(lambda s: ":" not in s))
def test_bad_binds_name_the_variable(raw: str) -> None:
    _config_error({"WSAO_BIND": raw}, "WSAO_BIND")


@given(st.text())
def test_any_bind_text_is_accepted_or_a_config_error(raw: str) -> None:
    try:
        settings = load_settings({"WSAO_BIND": raw})
    except ConfigError as exc:
        assert "WSAO_BIND" in str(exc)
        return
    host, _, port = settings.bind.rpartition(":")
    assert host and port.isascii() and port.isdigit() and 0 <= int(port) < 65536


@given(st.dictionaries(st.sampled_from(setting_names()), st.text(max_size=12), max_size=5))
def test_any_values_give_settings_or_a_config_error(env: dict[str, str]) -> None:
    try:
        settings: Any = load_settings(env)
    except ConfigError as exc:
        assert any(name in str(exc) for name in env)
        return
    assert isinstance(settings, Settings)
