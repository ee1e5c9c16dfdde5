"""PDF: the text layer per page in reading order (pdfium), ruled tables (pdfplumber), OCR where it is needed.

A page is read by OCR when it has no usable text layer: no text at all but an image (a scan), or a text
layer that is garbled, as in 公文 PDFs whose fonts carry no Unicode map: ``(cid:123)``, U+FFFD, private-use
or control characters, or almost no Chinese on a page of a Chinese document. Pages are read one at a time
and released, so memory stays flat however long the file is; OCR work is bounded by ``Limits.max_ocr_pages``.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from qa.errors import DocumentParseError
from qa.loaders import Context
from qa.loaders.base import Loaded, TextBuilder
from qa.loaders.layout import Block, TableBlock, TextLine, add_page_lines, drop_margins
from qa.loaders.meta import official_meta

log = logging.getLogger(__name__)

_BAD = re.compile(r"\(cid:\d+\)|[\ufffd\ue000-\uf8ff\x00-\x08\x0b\x0c\x0e-\x1f]")
GARBLED_SHARE = 0.05  # of a page's characters that are replacement, private-use or control characters
CJK_FLOOR = 0.05  # a page of a Chinese document with a smaller share of Chinese characters is garbled
SCAN_CHARS = 10  # a page with fewer text-layer characters than this and an image is a scan
TABLE_PATHS = 4  # path objects a page needs before it is searched for ruled tables


@dataclass
class _PageRead:
    lines: list[TextLine]
    images: int
    paths: int
    chars: int
    bad: int
    cjk: int
    tables: list[TableBlock] = field(default_factory=list)
    ocr_reason: str | None = None


def is_cjk(ch: str) -> bool:
    """A Chinese character."""
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def load(data: bytes, name: str, context: Context) -> Loaded:
    """Every page's text, tables where ruled, OCR where the text layer is missing or garbled."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        message = str(exc).rstrip(".")
        if "password" in message.lower():
            raise DocumentParseError(f"{name}: the PDF is encrypted (password protected); "
                                     "remove the password and add it again") from exc
        raise DocumentParseError(f"{name}: not a readable PDF ({message})") from exc
    try:
        return _load(pdf, data, name, context)
    finally:
        pdf.close()


def _load(pdf: Any, data: bytes, name: str, context: Context) -> Loaded:
    total = len(pdf)
    limits = context.limits
    if total == 0:
        raise DocumentParseError(f"{name}: the PDF has no pages")
    if total > limits.max_pages:
        raise DocumentParseError(f"{name}: {total} pages, more than the limit of {limits.max_pages}")
    reads: list[_PageRead] = []
    plumber = _Plumber(data)
    try:
        for i in range(total):
            reads.append(_read_page(pdf, i, plumber))
            if context.progress:
                context.progress(i + 1, total)
    finally:
        plumber.close()
    _decide_ocr(reads)
    need = [i for i, r in enumerate(reads) if r.ocr_reason]
    if len(need) > limits.max_ocr_pages:
        raise DocumentParseError(f"{name}: {len(need)} pages need OCR (scanned or garbled text), more than the "
                                 f"limit of {limits.max_ocr_pages}")
    notes: list[str] = []
    if need:
        from qa.loaders.ocr import session

        with session() as engine:
            for done, i in enumerate(need, 1):
                reads[i].lines = _ocr_page(pdf, i, context.ocr_scale, engine)
                reads[i].tables = []
                if reads[i].ocr_reason == "garbled":
                    notes.append(f"第{i + 1}页的文字层无法正确读取（字体缺少Unicode映射），已用OCR重新识别")
                if context.progress:
                    context.progress(total + done, total + len(need))
    if need and all(r.ocr_reason == "scan" for r in (reads[i] for i in need)):
        notes.append(f"共{len(need)}页为扫描页，文字由OCR识别，个别字词可能有误")
    pages = drop_margins([_blocks(r) for r in reads])
    builder = TextBuilder()
    previous: list[TextLine] = []
    for n, (blocks, read) in enumerate(zip(pages, reads, strict=True), 1):
        previous = add_page_lines(builder, blocks, previous, page=n, ocr=read.ocr_reason is not None) or previous
    if not builder.length:
        reason = "no text layer and no text recognised by OCR" if need else "no text layer and no scanned image"
        raise DocumentParseError(f"{name}: no text found in the PDF ({reason})")
    meta = official_meta("".join(builder.parts).split("\n\n"))
    title = (pdf.get_metadata_dict().get("Title") or "").strip()
    if title and not re.fullmatch(r"(?i)untitled|microsoft word.*|.*\.(docx?|pdf|wps)", title):
        meta["title"] = title
    return builder.result("pdf", meta, notes)


