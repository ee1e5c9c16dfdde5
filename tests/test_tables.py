"""Tables become figures: a cell with its row header, column header, unit and year, cited by table, row and column."""

import shutil

import pytest

from conftest import CORPUS, make_settings
from qa.embed import HashEmbedder
from qa.loaders import Table
from qa.response import answer_to_dict
from qa.service import Service
from qa.tables import cell_figure

QUESTION = "2023年九龙坡规上工业增加值是多少"


def _table(rows, header_rows=1, caption="", unit="", unit_column=None):
    return Table(1, 0, 0, tuple(tuple(r) for r in rows), header_rows, 1, caption, unit, unit_column)


def test_a_cell_takes_its_row_header_column_year_and_the_table_unit():
    table = _table([["指标", "2022年", "2023年", "增速（%）"], ["规上工业增加值", "520.4", "560.2", "8.0"]],
                   caption="表1 主要经济指标", unit="亿元")
    level = cell_figure(table, 2, 3, "560.2")
    assert (level.value, level.unit, level.metric, level.year, level.kind) == (560.2, "亿元", "规上工业增加值", 2023, "level")
    assert (level.table, level.row, level.column) == (1, 2, 3)
    growth = cell_figure(table, 2, 4, "8.0")
    assert (growth.value, growth.unit, growth.metric, growth.kind) == (8.0, "%", "规上工业增加值增速", "growth")
    assert growth.year is None  # neither header names a year, nor does the caption


def test_year_from_the_caption_and_unit_from_the_unit_column_or_row_header():
    table = _table([["指标", "单位", "总量"], ["常住人口", "万人", "153.1"]], caption="2023年九龙坡区人口", unit_column=1)
    figure = cell_figure(table, 2, 3, "153.1")
    assert (figure.unit, figure.year, figure.metric) == ("万人", 2023, "常住人口")
    by_row = _table([["年份", "地区生产总值（亿元）"], ["2021年", "1500.2"]])
    figure = cell_figure(by_row, 2, 2, "1500.2")
    assert (figure.unit, figure.year, figure.metric) == ("亿元", 2021, "地区生产总值")


@pytest.mark.parametrize("value", ["—", "…", "", "3号楼", "5G"])
def test_cells_that_are_not_numbers_are_not_figures(value):
    table = _table([["指标", "2023年"], ["项目", value]])
    assert cell_figure(table, 2, 2, value) is None


@pytest.fixture(scope="module")
def with_stats(made, tmp_path_factory):
    """The seed corpus plus the statistics bureau's XLSX table."""
    settings = make_settings(tmp_path_factory.mktemp("stats"))
    shutil.copy(made.xlsx(), settings.corpus_dir / "stats2023.xlsx")
    service = Service.from_settings(settings, HashEmbedder())
    yield service
    service.snapshot.close()


def test_a_question_answered_from_a_table_cell_cites_table_row_and_column(with_stats):
    data = answer_to_dict(with_stats.ask(QUESTION))
    assert data["found"]
    figure = data["figures"][0]
    assert (figure["value"], figure["unit"], figure["year"], figure["metric"]) == (560.2, "亿元", 2023, "规上工业增加值")
    cited = next(c for c in data["citations"] if c["id"] == figure["citation"])
    assert cited["doc_id"] == "stats2023"
    assert (cited["table"], cited["row"], cited["column"]) == (1, 3, 2) == (figure["table"], figure["row"],
                                                                           figure["column"])
    doc = with_stats.document("stats2023")
    assert doc.text[cited["start"]:cited["end"]] == cited["text"]
    assert "560.2" in cited["text"]


def test_table_figures_are_listed_with_their_cells(with_stats):
    rows = [f for f in with_stats.figures(doc_id="stats2023") if f.table is not None]
    assert {(f.metric, f.year, f.value, f.unit) for f in rows} == {
        ("规上工业增加值", 2023, 560.2, "亿元"), ("规上工业增加值增速", 2023, 8.0, "%"), ("规上工业增加值", 2022, 520.4, "亿元"),
        ("规上工业总产值", 2023, 1820.5, "亿元"), ("规上工业总产值增速", 2023, 6.2, "%"), ("规上工业总产值", 2022, 1700.1, "亿元")}
    doc = with_stats.document("stats2023")
    assert all(doc.text[f.start:f.end] == f.text for f in rows)
    note = [f for f in with_stats.figures(doc_id="stats2023") if f.table is None]
    assert [(f.value, f.unit) for f in note] == [(2000, "万元")]  # the note under the table is prose


def test_a_table_in_a_word_document_answers_too(made, tmp_path):
    settings = make_settings(tmp_path, CORPUS)
    for path in settings.corpus_dir.iterdir():  # only the DOCX: it repeats a seed report and would be its reprint
        path.unlink()
    shutil.copy(made.docx(), settings.corpus_dir / "report.docx")
    service = Service.from_settings(settings, HashEmbedder())
    try:
        data = answer_to_dict(service.ask(QUESTION))
    finally:
        service.snapshot.close()
    assert data["found"]
    assert (data["figures"][0]["value"], data["figures"][0]["unit"]) == (560.2, "亿元")
    cited = next(c for c in data["citations"] if c["id"] == data["figures"][0]["citation"])
    assert (cited["table"], cited["row"], cited["column"]) == (1, 3, 3)
