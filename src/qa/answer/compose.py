"""Extractive, cited answers with figures, honest "not found", time awareness and follow-ups. No LLM.

The answer is built only from sentences of the retrieved passages. Every number in it must occur
verbatim in the passage its ``[n]`` marker cites; :func:`verify_numbers` checks that in code and a part
that fails is dropped, never emitted.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any

from qa import clock
from qa.answer.checks import Support, judge_support
from qa.answer.evidence import (
    Evidence,
    FigureMatch,
    Terms,
    bare_metric,
    coverage,
    holds,
    is_enumeration,
    match_figures,
    rank_evidence,
    report_year,
    same_measure,
    same_metric,
    time_fits,
    trim,
)
from qa.answer.intent import ASKS, YEARISH, Intent, detect_intent, resolve_followup, subject_of
from qa.answer.slots import prefer_slot
from qa.answer.terms import dated, names_something, query_terms, time_stated
from qa.answer.weights import WEIGHTS
from qa.chunk import split_sentences
from qa.citations import cite_answer, quote_span, with_quotes
from qa.clock import elapsed_ms
from qa.index import Snapshot
from qa.lexical import pos_tag
from qa.normalize import normalize
from qa.numerals import ORDINALS, parse_number
from qa.query import Query, prepare_query
from qa.retrieve import Fusion, search
from qa.types import Answer, Chunk, Citation, CitedFigure, Hit

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_MARKER = re.compile(r"\[(\d+)\]")
NOT_FOUND = "资料中未找到"
CLOSEST = "资料中最接近的说法是："


@dataclass(frozen=True)
class Part:
    """One (sub-)question worked through: its hits, the decision, and what the answer would quote."""

    question: str
    intent: Intent
    terms: dict[str, float]
    hits: list[Hit]
    support: Support
    used: list[Evidence]
    matches: list[FigureMatch]
    evidence: list[Evidence]
    listing: tuple[tuple[Hit, str], ...] = ()  # a counted list quoted whole, piece by piece of the passages it spans


def answer(
    snapshot: Snapshot,
    question: str,
    history: Sequence[dict[str, Any]] | None = None,
    top_k: int = WEIGHTS.cited,
    fusion: Fusion | None = None,
) -> Answer:
    """Answer ``question`` (with earlier ``history`` turns) from the snapshot's reports."""
    started = time.perf_counter()
    query, resolved, parts = plan(snapshot, question, history, top_k, fusion)
    notes = tuple(f"已将“{a}”按“{b}”理解" for a, b in query.corrections)
    if resolved != query.text:
        notes += (f"结合上文理解为：{resolved}",)
    answered = [p for p in parts if p.support.found]
    if answered and not any(asks(p.question) for p in answered) and any(asks(p.question) for p in parts):
        answered = []  # …闭馆维修？怕白跑一趟: what the asker adds about themselves is no question to answer alone
    reasons = tuple(r for p in parts for r in p.support.reasons)
    kind = parts[0].intent.kind if len(parts) == 1 else "multi"

    def result(found: bool, text: str, citations: list[Citation], figures: tuple[CitedFigure, ...] = (),
               extra: tuple[str, ...] = ()) -> Answer:
        return Answer(question=question, found=found, text=text, citations=tuple(citations), figures=figures,
                      intent=kind, resolved_question=resolved, notes=notes, reasons=extra, took_ms=elapsed_ms(started))

    shown = _interleave([p.hits for p in parts], top_k)
    chunks = {h.chunk.chunk_id: h.chunk for p in parts for h in p.hits}
    if not answered:
        lead = next((p for p in parts if not p.support.found), parts[0])
        closest = closest_statement(lead)
        citations = cite_answer(snapshot, shown, [closest.hit] if closest else [])
        text = not_found_text(lead.support, closest, citations)
        said = text.partition(CLOSEST)[2]  # what the reports say nearest: its sentence is highlighted like a quote
        if said:
            citations = with_quotes(citations, quoted_spans(snapshot, said, citations, chunks))
        return result(False, text, citations, extra=reasons)
    quotes = _distinct_quotes(parts)
    listed = [hit for p in parts for hit, _ in p.listing]
    citations = cite_answer(snapshot, shown, [ev.hit for fresh in quotes for ev in fresh] + listed)
    by_chunk = {c.chunk_id: c.id for c in citations}
    chunks.update({hit.chunk.chunk_id: hit.chunk for hit in listed + [ev.hit for p in parts for ev in p.used]})
    bodies: list[str] = []
    for p, fresh in zip(parts, quotes, strict=True):
        if p.support.found and p.listing:
            flat = [(hit, piece.replace("\n", "").rstrip("。；，")) for hit, piece in p.listing]
            composed = "；".join(f"{piece}[{by_chunk[hit.chunk.chunk_id]}]" for hit, piece in flat)
            bodies.append(verify_numbers(composed + "。", citations))
        elif p.support.found:
            composed = _compose(fresh, p.matches, p.terms, p.intent, by_chunk) if fresh else ""
            bodies.append(verify_numbers(composed, citations) if composed else "")
        else:
            bodies.append(not_found_text(p.support).split("。")[0] + "。")
    body = "".join(b for b in bodies if b) if any(p.support.found and b for p, b in zip(parts, bodies, strict=True)) \
        else ""
    if not body:
        return result(False, f"{NOT_FOUND}能逐字核对的答案。", citations, extra=(*reasons, "答案未通过数字核对"))
    figures = tuple(CitedFigure(m.figure, by_chunk[m.evidence.hit.chunk.chunk_id])
                    for p in answered for m in p.matches if m.evidence.hit.chunk.chunk_id in by_chunk)
    note = time_note(resolved, snapshot, answered[0])
    if note:
        notes += (note,)
    spans = quoted_spans(snapshot, body, citations, chunks)
    for hit, piece in (pair for p in answered for pair in p.listing):  # a listed piece spans several sentences
        document = snapshot.documents.get(hit.chunk.doc_id)
        span = quote_span(document.text, hit.chunk, piece) if document else None
        if span:
            _widen(spans, hit.chunk.chunk_id, span)
    return result(True, body, with_quotes(citations, spans), figures, extra=reasons)


