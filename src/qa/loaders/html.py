"""Web pages (HTML): the main content of a government page, without navigation and footers; tables kept.

The page is parsed, never run: scripts, styles, frames and forms are dropped before anything is read.
trafilatura decides which paragraphs are the article; the smallest element holding them all is then walked
in document order, so headings and tables (with their row and column spans) survive, which trafilatura's
own output does not keep. The 政务公开 box (索引号, 发布机构, 发文字号, 成文日期, 发布日期) and the
``ArticleTitle``/``PubDate``/``ContentSource`` meta tags give the title, date, publisher and ids.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from qa.loaders import Context
from qa.loaders.base import Loaded, TextBuilder
from qa.loaders.meta import iso_date
from qa.loaders.text import decode_any

log = logging.getLogger(__name__)

_DROP = ("script", "style", "noscript", "template", "iframe", "frame", "frameset", "object", "embed", "svg",
         "canvas", "form", "button", "input", "select", "textarea", "nav", "header", "footer", "aside", "head")
_BOILER = re.compile(r"(?:^|[\s_-])(?:nav|menu|header|footer|foot|crumb|breadcrumb|share|copyright|sidebar|"
                     r"banner|login|search|toolbar|tools|related|links?|print|pager|pagination|"
                     r"zwgk-info|zwgk-box|metadata|info)(?:$|[\s_-])", re.I)
_BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "section", "article", "blockquote",
           "pre", "center", "dl", "dt", "dd", "address", "figure", "figcaption", "caption", "main", "tr", "hr"}
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_-]+)""", re.I)
_LABELS = {
    "index_no": r"索\s*引\s*号",
    "doc_no": r"发\s*文\s*字\s*号|文\s*号",
    "source": r"发\s*布\s*机\s*构|发\s*文\s*机\s*关|发\s*布\s*单\s*位|来\s*源",
    "written": r"成\s*文\s*日\s*期",
    "published": r"发\s*布\s*日\s*期|发\s*布\s*时\s*间",
}
_MAX_SPAN = 100


def load(data: bytes, name: str, context: Context) -> Loaded:
    """The article's paragraphs and tables, with the page's 政务公开 metadata."""
    import lxml.html

    text = _decode(data, name)
    root = lxml.html.document_fromstring(re.sub(r"^\s*<\?xml[^>]*\?>", "", text))
    meta = _meta(root)
    for el in list(root.iter(*_DROP)):
        if el.getparent() is not None:
            el.drop_tree()
    for comment in root.xpath("//comment() | //processing-instruction()"):
        if comment.getparent() is not None:
            comment.getparent().remove(comment)
    body = root.find("body") if root.find("body") is not None else root
    total = len(body.text_content())
    for el in list(body.iter()):
        # A class such as "news_info" may also name the article's own box: drop only what is a small part of the page.
        if isinstance(el.tag, str) and el.getparent() is not None and _BOILER.search(
                f"{el.get('class', '')} {el.get('id', '')}") and len(el.text_content()) <= 0.3 * total:
            el.drop_tree()
    container = _main_container(body, text)
    builder = TextBuilder()
    _Walker(builder).walk(container)
    return builder.result("html", meta)


def _decode(data: bytes, name: str) -> str:
    declared = _CHARSET.search(data[:4096])
    if declared:
        charset = declared.group(1).decode("ascii").lower()
        if charset in ("gb2312", "gbk", "gb18030"):
            try:
                return data.decode("gb18030")
            except UnicodeDecodeError:
                pass
    return decode_any(data, name)


