"""Page-aware citations: a PDF citation carries its page; the page renders offline with the passage marked."""

import io
import shutil

import pytest

from conftest import CORPUS, make_settings
from qa.api.app import create_app
from qa.embed import HashEmbedder
from qa.pages import marked_boxes
from qa.service import Service
from qa.ui import render
from qa.ui.chat import ChatController
from test_api import assert_error

QUESTION = "民主村社区原来是哪个厂的家属区？"


@pytest.fixture(scope="module")
def pdf_service(made, tmp_path_factory):
    """A corpus of the report as a PDF and the statistics table as a PDF (no text files: they would be originals)."""
    settings = make_settings(tmp_path_factory.mktemp("pages"), CORPUS)
    for path in settings.corpus_dir.iterdir():
        path.unlink()
    shutil.copy(made.pdf(), settings.corpus_dir / "report.pdf")
    service = Service.from_settings(settings, HashEmbedder())
    yield service
    service.snapshot.close()


def _yellow(png: bytes) -> int:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(1 for r, g, b in image.getdata() if r > 230 and 180 < g < 235 and b < 170)


def test_a_pdf_citation_carries_its_page(pdf_service):
    answer = pdf_service.ask(QUESTION)
    assert answer.found and "重庆建设厂" in answer.text
    cited = answer.citations[0]
    doc = pdf_service.document("report")
    assert doc.text[cited.start:cited.end] == cited.text
    layout = pdf_service.snapshot.layout("report")
    page = layout.pages[cited.page - 1]
    assert page.start <= cited.start < page.end
    assert cited.page == 1 and render.where(cited).startswith("第1")


def test_the_page_renders_with_the_cited_passage_marked(pdf_service):
    cited = pdf_service.ask(QUESTION).citations[0]
    plain = pdf_service.page_image("report", cited.page)
    marked = pdf_service.page_image("report", cited.page, cited.start, cited.end)
    assert plain.startswith(b"\x89PNG") and marked.startswith(b"\x89PNG")
    assert _yellow(plain) == 0 and _yellow(marked) > 2000
    boxes = marked_boxes(pdf_service.snapshot.layout("report"), cited.page, cited.start, cited.end)
    assert boxes and all(0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1 for x0, y0, x1, y1 in boxes)


def test_the_page_image_api(pdf_service):
    from fastapi.testclient import TestClient

    client = TestClient(create_app(pdf_service.settings, service=pdf_service, ui=False))
    cited = pdf_service.ask(QUESTION).citations[0]
    response = client.get(f"/v1/documents/report/pages/{cited.page}",
                          params={"start": cited.start, "end": cited.end, "width": 600})
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert _yellow(response.content) > 500
    assert_error(client.get("/v1/documents/report/pages/9"), 404, "not_found", "no page 9: the document has 3 pages")
    assert_error(client.get("/v1/documents/report/pages/1", params={"start": 50}), 422, "invalid_request",
                 f"start and end must mark text within 0..{len(pdf_service.document('report').text)}, "
                 "start before end")
    assert_error(client.get("/v1/documents/nope/pages/1"), 404, "not_found", "unknown document 'nope'")


def test_a_text_document_has_no_page_image(hash_service):
    from qa.errors import QueryError

    with pytest.raises(QueryError, match="has no pages"):
        hash_service.page_image("003_c74baaf9e274de20", 1)


class _Keys:
    def add_feedback(self, *args: object) -> int:
        return 1


def test_the_ui_shows_the_page_on_the_card_and_the_page_image_in_the_original(pdf_service):
    controller = ChatController(lambda: pdf_service, _Keys())
    messages, _, turns, panel = controller.ask(QUESTION, [], [])
    reply = messages[-1]["content"]
    assert "第1页" in reply  # on the source card
    assert "第1页" in panel and "qa-page" not in panel
    full = controller.source(render.cite_ref(0, render.cited_ids(turns[0].answer)[0]), turns, full=True)
    assert '<img class="qa-page" src="data:image/png;base64,' in full and "原件第1页" in full


def test_the_ui_shows_a_cited_table_with_its_cell(made, tmp_path):
    settings = make_settings(tmp_path, CORPUS)
    shutil.copy(made.xlsx(), settings.corpus_dir / "stats2023.xlsx")
    service = Service.from_settings(settings, HashEmbedder())
    try:
        controller = ChatController(lambda: service, _Keys())
        messages, _, _turns, panel = controller.ask("2023年九龙坡规上工业增加值是多少", [], [])
    finally:
        service.snapshot.close()
    assert "表1 第3行第2列" in messages[-1]["content"]
    assert '<td class="qa-cell-hit">560.2</td>' in panel
    assert '<tr class="qa-row-hit"><td>规上工业增加值</td>' in panel
    assert "2023年九龙坡区规模以上工业主要指标" in panel
