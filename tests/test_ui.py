"""The chat UI without a browser: HTML (escaping, exact highlights, tables) and the event handlers."""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import gradio as gr
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from qa.errors import NotFoundError
from qa.query import check_question
from qa.types import Answer, Citation, CitedFigure, Document, Figure
from qa.ui import render
from qa.ui.chat import EXAMPLES, SUGGESTIONS, ChatController, friendly_error, mount_ui

ATTACK = "<img src=x onerror=alert(1)>"
TEXT = (
    "九龙坡区2020年工作回顾\n\n"
    "2020年，全区地区生产总值突破1500亿元，增长3.8%。\n"
    "跳磴河综合整治累计投入16.5亿元，<b>水质</b>稳定达标。\n\n"
    "民主村社区完成老旧小区改造。"
)
DOC = Document(doc_id="doc1", title="九龙坡<区>工作回顾", text=TEXT, date="2021-05-01", source="区融媒体中心")


def span_of(needle: str) -> tuple[int, int]:
    start = TEXT.index(needle)
    return start, start + len(needle)


def make_citation(cid: int, needle: str) -> Citation:
    start, end = span_of(needle)
    return Citation(id=cid, doc_id=DOC.doc_id, title=DOC.title, date=DOC.date, chunk_id=f"c{cid}",
                    start=start, end=end, text=TEXT[start:end], score=0.9)


def make_figure(mention: str, value: float, unit: str, number: str, metric: str | None, year: int | None,
                qualifier: str | None = None, kind: str = "level", doc_id: str = "doc1") -> Figure:
    start, end = span_of(mention)
    return Figure(value=value, unit=unit, text=mention, doc_id=doc_id, start=start, end=end, metric=metric,
                  year=year, qualifier=qualifier, kind=kind, number=number)


GDP = make_figure("突破1500亿元", 1500, "亿元", "1500", "地区生产总值", 2020, qualifier="突破")
GROWTH = make_figure("增长3.8%", 3.8, "%", "3.8", "地区生产总值", 2020, kind="growth")
FUND = make_figure("16.5亿元", 16.5, "亿元", "16.5", "综合整治投入", None)
CITE_GDP = make_citation(1, "2020年，全区地区生产总值突破1500亿元，增长3.8%。")
CITE_RIVER = make_citation(2, "跳磴河综合整治累计投入16.5亿元，<b>水质</b>稳定达标。")


def found_answer(question: str = "九龙坡2020年地区生产总值是多少？") -> Answer:
    return Answer(question=question, found=True, text="2020年，全区地区生产总值突破1500亿元[1]；见[9]。",
                  citations=(CITE_GDP, CITE_RIVER),
                  figures=(CitedFigure(GDP, 1), CitedFigure(GROWTH, 1), CitedFigure(GDP, 1)),
                  notes=(f"结合上文理解为：{question}", "问题的关键词覆盖率 0.90 低于 0.55"))


def not_found_answer(question: str) -> Answer:
    text = "资料中未找到关于“房价”的信息。下面是资料中最接近的段落，供参考。"
    return Answer(question=question, found=False, text=text, citations=(CITE_RIVER, CITE_GDP),
                  notes=("问题的关键词覆盖率 0.10 低于 0.55",))


def mark_text(fragment: str, mark_id: str | None = None) -> str:
    """The text inside the first ``<mark class="qa-span">`` of an HTML fragment, tags stripped, unescaped."""
    attrs = f' id="{mark_id}"' if mark_id else ""
    match = re.search(rf'<mark class="qa-span"{attrs}>(.*?)</mark>', fragment, re.S)
    assert match, fragment
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1)))


# -- escaping ---------------------------------------------------------------------------------------
def test_esc_neutralizes_markup_and_template_placeholders() -> None:
    assert render.esc(ATTACK) == "&lt;img src=x onerror=alert(1)&gt;"
    escaped = "&quot;a&quot; &amp; &#123;&#123;x&#125;&#125; &#36;&#123;y&#125;"
    assert render.esc('"a" & {{x}} ${y}') == escaped
    assert html.unescape(render.esc('"a" & {{x}} ${y}')) == '"a" & {{x}} ${y}'


