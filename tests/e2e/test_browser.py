"""The chat page in Debian's Chromium, driven by Playwright's sync API.

The server is the real service (`python -m app`) in a subprocess on a free loopback
port; Playwright's sync API runs outside any trio loop, so these tests are synchronous.
They cover a desktop and a 390x844 phone viewport and save the README's screenshots to
docs/ (the chat at both sizes and the dashboard).
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from wsao_trio.config import process_environment

ROOT = Path(__file__).resolve().parents[2]
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
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
TOKEN_TTL = 6  # seconds: the refresh test outlives several tokens
THOUGHT_OF_25 = re.compile(r"scripted thought \d+ of 25")

pytestmark = pytest.mark.browser

# Keeps every WebSocket the page opens (so a test can drop one as a network would, or
# count reconnects) and each close code; DROP_AUTH also swallows `auth` frames, as a
# server that never answers them would.
RECORD_SOCKETS = """
window.__sockets = [];
window.__closeCodes = [];
const NativeWebSocket = window.WebSocket;
window.WebSocket = function (...args) {
  const ws = new NativeWebSocket(...args);
  window.__sockets.push(ws);
  ws.addEventListener("close", (e) => window.__closeCodes.push(e.code));
  const send = ws.send.bind(ws);
  ws.send = (data) => {
    if (window.__dropAuth && String(data).includes('"type":"auth"')) return;
    send(data);
  };
  return ws;
};
Object.assign(window.WebSocket, NativeWebSocket);
window.WebSocket.prototype = NativeWebSocket.prototype;
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_service(module: str = "app", port: int = 0, **settings: str) -> Iterator[str]:
    """Run `python -m <module>` with dev auth on `port` (0: a free one); yield its base URL."""
    port = port or free_port()
    env = {**process_environment(), "WSAO_DEV_AUTH": "1", "WSAO_BIND": f"127.0.0.1:{port}"}
    env.update(settings)
    proc = subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        yield url
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) == 0


@pytest.fixture
def service_url() -> Iterator[str]:
    with running_service() as url:
        yield url


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


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_context(browser: Browser, viewport: dict[str, int], **kwargs: object) -> BrowserContext:
    context = browser.new_context(viewport=viewport, **kwargs)  # type: ignore[arg-type]
    context.add_init_script(RECORD_SOCKETS)
    return context


def sign_in(page: Page, url: str, name: str = "alice") -> None:
    page.goto(url)
    page.fill("#name", name)
    page.click("#signin")
    expect(page.locator("#status")).to_have_attribute("data-state", "connected", timeout=10_000)


def ask(page: Page, text: str, agent: str | None = None) -> None:
    if agent is not None:
        page.select_option("#agent", agent)
    page.fill("#message", text)
    page.click("#send")


def no_page_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


# ---------------------------------------------------------------- desktop


def test_desktop_chat_bubbles_folded_steps_answer_details_and_stop(service_url: str) -> None:
    with chromium() as browser:
        page = new_context(browser, DESKTOP).new_page()
        errors = no_page_errors(page)
        sign_in(page, service_url)
        empty = page.locator("#feed-empty")
        expect(empty.locator(".starter")).to_have_count(4)
        expect(empty).not_to_contain_text("scripted")
        empty.locator(".starter[data-prompt='What is 17 * 23 + 4?']").click()
        run = page.locator(".run[data-state='completed']").first
        expect(run).to_be_visible(timeout=15_000)
        expect(empty).to_be_hidden()
        assert_user_bubble_on_the_right(page, run)
        expect(run.locator(".answer")).to_have_text("17 * 23 + 4 = 395")
        steps = run.locator(".steps > summary")
        expect(steps).to_contain_text("Used calculator")
        expect(run.locator(".thinking")).to_have_count(0)  # folded: one line per run
        steps.click()
        expect(run.locator(".thinking").first).to_be_visible()
        tool = run.locator(".tool[data-tool-name='calculator']")
        expect(tool.locator(".tool-args")).to_be_hidden()
        tool.locator("summary").click()
        expect(tool.locator(".tool-args")).to_contain_text("17 * 23 + 4")
        expect(tool.locator(".tool-result")).to_have_text("395")
        steps.click()  # folds again
        expect(run.locator(".thinking")).to_have_count(0)
        ask(page, "what can you do?")  # the assistant answers in Markdown (a list, bold)
        expect(page.locator(".run[data-state='completed']")).to_have_count(2, timeout=15_000)
        expect(page.locator(".run").nth(1).locator(".answer li strong").first).to_be_visible()
        ask(page, "Convert 42.195 km to miles")
        expect(page.locator(".run[data-state='completed']")).to_have_count(3, timeout=15_000)
        third = page.locator(".run").nth(2)
        expect(third.locator(".steps > summary")).to_contain_text("Used convert_units")
        third.locator(".steps > summary").click()
        expect(third.locator(".tool .tool-preview")).to_have_text("value=42.195 from=km to=mi")
        third.locator(".steps > summary").click()
        stop_a_slow_run(page)
        assert not errors, errors


