"""The distribution: a wheel holding ``wsao_trio`` only, installable with the core deps.

Both tests build a real wheel from a copy of this checkout (``pip wheel --no-deps``),
so they are marked ``slow``; CI runs them. The second installs the wheel into a fresh
venv, where pip resolves only trio, trio-websocket and attrs (from its cache, or PyPI),
and runs a plain trio-websocket service there (``tests/support/core_only_service.py``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from wsao_trio.config import process_environment

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "wsao_trio", "app", "stress")
CORE = {"trio", "trio-websocket", "attrs"}

pytestmark = pytest.mark.slow


def _pip(*args: str, timeout: float = 120) -> None:
    env = {**process_environment(), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    command = [sys.executable, "-m", "pip", *args]
    done = subprocess.run(command, env=env, capture_output=True, timeout=timeout)
    assert done.returncode == 0, done.stderr.decode()[-2000:]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a copy of the checkout (app/ and stress/ included in the copy)."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)
    out = tmp_path_factory.mktemp("wheel")
    _pip("wheel", "--no-deps", "-q", "-w", str(out), str(source))
    (built,) = out.glob("wsao_trio-*.whl")
    return built


def test_the_wheel_ships_wsao_trio_only(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = Parser().parsestr(archive.read(_dist_info(names) + "METADATA").decode())
    tops = {name.split("/")[0] for name in names}
    assert tops == {"wsao_trio", _dist_info(names).rstrip("/")}, tops
    assert "wsao_trio/py.typed" in names and "wsao_trio/_service/orchestrator.py" in names
    required = metadata.get_all("Requires-Dist") or []
    core = {r.split(">")[0].split("[")[0].strip() for r in required if "extra ==" not in r}
    assert core == CORE, required
    extras = set(metadata.get_all("Provides-Extra") or [])
    assert {"quart", "jwt", "prometheus", "llm", "dev"} <= extras


def _dist_info(names: list[str]) -> str:
    (top,) = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
    return top + "/"


def test_a_core_only_install_serves_a_plain_trio_websocket_service(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    _pip("--python", str(python), "install", "-q", str(wheel))
    script = ROOT / "tests" / "support" / "core_only_service.py"
    done = subprocess.run(
        [str(python), "-I", str(script)], cwd=tmp_path, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    types = done.stdout.decode().split()
    assert types[:3] == ["connected", "run_accepted", "agent_started"], types
    assert types[-1] == "agent_completed" and "agent_message_delta" in types