def _blocks(read: _PageRead) -> list[Block]:
    """The page's lines in reading order, each ruled table in place of the lines inside it."""
    if not read.tables:
        return list(read.lines)
    out: list[Block] = []
    placed: set[int] = set()
    for line in read.lines:
        cx, cy = (line.box[0] + line.box[2]) / 2, (line.box[1] + line.box[3]) / 2
        inside = next((k for k, t in enumerate(read.tables)
                       if t.box[0] <= cx <= t.box[2] and t.box[1] <= cy <= t.box[3]), None)
        if inside is None:
            for k, table in enumerate(read.tables):  # a table with no text layer lines of its own
                if k not in placed and table.box[3] <= line.box[1]:
                    out.append(table)
                    placed.add(k)
            out.append(line)
        elif inside not in placed:
            out.append(read.tables[inside])
            placed.add(inside)
    out.extend(t for k, t in enumerate(read.tables) if k not in placed)
    return out


def _read_page(pdf: Any, index: int, plumber: _Plumber) -> _PageRead:
    import pypdfium2.raw as raw

    page = pdf[index]
    try:
        left, bottom, right, top = page.get_cropbox()
        width, height = (right - left) or 1.0, (top - bottom) or 1.0
        textpage = page.get_textpage()
        try:
            text = textpage.get_text_range(errors="replace")
            lines = _lines(textpage, text, left, top, width, height)
        finally:
            textpage.close()
        images = paths = 0
        for obj in page.get_objects(max_depth=2):
            if obj.type == raw.FPDF_PAGEOBJ_IMAGE:
                images += 1
            elif obj.type == raw.FPDF_PAGEOBJ_PATH:
                paths += 1
    finally:
        page.close()
    chars = [ch for ch in text if not ch.isspace()]
    bad = len(_BAD.findall(text))
    read = _PageRead(lines, images, paths, len(chars), bad, sum(1 for ch in chars if is_cjk(ch)))
    if paths >= TABLE_PATHS and read.chars and not read.bad:
        read.tables = plumber.tables(index)
    return read


def _lines(textpage: Any, text: str, left: float, top: float, width: float, height: float) -> list[TextLine]:
    """pdfium's text split at its line breaks, each line with the box of its characters."""
    out = []
    pos = 0
    for raw_line in re.split(r"(\r\n|\n|\r)", text):
        if raw_line in ("\r\n", "\n", "\r"):
            pos += len(raw_line)
            continue
        start, pos = pos, pos + len(raw_line)
        if not raw_line.strip():
            continue
        boxes = []
        for i in range(start, pos):
            if not text[i].isspace():
                x0, y0, x1, y1 = textpage.get_charbox(i)
                if x1 > x0 or y1 > y0:
                    boxes.append((x0, y0, x1, y1))
        if not boxes:
            continue
        box = ((min(b[0] for b in boxes) - left) / width, (top - max(b[3] for b in boxes)) / height,
               (max(b[2] for b in boxes) - left) / width, (top - min(b[1] for b in boxes)) / height)
        out.append(TextLine(raw_line.strip(), box))
    return out


def _decide_ocr(reads: list[_PageRead]) -> None:
    """Mark the pages to read by OCR, and why: ``scan`` or ``garbled``."""
    readable = [r for r in reads if r.chars >= SCAN_CHARS and r.bad / r.chars <= GARBLED_SHARE]
    cjk_share = sum(r.cjk for r in readable) / max(1, sum(r.chars for r in readable))
    for r in reads:
        if r.chars < SCAN_CHARS:
            r.ocr_reason = "scan" if r.images else None
        elif r.bad / r.chars > GARBLED_SHARE:
            r.ocr_reason = "garbled"
        elif r.chars >= 50 and r.cjk / r.chars < CJK_FLOOR and (cjk_share >= 0.3 or not readable):
            r.ocr_reason = "garbled" if (readable or r.images == 0) else "scan"


def _ocr_page(pdf: Any, index: int, scale: float, engine: Any) -> list[TextLine]:
    from qa.loaders.ocr import read_image

    page = pdf[index]
    try:
        bitmap = page.render(scale=scale, grayscale=True)
        image = bitmap.to_pil()
        bitmap.close()
    finally:
        page.close()
    return read_image(image, engine)


class _Plumber:
    """pdfplumber, opened on the first page that may hold a ruled table (parsing is slow: only then)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pdf: Any = None

    def tables(self, index: int) -> list[TableBlock]:
        try:
            import pdfplumber
        except ImportError:  # pragma: no cover - a declared dependency
            return []
        try:
            if self.pdf is None:
                self.pdf = pdfplumber.open(io.BytesIO(self.data))
            page = self.pdf.pages[index]
            found = page.find_tables()
            out = []
            for table in found:
                rows = [[cell or "" for cell in row] for row in table.extract()]
                if len(rows) < 2 or max(len(r) for r in rows) < 2:
                    continue  # a box around text, not a table
                x0, top, x1, bottom = table.bbox
                out.append(TableBlock(rows, (x0 / page.width, top / page.height, x1 / page.width,
                                             bottom / page.height)))
            page.close()
            return out
        except Exception:  # a table the parser cannot read stays text
            log.warning("could not read the tables of page %d", index + 1, exc_info=True)
            return []

    def close(self) -> None:
        if self.pdf is not None:
            self.pdf.close()
