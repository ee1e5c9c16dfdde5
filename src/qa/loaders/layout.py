"""Paragraphs from positioned lines (a PDF text layer, OCR, OFD): where a printed line ends a paragraph.

A line ends its paragraph when it stops short of the right margin, when the next line is indented, or when
a wider gap follows it; a line centred on the page (a heading) stands alone. A paragraph cut by a page
break goes on in the next page's first paragraph, joined by a line break, as the reader would read it.
Page numbers and running heads in the top and bottom margins are not text of the document.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from qa.loaders.base import Box, TextBuilder

_PAGE_NUMBER = re.compile(r"^(?:[-—–－\s]*[0-9]{1,4}[-—–－\s]*|第\s*[0-9]{1,4}\s*页(?:\s*[,，/]?\s*共\s*[0-9]{1,4}\s*页)?|"
                          r"[0-9]{1,4}\s*/\s*[0-9]{1,4}|[-—–－]\s*[0-9]{1,4}\s*[-—–－])$")
_MARGIN = 0.1  # top and bottom tenth of a page: where page numbers and running heads live
_ENDS = "。！？；…：:!?;”"


@dataclass(frozen=True)
class TextLine:
    """A printed line: text and box (fractions of the page, origin top left)."""

    text: str
    box: Box


@dataclass(frozen=True)
class TableBlock:
    """A table found on a page: its grid and box."""

    rows: list[list[str]]
    box: Box


Block = TextLine | TableBlock


def is_page_number(line: TextLine) -> bool:
    """A page number printed in the top or bottom margin (- 3 -, 第3页, 3/12)."""
    in_margin = line.box[1] < _MARGIN or line.box[3] > 1 - _MARGIN
    return in_margin and bool(_PAGE_NUMBER.match(line.text.strip()))


def running_heads(pages: Sequence[Sequence[Block]]) -> set[str]:
    """Texts repeated in the margins of at least half the pages (three or more): running heads and feet."""
    counts: dict[str, int] = {}
    for page in pages:
        seen = {b.text.strip() for b in page if isinstance(b, TextLine)
                and (b.box[1] < _MARGIN or b.box[3] > 1 - _MARGIN) and b.text.strip()}
        for text in seen:
            counts[text] = counts.get(text, 0) + 1
    need = max(3, (len(pages) + 1) // 2)
    return {text for text, n in counts.items() if n >= need}


@dataclass(frozen=True)
class _Metrics:
    left: float
    right: float
    char: float
    pitch: float


def _metrics(lines: Sequence[TextLine]) -> _Metrics:
    long = [ln for ln in lines if len(ln.text.strip()) >= 8] or list(lines)
    lefts = sorted(ln.box[0] for ln in long)
    rights = sorted(ln.box[2] for ln in long)
    left = lefts[len(lefts) // 10]
    right = rights[-1 - len(rights) // 10]
    widths = [(ln.box[2] - ln.box[0]) / len(ln.text.strip()) for ln in long if len(ln.text.strip()) >= 4]
    char = statistics.median(widths) if widths else 0.02
    steps = [b.box[1] - a.box[1] for a, b in itertools.pairwise(lines) if 0 < b.box[1] - a.box[1] < 0.1]
    pitch = statistics.median(steps) if steps else 0.03
    return _Metrics(left, right, char, pitch)


def _breaks_before(prev: TextLine, line: TextLine, m: _Metrics) -> bool:
    short = prev.box[2] < m.right - 2.0 * m.char
    indented = line.box[0] > m.left + 1.2 * m.char
    gap = line.box[1] - prev.box[1] > 1.4 * m.pitch or line.box[1] < prev.box[1] - 0.5 * m.pitch
    return short or indented or gap


def add_page_lines(builder: TextBuilder, blocks: Sequence[Block], previous: Sequence[TextLine],
                   *, page: int | None = None, ocr: bool = False) -> list[TextLine]:
    """Write one page's blocks as paragraphs and tables; returns the page's text lines (for the next page)."""
    builder.start_page()
    lines = [b for b in blocks if isinstance(b, TextLine)]
    metrics = _metrics(lines) if lines else None
    paragraph: list[TextLine] = []
    joiner = "\n\n"
    if lines and previous and metrics is not None:
        before = _metrics(previous)
        last, first = previous[-1], lines[0]
        full = last.box[2] >= before.right - 2.0 * before.char and not last.text.rstrip().endswith(tuple(_ENDS))
        if full and first.box[0] <= metrics.left + 1.2 * metrics.char:
            joiner = "\n"  # the page break cut a paragraph

    def flush() -> None:
        nonlocal paragraph, joiner
        if paragraph:
            builder.paragraph([ln.text for ln in paragraph], [ln.box for ln in paragraph], joiner=joiner)
            joiner = "\n\n"
        paragraph = []

    for block in blocks:
        if isinstance(block, TableBlock):
            flush()
            builder.table(block.rows, page=page, box=block.box)
            continue
        if paragraph and metrics is not None and _breaks_before(paragraph[-1], block, metrics):
            flush()
        paragraph.append(block)
    flush()
    builder.end_page(ocr=ocr)
    return lines


def drop_margins(pages: Sequence[Sequence[Block]]) -> list[list[Block]]:
    """Pages without their page numbers and running heads."""
    heads = running_heads(pages)
    return [[b for b in page if not isinstance(b, TextLine)
             or not (is_page_number(b) or (b.text.strip() in heads and (b.box[1] < _MARGIN or b.box[3] > 1 - _MARGIN)))]
            for page in pages]


def group_lines(pieces: list[tuple[float, float, float, float, str]]) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Pieces (x0, y0, x1, y1, text) on one baseline joined left to right, lines top to bottom."""
    lines: list[list[tuple[float, float, float, float, str]]] = []
    for piece in sorted(pieces, key=lambda p: (p[1], p[0])):
        if lines:
            last = lines[-1]
            top, bottom = min(p[1] for p in last), max(p[3] for p in last)
            overlap = min(bottom, piece[3]) - max(top, piece[1])
            if overlap > 0.5 * min(bottom - top, piece[3] - piece[1]):
                last.append(piece)
                continue
        lines.append([piece])
    out = []
    for line in lines:
        line.sort(key=lambda p: p[0])
        text = ""
        for i, p in enumerate(line):
            if i and p[0] - line[i - 1][2] > 0.02 and text[-1:].isascii() and p[4][:1].isascii():
                text += " "
            text += p[4]
        box = (min(p[0] for p in line), min(p[1] for p in line), max(p[2] for p in line), max(p[3] for p in line))
        out.append((text, box))
    return out