def assert_user_bubble_on_the_right(page: Page, run: object) -> None:
    turn = page.locator(".run").first.bounding_box()
    bubble = page.locator(".run .user-msg").first.bounding_box()
    answer = page.locator(".run .answer").first.bounding_box()
    assert turn and bubble and answer
    assert abs((bubble["x"] + bubble["width"]) - (turn["x"] + turn["width"])) < 2
    assert bubble["x"] > turn["x"] + turn["width"] / 2  # a short message hugs the right
    assert answer["x"] < bubble["x"]  # the answer reads from the left


def stop_a_slow_run(page: Page) -> None:
    ask(page, "Think slowly about a long problem")
    running = page.locator(".run[data-state='running']")
    expect(running.locator(".steps .spinner")).to_be_visible(timeout=10_000)
    expect(running.locator(".steps-label")).to_have_text("Thinking…")
    expect(running.locator(".steps-detail")).to_contain_text("Still thinking", timeout=10_000)
    page.set_viewport_size({"width": DESKTOP["width"], "height": 1000})  # room for three turns
    page.eval_on_selector("#feed", "feed => { feed.scrollTop = feed.scrollHeight; }")
    page.screenshot(path=str(ROOT / "docs" / "screenshot-chat.png"))
    running.locator(".stop").click()
    cancelled = page.locator(".run[data-state='cancelled']")
    expect(cancelled.locator(".cancel-reason")).to_have_text(
        "You stopped this response.", timeout=10_000
    )
    expect(cancelled).not_to_contain_text("user")
    cancelled.locator(".debug-toggle").click()
    debug = cancelled.locator(".debug")
    run_id = cancelled.get_attribute("data-run-id")
    assert run_id
    expect(debug).to_contain_text(run_id)
    expect(debug).to_contain_text("cancelled · reason user")
    expect(debug.locator(".debug-events summary").last).to_contain_text("agent_cancelled")


# ---------------------------------------------------------------- phone


def test_phone_header_fits_drawer_reaches_threads_and_a_starter_runs(service_url: str) -> None:
    with chromium() as browser:
        page = new_context(
            browser, PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
        ).new_page()
        errors = no_page_errors(page)
        sign_in(page, service_url, "carol")
        assert_header_fits(page, PHONE["width"])
        expect(page.locator("#threads")).not_to_be_in_viewport()
        page.locator(".starter[data-prompt='What is 17 * 23 + 4?']").click()
        expect(page.locator(".run[data-state='completed'] .answer")).to_contain_text(
            "395", timeout=15_000
        )
        page.click("#threads-toggle")
        expect(page.locator("#threads")).to_be_in_viewport()
        expect(page.locator("#thread-list .thread")).to_have_count(1)
        page.click("#new-thread")
        expect(page.locator("#threads")).not_to_be_in_viewport()
        expect(page.locator("#feed-empty")).to_be_visible()
        ask(page, "What time is it in Asia/Tokyo?")
        expect(page.locator(".run[data-state='completed']:visible")).to_have_count(
            1, timeout=15_000
        )
        page.click("#threads-toggle")
        expect(page.locator("#thread-list .thread")).to_have_count(2)
        page.locator("#thread-list .thread").nth(1).click()
        expect(page.locator(".run:visible .answer")).to_contain_text("395")
        ask(page, "Think slowly about a long problem")
        expect(page.locator(".run[data-state='running'] .steps .spinner")).to_be_visible(
            timeout=10_000
        )
        page.locator(".run:visible").first.locator(".steps > summary").click()
        page.wait_for_timeout(1500)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=str(ROOT / "docs" / "screenshot-chat-phone.png"))
        page.set_viewport_size({"width": 360, "height": 740})
        assert_header_fits(page, 360)
        assert not errors, errors


