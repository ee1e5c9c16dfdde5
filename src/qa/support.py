"""Whether the retrieved passages actually answer a question: the "not found" decision.

A question is answered only when the passages contain most of what it is about. Its terms are weighted
by BM25 idf over the corpus, so a rare word the reports never use (区长, 人口, 房价) weighs heavily; a
question that names a year must find that year in the passages or in their figures. English questions
share no words with the reports and are judged on the dense score instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qa.lexical import tokenize

if TYPE_CHECKING:
    from qa.index import Snapshot
    from qa.intent import Intent
    from qa.types import Hit

# Words that name the place every report is about, or only shape the question: no evidence either way.
_GENERIC = frozenset(
    "九龙坡 九龙坡区 九龙 坡区 重庆 重庆市 全区 该区 本区 区里 区内 全市 地区 jiulongpo district chongqing "
    "数据 数字 信息 资料 报告 具体 主要 相关 哪年 哪一年 一年 时候 什么 时间 年份 期间 时期 是多少 几个 "
    "有多 多大 多长 多少 多高 哪家 哪所 哪些 哪个 英文 意思 一般 怎么样 如何 为什么".split()
)
MIN_COVERAGE = 0.55  # share of the question's idf weight that the passages must contain
MIN_DENSE_ENGLISH = 0.80  # e5 cosine for a question written in English
_PASSAGES = 3


@dataclass(frozen=True)
class Support:
    """The decision and the evidence for it."""

    found: bool
    coverage: float
    dense: float
    missing: str | None = None
    reasons: tuple[str, ...] = ()


def query_terms(question: str, snapshot: Snapshot) -> dict[str, float]:
    """Content terms of the question with their idf weight (years and generic words left out)."""
    terms: dict[str, float] = {}
    for token in tokenize(question):
        if token in _GENERIC or token.isdigit() or re.fullmatch(r"(19|20)\d{2}年?", token):
            continue
        terms[token] = snapshot.lexical.idf(token)
    return terms


def _coverage(text: str, terms: dict[str, float]) -> float:
    total = sum(terms.values())
    return sum(w for t, w in terms.items() if t in text) / total if total else 1.0


def judge_support(
    snapshot: Snapshot,
    question: str,
    intent: Intent,
    terms: dict[str, float],
    hits: Sequence[Hit],
    evidence: Sequence[Any],
) -> Support:
    """Decide found / not found for the retrieved passages."""
    if not hits:
        return Support(False, 0.0, 0.0, reasons=("没有检索到段落",))
    top = hits[:_PASSAGES]
    coverage = max(_coverage(h.chunk.clean, terms) for h in top)
    dense = max((h.dense or 0.0) for h in top)
    unseen = [t for t in sorted(terms, key=lambda t: -terms[t]) if not any(t in h.chunk.clean for h in top)]
    missing = unseen[0] if unseen else None
    if intent.years:
        years_seen = {f.year for h in hits[:5] for f in snapshot.store.figures(
            doc_id=h.chunk.doc_id, start=h.chunk.start, end=h.chunk.end)}
        years_seen |= {y for y in intent.years for h in hits[:5] if str(y) in h.chunk.clean}
        absent = [y for y in intent.years if y not in years_seen]
        if absent:
            return Support(False, coverage, dense, missing=f"{absent[0]}年的相关数据",
                           reasons=(f"段落中没有{absent[0]}年的数据",))
    if intent.english:
        found = dense >= MIN_DENSE_ENGLISH
    else:
        found = coverage >= MIN_COVERAGE
    reasons = () if found else (f"问题的关键词覆盖率 {coverage:.2f} 低于 {MIN_COVERAGE}",)
    return Support(found, coverage, dense, missing=missing, reasons=reasons)