_RELATIVE_YEAR = re.compile(r"今年|去年|前年")
_YEARS_BACK = {"今年": 0, "去年": 1, "前年": 2}


def time_note(question: str, snapshot: Snapshot, part: Part) -> str | None:
    """For 去年/今年 in a question: which year that is today, and the year of the data the answer gives.

    Relative years are read against today's date (:func:`qa.clock.today`), not the report's; when the newest
    data the reports hold is older than the year asked, the answer gives it and says so.
    """
    word = _RELATIVE_YEAR.search(question)
    if not word:
        return None
    today = clock.today()
    asked = today.year - _YEARS_BACK[word.group()]
    if part.matches:
        fig = part.matches[0].figure
        year = fig.year or report_year(snapshot, fig.doc_id)
    else:
        year = report_year(snapshot, part.used[0].hit.chunk.doc_id) if part.used else None
    when = f"“{word.group()}”按今天（{today.year}年{today.month}月{today.day}日）是{asked}年"
    if year is not None and year < asked:
        return f"{when}；资料中最新的相关数据是{year}年的。"
    return f"{when}。"


_QUOTE = re.compile(r"([^；。\[\]]+?)\[(\d+)\]")
_CLAUSE_END = re.compile(r"[，；：、]")


def quoted_spans(snapshot: Snapshot, body: str, citations: Sequence[Citation],
                 chunks: dict[str, Chunk]) -> dict[str, tuple[int, int]]:
    """Raw spans of what ``body`` quotes from each cited chunk (several quotes of one chunk: their union)."""
    by_id = {c.id: c for c in citations}
    spans: dict[str, tuple[int, int]] = {}
    for match in _QUOTE.finditer(body.split("：", 1)[-1] if body.startswith("不同报告") else body):
        cite = by_id.get(int(match.group(2)))
        document = snapshot.documents.get(cite.doc_id) if cite else None
        chunk = chunks.get(cite.chunk_id) if cite else None
        if cite is None or document is None or chunk is None:
            continue
        quote = match.group(1).strip()
        span = None
        while quote and span is None:  # a quote that was joined from pieces: its longest leading piece
            span = quote_span(document.text, chunk, quote)
            cut = [m.start() for m in _CLAUSE_END.finditer(quote)]
            quote = quote[: cut[-1]] if cut and span is None else ("" if span is None else quote)
        if span:
            _widen(spans, chunk.chunk_id, span)
    return spans


