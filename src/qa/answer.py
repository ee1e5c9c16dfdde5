"""Extractive, cited answers with figures, honest "not found", time awareness and follow-ups. No LLM.

The answer is built only from sentences of the retrieved passages. Every number in it must occur
verbatim in the passage its ``[n]`` marker cites; :func:`verify_numbers` checks that in code and a
sentence that fails is dropped, never emitted.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qa.chunk import split_sentences
from qa.index import Snapshot
from qa.intent import Intent, detect_intent, resolve_followup
from qa.normalize import normalize
from qa.query import prepare_query
from qa.retrieve import Fusion, search
from qa.support import Support, judge_support, query_terms
from qa.types import Answer, Citation, CitedFigure, Figure, Hit

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_MARKER = re.compile(r"\[(\d+)\]")
_DATEISH = re.compile(r"(?:19|20)\d{2}年|\d{1,2}月|\d{1,2}日|去年|今年|前年|上半年|下半年|[一二三四]季度|近年来|目前|当前")
NOT_FOUND = "资料中未找到"
_CANDIDATES = 8  # passages considered for evidence; the first top_k are cited


@dataclass(frozen=True)
class Evidence:
    """A sentence of a retrieved passage, scored as evidence for the question."""

    hit: Hit
    text: str  # clean sentence, trimmed to the clauses that matter
    score: float
    figures: tuple[Figure, ...]


def answer(
    snapshot: Snapshot,
    question: str,
    history: Sequence[dict[str, Any]] | None = None,
    top_k: int = 5,
    fusion: Fusion | None = None,
) -> Answer:
    """Answer ``question`` (with earlier ``history`` turns) from the snapshot's reports."""
    started = time.perf_counter()
    query = prepare_query(question, snapshot)
    resolved = resolve_followup(query.text, history)
    intent = detect_intent(resolved)
    hits = search(snapshot, resolved, k=max(top_k, _CANDIDATES), fusion=fusion)
    hits = _prefer_time(snapshot, hits, intent)
    notes = tuple(f"已将“{a}”按“{b}”理解" for a, b in query.corrections)
    if resolved != query.text:
        notes += (f"结合上文理解为：{resolved}",)
    terms = query_terms(resolved, snapshot)
    evidence = _rank_evidence(snapshot, hits, terms, intent)
    support = judge_support(snapshot, resolved, intent, terms, hits, evidence)
    shown = hits[:top_k]
    for ev in evidence[:2]:  # the sentences the answer quotes are always among the citations
        if ev.hit not in shown:
            shown = [*shown[: top_k - 1], ev.hit]
    from qa.service import to_citations

    citations = to_citations(snapshot, shown)
    by_chunk = {c.chunk_id: c for c in citations}
    if not support.found:
        text = _not_found_text(support, intent, resolved)
        return Answer(question=question, found=False, text=text, citations=tuple(citations), figures=(),
                      intent=intent.kind, resolved_question=resolved, notes=notes + support.reasons,
                      took_ms=_ms(started))
    body, used = _compose(evidence, intent, by_chunk)
    body = verify_numbers(body, citations)
    if not body:
        return Answer(question=question, found=False, text=f"{NOT_FOUND}能够逐字核对的答案。", citations=tuple(citations),
                      intent=intent.kind, resolved_question=resolved, notes=(*notes, "答案未通过数字核对"),
                      took_ms=_ms(started))
    figures = tuple(CitedFigure(f, by_chunk[ev.hit.chunk.chunk_id].id) for ev in used for f in ev.figures
                    if _figure_wanted(f, intent, terms))
    return Answer(question=question, found=True, text=body, citations=tuple(citations), figures=figures,
                  intent=intent.kind, resolved_question=resolved, notes=notes, took_ms=_ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


# -- evidence -------------------------------------------------------------------------------------------
def _prefer_time(snapshot: Snapshot, hits: list[Hit], intent: Intent) -> list[Hit]:
    """Lift passages that mention the asked year, or (for 最新/目前) come from newer reports."""
    if not hits:
        return hits
    top = hits[0].score or 1.0

    def boost(hit: Hit) -> float:
        bonus = 0.0
        if intent.years and any(f"{y}" in hit.chunk.clean for y in intent.years):
            bonus += 0.15 * top
        for period in intent.periods:
            if period in hit.chunk.clean:
                bonus += 0.1 * top
        if intent.latest:
            date = snapshot.documents[hit.chunk.doc_id].date or ""
            bonus += 0.02 * top * (int(date[:4]) - 2000 if date else 0) / 10
        return hit.score + bonus

    return sorted(hits, key=lambda h: -boost(h))


def _sentences(hit: Hit) -> list[str]:
    clean = hit.chunk.clean
    return [clean[s.start : s.end] for s in split_sentences(clean, limit=400) if not s.heading]


def _clauses(sentence: str) -> list[str]:
    return [c for c in re.split(r"(?<=[，；：])", sentence) if c]


def _trim(sentence: str, terms: dict[str, float], limit: int = 120) -> str:
    """The window of clauses that holds the question's terms, when the sentence is long."""
    if len(sentence) <= limit:
        return sentence
    clauses = _clauses(sentence)
    weights = [sum(w for t, w in terms.items() if t in c) for c in clauses]
    best_i = max(range(len(clauses)), key=lambda i: (weights[i], -i))
    lo = hi = best_i
    while True:
        grown = False
        for cand in (lo - 1, hi + 1):
            if 0 <= cand < len(clauses):
                length = sum(len(c) for c in clauses[min(lo, cand) : max(hi, cand) + 1])
                if length <= limit and (weights[cand] > 0 or length <= limit // 3):
                    lo, hi = min(lo, cand), max(hi, cand)
                    grown = True
        if not grown:
            break
    out = "".join(clauses[lo : hi + 1]).rstrip("，；：")
    return out if out.endswith(("。", "！", "？")) else out + "。"


def _figures_in(snapshot: Snapshot, hit: Hit, sentence: str) -> tuple[Figure, ...]:
    figures = snapshot.store.figures(doc_id=hit.chunk.doc_id, start=hit.chunk.start, end=hit.chunk.end)
    return tuple(f for f in figures if f.text and f.text in sentence)


def _rank_evidence(snapshot: Snapshot, hits: list[Hit], terms: dict[str, float], intent: Intent) -> list[Evidence]:
    total = sum(terms.values()) or 1.0
    top = hits[0].score if hits else 1.0
    out: list[Evidence] = []
    for rank, hit in enumerate(hits):
        for sentence in _sentences(hit):
            coverage = sum(w for t, w in terms.items() if t in sentence) / total
            score = 0.65 * coverage + 0.35 * (hit.score / top if top else 0) - 0.01 * rank
            text = _trim(sentence, terms)
            figures = _figures_in(snapshot, hit, text)
            if intent.kind in ("quantity", "compare"):
                if any(_unit_fits(f, intent) for f in figures):
                    score += 0.25
                elif not figures:
                    score -= 0.2
            if intent.kind == "when" and _DATEISH.search(text):
                score += 0.2
            if intent.years:
                score += 0.15 if any(str(y) in text for y in intent.years) else -0.05
            if intent.kind == "list" and text.count("、") >= 2:
                score += 0.15
            out.append(Evidence(hit=hit, text=text, score=score, figures=figures))
    out.sort(key=lambda e: -e.score)
    return out


def _unit_fits(figure: Figure, intent: Intent) -> bool:
    return not intent.units or figure.unit in intent.units


def _figure_wanted(figure: Figure, intent: Intent, terms: dict[str, float]) -> bool:
    if intent.years and figure.year is not None and figure.year not in intent.years:
        return False
    if intent.units and figure.unit not in intent.units:
        return False
    return True


# -- composing ------------------------------------------------------------------------------------------
def _compose(evidence: list[Evidence], intent: Intent, by_chunk: dict[str, Citation]) -> tuple[str, list[Evidence]]:
    """The answer body: the best evidence sentence, plus differing values from other reports."""
    if not evidence:
        return "", []
    best = evidence[0]
    used = [best]
    if intent.kind in ("quantity", "compare", "list", "when") or intent.latest:
        for ev in evidence[1:6]:
            if ev.score < best.score - 0.25 or ev.text == best.text:
                continue
            other_doc = ev.hit.chunk.doc_id != best.hit.chunk.doc_id
            conflict = intent.kind in ("quantity", "compare") and other_doc and _conflicts(best, ev, intent)
            if conflict or intent.kind == "compare":
                used.append(ev)
                break
    parts = []
    for ev in used:
        citation = by_chunk.get(ev.hit.chunk.chunk_id)
        if citation is None:
            continue
        parts.append(f"{ev.text.rstrip('。；，')}[{citation.id}]")
    if len(used) > 1 and intent.kind != "compare":
        return "不同报告的数字不同：" + "；".join(parts) + "。", used
    return "；".join(parts) + "。", used


def _conflicts(a: Evidence, b: Evidence, intent: Intent) -> bool:
    """Two evidence sentences give different values in the same unit for the same kind of figure."""
    for fa in a.figures:
        for fb in b.figures:
            if fa.unit == fb.unit and _unit_fits(fa, intent) and fa.value != fb.value and fa.kind == fb.kind:
                if fa.metric and fb.metric and (fa.metric in fb.metric or fb.metric in fa.metric):
                    return True
    return False


def verify_numbers(body: str, citations: Sequence[Citation]) -> str:
    """Keep only the parts of ``body`` whose numbers all occur verbatim in the passage they cite."""
    clean = {c.id: normalize(c.text).text for c in citations}
    kept = []
    for part in re.split(r"(?<=\])[；。]", body):
        if not part.strip():
            continue
        ids = [int(i) for i in _MARKER.findall(part)]
        numbers = _NUMBER.findall(_MARKER.sub("", part))
        if ids and all(i in clean for i in ids) and all(any(n in clean[i] for i in ids) for n in numbers):
            kept.append(part)
    if not kept:
        return ""
    text = "；".join(kept)
    return text if text.endswith("。") else text + "。"


def _not_found_text(support: Support, intent: Intent, question: str) -> str:
    subject = support.missing or "这个问题"
    return f"{NOT_FOUND}关于“{subject}”的信息。下面是资料中最接近的段落，供参考。"


def answer_to_dict(result: Answer) -> dict[str, Any]:
    """The answer in the shape of the HTTP API's ``/v1/ask`` response."""
    return {
        "question": result.question,
        "found": result.found,
        "answer": result.text,
        "citations": [c.__dict__ for c in result.citations],
        "figures": [
            {"value": cf.figure.value, "unit": cf.figure.unit, "metric": cf.figure.metric, "year": cf.figure.year,
             "qualifier": cf.figure.qualifier, "text": cf.figure.text, "citation": cf.citation}
            for cf in result.figures
        ],
        "took_ms": result.took_ms,
        "resolved_question": result.resolved_question,
        "notes": list(result.notes),
    }


