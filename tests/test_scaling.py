"""Indexing work grows with a document's length, not with its square.

Each shape below once made a stage rescan its paragraph (or line, or clause) for every character or figure:
normalization's quote state and punctuation context, figure extraction's sentence, clause, year, period and
plan-word lookups. The check is a ratio with generous slack, never a wall-clock limit: a document ten times
longer must take less than thirty times as long (quadratic work took about a hundred times as long).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from qa.config import Settings
from qa.figures import extract_figures
from qa.index import index_document
from qa.normalize import normalize
from qa.types import Document

SETTINGS = Settings(model="hash")
SLACK = 30

SHAPES: dict[str, Callable[[int], str]] = {
    # a list pasted one item per line: normalization joins it into one paragraph without punctuation
    "one item per line": lambda n: "\n".join(f"项目{i}投资{i % 97 + 1}万元" for i in range(n)),
    # one long sentence of figures separated by commas
    "one long sentence": lambda n: "，".join(f"指标{i}增长{i % 9}.5%" for i in range(n)) + "。",
    # straight quotes, which alternate open and close across the paragraph
    "straight quotes": lambda n: "\n".join(f'"名称{i}"到2025年将建{i % 50 + 2}个' for i in range(n)),
    # plan words, periods and years before every figure, no clause marks at all
    "no punctuation": lambda n: "".join(f"到2025年计划将{i % 90 + 2}个2020到2021万元" for i in range(n)),
}


def _seconds(run: Callable[[], object], repeat: int) -> float:
    """The best CPU time of a few runs: this process's own work, whatever else the machine is doing."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return best


@pytest.mark.parametrize("shape", SHAPES)
def test_indexing_a_ten_times_longer_document_takes_about_ten_times_longer(shape: str) -> None:
    make = SHAPES[shape]
    index_document(Document(doc_id="warm", title="t", text=make(10)), SETTINGS)  # jieba's dictionary loads once
    short, long = (Document(doc_id="d", title="t", text=make(n)) for n in (400, 4000))
    short_seconds = _seconds(lambda: index_document(short, SETTINGS), repeat=3)
    long_seconds = _seconds(lambda: index_document(long, SETTINGS), repeat=2)
    assert long_seconds < SLACK * short_seconds, (
        f"{shape}: {len(long.text)} characters took {long_seconds:.3f} s, "
        f"{long_seconds / short_seconds:.0f}x the {short_seconds:.3f} s of {len(short.text)} characters")


def test_the_bounded_clause_keeps_every_figure_of_a_long_list() -> None:
    text = normalize("\n".join(f"项目{i}投资{i + 1}万元" for i in range(300))).text
    figures = extract_figures(text)
    assert [f.value for f in figures] == [float(i + 1) for i in range(300)]
    assert figures[-1].metric == "项目299投资"  # its own words, not the 300 items before it


def test_a_number_too_long_to_be_a_figure_is_not_one() -> None:
    # 400 digits overflow a float to infinity, which no JSON answer can carry
    figures = extract_figures("全区共有" + "9" * 400 + "万元投资，另有1500亿元。")
    assert [(f.value, f.unit) for f in figures] == [(1500.0, "亿元")]
