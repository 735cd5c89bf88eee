"""The layer rules are import-linter contracts (``[tool.importlinter]`` in pyproject.toml).

The suite runs ``lint-imports`` over the tree as it stands, and shows that each kind
of contract does fail: a copy of the three root packages gets one deliberate
violation, and ``lint-imports`` must name the broken contract.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("wsao_trio", "app", "stress")


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    command = [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(cwd / "pyproject.toml")]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_tree_keeps_every_contract() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The three root packages and pyproject.toml, copied."""
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


VIOLATIONS: dict[str, tuple[dict[str, str], str]] = {
    "an import up the layers": (
        {"wsao_trio/_state/bad.py": "from wsao_trio._service.orchestrator import Orchestrator\n"},
        "each layer imports only the layers below it",
    ),
    "trio in the sans-IO state": (
        {"wsao_trio/_state/bad.py": "import trio\n"},
        "never import trio",
    ),
    "an engine picked outside the assembly": (
        {"wsao_trio/_service/bad.py": "from wsao_trio._backplane.memory import MemoryBackplane\n"},
        "Only the assembly imports a backplane engine",
    ),
    "a core module importing an extra": (
        {"wsao_trio/_runs/bad.py": "import wsao_trio.metrics\n"},
        "No core module imports a public extra",
    ),
    "the app reaching into a private layer": (
        {"app/bad.py": "from wsao_trio._runs.tools import Tool\n"},
        "app and stress import only the library's public modules",
    ),
    "a lazy import inside a function": (
        {"wsao_trio/_delivery/bad.py": "def f() -> None:\n    import wsao_trio._runs.notifier\n"},
        "each layer imports only the layers below it",
    ),
    "a circle of two harness modules": (
        {"stress/bad_a.py": "import stress.bad_b\n", "stress/bad_b.py": "import stress.bad_a\n"},
        "No import circles among the modules of any package",
    ),
}


@pytest.mark.parametrize("case", sorted(VIOLATIONS))
def test_a_deliberate_violation_breaks_its_contract(copy: Path, case: str) -> None:
    files, contract = VIOLATIONS[case]
    for path, source in files.items():
        (copy / path).write_text(f'"""A deliberate violation."""\n\n{source}', encoding="utf-8")
    result = _lint(copy)
    assert result.returncode != 0, result.stdout
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(contract in line for line in broken), result.stdout
