"""Spreadsheets (XLSX) and CSV tables: each sheet is a table, merged cells filled, title and 单位 rows kept.

Rows above the header that hold a single text (a title merged across the sheet, ``单位：亿元``) become
paragraphs before the table, where its caption and unit are found; single-text rows after it (注：…,
数据来源：…) become paragraphs after it. A formula is read by the value the file saved with it; a workbook
saved by a program that does not compute formulas has none, and is refused rather than read with holes.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence

from qa.errors import DocumentParseError
from qa.loaders import Context
from qa.loaders.base import Loaded, TextBuilder
from qa.loaders.grid import clean_cell
from qa.loaders.text import decode_any
from qa.loaders.zipsafe import open_zip


def load(data: bytes, name: str, context: Context) -> Loaded:
    """Every sheet of a workbook with content, in workbook order."""
    builder = TextBuilder()
    for title, rows in _xlsx_sheets(data, name, context):
        _add_grid(builder, rows, title=title)
    return builder.result("xlsx")


def load_csv(data: bytes, name: str, context: Context) -> Loaded:
    """A CSV file (UTF-8 or GB18030, delimiter sniffed) as one table."""
    builder = TextBuilder()
    _add_grid(builder, _csv_rows(data, name), title=None)
    return builder.result("csv")


def _csv_rows(data: bytes, name: str) -> list[list[str]]:
    text = decode_any(data, name)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;|")
    except csv.Error:
        dialect = csv.excel
    return [list(row) for row in csv.reader(io.StringIO(text), dialect)]


def _xlsx_sheets(data: bytes, name: str, context: Context) -> list[tuple[str, list[list[str]]]]:
    import openpyxl

    open_zip(data, name, context.limits)
    book = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    formulas = openpyxl.load_workbook(io.BytesIO(data), data_only=False)
    sheets = []
    cells = 0
    for ws in book.worksheets:
        cells += ws.max_row * ws.max_column
        if cells > context.limits.max_cells:
            raise DocumentParseError(f"{name}: more than {context.limits.max_cells} cells; split the workbook")
        grid: list[list[object]] = [[_display(c) for c in row] for row in ws.iter_rows()]
        missing = [c.coordinate for row in formulas[ws.title].iter_rows() for c in row
                   if isinstance(c.value, str) and c.value.startswith("=")
                   and grid[c.row - 1][c.column - 1] is None]
        if missing:
            shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
            raise DocumentParseError(
                f"{name}: sheet {ws.title!r} has {len(missing)} formula cell(s) without a saved value ({shown}); "
                "open the file in Excel or WPS and save it again so the values are stored")
        for rng in ws.merged_cells.ranges:
            value = grid[rng.min_row - 1][rng.min_col - 1]
            for r in range(rng.min_row - 1, min(rng.max_row, len(grid))):
                for c in range(rng.min_col - 1, min(rng.max_col, len(grid[r]))):
                    grid[r][c] = value
        sheets.append((ws.title, [[clean_cell(v) for v in row] for row in grid]))
    return sheets


def _display(cell: object) -> object:
    """A number as the sheet shows it: 8.0 stays 8.0 under a ``0.0`` format (openpyxl reads it as 8.0 or 8)."""
    value = getattr(cell, "value", None)
    fmt = getattr(cell, "number_format", "General") or "General"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    decimals = re.search(r"\.(0+)", fmt)
    if decimals:
        return f"{value:.{len(decimals.group(1))}f}" + ("%" if fmt.endswith("%") else "")
    if fmt.endswith("%"):
        return f"{value * 100:g}%"
    return f"{value:.10g}" if isinstance(value, float) else str(value)


def _single(row: Sequence[str]) -> str | None:
    """The text of a row that holds one text only (a merged title spreads one value across the row)."""
    values = {v for v in row if v}
    return next(iter(values)) if len(values) == 1 else None


def _add_grid(builder: TextBuilder, rows: list[list[str]], title: str | None) -> None:
    rows = [r for r in rows if any(r)]
    if not rows:
        return
    head = 0
    while head < len(rows) - 1 and _single(rows[head]) is not None:
        head += 1
    tail = len(rows)
    while tail > head + 1 and _is_note(_single(rows[tail - 1]) or ""):
        tail -= 1
    leading = [_single(r) or "" for r in rows[:head]]
    if title and not leading and not title.lower().startswith("sheet"):
        leading = [title]
    for text in leading:
        builder.paragraph(text)
    builder.table(rows[head:tail])
    for row in rows[tail:]:
        builder.paragraph(_single(row) or "")


def _is_note(text: str) -> bool:
    return text.startswith(("注", "说明", "数据来源", "资料来源", "备注"))