def assert_header_fits(page: Page, width: int) -> None:
    header = page.locator(".topbar").bounding_box()
    assert header and header["height"] <= 60, header  # one line, no wrapping
    for selector in ("#threads-toggle", ".brand", "#new-chat-top", "#status", "#signout"):
        box = page.locator(selector).bounding_box()
        assert box, selector
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (selector, box)
        assert (
            box["y"] >= header["y"] and box["y"] + box["height"] <= header["y"] + header["height"]
        )
    expect(page.locator("#signout")).to_be_visible()


# ---------------------------------------------------------------- markdown and results


def test_markdown_is_rendered_sanitised_and_results_are_shown_as_values() -> None:
    with running_service("tests.support.browser_markdown_app") as url, chromium() as browser:
        page = new_context(browser, DESKTOP).new_page()
        errors = no_page_errors(page)
        sign_in(page, url, "dora")
        ask(page, "Show me formatting", agent="markdown")
        answer = page.locator(".run[data-state='completed'] .answer")
        expect(answer.locator("h2")).to_have_text("Formatted answer", timeout=15_000)
        expect(answer.locator("strong")).to_have_text("bold")
        expect(answer.locator("li")).to_have_count(2)
        expect(answer.locator("table tr")).to_have_count(3)
        expect(answer.locator("pre code")).to_contain_text('print("hello")')
        expect(answer.locator("script")).to_have_count(0)
        expect(answer.locator("[onerror]")).to_have_count(0)
        expect(answer.locator("a[href^='javascript']")).to_have_count(0)
        good = answer.locator("a[href='https://example.org/docs']")
        expect(good).to_have_attribute("rel", "noopener noreferrer")
        assert page.evaluate("window.__pwned") is None
        page.click("#new-thread")
        ask(page, "thoughts=1 tools=1 deltas=2", agent="scripted")
        run = page.locator(".run[data-state='completed']:visible")
        expect(run.locator(".answer")).to_have_text("chunk 1 chunk 2", timeout=15_000)
        card = run.locator(".result-card")
        expect(card.locator("dt")).to_have_text(["Thoughts", "Tools", "Deltas"])
        expect(card.locator("dd")).to_have_text(["1", "1", "2"])
        expect(run).not_to_contain_text("{")
        ask(page, "thoughts=1 fail=1", agent="scripted")
        failed = page.locator(".run[data-state='failed']")
        expect(failed.locator(".agent-error")).to_contain_text(
            "The agent ran into a problem", timeout=15_000
        )
        expect(failed.locator(".agent-error")).to_contain_text("The script asked to fail")
        expect(failed.locator(".agent-error")).not_to_contain_text("agent_failed")
        assert not errors, errors


# ---------------------------------------------------------------- tabs, reconnects, tokens


