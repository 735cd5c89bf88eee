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
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from wsao_trio.config import process_environment

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
    # Its own session, so that a timeout ends npm, node and the servers node started.
    proc = subprocess.Popen(
        [NPM, "test"],
        cwd=CLIENT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
        pytest.fail(f"npm test took over 300 s:\n{output[-6000:]}")
    assert proc.returncode == 0, output[-6000:]
    assert "# fail 0" in output, output[-3000:]


BROWSER_SCENARIO = """
async () => {
  const { WsaoClient, devToken } = await import("/sdk/index.js");
  const sockets = [];
  class Recorded extends WebSocket {
    constructor(url) { super(url); sockets.push(this); }
  }
  const client = new WsaoClient({
    url: "/ws", token: devToken(location.origin, "browser"), WebSocket: Recorded,
    backoff: { initialMs: 50, maxMs: 200 },
  });
  const seqs = [];
  client.onEvent((e) => { if ("seq" in e) seqs.push(e.seq); });
  const script = "thoughts=20 deltas=2 delay_ms=30";
  const { runId } = await client.send(script, { agentType: "scripted" });
  const thoughts = () => client.state.runs[runId]?.thinking.length ?? 0;
  while (thoughts() < 5) await new Promise((r) => setTimeout(r, 10));
  sockets[0].close();  // the page's socket goes away mid-run: the client reconnects and resumes
  const late = new Promise((r) => setTimeout(() => r({ status: "timed out", text: "" }), 20000));
  const run = await Promise.race([client.wait(runId), late]);
  client.close();
  return { status: run.status, text: run.text, seqs, sockets: sockets.length };
}
"""


@pytest.mark.browser
def test_the_sdk_in_chromium_resumes_after_its_socket_closes(tmp_path: Path) -> None:
    """dist/ as ES modules in Debian's Chromium, the browser's own WebSocket, a drop mid-run."""
    dist = CLIENT_DIR / "dist"
    if not (dist / "index.js").is_file():
        pytest.skip(
            "clients/js/dist is not built: run `npm run build` in clients/js (.ci/run does)"
        )
    playwright = pytest.importorskip("playwright.sync_api")
    with _service() as url, playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"]
        )
        try:
            page = browser.new_page()
            # The SDK's files served on the service's own origin (its Origin check passes);
            # the document is the service's own (a routed one fails Chromium's local
            # network access checks for the WebSocket).
            page.route(f"{url}/sdk/**", lambda route: _serve(route, dist))
            page.goto(f"{url}/health")
            seen = page.evaluate(BROWSER_SCENARIO)
        finally:
            browser.close()
    assert seen["status"] == "completed" and seen["text"] == "chunk 1 chunk 2 "
    # 26 events, or one fewer if the server merged the two deltas (WSAO_DELTA_MAX_DELAY_MS)
    assert seen["seqs"] == list(range(1, len(seen["seqs"]) + 1)), seen
    assert len(seen["seqs"]) in (25, 26) and seen["sockets"] >= 2, seen


def _serve(route: Any, dist: Path) -> None:
    name = route.request.url.split("/sdk/", 1)[1]
    path = dist / name
    if ".." in name or not path.is_file():
        route.fulfill(status=404, body="")
        return
    route.fulfill(status=200, content_type="text/javascript", body=path.read_text("utf-8"))


@contextmanager
def _service() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {k: v for k, v in process_environment().items() if not k.startswith("WSAO_")}
    env.update(WSAO_DEV_AUTH="1", WSAO_BIND=f"127.0.0.1:{port}")
    proc = subprocess.Popen([sys.executable, "-m", "app"], cwd=CLIENT_DIR.parents[1], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while not _healthy(url):
            assert time.monotonic() < deadline, "python -m app did not become ready"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) == 0


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
