"""The resident-facing chat: a Gradio Blocks app mounted at ``/`` of the API's FastAPI application.

The UI only calls the service layer (``Service.ask``, ``.document``, ``.figures``) and the key store's
feedback table; it has no answering logic of its own. What it adds is presentation: cited answers,
the source passage of a citation in context, figure tables, a chart over the years, and friendly
messages for everything that can go wrong.
"""

from __future__ import annotations

import base64
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import FastAPI
from starlette.routing import Match, Mount
from starlette.types import Scope

from qa.errors import NotFoundError, QAError, QueryError
from qa.response import answer_sentences
from qa.service import Service
from qa.types import Answer, Document, Figure
from qa.ui import render

log = logging.getLogger("qa.ui")

TITLE = "九龙坡区资料问答"
# Questions the reports answer (checked against the corpus with the real model): the first screen shows
# EXAMPLES; a "not found" reply suggests from all of them.
EXAMPLES = (
    "九龙坡2020年地区生产总值是多少？",
    "跳磴河治理累计投入了多少资金？",
    "五大千亿级产业集群有哪些？",
    "民主村社区改造有什么变化？",
)
SUGGESTIONS = (*EXAMPLES, "九龙坡区有多少家规上工业企业？", "2021年九龙坡空气质量优良天数是多少？")
# Paths the API owns: the UI mount must not answer them, so their 404/405 bodies stay the API's.
API_PATHS = ("/v1/", "/v1", "/healthz", "/readyz", "/docs", "/redoc", "/openapi.json")
CHART_YEARS = 8
SENTENCE_PAUSE = 0.08  # seconds between the sentences of an answer as the chat writes it out
HERE = Path(__file__).parent

Messages = list[dict[str, Any]]


@dataclass(frozen=True)
class Turn:
    """One question and what the chat showed for it (``answer`` is None for an error message)."""

    question: str
    shown: str  # plain text of the reply, stored with feedback
    message: int  # index of the reply in the chat's message list
    answer: Answer | None = None


# -- friendly errors --------------------------------------------------------------------------------
_TOO_LONG = re.compile(r"too long \((\d+) characters; the limit is (\d+)\)")


def friendly_error(exc: BaseException) -> str:
    """A polite Chinese message for an error; never a stack trace."""
    message = str(exc)
    if getattr(exc, "status", None) == 503:  # the API's error from get_service() before the index is up
        if "loading" in message:
            return "资料库正在加载，请稍等半分钟再提问。"
        return "资料库暂时不可用，请稍后再试。"
    if isinstance(exc, QueryError):
        # QueryError carries English text for API clients; residents get the known cases in Chinese.
        if "must not be empty" in message:
            return "请先输入您的问题。"
        if too_long := _TOO_LONG.search(message):
            return f"问题有 {too_long.group(1)} 个字，超过了 {too_long.group(2)} 字的上限，请精简后再问。"
        return "这个问题暂时无法回答，请换个说法再试。"
    if isinstance(exc, QAError):
        return "资料库暂时不可用，请稍后再试。"
    return "抱歉，系统出了点问题，请稍后再试。"