def test_second_tab_shares_the_session_and_both_show_every_line_once(service_url: str) -> None:
    with chromium() as browser:
        context = new_context(browser, DESKTOP)
        tab1 = context.new_page()
        sign_in(tab1, service_url, "bob")
        tab2 = context.new_page()
        tab2.goto(service_url)  # no sign-in: the session is the browser's
        expect(tab2.locator("#status")).to_have_attribute("data-state", "connected", timeout=10_000)
        expect(tab2.locator("#whoami")).to_have_text("bob")
        ask(tab1, "thoughts=25 tools=3 delay_ms=120", agent="scripted")
        expect(tab2.locator(".run .steps-detail")).to_have_text(THOUGHT_OF_25, timeout=10_000)
        tab2.evaluate("window.__sockets.at(-1).close()")
        reopened = "window.__sockets.length === 2 && window.__sockets[1].readyState === 1"
        tab2.wait_for_function(reopened, timeout=10_000)
        for tab in (tab1, tab2):
            run = tab.locator(".run[data-state='completed']")
            expect(run).to_have_count(1, timeout=20_000)
            run.locator(".steps > summary").click()
            expect(run.locator(".thinking")).to_have_count(25)
            expect(run.locator(".tool")).to_have_count(3)
        tab1.click("#signout")
        expect(tab2.locator("#signin-view")).to_be_visible(timeout=5_000)
        expect(tab2.locator("#signin-error")).to_contain_text("signed out in another tab")


def test_token_is_refreshed_on_the_open_socket_before_it_expires() -> None:
    with running_service(WSAO_DEV_TOKEN_TTL=str(TOKEN_TTL)) as url, chromium() as browser:
        page = new_context(browser, DESKTOP).new_page()
        sign_in(page, url, "erin")
        page.wait_for_timeout(TOKEN_TTL * 2500)  # two and a half token lifetimes
        closes = page.evaluate("window.__closeCodes")
        assert page.evaluate("window.__sockets.length") == 1, closes  # never reconnected
        assert closes == []
        assert page.evaluate("window.__wsaoAuth.okCount") >= 2
        expect(page.locator("#status")).to_have_attribute("data-state", "connected")
        ask(page, "What is 6 * 7?")
        expect(page.locator(".run[data-state='completed'] .answer")).to_contain_text(
            "42", timeout=10_000
        )


def test_a_refresh_the_server_never_answers_ends_in_a_reconnect_not_a_sign_out() -> None:
    with running_service(WSAO_DEV_TOKEN_TTL=str(TOKEN_TTL)) as url, chromium() as browser:
        page = new_context(browser, DESKTOP).new_page()
        page.add_init_script("window.__dropAuth = true;")
        sign_in(page, url, "finn")
        page.wait_for_function("window.__sockets.length >= 2", timeout=TOKEN_TTL * 3000)
        expect(page.locator("#status")).to_have_attribute("data-state", "connected", timeout=10_000)
        expect(page.locator("#app-view")).to_be_visible()
        ask(page, "What is 6 * 7?")
        expect(page.locator(".run[data-state='completed'] .answer")).to_contain_text(
            "42", timeout=10_000
        )


def test_a_restarted_server_is_rejoined_with_a_fresh_token_and_no_sign_in() -> None:
    port = free_port()
    with chromium() as browser:
        page = new_context(browser, DESKTOP).new_page()
        with running_service(port=port) as url:
            sign_in(page, url, "gina")
            ask(page, "What is 6 * 7?")
            answer = page.locator(".run[data-state='completed']:visible .answer")
            expect(answer).to_contain_text("42", timeout=10_000)
        status = page.locator("#status")
        expect(status).not_to_have_attribute("data-state", "connected", timeout=10_000)
        with running_service(port=port):  # a new process: a new dev secret and epoch
            expect(status).to_have_attribute("data-state", "connected", timeout=20_000)
            expect(page.locator("#app-view")).to_be_visible()
            expect(page.locator("#notices")).to_contain_text("The server restarted")
            ask(page, "What is 2 + 3?")
            expect(answer).to_contain_text("2 + 3 = 5", timeout=10_000)


# ---------------------------------------------------------------- dashboard


def test_dashboard_shows_live_figures(service_url: str) -> None:
    with chromium() as browser:
        context = new_context(browser, DESKTOP)
        chat = context.new_page()
        sign_in(chat, service_url)
        ask(chat, "What is 17 * 23 + 4?")
        expect(chat.locator(".run[data-state='completed']").first).to_be_visible(timeout=15_000)
        ask(chat, "thoughts=30 tools=5 delay_ms=200 deltas=5", agent="scripted")
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
