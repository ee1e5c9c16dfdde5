"""Figures from table cells: each number with its row header, column header, unit and year.

A cell of ``表1 2023年九龙坡区主要经济指标（单位：亿元）`` in row 规上工业增加值 and column 2023年 becomes the
figure 560.2 亿元, metric 规上工业增加值, year 2023, cited by table 1, row and column. Where each part comes
from, first match wins:

- **unit**: the cell itself (``8.0%``), the column header (``增速（%）``), the row's unit column (单位), the row
  header (``地区生产总值（亿元）``), then the table's unit (a ``单位：亿元`` line or the caption);
- **year**: the column header, the row header, then the caption when it names one year;
- **metric**: the row header, with what the column header says besides time and unit (增速, 总量 is dropped);
  when the row header is a time (a table with years down its side), the column header;
- **kind**: ``growth`` for a % or 倍 of 增长/增速/同比, ``share`` for 比重/占比, else ``level``.
"""

from __future__ import annotations

import re
from dataclasses import replace

from qa.loaders import Loaded, Table
from qa.types import Figure

_NUMBER = re.compile(r"^(?P<sign>[-+−–])?\s*(?P<num>\d[\d,，]*(?:\.\d+)?)\s*(?P<unit>%|‰|[\u4e00-\u9fff]{1,4})?$")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年?")
_PERIOD = re.compile(r"十[一二三四五六]五|前三季度|[一二三四]季度|[上下]半年|\d{1,2}\s*[-—–~至]\s*\d{1,2}月|全年")
_PAREN_UNIT = re.compile(r"[（(]\s*(?:单位\s*[:：]\s*)?([^（()）]{1,8}?)\s*[)）]")
_TAIL_UNIT = re.compile(r"(%|‰)$")
_GENERIC = re.compile(r"^(?:总量|绝对值|绝对数|数值|数量|金额|合计|本年|本期|全年|累计|实绩|完成|指标|数据)$")
_TIME_WORDS = re.compile(r"年末|年底|年初|年度|全年|年")
_GROWTH = re.compile(r"增长|增速|同比|增幅|比上年|比去年")
_SHARE = re.compile(r"比重|占比|占全")
_UNIT_WORDS = ("亿元", "万元", "元", "%", "‰", "个百分点", "万人", "人", "万户", "户", "家", "个", "项", "万吨", "吨",
               "公里", "平方公里", "平方米", "万平方米", "亩", "公顷", "千瓦时", "万千瓦时", "辆", "台", "座", "所", "张",
               "次", "人次", "万人次", "天", "倍", "美元", "亿美元", "万美元", "立方米", "件", "条")


def table_figures(loaded: Loaded, doc_id: str, doc_date: str | None = None) -> list[Figure]:
    """Every numeric body cell of every table of a converted document, as figures at the cell's offsets."""
    out: list[Figure] = []
    for table in loaded.tables:
        for cell in table.cells:
            figure = cell_figure(table, cell.row, cell.column, loaded.text[cell.start:cell.end])
            if figure is not None:
                sentence = _row_sentence(loaded.text, cell.start)
                out.append(replace(figure, doc_id=doc_id, start=cell.start, end=cell.end, sentence=sentence))
    return out


def _row_sentence(text: str, offset: int) -> str:
    """The line of the table row holding ``offset``, with the table's caption lines before it in mind."""
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return text[start : end if end >= 0 else len(text)].strip()


def cell_figure(table: Table, row: int, column: int, value: str) -> Figure | None:
    """The figure a cell states, or None when the cell is not a number."""
    m = _NUMBER.match(value.strip())
    if m is None:
        return None
    cell_unit = m.group("unit") or ""
    if cell_unit and cell_unit not in _UNIT_WORDS:
        return None  # 3号楼, 5G: a label with a number in it
    number = m.group("num").replace(",", "").replace("，", "")
    amount = float(number) * (-1 if m.group("sign") in ("-", "−", "–") else 1)
    col_label = table.column_label(column)
    row_label = table.row_label(row)
    unit_col = table.rows[row - 1][table.unit_column] if table.unit_column is not None else ""
    unit = cell_unit or _unit_of(col_label) or unit_col or _unit_of(row_label) or table.unit
    col_year, row_year = _year(col_label), _year(row_label)
    caption_years = set(_YEAR.findall(table.caption))
    year = col_year or row_year or (int(next(iter(caption_years))) if len(caption_years) == 1 else None)
    col_words, row_words = _words(col_label), _words(row_label)
    if row_year and not row_words:
        metric = col_words or None
    else:
        metric = row_words + (col_words if col_words and not _GENERIC.match(col_words) else "") or None
    period = next((m.group() for lab in (col_label, row_label) if (m := _PERIOD.search(lab))), None)
    context = f"{row_label}{col_label}"
    kind = "level"
    if _GROWTH.search(context) and unit in ("%", "‰", "倍", "个百分点"):
        kind = "growth" if unit != "个百分点" else "change"
    elif _SHARE.search(context) and unit in ("%", "‰", ""):
        kind = "share"
    return Figure(value=amount, unit=unit, text=value.strip(), metric=metric, year=year,
                  period=None if period == "全年" else period, kind=kind, number=number,
                  table=table.number, row=row, column=column)


def _unit_of(label: str) -> str:
    paren = _PAREN_UNIT.findall(label)
    for candidate in reversed(paren):
        candidate = candidate.strip()
        if candidate in _UNIT_WORDS or candidate.endswith(("元", "人", "户", "吨", "米", "亩")):
            return candidate
    tail = _TAIL_UNIT.search(label)
    return tail.group(1) if tail else ""


def _year(label: str) -> int | None:
    m = _YEAR.search(label)
    return int(m.group(1)) if m else None


def _words(label: str) -> str:
    """A header without its time, unit and brackets: 2023年增速（%） → 增速."""
    text = _PAREN_UNIT.sub("", label)
    text = _YEAR.sub("", text)
    text = _PERIOD.sub("", text)
    text = _TIME_WORDS.sub("", text) if len(text) <= 3 else text
    return re.sub(r"[\s，,：:、（）()%‰]+", "", text)
