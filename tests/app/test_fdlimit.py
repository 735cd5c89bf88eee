"""Start-up raises the soft open-files limit (in a child process, to leave ours alone)."""

from __future__ import annotations

import subprocess
import sys

PROGRAM = """
import logging, resource
from app.fdlimit import raise_fd_limit
logging.basicConfig(level=logging.WARNING)
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))
got = raise_fd_limit(10_000)
print(got, hard)
"""


def test_soft_limit_is_raised_to_the_hard_limit_and_a_low_hard_limit_warns() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=30, check=True
    )
    got, hard = (int(x) for x in done.stdout.split())
    assert got == hard or hard == -1
    if hard < 10_000 + 256:
        assert "open-files limit" in done.stderr