# -- the controller: event handlers, no Gradio layout -----------------------------------------------
class ChatController:
    """Turns UI events into service calls and rendered HTML."""

    def __init__(self, get_service: Callable[[], Service], keystore: Any,
                 examples: tuple[str, ...] = EXAMPLES, suggestions: tuple[str, ...] = SUGGESTIONS,
                 pause: float = SENTENCE_PAUSE) -> None:
        self.get_service = get_service
        self.keystore = keystore
        self.examples = examples
        self.suggestions = suggestions
        self.pause = pause

    def ask(self, question: str | None, messages: Messages | None,
            turns: list[Turn] | None) -> tuple[Messages, str, list[Turn], Any]:
        """Answer a question in the context of the earlier turns; returns chat, input, turns, source panel."""
        question = (question or "").strip()
        messages, turns = list(messages or []), list(turns or [])
        panel: Any = gr.skip()
        if not question:
            note = f"请先输入您的问题，例如：{self.examples[0]}"
            messages.append({"role": "assistant", "content": render.render_error(note)})
            turns.append(Turn("", note, len(messages) - 1))
            return messages, "", turns, panel
        messages.append({"role": "user", "content": render.render_question(question)})
        history = [{"question": t.question, "answer": t.answer.text} for t in turns if t.answer is not None]
        try:
            service = self.get_service()
            answer = service.ask(question, history=history)
            trend = self.trend_chart(service, answer) if answer.found else ""
        except Exception as exc:
            if not isinstance(exc, QAError) and getattr(exc, "status", None) is None:
                log.exception("the chat could not answer %r", question)
            note = friendly_error(exc)
            messages.append({"role": "assistant", "content": render.render_error(note)})
            turns.append(Turn(question, note, len(messages) - 1))
            return messages, "", turns, panel
        turn = len(turns)
        reply: dict[str, Any] = {"role": "assistant", "content": render.render_answer(answer, turn, trend)}
        if not answer.found:
            picked = render.suggestions(question, self.suggestions)
            reply["options"] = [{"value": q, "label": q} for q in picked]
        messages.append(reply)
        turns.append(Turn(question, answer.text, len(messages) - 1, answer))
        first = render.cited_ids(answer)
        if answer.found and first:
            panel = self.source(render.cite_ref(turn, first[0]), turns)
        elif not answer.found:
            panel = render.render_source_message(NOT_FOUND_PANEL)
        return messages, "", turns, panel

    def ask_stream(self, question: str | None, messages: Messages | None,
                   turns: list[Turn] | None) -> Iterator[tuple[Messages, str, list[Turn] | Any, Any]]:
        """:meth:`ask`, written out as it goes: the question at once, then the answer sentence by sentence."""
        before = list(messages or [])
        if text := (question or "").strip():
            asked = [*before, {"role": "user", "content": render.render_question(text)}]
            yield [*asked, {"role": "assistant", "content": render.render_pending()}], "", gr.skip(), gr.skip()
        final = self.ask(question, before, turns)
        done = final[2][-1] if final[2] else None
        if done is not None and done.answer is not None and done.answer.found:
            shown = ""
            for sentence in answer_sentences(done.answer.text):
                shown += sentence
                partial = {"role": "assistant", "content": render.render_partial(done.answer, len(final[2]) - 1, shown)}
                yield [*final[0][:-1], partial], "", gr.skip(), gr.skip()
                time.sleep(self.pause)
        yield final

    def ask_selected(self, messages: Messages | None, turns: list[Turn] | None,
                     evt: gr.SelectData) -> Iterator[tuple[Messages, str, list[Turn] | Any, Any]]:
        """Ask an example question or a suggestion the resident clicked."""
        value = evt.value
        question = value.get("text", "") if isinstance(value, dict) else str(value or "")
        yield from self.ask_stream(question, messages, turns)

    def trend_chart(self, service: Service, answer: Answer) -> str:
        """A chart of the answer's metric over the years, when the reports give it for several years."""
        for cited in answer.figures:
            f = cited.figure
            if not f.metric or f.year is None:
                continue
            points = self.trend_points(service, f)
            if len(points) >= 2:
                return render.render_chart(f.metric, f.unit, points)
        return ""

    @staticmethod
    def trend_points(service: Service, figure: Figure) -> list[render.TrendPoint]:
        """One value per year for the figure's metric, unit and kind; the newest report wins a tie."""
        docs: dict[str, Document] = {}
        best: dict[int, tuple[str, Figure]] = {}
        for f in service.figures(metric=figure.metric):
            if (f.metric != figure.metric or f.unit != figure.unit or f.kind != figure.kind or f.year is None
                    or f.period != figure.period):
                continue
            doc = docs.get(f.doc_id) or docs.setdefault(f.doc_id, service.document(f.doc_id))
            date = doc.date or ""
            if f.year not in best or date > best[f.year][0]:
                best[f.year] = (date, f)
        points = []
        for year in sorted(best)[-CHART_YEARS:]:
            f = best[year][1]
            doc = docs[f.doc_id]
            label = (f.qualifier or "") + (f.number or f"{f.value:g}")
            points.append(render.TrendPoint(year, f.value, label, doc.title, doc.date))
        return points

    def source(self, ref: str, turns: list[Turn] | None, full: bool = False) -> str:
        """The source panel for a citation address such as ``cite-0-2``."""
        parsed = render.parse_ref(ref or "")
        turns = turns or []
        if parsed is None or parsed[0] >= len(turns) or turns[parsed[0]].answer is None:
            return render.render_source_message(STALE_REF)
        answer = turns[parsed[0]].answer
        assert answer is not None
        citation = next((c for c in answer.citations if c.id == parsed[1]), None)
        if citation is None:
            return render.render_source_message("没有找到这条引用。")
        try:
            service = self.get_service()
            doc = service.document(citation.doc_id)
            figures = service.figures(doc_id=doc.doc_id, start=citation.start, end=citation.end)
            layout = service.snapshot.layout(doc.doc_id)
            table = next((t for t in layout.tables if t.number == citation.table), None) if layout else None
            image = self.page_image(service, doc, citation) if full else None
        except NotFoundError:
            return render.render_source_message("这篇报告已从资料库中移除，无法显示原文。")
        except Exception as exc:
            log.exception("could not show source %s", ref)
            return render.render_source_message(friendly_error(exc))
        if doc.text[citation.start:citation.end] != citation.text:
            return render.render_source_message("这篇报告在回答之后更新过，请重新提问以查看最新原文。")
        return render.render_source(doc, citation, figures, render.cite_ref(*parsed), full=full, table=table,
                                    page_image=image)

    @staticmethod
    def page_image(service: Service, doc: Document, citation: Any) -> str | None:
        """The cited page of a PDF or scan as a data URI, the passage marked; None when there is none to show."""
        if not citation.page or doc.format not in ("pdf", "image"):
            return None
        try:
            png = service.page_image(doc.doc_id, citation.page, citation.start, citation.end)
        except QAError:
            log.warning("no page image for %s page %s", doc.doc_id, citation.page, exc_info=True)
            return None
        return "data:image/png;base64," + base64.b64encode(png).decode("ascii")

    def on_cite(self, turns: list[Turn] | None, evt: gr.EventData) -> str:
        """A citation link or card was clicked."""
        return self.source(_event_ref(evt), turns)

    def on_open_document(self, turns: list[Turn] | None, evt: gr.EventData) -> str:
        """查看原文 was clicked."""
        return self.source(_event_ref(evt), turns, full=True)

    def feedback(self, turns: list[Turn] | None, evt: gr.LikeData) -> None:
        """Store a 👍 or 👎 on an answer."""
        if not isinstance(evt.liked, bool):
            return
        turn = next((t for t in turns or [] if t.message == evt.index), None)
        if turn is None:
            return
        try:
            self.keystore.add_feedback(turn.question, turn.shown, 1 if evt.liked else -1, None, "ui")
        except Exception:
            log.exception("could not store feedback")
            gr.Warning("反馈没有保存成功，请稍后再试。")
        # On success the thumb stays highlighted; Gradio's toast would add an English "Info" header.

    @staticmethod
    def reset() -> tuple[Messages, str, list[Turn], str]:
        """Start a new conversation."""
        return [], "", [], render.render_source_message(EMPTY_PANEL)