def _widen(spans: dict[str, tuple[int, int]], chunk_id: str, span: tuple[int, int]) -> None:
    """Add ``span`` to the quoted span of ``chunk_id``: several quotes of one passage highlight their union."""
    known = spans.get(chunk_id, span)
    spans[chunk_id] = (min(known[0], span[0]), max(known[1], span[1]))


def plan(snapshot: Snapshot, question: str, history: Sequence[dict[str, Any]] | None = None,
         top_k: int = WEIGHTS.cited, fusion: Fusion | None = None) -> tuple[Query, str, list[Part]]:
    """The prepared question, its stand-alone reading, and each of its parts worked through to a decision."""
    query = prepare_query(question, snapshot, max_chars=WEIGHTS.question_chars)
    resolved = resolve_followup(query.text, history)
    pieces = split_question(resolved)
    # A later part may point back at an earlier one (166舰是什么型号？它要变成什么？).
    pieces = [pieces[0]] + [resolve_followup(q, [{"question": pieces[0]}]) for q in pieces[1:]]
    # A later part is searched with the first part's subject beside it (…投了多少钱？治理后入选了什么？); the names
    # and nouns of that subject count where a sentence holds them, never against one that does not.
    topic = subject_of(pieces[0])
    parts = [_work(snapshot, q, top_k, fusion, context=topic if i and topic not in q and not names_something(q) else "",
                   typed=query.text if resolved != query.text else "")
             for i, q in enumerate(pieces)]
    return query, resolved, parts


_SPLIT_BOTH = re.compile(r"^(?P<a>.+?)(?:和|与|以及|、)(?P<b>[^和与]+?)[，,\s]*(?:分别|各自?)(?P<tail>[^？?]*)")


_TIMES = re.compile(rf"(?:{YEARISH.pattern})+")
_ASKS_FOR_FIGURE = re.compile(r"[，,\s]*(?:那|请问)?(?:有没有|有无|是否有|能不能给|能否给)?个?(?:具体的?|确切的?)?(?:数字|数据|数值|数)"
                              r"(?:是多少|呢|吗)?[？?]?")


# A question mark, an everyday question word ASKS leaves out, a closing particle (还能看到老房子不, …的呢), or a
# request (都说说, 请写出两个, 求清单).
_ASKING = re.compile(r"[？?]\s*$|啥|咋|(?:呢|嘛|么|不|没有?)[^\w]*$"
                     r"|说说|讲讲|谈谈|[说讲谈列写]一下|介绍|列[出举]|写出|告诉|^求")


def asks(piece: str) -> bool:
    """Whether a piece of a question asks something (…有多少家？), not only tells who asks or why (想写个帖子)."""
    return bool(ASKS.search(piece) or _ASKING.search(piece))


def split_question(question: str) -> list[str]:
    """A question that asks two things (…是多少？…是什么？ / 甲和乙分别是多少) as its parts."""
    pieces = [p.strip() for p in re.split(r"(?<=[？?])", question) if len(p.strip(" ？?，,")) >= WEIGHTS.min_part_chars]
    # 有没有具体数字？ adds no topic of its own: it asks the part before it for a figure.
    merged: list[str] = []
    for piece in pieces:
        if merged and _ASKS_FOR_FIGURE.fullmatch(piece):
            merged[-1] = merged[-1].rstrip("？?") + "，" + piece
        else:
            merged.append(piece)
    pieces = merged
    if len(pieces) > 1:
        return pieces[: WEIGHTS.max_parts]
    both = _SPLIT_BOTH.match(question)
    if both and ASKS.search(both["tail"]):
        # 甲和乙，X分别是多少 / X，甲和乙分别是多少: what stands beside the pair in its own clause belongs to both.
        lead, a = both["a"].rpartition("，")[::2]
        b, _, shared = both["b"].partition("，")
        if _TIMES.fullmatch(a) and (time := _TIMES.match(b)) and time.end() < len(b):
            # 2021年一季度与2021年全年空气优良天数分别是多少: two times, and what follows the second is asked of both.
            b, shared = time.group(), b[time.end() :] + shared
        return [f"{lead}{a}{shared}{both['tail']}", f"{lead}{b}{shared}{both['tail']}"]
    # …花了多少钱，水质达到几类？ — two questions in one sentence, each with its own question word; clauses before
    # them that ask nothing (九龙坡空气好的天数，一季度有多少天，全年有多少天？) are the topic of each.
    clauses = [c.strip() for c in re.split(r"[，,、；;]", question) if c.strip(" ？?")]
    first = next((i for i, c in enumerate(clauses) if ASKS.search(c)), len(clauses))
    asking = clauses[first:]
    if 1 < len(asking) <= WEIGHTS.max_parts and all(len(c) >= WEIGHTS.min_part_chars and ASKS.search(c)
                                                     for c in asking):
        topic = "，".join(clauses[:first])
        return [f"{topic}，{c}" if topic else c for c in asking]
    return [question]


