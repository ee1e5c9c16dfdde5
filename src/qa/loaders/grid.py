"""Table grids: clean cells, find header rows, stub columns and a unit column, and write rows as text.

Loaders fill merged cells themselves where the format says which cells are merged (DOCX, XLSX, HTML
spans). Where it does not (CSV, PDF tables), a blank header cell takes the text on its left (a header
merged across columns) and a blank stub cell the text above it (a category merged down).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

NUMBER = re.compile(r"^[-+−–]?\s*\d[\d,，]*(?:\.\d+)?\s*(?:%|‰|[\u4e00-\u9fff]{1,4})?$")
_UNIT_HEADER = re.compile(r"^(?:计量)?单位$")
_SPACE = re.compile(r"\s+")
MAX_HEADER_ROWS = 4
MAX_STUB_COLUMNS = 2


@dataclass(frozen=True)
class Shape:
    """A cleaned grid with its header rows, stub columns and unit column."""

    rows: tuple[tuple[str, ...], ...]
    header_rows: int
    stub_columns: int
    unit_column: int | None


def clean_cell(value: object) -> str:
    """A cell's text on one line: inner line breaks dropped between Chinese characters, spaces collapsed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).replace("\u3000", " ").replace("\xa0", " ").strip()
    text = re.sub(r"(?<=[\u4e00-\u9fff])\s*\n\s*(?=[\u4e00-\u9fff])", "", text)
    return _SPACE.sub(" ", text)


def is_number(text: str) -> bool:
    """Whether a cell holds a number (with an optional % or a short unit such as 亿元)."""
    return bool(text) and bool(NUMBER.match(text)) and any(ch.isdigit() for ch in text)


def analyse(raw: Sequence[Sequence[object]]) -> Shape | None:
    """Clean a grid and find its structure; None for a grid with no text."""
    rows = [[clean_cell(v) for v in row] for row in raw]
    width = max((len(r) for r in rows), default=0)
    rows = [r + [""] * (width - len(r)) for r in rows]
    rows = [r for r in rows if any(r)]
    if not rows:
        return None
    keep = [c for c in range(width) if any(r[c] for r in rows)]
    rows = [[r[c] for c in keep] for r in rows]
    width = len(keep)
    header_rows = _header_rows(rows)
    for r in range(header_rows):  # a header merged across columns, exported without its merge
        for c in range(1, width):
            if not rows[r][c] and rows[r][c - 1] and not any(rows[k][c] for k in range(r)):
                rows[r][c] = rows[r][c - 1]
        for c in range(width):
            if r and not rows[r][c] and rows[r - 1][c] and c == 0:
                rows[r][c] = rows[r - 1][c]
    unit_column = next((c for c in range(width) if header_rows and _UNIT_HEADER.match(
        "".join(dict.fromkeys(rows[r][c] for r in range(header_rows))))), None)
    stub = _stub_columns(rows, header_rows, unit_column)
    body = rows[header_rows:]
    for c in range(max(0, stub - 1)):  # a category merged down the rows it covers
        for r in range(1, len(body)):
            if not body[r][c] and body[r - 1][c] and any(body[r][stub - 1:]):
                body[r][c] = body[r - 1][c]
    return Shape(tuple(tuple(r) for r in rows), header_rows, stub, unit_column)


def _header_rows(rows: list[list[str]]) -> int:
    """Leading rows with no number outside the first column; at least one when the table has two rows."""
    n = 0
    for row in rows[:MAX_HEADER_ROWS]:
        if any(is_number(v) and not _is_year(v) for v in row[1:]):
            break
        n += 1
    if n == len(rows):  # a table of words only: its first row heads it when it is short
        return 1 if len(rows) > 1 and all(len(v) <= 12 for v in rows[0]) else 0
    return n


def _is_year(text: str) -> bool:
    return bool(re.fullmatch(r"(?:19|20)\d{2}年?", text))


def _stub_columns(rows: list[list[str]], header_rows: int, unit_column: int | None) -> int:
    """Leading columns whose body cells are words, not numbers (指标, 分类); at most two, not the unit column."""
    body = rows[header_rows:]
    width = len(rows[0])
    stub = 0
    for c in range(min(MAX_STUB_COLUMNS, width - 1)):
        if c == unit_column:
            break
        values = [r[c] for r in body if r[c]]
        if values and not any(is_number(v) for v in values):
            stub += 1
        else:
            break
    return max(stub, 1) if width > 1 else 0


def render_rows(shape: Shape) -> Iterator[tuple[str, list[tuple[int, int, int, int]]]]:
    """Each body row as one line of text, with (row, column, start, end) of its value cells in that line.

    ``地区生产总值（亿元）：2022年 1600，2023年 1700。``; a table without header rows reads ``甲：乙，丙。``
    """
    rows, heads = shape.rows, shape.header_rows
    labels = [_column_label(shape, c) for c in range(len(rows[0]))]
    for r in range(heads, len(rows)):
        row = rows[r]
        stub_parts: list[str] = []
        for v in row[: shape.stub_columns]:
            if v and v not in stub_parts:
                stub_parts.append(v)
        label = "，".join(stub_parts)
        if shape.unit_column is not None and row[shape.unit_column]:
            label += f"（{row[shape.unit_column]}）"
        line = label + "：" if label else ""
        spans: list[tuple[int, int, int, int]] = []
        pieces = 0
        for c in range(shape.stub_columns, len(row)):
            value = row[c]
            if not value or c == shape.unit_column:
                continue
            if pieces:
                line += "，"
            head = labels[c]
            if head and head != label:
                line += head + " "
            spans.append((r + 1, c + 1, len(line), len(line) + len(value)))
            line += value
            pieces += 1
        if not pieces and not label:
            continue
        line = line.rstrip("：")
        yield line + ("" if line.endswith(("。", "！", "？")) else "。"), spans


def _column_label(shape: Shape, column: int) -> str:
    parts: list[str] = []
    for r in range(shape.header_rows):
        value = shape.rows[r][column]
        if value and value not in parts:
            parts.append(value)
    return "".join(parts)
