"""HTML for the chat UI: answers, sources, figure tables and charts.

Every piece of document text and user input goes through :func:`esc` before it becomes HTML; nothing
here trusts its input. Chat messages are also sanitized by Gradio, which strips ``data-*`` attributes,
so a citation link carries its address in ``href="#cite-<turn>-<n>"`` and the browser script reads it.
Messages are built without newlines: a blank line would end the HTML block and let Markdown loose on
document text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from qa.types import Answer, Citation, Document, Figure

if TYPE_CHECKING:
    from qa.loaders import Table

CONTEXT_CHARS = 160  # raw characters shown before and after a cited span
SNIPPET_CHARS = 90
_MARKER = re.compile(r"\[(\d+)\]")
_REF = re.compile(r"^#?cite-(\d+)-(\d+)$")
_SPACE = re.compile(r"\s+")
_BREAK = "\n。！？；"
# Notes meant for residents; the others (retrieval diagnostics) stay in the API response only.
_RESIDENT_NOTES = ("已将", "结合上文")
_KIND_LABELS = {"growth": "增速", "share": "占比", "target": "目标", "rank": "排名", "change": "变化"}


# Bidirectional controls (U+202E and kin) reorder what follows them on screen: a document could show a
# resident text in another order than it has. They are dropped from everything shown.
_BIDI_CONTROLS = [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_TEMPLATE_CHARS: dict[int, str | None] = {ord("{"): "&#123;", ord("}"): "&#125;", ord("$"): "&#36;",
                                          **dict.fromkeys(_BIDI_CONTROLS)}


def esc(text: object) -> str:
    """Text escaped for HTML content and attribute values.

    Braces and ``$`` become entities too, so no template engine between here and the page can read
    document text as a placeholder; bidirectional controls are dropped.
    """
    return html.escape(str(text), quote=True).translate(_TEMPLATE_CHARS)


def cite_ref(turn: int, cite: int) -> str:
    """The address of citation ``cite`` of conversation turn ``turn``."""
    return f"cite-{turn}-{cite}"


def parse_ref(ref: str) -> tuple[int, int] | None:
    """``(turn, cite)`` from a citation address, or None when it is not one."""
    match = _REF.match(ref.strip()) if isinstance(ref, str) else None
    return (int(match.group(1)), int(match.group(2))) if match else None


def _link(turn: int, cite: int, label: str, cls: str = "qa-ref") -> str:
    return f'<a class="{cls}" href="#{cite_ref(turn, cite)}" title="查看来源 [{cite}]">{label}</a>'


def _snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    flat = _SPACE.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[:limit].rstrip() + "…"


def _date(value: str | None) -> str:
    return value or "日期不详"


def where(c: Citation) -> str:
    """Where a cited passage is in its document: 第3页, 第3–4页, 表1 第3行第2列."""
    parts = []
    if c.page:
        parts.append(f"第{c.page}–{c.page_end}页" if c.page_end else f"第{c.page}页")
    if c.table:
        parts.append(f"表{c.table}" + (f" 第{c.row}行第{c.column}列" if c.row and c.column else ""))
    return " · ".join(parts)


def _number(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value):,}"


# -- chat messages ----------------------------------------------------------------------------------
def render_question(question: str) -> str:
    """A resident's question as a chat message: shown literally, never interpreted."""
    return f'<div class="qa-question">{esc(question)}</div>'


def render_error(message: str) -> str:
    """A friendly message in place of an answer."""
    return f'<div class="qa-answer qa-error" role="alert"><p>{esc(message)}</p></div>'


def answer_body(answer: Answer, turn: int) -> str:
    """The answer text with each valid ``[n]`` marker made a link to its source."""
    ids = {c.id for c in answer.citations}

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        return _link(turn, n, f"[{n}]") if n in ids else match.group(0)

    return _MARKER.sub(link, esc(answer.text))


def resident_notes(answer: Answer) -> list[str]:
    """The notes worth showing a resident (typo repairs, how a follow-up was understood)."""
    return [n for n in answer.notes if n.startswith(_RESIDENT_NOTES)]


def cited_ids(answer: Answer) -> list[int]:
    """Citation numbers the answer text refers to, in order of first use."""
    seen: list[int] = []
    for m in _MARKER.finditer(answer.text):
        n = int(m.group(1))
        if n not in seen and any(c.id == n for c in answer.citations):
            seen.append(n)
    return seen