def test_question_is_shown_literally() -> None:
    out = render.render_question(ATTACK)
    assert "<img" not in out and html.unescape(re.sub(r"<[^>]+>", "", out)) == ATTACK


def test_error_message_is_escaped() -> None:
    assert "<script>" not in render.render_error("<script>alert(1)</script>")


def test_messages_have_no_blank_lines_for_markdown_to_break_on() -> None:
    for out in (render.render_answer(found_answer(), 0), render.render_answer(not_found_answer("x"), 0)):
        assert "\n" not in out


# -- answer text, notes and cards -------------------------------------------------------------------
def test_markers_become_links_only_for_real_citations() -> None:
    body = render.answer_body(found_answer(), turn=3)
    assert '<a class="qa-ref" href="#cite-3-1" title="查看来源 [1]">[1]</a>' in body
    assert "[9]" in body and "#cite-3-9" not in body


def test_answer_text_is_escaped() -> None:
    answer = Answer(question="q", found=True, text=f"{ATTACK}[1]", citations=(CITE_GDP,))
    body = render.answer_body(answer, 0)
    assert "<img" not in body and "&lt;img" in body and "#cite-0-1" in body


def test_only_resident_notes_are_shown() -> None:
    out = render.render_answer(found_answer(), 0)
    assert "结合上文理解为" in out and "覆盖率" not in out


def test_cited_sources_come_first_and_the_rest_fold_away() -> None:
    out = render.render_answer(found_answer(), 0)
    cards, more = out.split('<details class="qa-more">')
    assert 'href="#cite-0-1"' in cards and 'href="#cite-0-2"' in more
    assert "其他相关段落（1）" in more


def test_cards_escape_titles_and_passages() -> None:
    out = render.render_cards([CITE_RIVER], turn=1)
    assert "<b>" not in out and "&lt;b&gt;水质&lt;/b&gt;" in out and "九龙坡&lt;区&gt;工作回顾" in out
    assert 'class="qa-card" href="#cite-1-2"' in out and "2021-05-01" in out


def test_parse_ref_round_trips_and_refuses_junk() -> None:
    assert render.parse_ref(render.cite_ref(4, 2)) == (4, 2)
    assert render.parse_ref("#cite-0-1") == (0, 1)
    for junk in ("", "cite-a-1", "cite-1", "javascript:alert(1)", "cite-1-2-3"):
        assert render.parse_ref(junk) is None


# -- figures ----------------------------------------------------------------------------------------
def test_figure_rows() -> None:
    rows = render.figure_rows(found_answer())
    assert [(r.metric, r.value, r.unit, r.year, r.citation) for r in rows] == [
        ("地区生产总值", "突破1500", "亿元", "2020年", 1),
        ("地区生产总值（增速）", "3.8", "%", "2020年", 1),
    ]
    assert rows[0].source == DOC.title


def test_figure_row_without_metric_or_year_falls_back_to_the_mention() -> None:
    bare = Figure(value=3.0, unit="个", text="三个", number="三")
    answer = Answer(question="q", found=True, text="t[1]", citations=(CITE_GDP,),
                    figures=(CitedFigure(bare, 1),))
    [row] = render.figure_rows(answer)
    assert (row.metric, row.value, row.unit, row.year) == ("三个", "三", "个", "—")


def test_figure_table_html() -> None:
    out = render.render_figure_table(render.figure_rows(found_answer()), turn=2)
    headers = re.findall(r"<th>(.*?)</th>", out)
    assert headers == ["指标", "数值", "单位", "年份", "来源"]
    assert out.count("<tr>") == 3 and 'href="#cite-2-1"' in out
    assert render.render_figure_table([], 0) == ""


