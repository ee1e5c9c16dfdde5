"""What every loader returns: the citable text of a document and a map back to where each part came from.

The *citable text* of a converted document is the loader's text, built block by block:

- paragraphs in reading order, separated by a blank line; a PDF or OFD paragraph keeps its printed line
  breaks (normalization joins wrapped lines, so matching is not affected);
- a table as one block, one line per body row: ``row header：column header value，column header value。``
  (``地区生产总值（亿元）：2022年 1600，2023年 1700。``); header rows are not lines of their own, their text is
  in every row; the grid itself, after merged cells are filled, is kept in :class:`Table`.

Offsets everywhere are into that text, which is what ``GET /v1/documents/{doc_id}`` returns and what
citations index into. Pages map spans of it to page numbers (PDF, OFD, images) with line boxes for marking
a passage on the page image; tables map body cells to spans.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 as fractions of the page, origin top left


@dataclass(frozen=True)
class Line:
    """A printed line: its span in the text and its box on the page."""

    start: int
    end: int
    box: Box


@dataclass(frozen=True)
class Page:
    """One page: its span in the text, whether it was read by OCR, and its lines."""

    number: int  # 1-based
    start: int
    end: int
    ocr: bool = False
    lines: tuple[Line, ...] = ()


@dataclass(frozen=True)
class Cell:
    """A body cell of a table (1-based row and column of the filled grid) and the span of its text."""

    row: int
    column: int
    start: int
    end: int


@dataclass(frozen=True)
class Table:
    """A table: its grid (merged cells filled), header rows, caption, unit and where its cells are in the text."""

    number: int  # 1-based within the document
    start: int
    end: int
    rows: tuple[tuple[str, ...], ...]
    header_rows: int
    stub_columns: int  # leading columns that name a row (指标, 分类)
    caption: str = ""
    unit: str = ""
    unit_column: int | None = None  # 0-based column that gives each row's unit (单位, 计量单位)
    page: int | None = None
    cells: tuple[Cell, ...] = ()

    def cell_at(self, offset: int) -> Cell | None:
        """The body cell whose text covers ``offset``."""
        return next((c for c in self.cells if c.start <= offset < c.end), None)

    def column_label(self, column: int) -> str:
        """The header text of a 1-based column: its header cells top to bottom, repeats dropped."""
        parts: list[str] = []
        for r in range(self.header_rows):
            value = self.rows[r][column - 1] if column - 1 < len(self.rows[r]) else ""
            if value and (not parts or parts[-1] != value):
                parts.append(value)
        return "".join(parts)

    def row_label(self, row: int) -> str:
        """The stub text of a 1-based row, repeats dropped, joined by a comma."""
        parts: list[str] = []
        for value in self.rows[row - 1][: self.stub_columns]:
            if value and value not in parts:
                parts.append(value)
        return "，".join(parts)


@dataclass(frozen=True)
class Loaded:
    """A converted document: citable text, pages, tables, metadata read from the file, and notes for the reader."""

    text: str
    format: str  # "text", "pdf", "docx", "html", "xlsx", "csv", "ofd", "image"
    pages: tuple[Page, ...] = ()
    tables: tuple[Table, ...] = ()
    meta: dict[str, str] = field(default_factory=dict)  # title, date, date_note, source, index_no, doc_no
    notes: tuple[str, ...] = ()

    def page_at(self, offset: int) -> int | None:
        """The page number holding text offset ``offset``."""
        for page in self.pages:
            if page.start <= offset < page.end or (offset == page.end and page is self.pages[-1]):
                return page.number
        return None

    def table_at(self, offset: int) -> Table | None:
        """The table whose text covers ``offset``."""
        return next((t for t in self.tables if t.start <= offset < t.end), None)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the cached conversion and the stored layout)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Loaded:
        """Rebuild from :meth:`to_json`."""
        pages = tuple(Page(p["number"], p["start"], p["end"], p["ocr"],
                           tuple(Line(ln["start"], ln["end"], tuple(ln["box"])) for ln in p["lines"]))
                      for p in data.get("pages", ()))
        tables = tuple(Table(t["number"], t["start"], t["end"], tuple(tuple(r) for r in t["rows"]), t["header_rows"],
                             t["stub_columns"], t["caption"], t["unit"], t["unit_column"], t["page"],
                             tuple(Cell(**c) for c in t["cells"])) for t in data.get("tables", ()))
        return cls(data["text"], data["format"], pages, tables, dict(data.get("meta", {})),
                   tuple(data.get("notes", ())))


# -- building the text ------------------------------------------------------------------------------------
_CAPTION = re.compile(r"^(?:附?表\s*[0-9一二三四五六七八九十]+|[0-9一二三四五六七八九十]+[、.]?\s*\S*表$)")
_UNIT_LINE = re.compile(r"(?:计量)?单位\s*[:：]\s*([^\s，。；）)]+)")
_CAPTION_MAX = 60


class TextBuilder:
    """Accumulates blocks into the citable text, keeping the offsets of pages, lines and tables."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.pages: list[Page] = []
        self.tables: list[Table] = []
        self._page_lines: list[Line] = []
        self._recent: list[str] = []  # the last few paragraphs, for a table's caption and unit

    # -- text --------------------------------------------------------------------------------------
    def _write(self, text: str) -> tuple[int, int]:
        start = self.length
        self.parts.append(text)
        self.length += len(text)
        return start, self.length

    def _separate(self, joiner: str = "\n\n") -> None:
        if self.length:
            self._write(joiner)

    def paragraph(self, lines: Sequence[str] | str, boxes: Sequence[Box] | None = None,
                  joiner: str = "\n\n") -> tuple[int, int]:
        """Add a paragraph (its printed lines joined by a newline); returns its span."""
        lines = [lines] if isinstance(lines, str) else list(lines)
        lines = [ln.strip() for ln in lines]
        lines = [ln for ln in lines if ln]
        if not lines:
            return self.length, self.length
        self._separate(joiner)
        start = self.length
        for i, line in enumerate(lines):
            if i:
                self._write("\n")
            a, b = self._write(line)
            if boxes is not None:
                self._page_lines.append(Line(a, b, boxes[i]))
        text = "".join(lines)
        self._recent = [*self._recent[-2:], text]
        return start, self.length

    def table(self, rows: Sequence[Sequence[str]], *, page: int | None = None,
              caption: str | None = None, unit: str | None = None, box: Box | None = None) -> Table | None:
        """Add a table block from a filled grid; caption and unit default to the paragraphs just before it."""
        from qa.loaders.grid import analyse, render_rows

        shape = analyse(rows)
        if shape is None:
            return None
        found_caption, found_unit = self._caption_and_unit()
        caption = caption if caption is not None else found_caption
        unit = unit if unit is not None else found_unit
        if not unit and caption and (m := _UNIT_LINE.search(caption)):
            unit = m.group(1)
        self._separate()
        start = self.length
        cells: list[Cell] = []
        for i, (line, spans) in enumerate(render_rows(shape)):
            if i:
                self._write("\n")
            a, _ = self._write(line)
            cells.extend(Cell(row, col, a + s, a + e) for row, col, s, e in spans)
        if self.length == start:
            return None
        if box is not None:
            self._page_lines.append(Line(start, self.length, box))
        table = Table(len(self.tables) + 1, start, self.length, shape.rows, shape.header_rows, shape.stub_columns,
                      caption, unit, shape.unit_column, page, tuple(cells))
        self.tables.append(table)
        self._recent = []
        return table

    def _caption_and_unit(self) -> tuple[str, str]:
        caption, unit = "", ""
        for text in reversed(self._recent):
            if len(text) > _CAPTION_MAX:
                break
            if not unit and (m := _UNIT_LINE.search(text)):
                unit = m.group(1)
                if _UNIT_LINE.sub("", text).strip(" ()（）"):
                    caption = caption or _UNIT_LINE.sub("", text).strip(" ()（）")
                continue
            if not caption and (_CAPTION.match(text) or text[-1] not in "。！？；，："):
                caption = text
        return caption, unit

    # -- pages -------------------------------------------------------------------------------------
    def start_page(self) -> None:
        """Open the next page."""
        self._page_lines = []

    def end_page(self, ocr: bool = False) -> None:
        """Close the current page: it spans its first line to the end of the text so far."""
        start = self._page_lines[0].start if self._page_lines else self.length
        self.pages.append(Page(len(self.pages) + 1, start, self.length, ocr, tuple(self._page_lines)))
        self._page_lines = []

    def result(self, fmt: str, meta: dict[str, str] | None = None, notes: Sequence[str] = ()) -> Loaded:
        """The finished document."""
        return Loaded("".join(self.parts), fmt, tuple(self.pages), tuple(self.tables), dict(meta or {}), tuple(notes))