def _event_ref(evt: gr.EventData) -> str:
    data = getattr(evt, "_data", None)
    return str(data.get("ref", "")) if isinstance(data, dict) else ""


# -- layout -----------------------------------------------------------------------------------------
EMPTY_PANEL = ("点击回答中的编号（如 [1]）或回答下方的来源卡片，这里会显示原文段落："
               "引用的内容以黄色标出，其中的数据以蓝色标出。")
NOT_FOUND_PANEL = "资料中没有找到这个问题的答案。点击回答里“最接近的段落”的卡片，可以在这里查看原文。"
STALE_REF = "这条引用已经失效（对话可能已重新开始），请点击最新回答中的编号。"
HEADER = (f'<header class="qa-header"><h1>{TITLE}</h1>'
          "<p>回答只摘自九龙坡区公开发布的报告，每句话都标明出处，可点开核对原文；资料里没有的，会如实告诉您。</p>"
          "</header>")
WELCOME = "**您好！** 请直接提问，或点击下面的示例问题："
FOOTER = ('<footer class="qa-footer">资料来源：九龙坡区公开报告。回答由系统从原文摘录，不代表官方解释；'
          '重要事项请以政府正式发布为准。 · <a href="/docs">开发者 API</a></footer>')


# Show the newest question at the top of the chat, so a long answer is read from its start (Gradio's own
# autoscroll would jump to the end of the source cards).
SHOW_LATEST_JS = """() => { setTimeout(() => {
  const all = [...document.querySelectorAll('#qa-chat .message')];
  const last = all[all.length - 1], prev = all[all.length - 2];
  const target = prev && prev.classList.contains('user') ? prev : last;
  let box = target && target.parentElement;
  const scrolls = (el) => el.scrollHeight > el.clientHeight
    && /auto|scroll/.test(getComputedStyle(el).overflowY);
  while (box && !scrolls(box)) box = box.parentElement;
  if (!box || box === document.body || box === document.documentElement) return;
  const offset = target.getBoundingClientRect().top - box.getBoundingClientRect().top;
  box.scrollTo({ top: box.scrollTop + offset - 8, behavior: 'smooth' });
}, 60); }"""