def _work(snapshot: Snapshot, question: str, top_k: int, fusion: Fusion | None, context: str = "",
          typed: str = "") -> Part:
    intent = detect_intent(question)
    # A year narrows which figures count, so look further down the ranking for one that fits.
    pool = WEIGHTS.candidates * (WEIGHTS.year_pool_factor if intent.years and intent.kind in ("quantity", "compare")
                                 else 1)
    found = search(snapshot, f"{context} {question}" if context else question, k=max(top_k, pool), fusion=fusion,
                   prepared=True)
    hits = _prefer_time(snapshot, found, intent)
    terms = query_terms(question, snapshot)
    if context:  # the first part's subject counts where a sentence names it, never against one that does not
        # Its names count in full; a noun (战略性新兴产业增加值 for 到2022年又达到了多少) at part of its weight, so
        # that what the part itself asks still weighs most. A thing the part names again in words of its own
        # (人均体育场地面积 after 体育场地总面积) is not taken twice.
        topic = {w: x if names_something(w) else WEIGHTS.carried_noun_share * x
                 for w, x in query_terms(context, snapshot).items()
                 if names_something(w) or (_noun(w) and not any(_shares_pair(w, t) for t in terms))}
        terms = Terms({**topic, **terms}, terms.context | (topic.keys() - terms.keys()))
    carried = {t for t in terms if t not in typed.lower()} if typed else set()
    if carried and carried != terms.keys():
        # A follow-up's words that came from the earlier turn (中梁山生态景区计划投资 for 它分几期推进) count where a
        # sentence holds them, never against one that does not: what the asker typed now is what is asked.
        terms = Terms(terms, terms.context | carried)
    evidence = prefer_slot(rank_evidence(snapshot, hits, terms, intent), intent, terms)
    matches = match_figures(snapshot, evidence, terms, intent) if intent.kind in ("quantity", "compare") else []
    support = judge_support(snapshot, question, intent, terms, hits, evidence, matches)
    used, chosen = _select(snapshot, evidence, list(support.matches), intent, terms) if support.found else ([], [])
    listing = counted_listing(snapshot, [ev.hit for ev in used], question) \
        if support.found and intent.kind in ("list", "fact") else ()
    return Part(question, intent, terms, hits, support, used, chosen, evidence, listing)


def _noun(word: str) -> bool:
    """Whether ``word`` is read as a noun alone (GDP, 优良天数), not a verb (投, 整治)."""
    tags = [f for w, f in pos_tag(word) if w.strip()]
    return bool(tags) and all(f.startswith(("n", "eng", "j")) and f != "nr" for f in tags)


def _shares_pair(a: str, b: str) -> bool:
    """Whether two words have two characters in a row in common (总面积, 面积)."""
    return any(a[i : i + 2] in b for i in range(len(a) - 1))


def _distinct_quotes(parts: list[Part]) -> list[list[Evidence]]:
    """What each part quotes, never one sentence twice: a part whose sentence an earlier part already quoted
    takes its next best sentence that holds the part's own terms (its figure, if it asked for one, stays)."""
    quoted: set[str] = set()
    out: list[list[Evidence]] = []
    for p in parts:
        fresh = [ev for ev in p.used if ev.sentence not in quoted]
        if p.used and not fresh and not p.matches:
            fresh = [ev for ev in p.evidence[: WEIGHTS.candidates] if ev.sentence not in quoted
                     and ev.coverage >= WEIGHTS.min_coverage][:1]
        quoted |= {ev.sentence for ev in p.used} | {ev.sentence for ev in fresh}
        out.append(fresh)
    return out


def _interleave(rankings: list[list[Hit]], top_k: int) -> list[Hit]:
    """The passages to show: the best of each part's ranking in turn, without repeats."""
    out: list[Hit] = []
    seen: set[str] = set()
    for i in range(max(len(r) for r in rankings)):
        for ranking in rankings:
            if i < len(ranking) and ranking[i].chunk.chunk_id not in seen:
                seen.add(ranking[i].chunk.chunk_id)
                out.append(ranking[i])
    return out[:top_k]


