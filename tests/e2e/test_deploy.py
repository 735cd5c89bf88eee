"""The shipped production shape (deploy/): the systemd units and the container recipe.

The unit files are parsed and their key lines checked here on any machine; where
``systemd-analyze`` exists they are also verified by it (with /opt/wsao pointed at this
checkout, since verify checks that ExecStart's binary exists). The Containerfile is
checked for its health check, user and command, its COPY sources exist, and its
HEALTHCHECK command is run against a live ``python -m app`` and against a closed port;
``hadolint`` lints it where installed. Building the image needs a container engine,
which CI does not have (docs/operations.md says what was tried).
"""

from __future__ import annotations

import configparser
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_browser import ROOT, wait_ready
from tests.support.redisserver import free_port
from wsao_trio.config import process_environment

DEPLOY = ROOT / "deploy"
UNITS = ("wsao.service", "wsao-health.service", "wsao-restart.service", "wsao-health.timer")


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string((DEPLOY / name).read_text())
    return parser


def test_the_service_restarts_always_checks_health_and_raises_the_fd_limit() -> None:
    service = unit("wsao.service")["Service"]
    assert (
        service["Restart"] == "always"
        and unit("wsao.service")["Unit"]["StartLimitIntervalSec"] == "0"
    )
    assert int(service["LimitNOFILE"]) >= 65536
    assert service["ExecStart"].endswith("python -m app")
    assert (
        "/health" in service["ExecStartPost"] and "--retry-connrefused" in service["ExecStartPost"]
    )
    assert service["KillMode"] == "mixed" and service["KillSignal"] == "SIGTERM"
    assert service["EnvironmentFile"] == "/etc/wsao/wsao.env" and service["User"] == "wsao"


def test_the_timer_runs_the_liveness_check_which_restarts_on_failure() -> None:
    health = unit("wsao-health.service")
    assert health["Unit"]["OnFailure"] == "wsao-restart.service"
    assert (
        "/health" in health["Service"]["ExecStart"]
        and "--max-time" in health["Service"]["ExecStart"]
    )
    assert "--fail" not in health["Service"]["ExecStart"]  # any HTTP answer is alive
    assert unit("wsao-restart.service")["Service"]["ExecStart"].endswith("restart wsao.service")
    assert unit("wsao-health.timer")["Timer"]["OnUnitActiveSec"] == "30"


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None or shutil.which("curl") is None,
    reason="systemd-analyze or curl is not installed",
)
def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    for name in UNITS:
        text = (DEPLOY / name).read_text().replace("/opt/wsao/.venv/bin/python", sys.executable)
        text = text.replace("/usr/bin/curl", str(shutil.which("curl")))
        (tmp_path / name).write_text(text.replace("/opt/wsao", str(ROOT)))
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *UNITS],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def containerfile() -> str:
    return (DEPLOY / "Containerfile").read_text()


def healthcheck_argv() -> list[str]:
    match = re.search(r"^\s+CMD (\[.*\])$", containerfile(), re.MULTILINE)
    assert match, "no HEALTHCHECK CMD"
    return list(json.loads(match.group(1)))


def test_the_container_recipe_has_a_health_check_a_user_and_the_app() -> None:
    text = containerfile()
    assert re.search(r"^HEALTHCHECK --interval=\S+ --timeout=\S+", text, re.MULTILINE)
    assert re.search(r"^USER 10001", text, re.MULTILINE)
    assert 'CMD ["python", "-m", "app"]' in text and "EXPOSE 8000" in text
    for line in re.findall(r"^COPY (.+) \S+$", text, re.MULTILINE):
        assert all((ROOT / source).exists() for source in line.split()), line


def test_the_container_health_check_passes_on_a_live_app_and_fails_on_none() -> None:
    port = free_port()
    argv = [a.replace("8000", str(port)) for a in healthcheck_argv()]
    argv[0] = sys.executable
    assert subprocess.run(argv, capture_output=True, timeout=30).returncode != 0
    env = {**process_environment(), "WSAO_DEV_AUTH": "1", "WSAO_BIND": f"127.0.0.1:{port}"}
    app = subprocess.Popen([sys.executable, "-m", "app"], cwd=ROOT, env=env)
    try:
        wait_ready(f"http://127.0.0.1:{port}")
        assert subprocess.run(argv, capture_output=True, timeout=30).returncode == 0
    finally:
        app.kill()
        app.wait()


@pytest.mark.skipif(shutil.which("hadolint") is None, reason="hadolint is not installed")
def test_hadolint_passes_the_containerfile() -> None:
    done = subprocess.run(
        ["hadolint", str(DEPLOY / "Containerfile")], capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stdout