def test_chart_needs_two_years_and_escapes_labels() -> None:
    points = [render.TrendPoint(2019, 1300, "1300", "<报告A>", "2020-01-01"),
              render.TrendPoint(2020, 1500, "突破1500", "报告B", None)]
    svg = render.render_chart("地区生产总值", "亿元", points)
    assert svg.count('class="qa-bar"') == 2 and "2019" in svg and "突破1500" in svg
    assert "<报告A>" not in svg and "&lt;报告A&gt;" in svg and "日期不详" in svg
    assert "viewBox" not in svg  # the chat sanitizer would drop it; coordinates are percentages
    assert render.render_chart("x", "亿元", points[:1]) == ""


# -- not found --------------------------------------------------------------------------------------
def test_not_found_says_so_and_offers_the_closest_passages() -> None:
    out = render.render_answer(not_found_answer("九龙坡区的房价是多少？"), turn=5)
    assert "资料中未找到" in out and "资料中最接近的段落" in out
    assert 'href="#cite-5-2"' in out and 'href="#cite-5-1"' in out
    assert "qa-figs" not in out and "覆盖率" not in out


def test_suggestions_are_answerable_examples_only() -> None:
    picked = render.suggestions("九龙坡2020年人口是多少？", EXAMPLES)
    assert len(picked) == 3 and set(picked) <= set(EXAMPLES)
    assert picked[0] == "九龙坡2020年地区生产总值是多少？"
    assert EXAMPLES[1] not in render.suggestions(EXAMPLES[1], EXAMPLES)


# -- the source panel -------------------------------------------------------------------------------
def test_passage_highlights_exactly_the_cited_span() -> None:
    out = render.render_passage(DOC, CITE_RIVER, [FUND])
    assert mark_text(out) == TEXT[CITE_RIVER.start:CITE_RIVER.end]
    assert '<span class="qa-fig" title="综合整治投入：16.5亿元">16.5亿元</span>' in out
    assert "<b>" not in out and "&lt;b&gt;水质&lt;/b&gt;" in out


def test_passage_shows_context_before_and_after() -> None:
    out = render.render_passage(DOC, CITE_RIVER, [])
    before, after = out.split("<mark", 1)[0], out.split("</mark>", 1)[1]
    assert "突破1500亿元" in before and "民主村" in after


def test_passage_cuts_long_context_with_ellipses() -> None:
    long = Document(doc_id="d", title="t", text="甲" * 500 + "乙乙乙" + "丙" * 500)
    cite = Citation(1, "d", "t", None, "c", 500, 503, "乙乙乙", 1.0)
    out = render.render_passage(long, cite, [], chars=50)
    assert out.count("…") == 2 and mark_text(out) == "乙乙乙"
    assert len(re.sub(r"<[^>]+>", "", out)) < 120


def test_figures_outside_the_span_or_overlapping_are_not_marked() -> None:
    overlap = make_figure("1500亿元", 1500, "亿元", "1500", None, 2020)
    out = render.render_passage(DOC, CITE_GDP, [GDP, overlap, FUND])
    assert out.count('class="qa-fig"') == 1 and mark_text(out) == CITE_GDP.text


def test_document_view_keeps_line_breaks_and_anchors_the_span() -> None:
    out = render.render_document(DOC, CITE_GDP, [GDP, GROWTH])
    assert mark_text(out, "qa-doc-span") == TEXT[CITE_GDP.start:CITE_GDP.end]
    assert html.unescape(re.sub(r"<[^>]+>", "", out)) == TEXT  # whole text, newlines included
    assert out.count('class="qa-fig"') == 2


def test_source_panel_has_title_date_and_the_document_button() -> None:
    out = render.render_source(DOC, CITE_GDP, [GDP], "cite-0-1")
    assert "九龙坡&lt;区&gt;工作回顾" in out and "2021-05-01" in out and "区融媒体中心" in out
    assert 'data-open-doc="cite-0-1"' in out and "查看原文" in out and "qa-doc-span" not in out
    full = render.render_source(DOC, CITE_GDP, [GDP], "cite-0-1", full=True)
    assert 'id="qa-doc-span"' in full and 'data-close-doc="cite-0-1"' in full


