"""The README's commands and its library program work as written.

The Python block is a complete program: it is copied out of README.md and run in a
fresh interpreter, and what it prints is checked line by line. The shell blocks must
at least parse, and the test command must work for root without sudo and for a user
with sudo, after fetching package lists.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from wsao_trio.config import process_environment

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
EXPECTED = [
    "connected",
    "run_accepted",
    "agent_started",
    "agent_thinking",
    "tool_executing",
    "tool_completed",
    "agent_message_delta",
    "agent_completed",
    "Hello, Ada!",
]


def blocks(language: str) -> list[str]:
    """The fenced code blocks of README.md in ``language``, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```$", README, re.MULTILINE | re.DOTALL)


def test_the_library_program_runs_as_written(tmp_path: Path) -> None:
    (program,) = blocks("python")
    script = tmp_path / "hello_wsao.py"
    script.write_text(program, encoding="utf-8")
    env = {**process_environment(), "PYTHONPATH": str(ROOT)}  # this checkout's wsao_trio
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().splitlines() == EXPECTED
    assert done.stderr == b""


def test_the_readme_describes_what_the_program_prints() -> None:
    described = ", ".join(f"`{line}`" for line in EXPECTED)
    assert described in " ".join(README.split())


def test_every_shell_block_parses() -> None:
    for block in blocks("bash"):
        done = subprocess.run(["bash", "-n"], input=block.encode(), capture_output=True)
        assert done.returncode == 0, (block, done.stderr.decode())


def test_the_test_command_needs_no_sudo_as_root_and_updates_first() -> None:
    (command,) = [b for b in blocks("bash") if "pytest" in b]
    assert command.count("\n") == 1, "one line to copy"
    assert command.startswith('S=$([ "$(id -u)" = 0 ] || echo sudo); ')
    assert not re.search(r"(^|[;&|(]\s*)sudo\b", command), "sudo only through $S"
    update = command.index("$S apt-get update")
    install = command.index("$S apt-get install")
    assert update < install < command.index("pytest")
    for package in ("chromium", "redis-server", "python3-venv"):
        assert package in command[install:].split("&&")[0]