def _head() -> str:
    # The style sheet goes in as is: Gradio would scope css= rules under .contain, out of reach of the
    # page frame that the phone layout has to tighten.
    css = (HERE / "style.css").read_text(encoding="utf-8")
    return ('<meta name="description" content="九龙坡区资料问答：答案摘自九龙坡区公开报告，并注明出处。">'
            f"<style>{css}</style>")


def _panel_js() -> str:
    return (HERE / "panel.js").read_text(encoding="utf-8")


def build_blocks(controller: ChatController) -> gr.Blocks:
    """The chat page."""
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        turns = gr.State([])
        gr.HTML(HEADER, js_on_load=None, elem_id="qa-header")
        with gr.Row(equal_height=False, elem_id="qa-main"):
            with gr.Column(scale=3, min_width=300, elem_id="qa-chat-column"):
                chatbot = gr.Chatbot(
                    value=[], elem_id="qa-chat", show_label=False, height="64vh", min_height=360,
                    placeholder=WELCOME, examples=[{"text": q} for q in controller.examples],
                    sanitize_html=True, latex_delimiters=[], buttons=[], group_consecutive_messages=False,
                    feedback_options=("Like", "Dislike"), layout="bubble", autoscroll=False,
                )
                question = gr.Textbox(
                    show_label=False, placeholder="请输入问题，例如：跳磴河治理累计投入了多少资金？", lines=1,
                    max_lines=4, submit_btn="提问", elem_id="qa-input", autofocus=True,
                )
                with gr.Row(elem_id="qa-tools"):
                    reset = gr.Button("重新开始", variant="secondary", size="sm", elem_id="qa-reset", scale=0,
                                      min_width=110)
            with gr.Column(scale=2, min_width=280, elem_id="qa-side-column"):
                panel = gr.HTML(render.render_source_message(EMPTY_PANEL), js_on_load=_panel_js(),
                                elem_id="qa-source-panel", label="原文出处", apply_default_css=True)
        gr.HTML(FOOTER, js_on_load=None, elem_id="qa-footer")

        outputs = [chatbot, question, turns, panel]
        selected = [chatbot, turns]
        asked = (question.submit(controller.ask_stream, [question, *selected], outputs, show_progress="minimal"),
                 chatbot.example_select(controller.ask_selected, selected, outputs, show_progress="minimal"),
                 chatbot.option_select(controller.ask_selected, selected, outputs, show_progress="minimal"))
        for event in asked:
            event.then(None, js=SHOW_LATEST_JS)
        chatbot.like(controller.feedback, [turns], None, show_progress="hidden")
        reset.click(controller.reset, None, outputs, show_progress="hidden")
        chatbot.clear(controller.reset, None, outputs, show_progress="hidden")
        panel.cite(controller.on_cite, [turns], panel, show_progress="hidden")
        panel.open_doc(controller.on_open_document, [turns], panel, show_progress="hidden")
        panel.close_doc(controller.on_cite, [turns], panel, show_progress="hidden")
    return demo


def theme() -> gr.themes.Base:
    """System fonts only (with Chinese fallbacks), so the page loads nothing from the network."""
    return gr.themes.Default(
        primary_hue=gr.themes.colors.blue, neutral_hue=gr.themes.colors.slate,
        font=["-apple-system", "BlinkMacSystemFont", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei",
              "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"],
    )


class _UIMount(Mount):
    """The UI's mount at ``/``, which leaves the API's paths to the API (its 404 and 405 bodies)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope.get("path", "")
        if scope["type"] in ("http", "websocket") and (path.startswith(API_PATHS[0]) or path in API_PATHS):
            return Match.NONE, {}
        return super().matches(scope)


def mount_ui(app: FastAPI, get_service: Callable[[], Service], keystore: Any) -> FastAPI:
    """Mount the chat at ``/`` after the API routes, which keep working."""
    demo = build_blocks(ChatController(get_service, keystore))
    demo.queue(default_concurrency_limit=8)
    app = gr.mount_gradio_app(
        app, demo, path="/", theme=theme(), head=_head(), footer_links=[], run_history=False, ssr_mode=False,
        show_error=False, pwa=False, mcp_server=False, enable_monitoring=False,
    )
    mount = app.router.routes[-1]
    if isinstance(mount, Mount) and mount.path == "":
        app.router.routes[-1] = _UIMount("/", app=mount.app, name=mount.name)
    return app
