"""The chat UI over documents in other formats, in headless Chromium: page numbers, page images, tables.

Screenshots go to ``artifacts/screenshots/documents-*.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from test_browser import CHROMIUM, Page, Server, browser, serving  # noqa: F401  (browser is a fixture)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def documents_server(made: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``qa serve`` over a corpus of the report as a PDF and a statistics table as an XLSX."""
    if not CHROMIUM.exists():
        pytest.skip("headless Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    tmp = tmp_path_factory.mktemp("browser-documents")
    corpus = tmp / "corpus"
    corpus.mkdir()
    (corpus / "report.pdf").write_bytes(made.pdf().read_bytes())
    (corpus / "stats2023.xlsx").write_bytes(made.xlsx().read_bytes())
    with serving(corpus, tmp) as running:
        yield running


def test_a_pdf_source_shows_its_page_and_the_page_image(browser: Any, documents_server: Server) -> None:  # noqa: F811
    ui = Page(browser, documents_server, 1280, 900, "documents")
    page = ui.page
    reply = ui.ask("民主村社区原来是哪个厂的家属区？")
    card = reply.locator("a.qa-card").first
    assert "第1页" in card.locator(".qa-card-meta").inner_text()
    card.click()
    page.wait_for_function("document.querySelector('#qa-source-panel .qa-source-meta')?.textContent.includes('第1页')")
    ui.shot("01-pdf-source")
    page.get_by_role("button", name="查看原文").click()
    image = page.locator("#qa-source-panel img.qa-page")
    image.wait_for()
    page.wait_for_function("document.querySelector('#qa-source-panel img.qa-page').naturalWidth > 0")
    assert image.get_attribute("alt") == "原件第1页"
    image.scroll_into_view_if_needed()
    ui.shot("02-pdf-page-image")
    assert ui.outside == [] and ui.dialogs == []
    page.close()


def test_a_table_answer_shows_the_table_with_its_cell(browser: Any, documents_server: Server) -> None:  # noqa: F811
    ui = Page(browser, documents_server, 1280, 900, "documents")
    page = ui.page
    reply = ui.ask("2023年九龙坡规上工业增加值是多少")
    assert "560.2" in reply.locator("table.qa-figs").inner_text()
    assert "表1 第3行第2列" in reply.locator("a.qa-card").first.inner_text()
    cell = page.locator("#qa-source-panel td.qa-cell-hit")
    cell.wait_for()
    assert cell.inner_text() == "560.2"
    ui.shot("03-table-cell")
    page.close()