# -- the controller with a fake service -------------------------------------------------------------
class FakeStore:
    def __init__(self, figures: Sequence[Figure]) -> None:
        self.all = list(figures)

    def figures(self, doc_id: str | None = None, start: int | None = None, end: int | None = None,
                metric: str | None = None, year: int | None = None) -> list[Figure]:
        return [f for f in self.all if (doc_id is None or f.doc_id == doc_id)
                and (start is None or (f.start >= start and end is not None and f.end <= end))
                and (metric is None or (f.metric and metric in f.metric))]


class FakeService:
    """Answers from a script, validating questions like the real service does."""

    def __init__(self, answers: dict[str, Answer], figures: Sequence[Figure] = (),
                 docs: Sequence[Document] = (DOC,)) -> None:
        self.answers = answers
        self.docs = {d.doc_id: d for d in docs}
        self.snapshot = SimpleNamespace(store=FakeStore(figures), layout=lambda doc_id: None)
        self.calls: list[tuple[str, list[dict[str, Any]]]] = []

    def ask(self, question: str, top_k: int = 5, history: Sequence[dict[str, Any]] | None = None) -> Answer:
        check_question(question, 40)
        self.calls.append((question, list(history or [])))
        return self.answers.get(question) or not_found_answer(question)

    def document(self, doc_id: str) -> Document:
        if doc_id not in self.docs:
            raise NotFoundError(f"unknown document {doc_id!r}")
        return self.docs[doc_id]

    def figures(self, metric: str | None = None, year: int | None = None, doc_id: str | None = None,
                start: int | None = None, end: int | None = None) -> list[Figure]:
        return self.snapshot.store.figures(doc_id=doc_id, start=start, end=end, metric=metric)


class FakeKeys:
    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []

    def add_feedback(self, question: str, answer: str, rating: int, comment: str | None, source: str,
                     key_name: str | None = None) -> int:
        self.rows.append((question, answer, rating, comment, source))
        return len(self.rows)


def controller_for(service: Any, keys: FakeKeys | None = None) -> ChatController:
    return ChatController(lambda: service, keys or FakeKeys())


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", " ", m["content"])) for m in messages]


def test_follow_up_passes_earlier_turns_as_history() -> None:
    first = found_answer()
    service = FakeService({first.question: first})
    chat = controller_for(service)
    messages, box, turns, panel = chat.ask(first.question, [], [])
    assert box == "" and len(messages) == 2 and messages[1]["role"] == "assistant"
    assert 'data-open-doc="cite-0-1"' in panel  # the first cited source opens beside the answer
    chat.ask("那2025年呢？", messages, turns)
    assert service.calls[1] == ("那2025年呢？", [{"question": first.question, "answer": first.text}])


def test_not_found_reply_offers_suggestions() -> None:
    chat = controller_for(FakeService({}))
    messages, _, turns, panel = chat.ask("九龙坡区的房价是多少？", None, None)
    options = [o["value"] for o in messages[-1]["options"]]
    assert 2 <= len(options) <= 3 and set(options) <= set(SUGGESTIONS)
    assert "资料中未找到" in texts(messages)[-1] and "没有找到" in panel
    assert turns[0].answer is not None and not turns[0].answer.found


@pytest.mark.parametrize(("question", "expected"), [
    ("   ", "请先输入您的问题"),
    ("九" * 41, "问题有 41 个字，超过了 40 字的上限"),
])
def test_bad_questions_get_a_friendly_message(question: str, expected: str) -> None:
    chat = controller_for(FakeService({}))
    messages, _, turns, _ = chat.ask(question, [], [])
    assert expected in texts(messages)[-1]
    assert turns[-1].answer is None and "Traceback" not in messages[-1]["content"]


