"""Word documents (DOCX): the body in document order, each table where it stands, merged cells filled."""

from __future__ import annotations

import io

from qa.loaders import Context
from qa.loaders.base import Loaded, TextBuilder
from qa.loaders.meta import official_meta
from qa.loaders.zipsafe import open_zip


def load(data: bytes, name: str, context: Context) -> Loaded:
    """Paragraphs and tables of the body; headers, footers and comments are left out."""
    import docx
    from docx.table import Table as DocxTable

    open_zip(data, name, context.limits)
    document = docx.Document(io.BytesIO(data))
    builder = TextBuilder()
    paragraphs: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, DocxTable):
            builder.table(_grid(block))
            continue
        text = block.text.strip()
        if text:
            paragraphs.append(text)
            builder.paragraph(text.splitlines())
    meta = official_meta(paragraphs)
    title = (document.core_properties.title or "").strip()
    heading = next((p.text.strip() for p in document.paragraphs
                    if p.text.strip() and p.style is not None and (p.style.name or "").startswith(("Title", "标题"))),
                   "")
    if title or heading:
        meta["title"] = title or heading
    return builder.result("docx", meta)


def _grid(table: object) -> list[list[str]]:
    """The table's layout grid: a cell spanning columns repeats, a vertically merged cell takes the text above."""
    from docx.oxml.ns import qn
    from docx.table import _Cell

    rows: list[list[str]] = []
    tbl = table._tbl  # type: ignore[attr-defined]
    for tr in tbl.tr_lst:
        row: list[str] = []
        for tc in tr.tc_lst:
            span = tc.grid_span
            v_merge = tc.tcPr.find(qn("w:vMerge")) if tc.tcPr is not None else None
            continues = v_merge is not None and v_merge.get(qn("w:val"), "continue") == "continue"
            col = len(row)
            above = continues and rows and col < len(rows[-1])
            text = rows[-1][col] if above else _Cell(tc, table).text  # type: ignore[arg-type]
            row.extend([text] * span)
        rows.append(row)
    return rows
