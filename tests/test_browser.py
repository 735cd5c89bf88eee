"""The chat page in Debian's Chromium, driven by Playwright's sync API.

The server is the real service (`python -m app`) in a subprocess on a free loopback
port; Playwright's sync API runs outside any trio loop, so this test is synchronous.
It saves a screenshot of the page to docs/ for the README.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from wsao_trio.config import process_environment

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser

# Keeps every WebSocket the page opens, so a test can drop one as a network would.
RECORD_SOCKETS = """
window.__sockets = [];
const NativeWebSocket = window.WebSocket;
window.WebSocket = function (...args) {
  const ws = new NativeWebSocket(...args);
  window.__sockets.push(ws);
  return ws;
};
Object.assign(window.WebSocket, NativeWebSocket);
window.WebSocket.prototype = NativeWebSocket.prototype;
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def service_url() -> Iterator[str]:
    port = free_port()
    env = {**process_environment(), "WSAO_DEV_AUTH": "1", "WSAO_BIND": f"127.0.0.1:{port}"}
    proc = subprocess.Popen([sys.executable, "-m", "app"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        yield url
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) == 0


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("service did not become ready")


def sign_in_and_ask(page: Page, url: str) -> None:
    page.goto(url)
    page.fill("#name", "alice")
    page.click("#signin")
    expect(page.locator("#status")).to_have_attribute("data-state", "connected", timeout=10_000)
    page.fill("#message", "What is 17 * 23 + 4?")
    page.click("#send")


def test_chat_page_shows_tools_answer_and_stop(service_url: str) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        sign_in_and_ask(page, service_url)
        run = page.locator(".run[data-state='completed']").first
        expect(run).to_be_visible(timeout=15_000)
        tool = run.locator(".tool[data-tool-name='calculator']")
        expect(tool.locator(".tool-args")).to_contain_text("17 * 23 + 4")
        expect(tool.locator(".tool-result")).to_contain_text("395")
        expect(run.locator(".answer")).to_contain_text("395")
        page.fill("#message", "Think slowly about a long problem")
        page.click("#send")
        running = page.locator(".run[data-state='running']").first
        expect(running.locator(".thinking").first).to_be_visible(timeout=10_000)
        page.screenshot(path=str(ROOT / "docs" / "screenshot-chat.png"), full_page=True)
        running.locator(".stop").click()
        cancelled = page.locator(".run[data-state='cancelled']").first
        expect(cancelled.locator(".cancel-reason")).to_contain_text("user", timeout=10_000)
        browser.close()


def test_dashboard_shows_live_figures(service_url: str) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        chat = browser.new_page()
        sign_in_and_ask(chat, service_url)
        expect(chat.locator(".run[data-state='completed']").first).to_be_visible(timeout=15_000)
        chat.select_option("#agent", "scripted")
        chat.fill("#message", "thoughts=30 tools=5 delay_ms=200 deltas=5")
        chat.click("#send")
        board = browser.new_page(viewport={"width": 1280, "height": 900})
        board.goto(f"{service_url}/dashboard")
        expect(board.locator("#dash-signin")).to_be_visible(timeout=10_000)
        board.fill("#dash-name", "ops")
        board.click("#dash-signin button[type='submit']")
        expect(board.locator("#dash-signin")).to_be_hidden(timeout=10_000)
        expect(board.locator("#connections")).to_have_text("1", timeout=10_000)
        expect(board.locator("#runs-completed")).to_have_text("1", timeout=10_000)
        expect(board.locator("#runs-running")).to_have_text("1", timeout=10_000)
        expect(board.locator("#active-runs tbody tr")).to_have_count(1, timeout=10_000)
        board.wait_for_timeout(3000)
        expect(board.locator("#p95")).not_to_have_text("\u2013")
        board.screenshot(path=str(ROOT / "docs" / "screenshot-dashboard.png"), full_page=True)
        browser.close()


def test_two_tabs_and_a_reconnect_show_every_line_once(service_url: str) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.add_init_script(RECORD_SOCKETS)
        tab1, tab2 = context.new_page(), context.new_page()
        for tab in (tab1, tab2):
            tab.goto(service_url)
            tab.fill("#name", "bob")
            tab.click("#signin")
            expect(tab.locator("#status")).to_have_attribute("data-state", "connected")
        tab1.select_option("#agent", "scripted")
        tab1.fill("#message", "thoughts=25 tools=3 delay_ms=120")
        tab1.click("#send")
        expect(tab2.locator(".run .thinking").nth(3)).to_be_visible(timeout=10_000)
        tab2.evaluate("window.__sockets.at(-1).close()")
        reopened = "window.__sockets.length === 2 && window.__sockets[1].readyState === 1"
        tab2.wait_for_function(reopened, timeout=10_000)
        for tab in (tab1, tab2):
            run = tab.locator(".run[data-state='completed']")
            expect(run).to_have_count(1, timeout=20_000)
            expect(run.locator(".thinking")).to_have_count(25)
            expect(run.locator(".tool")).to_have_count(3)
        browser.close()