def test_errors_never_leak_internals() -> None:
    class Loading(Exception):
        status = 503

    def loading() -> Any:
        raise Loading("the index is still loading; retry shortly")

    messages, *_ = ChatController(loading, FakeKeys()).ask("九龙坡的GDP？", [], [])
    assert "正在加载" in texts(messages)[-1] and "retry" not in messages[-1]["content"]

    class Broken(FakeService):
        def ask(self, *args: Any, **kwargs: Any) -> Answer:
            raise RuntimeError("/secret/path exploded")

    messages, _, _, _ = controller_for(Broken({})).ask("九龙坡的GDP？", [], [])
    assert "抱歉" in texts(messages)[-1] and "secret" not in messages[-1]["content"]
    assert friendly_error(NotFoundError("x")) == "资料库暂时不可用，请稍后再试。"


def test_errors_are_not_sent_as_history() -> None:
    service = FakeService({})
    chat = controller_for(service)
    messages, _, turns, _ = chat.ask("", [], [])
    chat.ask("民主村？", messages, turns)
    assert service.calls == [("民主村？", [])]


def test_feedback_goes_to_the_keystore_with_source_ui() -> None:
    first = found_answer()
    keys = FakeKeys()
    chat = controller_for(FakeService({first.question: first}), keys)
    messages, _, turns, _ = chat.ask(first.question, [], [])
    chat.feedback(turns, gr.LikeData(None, {"index": 1, "value": messages[1]["content"], "liked": True}))
    chat.feedback(turns, gr.LikeData(None, {"index": 1, "value": "", "liked": False}))
    chat.feedback(turns, gr.LikeData(None, {"index": 0, "value": "", "liked": True}))  # the question itself
    stored = [(first.question, first.text, rating, None, "ui") for rating in (1, -1)]
    assert keys.rows == stored


def test_source_for_a_citation_and_for_stale_refs() -> None:
    first = found_answer()
    chat = controller_for(FakeService({first.question: first}, figures=[GDP, GROWTH, FUND]))
    _, _, turns, _ = chat.ask(first.question, [], [])
    out = chat.source("cite-0-2", turns)
    assert mark_text(out) == CITE_RIVER.text and "16.5亿元</span>" in out
    full = chat.source("cite-0-2", turns, full=True)
    assert mark_text(full, "qa-doc-span") == CITE_RIVER.text
    for stale in ("cite-1-1", "cite-0-7", "nonsense"):
        assert "qa-source-empty" in chat.source(stale, turns)
    assert "已重新开始" in chat.source("cite-0-1", []) or "失效" in chat.source("cite-0-1", [])


def test_source_of_a_removed_document() -> None:
    first = found_answer()
    chat = controller_for(FakeService({first.question: first}, docs=()))
    _, _, turns, _ = chat.ask(first.question, [], [])
    assert "已从资料库中移除" in chat.source("cite-0-1", turns)


def test_trend_takes_one_value_per_year_from_the_newest_report() -> None:
    old = Document(doc_id="old", title="旧报告", text=TEXT, date="2020-01-01")
    new = Document(doc_id="new", title="新报告", text=TEXT, date="2022-01-01")

    def fig(value: float, year: int, doc_id: str, kind: str = "level", metric: str = "地区生产总值",
            ) -> Figure:
        return Figure(value=value, unit="亿元", text=f"{value:g}亿元", doc_id=doc_id, metric=metric,
                      year=year, kind=kind, number=f"{value:g}")

    figures = [fig(1300, 2019, "old"), fig(1310, 2019, "new"), fig(1500, 2020, "new"),
               fig(9, 2021, "new", "growth"), fig(50, 2021, "new", metric="地区生产总值占比")]
    service = FakeService({}, figures=figures, docs=(old, new, DOC))
    points = ChatController.trend_points(service, fig(1500, 2020, "new"))
    assert [(p.year, p.value, p.title) for p in points] == [(2019, 1310, "新报告"), (2020, 1500, "新报告")]
    answer = Answer(question="q", found=True, text="t[1]", citations=(CITE_GDP,),
                    figures=(CitedFigure(fig(1500, 2020, "new"), 1),))
    assert 'class="qa-bar"' in controller_for(service).trend_chart(service, answer)


