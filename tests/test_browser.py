"""The chat UI in headless Chromium against a real ``qa serve`` (fake embedder, private index and state).

Screenshots of every step go to ``artifacts/screenshots/``. Needs /usr/bin/chromium (CI installs it; the
test never downloads a browser).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ATTACK = "<img src=x onerror=alert(1)>"
QUESTION = "九龙坡2020年地区生产总值是多少？"
WAIT = 30_000  # ms, for anything that goes through the server


@dataclass
class Server:
    url: str
    state_dir: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def serving(corpus: Path, tmp: Path) -> Iterator[Server]:
    """``qa serve`` on a free port with QA_MODEL=hash over ``corpus``, index and state under ``tmp``; stopped after."""
    env = {**os.environ, "QA_MODEL": "hash", "QA_CORPUS_DIR": str(corpus),
           "QA_INDEX_DIR": str(tmp / "index"), "QA_STATE_DIR": str(tmp / "var"),
           # the ui package sits at the project root; an editable install made before it existed misses it
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp / "server.log").open("wb")
    command = [sys.executable, "-m", "qa.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(command, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not _ready(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the server did not become ready:\n" + (tmp / "server.log").read_text()[-4000:])
            time.sleep(0.5)
        yield Server(url, tmp / "var")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``qa serve`` over a copy of the corpus."""
    if not CHROMIUM.exists():
        pytest.skip("headless Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    tmp = tmp_path_factory.mktemp("browser")
    shutil.copytree(ROOT / "corpus", tmp / "corpus")
    with serving(tmp / "corpus", tmp) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("headless Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Page:
    """A page that records dialogs and off-host requests, with the chat's few gestures."""

    def __init__(self, browser: Any, server: Server, width: int, height: int, prefix: str) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": height}, locale="zh-CN")
        self.page.set_default_timeout(WAIT)
        self.prefix = prefix
        self.dialogs: list[str] = []
        self.outside: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("request", self._request)
        self.page.goto(server.url + "/")
        self.page.wait_for_selector("#qa-input textarea")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _request(self, request: Any) -> None:
        if not request.url.startswith(("http://127.0.0.1", "data:", "blob:")):
            self.outside.append(request.url)

    def shot(self, name: str) -> None:
        self.page.wait_for_timeout(300)  # let layout settle
        self.page.screenshot(path=str(SHOTS / f"{self.prefix}-{name}.png"))

    def ask(self, question: str) -> Any:
        """Type a question, send it with Enter, and return the new reply's locator."""
        before = self.replies().count()
        self.page.fill("#qa-input textarea", question)
        self.page.press("#qa-input textarea", "Enter")
        return self.wait_reply(before)

    def replies(self) -> Any:
        return self.page.locator("#qa-chat .qa-answer")  # answers, "not found" replies and error messages

    def wait_reply(self, before: int) -> Any:
        self.page.wait_for_function(f"document.querySelectorAll('#qa-chat .qa-answer').length > {before}")
        return self.replies().nth(before)

    def overflow(self) -> tuple[int, int]:
        width, inner = self.page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        return int(width), int(inner)


def _feedback_rows(state_dir: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(state_dir / "app.sqlite") as conn:
        return conn.execute("SELECT question, answer, rating, source FROM feedback ORDER BY id").fetchall()


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_chat_on_desktop(browser: Any, server: Server) -> None:
    ui = Page(browser, server, 1280, 900, "desktop")
    page = ui.page
    assert page.get_by_text("九龙坡区资料问答").first.is_visible()
    assert page.locator("#qa-chat .example").count() >= 3
    ui.shot("01-home")

    # An answer with a numbered citation, a figure table and source cards.
    reply = ui.ask(QUESTION)
    assert reply.locator("a.qa-ref").count() >= 1, reply.inner_html()
    assert "1500" in reply.locator("table.qa-figs").inner_text()
    ui.shot("02-answer")

    # Opening the citation shows the passage with the cited span highlighted, title and date.
    card = reply.locator("a.qa-card").first
    title = card.locator(".qa-card-title").inner_text()
    snippet = card.locator(".qa-card-snippet").inner_text().rstrip("…")
    reply.locator("a.qa-ref").first.click()
    page.wait_for_function(
        "t => document.querySelector('#qa-source-panel .qa-source-title')?.textContent === t", arg=title)
    mark = page.locator("#qa-source-panel .qa-passage mark.qa-span")
    assert _flat(mark.inner_text()).startswith(_flat(snippet)), (mark.inner_text(), snippet)
    assert re.search(r"\d{4}-\d{2}-\d{2}", page.locator("#qa-source-panel .qa-source-meta").inner_text())
    assert page.locator("#qa-source-panel .qa-passage").inner_text() != mark.inner_text()  # context around it
    ui.shot("03-source")

    # 查看原文: the whole document, scrolled to the same span.
    page.get_by_role("button", name="查看原文").click()
    span = page.locator("#qa-doc-span")
    span.wait_for()
    page.wait_for_timeout(500)
    assert _flat(span.inner_text()) == _flat(mark.inner_text())
    assert page.evaluate("""() => {
        const box = document.querySelector('.qa-doc').getBoundingClientRect();
        const r = document.querySelector('#qa-doc-span').getBoundingClientRect();
        return r.top < box.bottom && r.bottom > box.top && r.top >= 0 && r.top < window.innerHeight; }""")
    assert len(page.locator(".qa-doc").inner_text()) > 2000  # the whole report, not the passage
    ui.shot("04-document")

    # A follow-up is understood through the history.
    follow = ui.ask("那2025年呢？")
    assert "结合上文理解为" in follow.inner_text() and "2025" in follow.inner_text()
    ui.shot("05-follow-up")

    # 👍 on the first answer lands in the keystore's feedback table.
    page.locator("#qa-chat button[aria-label='赞'], #qa-chat button[aria-label='Like']").first.click()
    deadline = time.monotonic() + 15
    while not (rows := _feedback_rows(server.state_dir)) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert rows and rows[0][0] == QUESTION and rows[0][2:] == (1, "ui") and "1500" in rows[0][1]
    ui.shot("06-feedback")

    # Script injection is shown as text and runs nothing.
    ui.ask(ATTACK)
    asked = page.locator("#qa-chat .qa-question").last
    assert asked.inner_text() == ATTACK
    assert page.locator("#qa-chat img[src='x']").count() == 0
    page.wait_for_timeout(500)
    assert ui.dialogs == []
    ui.shot("07-injection")

    # An empty question gets a friendly message, never an error page.
    empty = ui.ask("   ")
    assert "请先输入您的问题" in empty.inner_text()

    # 重新开始 clears the conversation and brings the examples back.
    page.get_by_role("button", name="重新开始").click()
    page.wait_for_function("document.querySelectorAll('#qa-chat .message').length === 0")
    assert page.locator("#qa-chat .example").count() >= 3
    assert ui.outside == []
    ui.shot("08-reset")
    page.close()


# Records each state the newest reply passes through: waiting, written out in part, whole.
WATCH_REPLY = """() => {
  window.qaStates = [];
  const chat = document.querySelector('#qa-chat');
  new MutationObserver(() => {
    const replies = chat.querySelectorAll('.qa-stream, .qa-answer');
    const last = replies[replies.length - 1];
    if (!last) return;
    const kind = last.classList.contains('qa-pending') ? 'pending'
      : last.classList.contains('qa-stream') ? 'partial' : 'whole';
    const text = (last.querySelector('.qa-text') || last).innerText.trim();
    const prev = window.qaStates[window.qaStates.length - 1];
    if (!prev || prev.kind !== kind || prev.text !== text) window.qaStates.push({kind, text});
  }).observe(chat, {subtree: true, childList: true, characterData: true});
}"""


def test_answer_arrives_in_pieces(browser: Any, server: Server) -> None:
    ui = Page(browser, server, 1280, 900, "stream")
    page = ui.page
    page.evaluate(WATCH_REPLY)
    # two sentences from two reports (an answer that says what it costs and what it won)
    reply = ui.ask("跳磴河治理累计投入了多少资金？和荣获什么奖？")
    final_text = _flat(reply.locator(".qa-text").inner_text())
    states = page.evaluate("window.qaStates")
    kinds = [s["kind"] for s in states]
    assert "pending" in kinds, states
    since = kinds.index("pending")
    assert kinds[-1] == "whole" and _flat(states[-1]["text"]) == final_text
    partial = [_flat(s["text"]) for s in states[since:] if s["kind"] == "partial"]
    assert len(partial) >= 2, states  # the reply grew sentence by sentence before it was whole
    assert all(final_text.startswith(text) for text in partial)
    assert len(set(partial)) == len(partial) and partial == sorted(partial, key=len)
    assert kinds[since:] == ["pending", *["partial"] * len(partial), "whole"]
    ui.shot("01-whole")
    page.close()


def test_chat_on_a_phone(browser: Any, server: Server) -> None:
    ui = Page(browser, server, 390, 844, "phone")
    page = ui.page
    assert ui.overflow()[0] <= ui.overflow()[1]
    ui.shot("01-home")

    page.locator("#qa-chat .example").nth(2).click()  # an example question, by touch
    assert "产业集群" in ui.wait_reply(0).inner_text()
    width, inner = ui.overflow()
    assert width <= inner, f"page scrolls sideways: {width} > {inner}"
    ui.shot("02-answer")

    reply = ui.ask("九龙坡区有多少家规上工业企业？")
    reply.locator("a.qa-ref").first.click()
    page.wait_for_selector("#qa-source-panel .qa-passage mark.qa-span")
    page.get_by_role("button", name="查看原文").click()
    page.wait_for_selector("#qa-doc-span")
    width, inner = ui.overflow()
    assert width <= inner, f"page scrolls sideways: {width} > {inner}"
    ui.shot("03-document")

    not_found = ui.ask("九龙坡区的房价是多少？")
    assert "资料中未找到" in not_found.inner_text() and not_found.locator("a.qa-card").count() >= 1
    suggestions = page.locator("#qa-chat button.option")
    assert 2 <= suggestions.count() <= 3
    width, inner = ui.overflow()
    assert width <= inner, f"page scrolls sideways: {width} > {inner}"
    ui.shot("04-not-found")

    before = ui.replies().count()
    suggested = suggestions.first.inner_text()
    suggestions.first.click()  # a suggestion is asked as the next question
    assert "资料中未找到" not in ui.wait_reply(before).inner_text()
    assert page.locator("#qa-chat .qa-question").last.inner_text() == suggested
    ui.shot("05-suggestion")
    assert ui.dialogs == [] and ui.outside == []
    page.close()