def render_cards(citations: Iterable[Citation], turn: int) -> str:
    """Clickable source cards: number, title, date and the start of the passage."""
    cards = []
    for c in citations:
        meta = " · ".join(p for p in (_date(c.date), where(c)) if p)
        body = (f'<span class="qa-card-title">{esc(c.title)}</span>'
                f'<span class="qa-card-meta">{esc(meta)}</span>'
                f'<span class="qa-card-snippet">{esc(_snippet(c.text))}</span>')
        cards.append(_link(turn, c.id, f'<span class="qa-card-n">{c.id}</span><span class="qa-card-body">'
                                       f"{body}</span>", cls="qa-card"))
    return "".join(cards)


@dataclass(frozen=True)
class FigureRow:
    """One line of the figure table."""

    metric: str
    value: str
    unit: str
    year: str
    citation: int
    source: str


def figure_rows(answer: Answer) -> list[FigureRow]:
    """The answer's figures as table rows (duplicates dropped), in the order the answer gives them."""
    titles = {c.id: c.title for c in answer.citations}
    rows: list[FigureRow] = []
    seen: set[tuple[str, int]] = set()
    for cited in answer.figures:
        f = cited.figure
        if (f.text, cited.citation) in seen:
            continue
        seen.add((f.text, cited.citation))
        metric = f.metric or f.text
        if f.kind in _KIND_LABELS and _KIND_LABELS[f.kind] not in metric:
            metric = f"{metric}（{_KIND_LABELS[f.kind]}）"
        value = f.number or _number(f.value)
        if f.qualifier:
            value = f"{f.qualifier}{value}"
        year = f"{f.year}年" if f.year else (f.period or "—")
        if f.year and f.period:
            year = f"{year}{f.period}" if not f.period.startswith(str(f.year)) else f.period
        source = titles.get(cited.citation, "")
        rows.append(FigureRow(metric, value, f.unit or "—", year, cited.citation, source))
    return rows