def _prefer_time(snapshot: Snapshot, hits: list[Hit], intent: Intent) -> list[Hit]:
    """Lift passages that mention the asked year or period, or (for 最新/目前) come from newer reports."""
    if not hits:
        return hits
    top = hits[0].score or 1.0
    oldest, newest = snapshot.report_years

    def boosted(hit: Hit) -> float:
        bonus = 0.0
        if any(str(y) in hit.chunk.clean for y in intent.years):
            bonus += WEIGHTS.year_hit_bonus
        if any(p in hit.chunk.clean for p in intent.periods):
            bonus += WEIGHTS.period_hit_bonus
        year = snapshot.documents[hit.chunk.doc_id].year
        if intent.latest and year and newest > oldest:
            bonus += WEIGHTS.latest_bonus * (year - oldest) / (newest - oldest)
        return hit.score + bonus * top

    return sorted(hits, key=lambda h: -boosted(h))


def _select(snapshot: Snapshot, evidence: list[Evidence], matches: list[FigureMatch],
            intent: Intent, terms: dict[str, float]) -> tuple[list[Evidence], list[FigureMatch]]:
    """The evidence the answer quotes, and the figures it reports."""
    if not matches:
        if intent.kind == "when":  # the best of the first few sentences that says when
            return [(dated(evidence, intent, terms) or evidence)[0]], []
        if intent.kind == "overview":
            return overview(evidence), []
        return _with_other_reports(snapshot, evidence[0], terms, intent)
    best = matches[0]
    if intent.latest and not intent.years:
        # 最新/目前: the newest report's figure among those that answer about as well, in the same unit (a count of
        # rivers in 条 is not a newer count of forest rangers in 名).
        named = coverage(best.figure.metric or "", terms)  # how much of the question the best figure's metric holds
        close = [m for m in matches if m.score >= best.score - 2 * WEIGHTS.close_figures
                 and m.figure.unit == best.figure.unit
                 and (same_measure(m.figure.metric, best.figure.metric)
                      or coverage(m.figure.metric or "", terms) >= named)]
        best = max(close, key=lambda m: (snapshot.documents[m.figure.doc_id].date or "", m.score))
        matches = [best] + [m for m in matches if m is not best]
    chosen = [best]
    if intent.kind == "compare":
        chosen += _one_per_time(snapshot, matches, intent, best)
    for m in matches[1:]:
        if len(chosen) > 1 and intent.kind == "compare":
            break
        if m.score < best.score - WEIGHTS.close_figures:
            break
        if intent.kind == "compare" and m.evidence.sentence != best.evidence.sentence:
            chosen.append(m)
        elif (m.figure.unit == best.figure.unit and m.figure.value != best.figure.value
              and m.figure.doc_id != best.figure.doc_id and m.figure.kind == best.figure.kind
              and m.figure.period == best.figure.period  # a quarter's figure does not contradict the year's
              and same_metric(m.figure.metric, best.figure.metric)):
            chosen.append(m)  # another report gives another value: show both, never one silently
        if len(chosen) == WEIGHTS.max_figures:
            break
    if len(chosen) == 1 and intent.kind != "compare":
        chosen += other_reports(snapshot, best, terms, intent)
    if len(chosen) > 1 and intent.kind != "compare":
        chosen.sort(key=lambda m: snapshot.documents[m.figure.doc_id].date or "", reverse=intent.latest)
    used: list[Evidence] = []
    for m in chosen:
        if m.evidence not in used:
            used.append(m.evidence)
    return used, chosen


def _with_other_reports(snapshot: Snapshot, best: Evidence, terms: dict[str, float],
                        intent: Intent) -> tuple[list[Evidence], list[FigureMatch]]:
    """The sentence a question without a figure asked is answered by, and, where it gives a figure of the very
    measure the question names that another report gives otherwise (全体居民人均可支配收入 4.4万元 and 4.5万元), that
    report's sentence too: two reports that disagree are shown side by side, never one silently."""
    for fig in best.figures:
        if fig.metric and holds(intent.question, bare_metric(fig.metric)):
            found = FigureMatch(fig, best, 0.0)
            others = other_reports(snapshot, found, terms, intent)
            if others:
                return [best, *(m.evidence for m in others)], [found, *others]
    return [best], []


