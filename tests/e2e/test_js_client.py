"""The ``@wsao/client`` TypeScript SDK (``clients/js``): its own ``node --test`` suite.

``npm test`` compiles ``src/`` and ``test/`` with ``tsc``, then runs the suites: property
tests of the run reducer (fast-check) and live scenarios that start ``python -m app``
themselves (this interpreter: ``CLIENT_TEST_PYTHON``) and cut the socket through a TCP proxy.
``.ci/run`` installs the packages with ``npm ci``; locally the test skips, saying so,
until ``npm ci`` has been run in ``clients/js``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CLIENT_DIR = Path(__file__).resolve().parents[2] / "clients" / "js"
NODE = shutil.which("node")
NPM = shutil.which("npm")
TSC = CLIENT_DIR / "node_modules" / "typescript"


def _node_version() -> tuple[int, ...]:
    if NODE is None:
        return ()
    done = subprocess.run([NODE, "--version"], capture_output=True, text=True, check=False)
    return tuple(int(part) for part in done.stdout.strip().lstrip("v").split(".")[:2])


pytestmark = [
    pytest.mark.skipif(NODE is None or NPM is None, reason="node and npm are not installed"),
    pytest.mark.skipif(
        NODE is not None and _node_version() < (20, 11),
        reason="@wsao/client's suite needs Node >= 20.11 (node --test's timeout flags)",
    ),
    pytest.mark.skipif(
        not TSC.is_dir(),
        reason="@wsao/client's devDependencies are not installed: "
        "run `npm ci` in clients/js (.ci/run does)",
    ),
]


def test_the_node_suite_passes() -> None:
    assert NPM is not None
    env = {**os.environ, "CLIENT_TEST_PYTHON": sys.executable, "NO_COLOR": "1"}
    done = subprocess.run(
        [NPM, "test"], cwd=CLIENT_DIR, env=env, capture_output=True, text=True, timeout=300
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert "# fail 0" in output, output[-3000:]