def render_figure_table(rows: Sequence[FigureRow], turn: int) -> str:
    """The 指标 / 数值 / 单位 / 年份 / 来源 table."""
    if not rows:
        return ""
    head = "".join(f"<th>{h}</th>" for h in ("指标", "数值", "单位", "年份", "来源"))
    body = "".join(
        f"<tr><td>{esc(r.metric)}</td><td class=\"qa-num\">{esc(r.value)}</td><td>{esc(r.unit)}</td>"
        f"<td>{esc(r.year)}</td><td>{_link(turn, r.citation, f'[{r.citation}]')}</td></tr>"
        for r in rows)
    return (f'<div class="qa-block-title">相关数据</div><div class="qa-table-wrap"><table class="qa-figs">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")


@dataclass(frozen=True)
class TrendPoint:
    """A metric's value in one year, with the report it comes from."""

    year: int
    value: float
    label: str  # the number as written, with its qualifier
    title: str
    date: str | None


def render_chart(metric: str, unit: str, points: Sequence[TrendPoint]) -> str:
    """A small bar chart of a metric over the years, as inline SVG (no scripts, no external assets).

    Coordinates are percentages because the chat sanitizer drops ``viewBox``; the chart still scales.
    """
    if len(points) < 2:
        return ""
    top = max(p.value for p in points) or 1.0
    slot = 100 / len(points)
    width = slot * 0.56
    bars = []
    for i, p in enumerate(points):
        height = max(1.5, 62 * p.value / top)
        x = i * slot + (slot - width) / 2
        y = 80 - height
        middle = i * slot + slot / 2
        bars.append(
            f'<rect class="qa-bar" x="{x:.2f}%" y="{y:.2f}%" width="{width:.2f}%" height="{height:.2f}%"'
            f' rx="3"/><text class="qa-bar-value" x="{middle:.2f}%" y="{y - 3:.2f}%" text-anchor="middle">'
            f'{esc(p.label)}</text><text class="qa-bar-year" x="{middle:.2f}%" y="93%" text-anchor="middle">'
            f"{p.year}</text>")
    sources = "".join(f"<li>{p.year}年：{esc(p.label)}{esc(unit)}，"
                      f"见《{esc(p.title)}》（{esc(_date(p.date))}）</li>" for p in points)
    caption = f"{esc(metric)}（{esc(unit) or '数值'}），各年数字摘自不同报告"
    return (f'<div class="qa-block-title">历年变化</div><figure class="qa-chart">'
            f'<svg class="qa-chart-svg" width="100%" height="170" role="img">'
            f'<line class="qa-axis" x1="0%" y1="80%" x2="100%" y2="80%"/>{"".join(bars)}</svg>'
            f"<figcaption>{caption}</figcaption>"
            f'<details class="qa-chart-sources"><summary>数据出处</summary><ul>{sources}</ul></details>'
            f"</figure>")


def render_answer(answer: Answer, turn: int, trend: str = "") -> str:
    """A found or not-found answer as one chat message."""
    notes = "".join(f'<p class="qa-note">{esc(n)}</p>' for n in resident_notes(answer))
    if not answer.found:
        return render_not_found(answer, turn, notes)
    cited = cited_ids(answer)
    primary = [c for c in answer.citations if c.id in cited]
    others = [c for c in answer.citations if c.id not in cited]
    parts = [f'<div class="qa-answer">{notes}<p class="qa-text">{answer_body(answer, turn)}</p>',
             render_figure_table(figure_rows(answer), turn), trend,
             f'<div class="qa-block-title">来源（点击查看原文）</div><div class="qa-cards">'
             f"{render_cards(primary or answer.citations, turn)}</div>"]
    if primary and others:
        parts.append(f'<details class="qa-more"><summary>其他相关段落（{len(others)}）</summary>'
                     f'<div class="qa-cards">{render_cards(others, turn)}</div></details>')
    parts.append("</div>")
    return "".join(parts)


def render_pending() -> str:
    """The reply's place while the reports are searched."""
    return '<div class="qa-stream qa-pending" aria-busy="true"><p class="qa-text">正在查找资料…</p></div>'


def render_partial(answer: Answer, turn: int, shown: str) -> str:
    """A found answer while it is written out: its notes and the first sentences ``shown``, links live."""
    notes = "".join(f'<p class="qa-note">{esc(n)}</p>' for n in resident_notes(answer))
    body = answer_body(replace(answer, text=shown), turn)
    return f'<div class="qa-stream" aria-busy="true">{notes}<p class="qa-text">{body}</p></div>'


def render_not_found(answer: Answer, turn: int, notes: str = "") -> str:
    """An honest "not found": what is missing, the closest passages, and a pointer to suggestions."""
    closest = (f'<div class="qa-block-title">资料中最接近的段落</div><div class="qa-cards">'
               f"{render_cards(answer.citations[:3], turn)}</div>") if answer.citations else ""
    return (f'<div class="qa-answer qa-not-found">{notes}'
            f'<p class="qa-text"><strong>{esc(answer.text)}</strong></p>{closest}'
            f'<p class="qa-hint">可以换个说法再问，或者试试下面这些资料里有答案的问题：</p></div>')


def suggestions(question: str, examples: Sequence[str], count: int = 3) -> list[str]:
    """Answerable example questions, those sharing the most characters with ``question`` first."""
    asked = set(question)
    ranked = sorted((e for e in examples if e != question.strip()), key=lambda e: -len(asked & set(e)))
    return ranked[:count]


# -- the source panel -------------------------------------------------------------------------------
def _mark_figures(text: str, offset: int, figures: Iterable[Figure]) -> str:
    """``text`` (which starts at raw offset ``offset``) escaped, with each figure inside it wrapped."""
    out, pos = [], 0
    for f in sorted(figures, key=lambda f: (f.start, -f.end)):
        start, end = f.start - offset, f.end - offset
        if start < pos or end > len(text) or start >= end:
            continue  # overlapping or outside this piece of text
        tip = f"{f.metric or '数据'}：{f.text}"
        out.append(esc(text[pos:start]))
        out.append(f'<span class="qa-fig" title="{esc(tip)}">{esc(text[start:end])}</span>')
        pos = end
    out.append(esc(text[pos:]))
    return "".join(out)


def _cited(text: str, citation: Citation, figures: Iterable[Figure]) -> str:
    """The cited passage escaped, its figures wrapped, and the sentence the answer quotes in ``.qa-quote``."""
    qs, qe = citation.quote_start, citation.quote_end
    if qs is None or qe is None or not citation.start <= qs < qe <= citation.end:
        return _mark_figures(text[citation.start:citation.end], citation.start, figures)
    figures = list(figures)
    return (_mark_figures(text[citation.start:qs], citation.start, figures)
            + f'<span class="qa-quote">{_mark_figures(text[qs:qe], qs, figures)}</span>'
            + _mark_figures(text[qe:citation.end], qe, figures))


def _context(text: str, start: int, end: int, chars: int) -> tuple[int, int]:
    """Raw bounds of the context around a span, cut at a line or sentence end when one is near."""
    lo = max(0, start - chars)
    if lo > 0:
        cut = max(text.rfind(ch, lo, start - chars // 3) for ch in _BREAK)
        lo = cut + 1 if cut >= lo else lo
    hi = min(len(text), end + chars)
    if hi < len(text):
        cut = max(text.rfind(ch, end + chars // 3, hi) for ch in _BREAK)
        hi = cut + 1 if cut >= 0 else hi
    return lo, hi


def render_passage(doc: Document, citation: Citation, figures: Sequence[Figure],
                   chars: int = CONTEXT_CHARS) -> str:
    """The cited span in its context: span in ``<mark>``, its figures in ``<span class="qa-fig">``."""
    text = doc.text
    lo, hi = _context(text, citation.start, citation.end, chars)
    before = ("…" if lo > 0 else "") + esc(text[lo:citation.start])
    after = esc(text[citation.end:hi]) + ("…" if hi < len(text) else "")
    span = _cited(text, citation, figures)
    return f'<div class="qa-passage">{before}<mark class="qa-span">{span}</mark>{after}</div>'


def render_document(doc: Document, citation: Citation, figures: Sequence[Figure]) -> str:
    """The whole raw document, line breaks kept, with the cited span marked and given an anchor."""
    text = doc.text
    span = _cited(text, citation, figures)
    return (f'<div class="qa-doc" tabindex="0" aria-label="原文">{esc(text[:citation.start])}'
            f'<mark class="qa-span" id="qa-doc-span">{span}</mark>{esc(text[citation.end:])}</div>')


def render_table(table: Table, row: int | None = None, column: int | None = None) -> str:
    """A table of a document as it reads, its cited cell (and row) highlighted."""
    head = f'<div class="qa-src-caption">{esc(table.caption)}</div>' if table.caption else ""
    unit = f'<div class="qa-src-unit">单位：{esc(table.unit)}</div>' if table.unit else ""
    body = []
    for r, cells in enumerate(table.rows, 1):
        tag = "th" if r <= table.header_rows else "td"
        out = []
        for c, value in enumerate(cells, 1):
            hit = r == row and c == column
            cls = ' class="qa-cell-hit"' if hit else (' class="qa-num"' if tag == "td" and c > table.stub_columns else "")
            out.append(f"<{tag}{cls}>{esc(value)}</{tag}>")
        row_cls = ' class="qa-row-hit"' if r == row else ""
        body.append(f"<tr{row_cls}>{''.join(out)}</tr>")
    return (f'<div class="qa-src-table">{head}{unit}<div class="qa-table-wrap"><table>{"".join(body)}</table></div>'
            "</div>")


def render_page_image(src: str, page: int) -> str:
    """The page of the original file, with the cited passage marked (``src`` is a data URI)."""
    return (f'<div class="qa-doc-title">原件第{page}页（黄色为引用段落）</div>'
            f'<img class="qa-page" src="{esc(src)}" alt="原件第{page}页" loading="lazy">')


def render_source(doc: Document, citation: Citation, figures: Sequence[Figure], ref: str,
                  full: bool = False, table: Table | None = None, page_image: str | None = None) -> str:
    """The source panel for one citation; with ``full`` it also holds the whole document.

    ``table`` is the table the citation is in (shown with its cited cell highlighted); ``page_image`` the
    page of the original PDF or scan, shown in the full view.
    """
    meta = [f"发布日期：{esc(_date(doc.date))}"]
    if doc.source:
        meta.append(f"来源：{esc(doc.source)}")
    if where(citation):
        meta.append(esc(where(citation)))
    count = f"，含 {len(figures)} 处数据" if figures else ""
    head = (f'<div class="qa-source-head"><span class="qa-source-n">[{citation.id}]</span>'
            f'<div><div class="qa-source-title">{esc(doc.title)}</div>'
            f'<div class="qa-source-meta">{" · ".join(meta)}</div></div></div>')
    quote = '<span class="qa-key-quote">答案引用的句子</span>' if citation.quote_start is not None else ""
    legend = (f'<div class="qa-legend"><span class="qa-key-span">引用段落</span>{quote}'
              f'<span class="qa-key-fig">数据</span><span>{count.lstrip("，")}</span></div>')
    if full:
        image = render_page_image(page_image, citation.page) if page_image and citation.page else ""
        body = (f'{image}<div class="qa-doc-title">原文全文（已定位到引用段落）</div>'
                f"{render_document(doc, citation, figures)}")
        button = f'<button class="qa-button" type="button" data-close-doc="{esc(ref)}">收起原文</button>'
    else:
        body = ""
        button = f'<button class="qa-button" type="button" data-open-doc="{esc(ref)}">查看原文</button>'
    passage = render_passage(doc, citation, figures)
    if table is not None:
        passage = render_table(table, citation.row, citation.column) + passage
    return (f'<div class="qa-source" data-ref="{esc(ref)}">{head}{legend}{passage}'
            f'<div class="qa-source-actions">{button}</div>{body}</div>')


def render_source_message(message: str) -> str:
    """The source panel when it has nothing to show, or cannot show what was asked."""
    return f'<div class="qa-source qa-source-empty"><p>{esc(message)}</p></div>'