def other_reports(snapshot: Snapshot, best: FigureMatch, terms: dict[str, float],
                  intent: Intent) -> list[FigureMatch]:
    """The same measure given otherwise by another report (全体居民人均可支配收入 4.5万元 and 4.4万元), found by
    its metric wherever retrieval did not reach it: two reports that disagree are shown side by side, never one
    silently. The metric must be the same words exactly, with the same unit, kind and time."""
    fig = best.figure
    if not fig.metric or len(fig.metric) < WEIGHTS.shared_metric_chars:
        return []
    out: list[FigureMatch] = []
    for other in snapshot.store.figures_measuring(fig.metric):
        if (other.doc_id == fig.doc_id or other.value == fig.value
                or (other.unit, other.kind, other.period, other.year) != (fig.unit, fig.kind, fig.period, fig.year)
                or any(m.figure.doc_id == other.doc_id for m in out)):
            continue
        at = other.sentence.find(other.text)
        if at > 0 and other.sentence[at - 1] in "由从":
            continue  # 由60%提升至68%: where a change started, not what the report gives
        chunk = snapshot.store.chunk_holding(other.doc_id, other.start, other.end)
        said = [ev for ev in rank_evidence(snapshot, [Hit(chunk, 0.0)], terms, intent) if other.text in ev.sentence] \
            if chunk else []
        if said:
            out.append(FigureMatch(other, said[0], best.score))
        if len(out) + 1 == WEIGHTS.max_figures:
            break
    return out


def overview(evidence: list[Evidence]) -> list[Evidence]:
    """For an open question, the best sentences from different passages that hold enough of its terms, no repeats.

    The first is always the best sentence; the others must each reach the coverage an answer needs. Best first.
    """
    chosen: list[Evidence] = []
    for ev in evidence:
        if len(chosen) == WEIGHTS.overview_sentences:
            break
        if chosen and ev.coverage < WEIGHTS.min_coverage:
            continue
        if any(ev.hit.chunk.chunk_id == c.hit.chunk.chunk_id or _overlap(ev.sentence, c.sentence)
               >= WEIGHTS.repeat_overlap for c in chosen):
            continue  # one sentence per passage, and never the same thing twice
        chosen.append(ev)
    return chosen


def _overlap(a: str, b: str) -> float:
    """Share of the shorter text's character pairs that the other text also has (1.0: one says the other)."""
    pairs_a, pairs_b = {a[i : i + 2] for i in range(len(a) - 1)}, {b[i : i + 2] for i in range(len(b) - 1)}
    return len(pairs_a & pairs_b) / max(1, min(len(pairs_a), len(pairs_b)))


def _one_per_time(snapshot: Snapshot, matches: list[FigureMatch], intent: Intent,
                  best: FigureMatch) -> list[FigureMatch]:
    """For a comparison across times (2020年和2025年, 全年比一季度), the best figure of each other time."""
    times = [*(Intent(intent.kind, years=(y,)) for y in intent.years),
             *(Intent(intent.kind, periods=(p,)) for p in intent.periods)]
    if len(times) < 2:
        return []
    out: list[FigureMatch] = []
    for narrowed in times:
        for m in matches:
            document = snapshot.documents.get(m.figure.doc_id)
            passage = document.text if document else ""
            if m.figure.unit == best.figure.unit and time_fits(m.figure, report_year(snapshot, m.figure.doc_id),
                                                              narrowed, passage):
                if m is not best and m not in out:
                    out.append(m)
                break
    return out


def _compose(used: list[Evidence], matches: list[FigureMatch], terms: dict[str, float], intent: Intent,
             by_chunk: dict[str, int]) -> str:
    parts = []
    for ev in used:
        anchor = next((m.figure.text for m in matches if m.evidence is ev), None)
        text = trim(ev.reach or ev.sentence, terms, anchor=anchor) if anchor else ev.text
        if intent.kind == "when":
            text = _with_time(ev, text, intent)
        if intent.kind == "list" and not is_enumeration(text):
            text = _with_following(ev, text)
        parts.append(f"{text.rstrip('。；，')}[{by_chunk[ev.hit.chunk.chunk_id]}]")
    if intent.kind == "overview":
        return "。".join(parts) + "。"
    distinct_docs = {ev.hit.chunk.doc_id for ev in used}
    if len(parts) > 1 and len(distinct_docs) > 1 and intent.kind != "compare":
        return "不同报告的数字不同：" + "；".join(parts) + "。"
    return "；".join(parts) + "。"