def _meta(root: Any) -> dict[str, str]:
    """Title, date, publisher and ids from the meta tags and the 政务公开 box."""
    tags = {(m.get("name") or "").lower(): (m.get("content") or "").strip() for m in root.iter("meta")}
    lines = [t.strip() for t in root.find("body").itertext()] if root.find("body") is not None else []
    flat = "\n".join(t for t in lines if t)
    found: dict[str, str] = {}
    for key, label in _LABELS.items():
        m = re.search(rf"(?:{label})\s*[:：]\s*\n?\s*([^\n]+)", flat)
        if m and m.group(1).strip() and not re.match(r"^[\u4e00-\u9fff]{2,5}\s*[:：]", m.group(1)):
            found[key] = m.group(1).strip()[:120]
    meta: dict[str, str] = {}
    title = tags.get("articletitle") or (root.findtext(".//title") or "").split("_")[0].strip()
    if title:
        meta["title"] = title
    for key in ("written", "published"):
        date = iso_date(found.get(key, ""))
        if date:
            meta["date"] = date
            meta["date_note"] = ("成文日期" if key == "written" else "发布日期") + f" {found[key]}"
            break
    else:
        date = iso_date(tags.get("pubdate", ""))
        if date:
            meta["date"], meta["date_note"] = date, f"PubDate {tags['pubdate']}"
    source = found.get("source") or tags.get("contentsource")
    if source:
        meta["source"] = source
    for key in ("index_no", "doc_no"):
        if found.get(key):
            meta[key] = found[key]
    return meta


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _main_container(body: Any, page: str) -> Any:
    """The smallest element holding every block that trafilatura keeps as the article; else the body."""
    try:
        import trafilatura
    except ImportError:  # pragma: no cover - a declared dependency
        return body
    import lxml.html

    try:
        extracted = trafilatura.extract(lxml.html.tostring(body, encoding="unicode"), include_tables=True,
                                        include_comments=False, favor_recall=True) or ""
    except Exception:  # trafilatura's heuristics must not stop a page from loading
        log.warning("trafilatura failed; reading the whole page body", exc_info=True)
        extracted = ""
    main = _squash(extracted)
    if len(main) < 20:
        return body
    kept = [el for el in body.iter("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "td", "div")
            if len(_squash(el.text_content())) >= 8 and _squash(el.text_content()) in main
            and el.find(".//p") is None]
    if not kept:
        return body
    paths = [list(reversed([el, *el.iterancestors()])) for el in kept]
    common = body
    for level in zip(*paths, strict=False):
        if all(node is level[0] for node in level):
            common = level[0]
        else:
            break
    return common


class _Walker:
    """Emits the paragraphs and tables under an element, in document order."""

    def __init__(self, builder: TextBuilder) -> None:
        self.builder = builder
        self.lines: list[str] = [""]

    def flush(self) -> None:
        lines = [re.sub(r"[ \t\r\f\v]+", " ", ln).strip() for ln in self.lines]
        if any(lines):
            self.builder.paragraph([ln for ln in lines if ln])
        self.lines = [""]

    def text(self, value: str | None) -> None:
        if value:
            self.lines[-1] += value.replace("\n", " ")

    def walk(self, el: Any) -> None:
        self._walk(el)
        self.flush()

    def _walk(self, el: Any) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag == "table" and not _is_layout(el):
            self.flush()
            self.builder.table(html_grid(el))
            return
        block = tag in _BLOCKS or tag == "table"
        if block:
            self.flush()
        if tag == "br":
            self.lines.append("")
        elif tag:
            self.text(el.text)
            for child in el:
                self._walk(child)
                self.text(child.tail)
        if block:
            self.flush()


def _is_layout(table: Any) -> bool:
    """A table used to lay out the page (cells holding paragraphs or long text), not a table of data."""
    for cell in table.iter("td", "th"):
        if cell.find(".//p") is not None or cell.find(".//table") is not None or len(cell.text_content()) > 300:
            return True
    return False


def html_grid(table: Any) -> list[list[str]]:
    """The table's grid with row and column spans filled."""
    grid: dict[tuple[int, int], str] = {}
    rows = [tr for tr in table.iter("tr") if next(tr.iterancestors("table")) is table]
    for r, tr in enumerate(rows):
        c = 0
        for cell in tr:
            if cell.tag not in ("td", "th"):
                continue
            while (r, c) in grid:
                c += 1
            text = " ".join(t.strip() for t in cell.itertext() if t.strip())
            rowspan, colspan = _span(cell, "rowspan"), _span(cell, "colspan")
            for dr in range(min(rowspan, len(rows) - r)):
                for dc in range(colspan):
                    grid[(r + dr, c + dc)] = text
            c += colspan
    if not grid:
        return []
    height = max(r for r, _ in grid) + 1
    width = max(c for _, c in grid) + 1
    return [[grid.get((r, c), "") for c in range(width)] for r in range(height)]


def _span(cell: Any, attr: str) -> int:
    value = (cell.get(attr) or "1").strip()
    return min(int(value), _MAX_SPAN) if value.isdecimal() and int(value) > 0 else 1