# -- streaming --------------------------------------------------------------------------------------
def two_sentences() -> Answer:
    return Answer(question="跳磴河治理投入了多少，获了什么奖？", found=True,
                  text="跳磴河综合整治累计投入16.5亿元[2]。全区地区生产总值突破1500亿元[1]。",
                  citations=(CITE_GDP, CITE_RIVER), figures=(CitedFigure(FUND, 2),),
                  notes=("结合上文理解为：跳磴河", "覆盖率 0.9"))


def test_the_reply_is_written_out_sentence_by_sentence() -> None:
    answer = two_sentences()
    service = FakeService({answer.question: answer})
    chat = ChatController(lambda: service, FakeKeys(), pause=0)
    earlier = [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]
    steps = list(chat.ask_stream(answer.question, earlier, []))
    final = chat.ask(answer.question, earlier, [])
    assert len(steps) == 4  # waiting, one sentence, two sentences, the whole reply
    pending, first, second, whole = steps
    assert pending[0][:2] == earlier and pending[1] == ""
    assert texts(pending[0])[2].strip() == answer.question and "正在查找资料" in texts(pending[0])[3]
    assert isinstance(pending[2], type(gr.skip())) and isinstance(pending[3], type(gr.skip()))
    shown = [re.sub(r"\s+", "", texts(step[0])[-1]) for step in (first, second)]
    assert shown == ["结合上文理解为：跳磴河跳磴河综合整治累计投入16.5亿元[2]。",
                     "结合上文理解为：跳磴河跳磴河综合整治累计投入16.5亿元[2]。全区地区生产总值突破1500亿元[1]。"]
    assert '<a class="qa-ref" href="#cite-0-2"' in first[0][-1]["content"]  # links work while it is written
    assert "qa-answer" not in first[0][-1]["content"] and "qa-figs" not in second[0][-1]["content"]
    assert whole[0] == final[0] and whole[1:3] == final[1:3] and whole[3] == final[3]
    assert len(service.calls) == 2  # asked once per call, never again for the pieces


@pytest.mark.parametrize("question", ["", "九龙坡区的房价是多少？"])
def test_errors_and_not_found_arrive_whole(question: str) -> None:
    chat = ChatController(lambda: FakeService({}), FakeKeys(), pause=0)
    steps = list(chat.ask_stream(question, [], []))
    assert len(steps) == (1 if not question else 2)
    assert steps[-1][0] == chat.ask(question, [], [])[0]


def test_reset_clears_everything() -> None:
    messages, box, turns, panel = ChatController.reset()
    assert (messages, box, turns) == ([], "", []) and "qa-source-empty" in panel


# -- mounting ---------------------------------------------------------------------------------------
def test_mount_at_root_leaves_api_paths_to_the_api() -> None:
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/ask")
    def ask() -> dict[str, str]:
        return {"answer": "x"}

    app = mount_ui(app, lambda: FakeService({}), FakeKeys())
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/v1/ask").status_code == 405  # the API's answer, not the UI's page
        assert client.get("/v1/nothing").json() == {"detail": "Not Found"}
        page = client.get("/")
        assert page.status_code == 200 and "九龙坡区资料问答" in page.text
        assert "fonts.googleapis" not in client.get("/theme.css").text


def test_the_quoted_sentence_is_highlighted_exactly_inside_its_passage() -> None:
    quote_start, quote_end = span_of("全区地区生产总值突破1500亿元")
    cite = dataclasses.replace(CITE_GDP, quote_start=quote_start, quote_end=quote_end)
    for out in (render.render_passage(DOC, cite, [GDP]), render.render_document(DOC, cite, [GDP])):
        quote = re.search(r'<span class="qa-quote">(.*?)</span>(?!</span>)', out, re.S)
        assert quote and html.unescape(re.sub(r"<[^>]+>", "", quote.group(1))) == TEXT[quote_start:quote_end]
        assert 'class="qa-fig"' in quote.group(1)  # the figure inside the quote is still marked
    assert mark_text(render.render_passage(DOC, cite, [])) == CITE_GDP.text  # the whole passage stays marked
    assert "qa-quote" not in render.render_passage(DOC, CITE_GDP, [GDP])  # no quote span: no quote highlight