def _with_time(ev: Evidence, text: str, intent: Intent) -> str:
    """A when-question's quote, reaching to the clause that says when if trimming left it out.

    为守护好这片肺叶，2020年12月20日，一项计划投资398亿元，……中梁山生态景区正式开建 is trimmed to the clauses
    of the event; the answer is the date's clause, so the quote runs from it to them (or from them to it).
    """
    whole = (ev.reach or ev.sentence).strip()
    body = text.rstrip("。")
    at = whole.find(body)
    stated = time_stated(whole, intent)
    if at < 0 or stated is None or at <= stated.start() < at + len(body):
        return text
    if stated.start() < at:
        start = max(whole.rfind(mark, 0, stated.start()) for mark in "，；：") + 1
        return whole[start:at] + text
    ends = [i for i in (whole.find(mark, stated.end()) for mark in "，；：。") if i >= 0]
    return whole[at : min(ends, default=len(whole))].rstrip("，；：") + "。"


_COUNTED = re.compile(r"(\d+|[两二三四五六七八九十])\s*(?:个|大|项|类)")
_KIND = re.compile(r"[“\"「]?([\u4e00-\u9fff]{2,}?)[”\"」]?(?=是|有|都|分别|包括|具体|指|叫|呢|吗|啥|哪|什么|[，,。？?]|$)")
_ITEM = re.compile(r"[^，。；：:、“”]{2,20}[：:]")  # 轻量化材料： a named item that its line then describes
_MARKS = "”\"」—：:，,。 \n"  # what may stand between a heading and its first item


def _openers(count: int) -> list[tuple[str, ...]]:
    """How the items of a counted list may each open a sentence of their own: 一是…二是…, 一个是…另一个是…."""
    out = [tuple(f"{ORDINALS[i]}是" for i in range(count))] if count <= len(ORDINALS) else []
    return out + ([("一个是", "另一个是"), ("一方面", "另一方面")] if count == 2 else [])


def counted_span(text: str, question: str) -> list[tuple[int, int]]:
    """重点发展的3个优势产业是哪些: where ``text`` has the heading that counts them (重点发展3个优势产业) and the
    items under it: each a line that names one and describes it (汽车摩托车制造业：…。装备制造：…。电子信息：…。),
    or each a sentence of its own that opens with its ordinal (两个“千亿工业”——一个是…。……另一个是…。).

    The count the question asks with is read in the text as the same number followed by the same kind of thing
    (by its last characters: 3个优势产业, 四大战新服务业); exactly that many items must follow it. The spans
    quoted: the heading with the items under it, or the heading with the first item and each further item.
    """
    for asked in _COUNTED.finditer(question):
        count = parse_number(asked.group(1))
        kind = _KIND.match(question, asked.end())
        if not count or not kind or count != int(count):
            continue
        head = kind.group(1)[-WEIGHTS.counted_kind_chars :]
        for stated in _COUNTED.finditer(text):
            after = text[stated.end() : stated.end() + len(kind.group()) + WEIGHTS.counted_kind_chars]
            if parse_number(stated.group(1)) != count or head not in after:
                continue
            at = stated.end() + after.index(head) + len(head)
            sentences = [(at + s.start, at + s.end) for s in split_sentences(text[at:])]
            lines = sentences[: int(count)]
            begin = _clause_start(text, stated.start())
            if len(lines) == count and all(_ITEM.match(text, a) for a, _ in lines):
                return [(begin, lines[-1][1])]
            for openers in _openers(int(count)):
                items = _opened(text, sentences, openers)
                if items:
                    return [(begin, items[0][1]), *items[1:]]
    return []


def _clause_start(text: str, at: int) -> int:
    """Where the clause of a heading's count begins (九龙坡区将加速崛起两个…), if that is near; else the count."""
    lead = text[max(0, at - WEIGHTS.counted_lead_chars) : at]
    cut = max(lead.rfind(mark) for mark in "。！？；，：\n")
    return at - len(lead) + cut + 1 if cut >= 0 else at


def _opened(text: str, sentences: list[tuple[int, int]], openers: tuple[str, ...]) -> list[tuple[int, int]]:
    """The sentences (or their clauses) that open with each of ``openers`` in turn, the first right after the heading."""
    items: list[tuple[int, int]] = []
    for start, end in sentences:
        if not text[start:end].strip(_MARKS):
            continue  # the rest of the heading's line: ”——
        at = text.find(openers[len(items)], start, end)
        if at < 0 or (not items and text[start:at].strip(_MARKS)):
            if not items:
                return []  # the first item follows its heading
            continue
        items.append((at if items else start, end))
        if len(items) == len(openers):
            return items
    return []


def counted_listing(snapshot: Snapshot, hits: Sequence[Hit], question: str) -> tuple[tuple[Hit, str], ...]:
    """A counted list the question asks for (:func:`counted_span`), read from a quoted passage on into the
    passages that follow it in its report, as the pieces of each passage it spans."""
    for hit in hits:
        chain = [hit.chunk]
        while len(chain) <= WEIGHTS.counted_list_passages and (after := snapshot.store.next_chunk(chain[-1])) is not None:
            chain.append(after)
        # passages overlap: each goes on from where the one before it ends
        text, covers = chain[0].clean, [(0, len(chain[0].clean))]
        for before, chunk in pairwise(chain):
            shared = next((k for k in range(min(len(before.clean), len(chunk.clean)), 0, -1)
                           if before.clean.endswith(chunk.clean[:k])), 0)
            covers.append((len(text) - shared, len(text) - shared + len(chunk.clean)))
            text += chunk.clean[shared:]
        spans = counted_span(text, question)
        if not spans:
            continue
        pieces = []
        for first, last in spans:
            done = first
            for chunk, (begin, end) in zip(chain, covers, strict=True):
                a, b = max(done, begin), min(last, end)
                if a < b and text[a:b].strip():
                    pieces.append((hit if chunk is hit.chunk else Hit(chunk, hit.score), text[a:b].strip()))
                    done = b
        return tuple(pieces)
    return ()


def _with_following(ev: Evidence, text: str, limit: int = WEIGHTS.list_follow_chars) -> str:
    """A list question's sentence that only announces the list (…两个“千亿工业”——) plus what follows."""
    clean = ev.hit.chunk.clean
    at = clean.find(ev.sentence)
    if at < 0:
        return text
    rest = clean[at + len(ev.sentence) :]
    out = ev.sentence.strip()
    for s in split_sentences(rest):
        sentence = rest[s.start : s.end].strip()
        if len(out) + len(sentence) > limit:
            break
        out += sentence
        if is_enumeration(out) or sentence.startswith("另"):
            break
    return out


@lru_cache(maxsize=WEIGHTS.cache_entries)
def _clean(passage: str) -> str:
    return normalize(passage).text


def verify_numbers(body: str, citations: Sequence[Citation]) -> str:
    """Keep only the parts of ``body`` whose numbers all occur verbatim in the passage they cite."""
    clean = {c.id: _clean(c.text) for c in citations}
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


_NEAR_MISS = frozenset(["check_slot", "check_premise", "check_named_place", "check_named_subject",
                        "check_measured_kind", "check_qualifier", "check_part", "check_phase", "check_listed_example",
                        "check_given_figure", "check_stated_figure", "check_direction", "check_figure_subject",
                        "check_figure_strength", "model"])


def closest_statement(part: Part) -> Evidence | None:
    """What the reports do say nearest to a question they do not answer: the sentence an answer would have
    quoted, when it is about the question at all (a false premise gets the report's version this way)."""
    if not part.evidence or part.intent.english or not (part.matches or part.support.refused_by in _NEAR_MISS):
        return None  # only where the reports say something close: a figure of the kind asked, or a premise
    best = part.matches[0].evidence if part.matches else part.evidence[0]
    return best if best.coverage >= WEIGHTS.closest_min_coverage else None


def not_found_text(support: Support, closest: Evidence | None = None, citations: Sequence[Citation] = ()) -> str:
    """"Not found", what is missing, and what the reports do say nearest to it (numbers checked like an answer's)."""
    subject = f"关于“{support.missing}”的信息" if support.missing else "能回答这个问题的内容"
    cited = {c.chunk_id: c.id for c in citations}
    if closest is not None and closest.hit.chunk.chunk_id in cited:
        said = verify_numbers(f"{closest.text.rstrip('。；，')}[{cited[closest.hit.chunk.chunk_id]}]。", citations)
        if said:
            return f"{NOT_FOUND}{subject}。{CLOSEST}{said}"
    return f"{NOT_FOUND}{subject}。下面是资料中最接近的段落，供参考。"
