"""Evidence for an answer: the sentences of retrieved passages, and the figures in them, scored.

A sentence is good evidence when it holds the question's terms (weighted by idf), sits in the passage
window that the dense retriever matched best, and carries what the question asks for: a figure in the
expected unit and year for "how much", a date for "when", an enumeration for "which ones".
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from qa.answer.intent import Intent
from qa.answer.weights import WEIGHTS
from qa.answer.words import district
from qa.chunk import split_sentences
from qa.index import Snapshot, chunk_views
from qa.lexical import aliases as known_aliases
from qa.lexical import expansion_groups, expansions, pos_tag
from qa.normalize import is_caption, is_cjk, starts_item
from qa.types import Figure, Hit

_ENDS = ("。", "！", "？", "；", "…")
DATEISH = re.compile(r"(?:19|20)\d{2}年|\d0年代|[一二]十世纪|\d{2}世纪|\d{1,2}月|\d{1,2}日|去年|今年|前年|上半年|下半年|[一二三四]季度|近年来|目前|当前")
_CLAUSE = re.compile(r"(?<=[，；：])")


@dataclass(frozen=True)
class Evidence:
    """A sentence of a retrieved passage, scored as evidence for the question."""

    hit: Hit
    text: str  # clean sentence, trimmed to the clauses that matter
    sentence: str  # the whole clean sentence
    score: float
    coverage: float  # share of the question's idf weight found in the sentence
    in_window: bool  # inside the two-sentence window the dense retriever matched best
    figures: tuple[Figure, ...]
    reach: str = ""  # the sentence plus its continuation when a line break cut it


@dataclass(frozen=True)
class FigureMatch:
    """A figure that may answer a "how much" question, with how well its sentence matches."""

    figure: Figure
    evidence: Evidence
    score: float

    @property
    def clause(self) -> str:
        """The figure's own clause, read on past a seam into its sentence's continuation."""
        return own_clause(self.figure, self.evidence.reach)


class Terms(dict[str, float]):
    """A question's content words with their weights, and which of them only tell the asker's story."""

    def __init__(self, weights: Mapping[str, float], context: Iterable[str] = ()) -> None:
        super().__init__(weights)
        self.context = frozenset(context)  # words of the asker's story: they count where found, never against


def story_words(terms: Mapping[str, float]) -> frozenset[str]:
    """The words of ``terms`` that only the asker's story holds (none, for a plain mapping)."""
    return terms.context if isinstance(terms, Terms) else frozenset()


_WRAPPED = re.compile(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")


def coverage(text: str, terms: Mapping[str, float]) -> float:
    """Share of the terms' weight that occurs in ``text`` (1.0 when there are no terms).

    A word that is not there whole earns half credit for the share of its characters that are (港口
    against 黄磏港), since Chinese words are often shortened or recombined. A word of the asker's narrative
    (:attr:`Terms.context`) counts only when it is there.
    """
    if not terms:
        return 1.0
    context = story_words(terms)
    text = _WRAPPED.sub("", text.lower())  # 老旧 小区: a line wrapped inside a word of a scanned page
    found = total = 0.0
    aliases = known_aliases()
    for term, weight in terms.items():
        if term in text or any(alt in text for alt in aliases.get(term, ())):
            found += weight
            total += weight
        elif term not in context:
            total += weight
            if len(term) > 1:
                found += WEIGHTS.partial_term_credit * weight * sum(ch in text for ch in term) / len(term)
    if not total:  # no weight at all (1.0, as ever), or only words of the story, none of them here
        return 0.0 if any(terms.values()) else 1.0
    return found / total


def shortens(name: str, text: str) -> bool:
    """Whether ``text`` holds ``name`` or the full form it shortens: its characters in order, the first and the last
    the same, at most one left out after each (中梁山花博园 of 重庆中梁山花卉博览园)."""
    if name in text:
        return True
    if len(name) < WEIGHTS.min_shortened_name_chars:
        return False
    pattern = re.escape(name[0]) + "".join(f"[^，。；！？、\\s]?{re.escape(ch)}" for ch in name[1:])
    return re.search(pattern, text) is not None


def holds(text: str, phrase: str) -> bool:
    """Whether ``text`` holds ``phrase``, whole or with a term inside it in another of its forms (规上工业增加值比重
    as 规模以上工业增加值比重)."""
    if coverage(text, {phrase: 1.0}) == 1.0:
        return True
    phrase, text = phrase.lower(), text.lower()
    return any(phrase.replace(term, alt) in text for term, alts in known_aliases().items() if term in phrase
               for alt in alts)


def trim(sentence: str, terms: dict[str, float], anchor: str | None = None, limit: int = WEIGHTS.trim_limit) -> str:
    """The clauses of a long sentence around its question terms (or around ``anchor``), ending in 。."""
    if len(sentence) > limit:
        clauses = [c for c in _CLAUSE.split(sentence) if c]
        weights = [sum(w for t, w in terms.items() if t in c) for c in clauses]
        best = next((i for i, c in enumerate(clauses) if anchor in c), None) if anchor else None
        if best is None:
            best = max(range(len(clauses)), key=lambda i: (weights[i], -i))
        lo = hi = best
        # Grow towards the clauses that carry question terms; a figure's subject usually comes before it.
        while True:
            options = [c for c in (lo - 1, hi + 1) if 0 <= c < len(clauses)]
            options.sort(key=lambda c: (-weights[c], c != lo - 1))
            grown = False
            for cand in options:
                length = sum(len(c) for c in clauses[min(lo, cand) : max(hi, cand) + 1])
                if length <= limit and (weights[cand] > 0 or (cand == lo - 1 and length <= limit // 2)):
                    lo, hi = min(lo, cand), max(hi, cand)
                    grown = True
                    break
            if not grown:
                break
        if hi + 1 < len(clauses) and _NAMELY.match(clauses[hi + 1]):
            hi = len(clauses) - 1  # …“三高三宜三率先”发展愿景，即…: a name is quoted with what it stands for
        sentence = "".join(clauses[lo : hi + 1])
    sentence = sentence.strip().rstrip("，；：、")
    return sentence if sentence.endswith(("。", "！", "？", "”", "…")) else sentence + "。"


_NAMELY = re.compile(r"\s*即(?!将|可|使|便|日|时|刻)")  # 即 "namely", not 即将 (about to), 即可 (then can) …


def explains(sentence: str, terms: Mapping[str, float]) -> bool:
    """Whether ``sentence`` says what the question's most specific word stands for, in the clause right before
    即 (…实现“三高三宜三率先”发展愿景，即坚持不懈…)."""
    if not terms:
        return False
    top = max(terms.values())
    heaviest = [t for t, w in terms.items() if w == top]
    for mark in re.finditer(r"[，,：:]", sentence):
        if _NAMELY.match(sentence, mark.end()):
            clause = re.split(r"[，,；;。：:]", sentence[: mark.start()])[-1]
            if any(t in clause for t in heaviest):
                return True
    return False


def is_enumeration(text: str) -> bool:
    """A sentence that lists things: 甲、乙、丙 or “甲”“乙”“丙”."""
    return text.count("、") >= 2 or text.count("”“") >= 1 or text.count("；") >= 2


def _window_text(hit: Hit) -> str:
    if hit.view <= 0:
        return ""
    views = chunk_views(hit.chunk.clean)
    return views[hit.view] if hit.view < len(views) else ""


def report_year(snapshot: Snapshot, doc_id: str) -> int | None:
    """The year of a report (None when undated or unknown)."""
    doc = snapshot.documents.get(doc_id)
    return doc.year if doc else None


def figure_years(figure: Figure, doc_year: int | None) -> set[int]:
    """Years a figure can be taken to describe: its own, else the report's year or the one before.

    A figure for part of a year (一季度, 上半年) with no year of its own is the report's year: a report
    tells the quarters of its own year, and only a whole year once it is over.
    """
    if figure.year is not None:
        return {figure.year}
    years = {int(y) for y in re.findall(r"((?:19|20)\d{2})年", figure.sentence)}
    if doc_year is not None:
        years |= {doc_year} if part_of_year(figure) else {doc_year, doc_year - 1}
    return years


_PART_OF_YEAR = re.compile(r"季度|半年|月$")  # 一季度, 上半年, 1-3月; not 十四五 nor 2016-2020


def part_of_year(figure: Figure) -> bool:
    """Whether a figure is for a quarter or half of a year (not a whole year, nor a five-year plan period)."""
    return bool(figure.period and _PART_OF_YEAR.search(figure.period))


def time_fits(figure: Figure, doc_year: int | None, intent: Intent, passage: str = "") -> bool:
    """Whether a figure is for the year and period the question names.

    Plan periods (十三五, 十四五) span five years and are named once for a whole report or section, so
    the report naming them is enough; a quarter or half-year must be the figure's own, and 全年 excludes
    both.
    """
    if intent.years and not set(intent.years) & figure_years(figure, doc_year):
        return False

    def fits(period: str) -> bool:
        if period == "全年":
            return not figure.period
        if period.startswith("十"):
            return figure.period == period or period in passage
        return figure.period == period or period in figure.sentence

    # 全年…比一季度多多少: a question naming several periods is answered by a figure for any of them.
    return not intent.periods or any(fits(p) for p in intent.periods)


def rank_evidence(snapshot: Snapshot, hits: Sequence[Hit], terms: dict[str, float], intent: Intent) -> list[Evidence]:
    """Every sentence of the hits, best evidence first."""
    top = hits[0].score if hits and hits[0].score else 1.0
    out: list[Evidence] = []
    for rank, hit in enumerate(hits):
        window = _window_text(hit)
        strong = (hit.dense or 0.0) >= (WEIGHTS.dense_strong_english if intent.english else WEIGHTS.dense_strong)
        figures_here = snapshot.store.figures(doc_id=hit.chunk.doc_id, start=hit.chunk.start, end=hit.chunk.end)
        clean = hit.chunk.clean
        sentences = split_sentences(clean, limit=WEIGHTS.sentence_limit)
        # A report whose title names a plan period (“十四五”回顾) speaks of that period in every sentence.
        document = snapshot.documents.get(hit.chunk.doc_id)
        era = " ".join(_PLAN_PERIOD.findall(document.title)) if document else ""
        for i, s in enumerate(sentences):
            sentence = clean[s.start : s.end]
            # A line cut by a wrap or a column seam goes on in the next one: judge the two together.
            reach = sentence
            caption = is_caption(sentence)
            ended = sentence.rstrip("”’」』）)").endswith(_ENDS)
            if not ended and not caption:
                # A photo caption set into the text by page layout does not end the sentence it interrupts.
                after = [t for t in (clean[n.start : n.end] for n in sentences[i + 1 :]) if not is_caption(t)]
                # …but a heading or list item (二、大力推进…) starts something new.
                reach = sentence + after[0] if after and not starts_item(after[0]) else sentence
            cov = coverage(f"{reach} {era}" if era else reach, terms)
            in_window = bool(window) and sentence in window
            text = trim(reach, terms)
            figures = tuple(f for f in figures_here if f.text and f.text in sentence)
            w = WEIGHTS
            window_bonus = w.window_bonus if in_window and strong and (cov >= w.window_min_coverage
                                                                     or intent.english) else 0.0
            score = w.coverage_weight * cov + w.retrieval_weight * (hit.score / top) - w.rank_penalty * rank \
                + window_bonus
            if intent.kind in ("quantity", "compare"):
                fits = any(not intent.units or f.unit in intent.units for f in figures)
                score += w.unit_bonus if fits else -w.unit_bonus
            elif intent.kind == "when" and DATEISH.search(text):
                score += w.date_bonus
            elif intent.kind == "list" and is_enumeration(sentence):
                score += w.enumeration_bonus
            if intent.kind in ("fact", "list", "entity") and explains(reach, terms):
                score += w.explains_bonus
            if intent.name_endings and any(e in reach for e in intent.name_endings):
                score += w.name_kind_bonus  # names the kind of thing asked for (哪家公司: …有限公司)
            if intent.years:
                score += w.year_bonus if any(str(y) in sentence for y in intent.years) else -w.year_penalty
            if not (ended or caption) and reach == sentence:
                score -= w.heading_penalty  # a heading standing alone names a topic, it does not tell about it
            out.append(Evidence(hit, text, sentence, score, cov, in_window and strong, figures, reach))
    out.sort(key=lambda e: -e.score)
    return out


_PLAN_PERIOD = re.compile(r"十[一二三四五六七八九]五")


def bare_metric(metric: str) -> str:
    """A figure's metric without the subject that opens it (全区, 九龙坡区): the measure itself."""
    return district().metric_prefix.sub("", metric)


def _names_term(metric: str | None, terms: dict[str, float]) -> bool:
    """Whether a figure's metric, without a subject such as 全区, is exactly a question term or its synonym."""
    if not metric:
        return False
    bare = bare_metric(metric).lower()
    aliases = known_aliases()
    return any(bare == t or bare in aliases.get(t, ()) for t in terms)


def ranking_scopes(text: str) -> set[str]:
    """Where a ranking is made: 全市 (Chongqing), 全国, 成渝, 西部."""
    return {name for name, pattern in district().scopes if pattern.search(text)}


_PER = re.compile(r"人均|每万人|每千人|每个?[\u4e00-\u9fff]{0,4}?人(?![次员口])|户均|亩均|平均每|平均下来|人头"
                  r"|平均[\u4e00-\u9fff]{0,3}一个人|一个人[\u4e00-\u9fff]{0,3}(?:平均|摊|分)")


def _per_unit(text: str) -> bool:
    """Whether ``text`` speaks of an amount per person, household or mu (人均, 每万人 …)."""
    return bool(_PER.search(text))


def _asks_per_unit(question: str) -> bool | None:
    """Whether ``question`` asks for an amount per person (人均收入), by its own words or the report terms its
    everyday words stand for; None when one everyday word stands for both kinds (收入: 营业收入 of an industry,
    人均可支配收入 of residents), so that the figures decide."""
    if _per_unit(question):
        return True
    readings = [{_per_unit(alt) for alt in group} for group in expansion_groups(question)]
    if any(len(kinds) > 1 for kinds in readings):
        return None
    return any(True in kinds for kinds in readings)


def figure_context(fig: Figure, reach: str = "") -> str:
    """The words a figure can be about: its sentence up to the end of the clause that holds it.

    Where a wrap or a column seam cuts the sentence (已完成38公顷 | 废弃矿山的恢复治理，…), ``reach``, the sentence
    with its continuation, carries the clause on.
    """
    sentence = reach if reach.startswith(fig.sentence) else fig.sentence
    at = sentence.find(fig.text)
    if at < 0:
        return sentence
    end = at + len(fig.text)
    stop = re.search(r"[，；。！？、]", sentence[end:])
    return sentence[: end + (stop.start() if stop else len(sentence) - end)]


def own_clause(fig: Figure, reach: str = "") -> str:
    """The clause that holds a figure, from the punctuation before it to the punctuation after it (on past a seam
    into ``reach``, as :func:`figure_context`)."""
    context = figure_context(fig, reach)
    at = context.find(fig.text)
    start = max((m.end() for m in re.finditer(r"[，；。！？：]", context[: max(at, 0)])), default=0)
    return context[start:]


def _is_verb(word: str) -> bool:
    """Whether jieba reads ``word`` alone as verbs only (加起来: 加 + 起来) or an idiom."""
    return all(flag[:1] in ("v", "l") for _, flag in pos_tag(word))


def only_phrases(term: str, corpus_text: Container[str]) -> bool:
    """Whether a question word is an act that only phrases the question: a verb the reports never use (加起来, 赚)
    or a verb of one character (修, 说), which they say in many ways."""
    return _is_verb(term) and (len(term) == 1 or term not in corpus_text)


_MODALS = frozenset(["能", "会", "要", "可", "可以", "得", "该", "应该", "想"])


def _acts_after_modal(question: str) -> set[str]:
    """One-character words right after a modal verb (能省多少钱, 要投多少): verbs, whatever jieba tags them alone
    (省 a province)."""
    words = [w for w, _ in pos_tag(question)]
    return {w for before, w in pairwise(words) if before in _MODALS and len(w) == 1 and is_cjk(w)}


def same_metric(a: str | None, b: str | None) -> bool:
    """Two figure metrics name the same thing: most characters of the shorter occur in the longer, and the shorter
    says what is measured, not only how (总投资 of two projects is no one measure)."""
    if not a or not b:
        return False
    short, long = sorted((a, b), key=len)
    if len(short) < WEIGHTS.shared_metric_chars:
        return False
    return sum(ch in long for ch in short) / len(short) >= WEIGHTS.same_metric_share


def same_measure(a: str | None, b: str | None) -> bool:
    """Two figure metrics name one measure, said in the same words or by a synonym (全区GDP, 地区生产总值)."""
    if not a or not b:
        return False
    return any(same_metric(x, y) for x in (a, *expansions(a)) for y in (b, *expansions(b)))


def match_figures(snapshot: Snapshot, evidence: Sequence[Evidence], terms: dict[str, float],
                  intent: Intent) -> list[FigureMatch]:
    """Figures of the evidence sentences that fit the question's unit, year and period, best first."""
    matches: list[FigureMatch] = []
    seen: set[tuple[str, int]] = set()
    total = sum(terms.values())
    # The word the question turns on is a thing, or an act the reports speak of. An act they never name (加起来, 砸)
    # only phrases the question and is found in no figure's clause; so does an act of one character (修, 说, 定),
    # which the reports say in many ways (新建 for 新修). Two characters jieba reads as a verb alone may still name
    # the thing measured (预算 in 一般公共预算收入).
    told = story_words(terms)  # the asker's story (问 of 我想问一下) is never what the question turns on
    acts = _acts_after_modal(intent.question)
    known = [t for t in terms if t not in told and t not in acts and not only_phrases(t, snapshot.speller.corpus_text)]
    heaviest = max(known, key=lambda t: terms[t]) if known else None
    w = WEIGHTS
    head = heaviest if heaviest and total and terms[heaviest] >= w.head_term_share * total else None
    per_unit = _asks_per_unit(intent.question)
    asked_scopes = ranking_scopes(intent.question)
    for ev in evidence:
        for fig in ev.figures:
            key = (fig.doc_id, fig.start)
            if key in seen:
                continue
            seen.add(key)
            if intent.units and fig.unit not in intent.units and not (fig.unit == "" and "%" in intent.units):
                continue
            document = snapshot.documents.get(fig.doc_id)
            if not time_fits(fig, report_year(snapshot, fig.doc_id), intent, document.text if document else ""):
                continue
            context = figure_context(fig, ev.reach)
            about = fig.metric or re.split(r"[，；、]", context)[-1]  # what the figure measures
            if per_unit is not None and _per_unit(about) != per_unit:
                continue  # 人均公园绿地面积 does not answer 公园绿地面积, nor the other way round
            if head and not ev.in_window and not coverage(context, {head: 1.0}) \
                    and not coverage(ev.reach or ev.sentence, {head: 1.0}):
                continue  # about something else than the word the question turns on, and not a strong dense match
            cov = max(coverage(context, terms), w.sentence_coverage_share * ev.coverage)
            score = w.figure_coverage_weight * cov + w.figure_metric_weight * coverage(fig.metric or "", terms) \
                + w.figure_retrieval_weight * ev.hit.score / (evidence[0].hit.score or 1.0)
            if ev.in_window and (cov >= w.window_min_coverage or intent.english):
                score += w.figure_window_bonus
            if intent.years and fig.year in intent.years:
                score += w.figure_year_bonus  # stated for that year, not only reported then
            if fig.period and not fig.period.startswith("十") and not intent.periods:
                score -= w.quarter_penalty  # a quarter's figure answers a question about a quarter (a plan period is years)
            if fig.kind == "target" and intent.actual:
                continue  # 实际是多少 is not answered by a goal (PM2.5年平均浓度低于35微克 in a plan's table)
            if fig.kind == "target" and not intent.target:
                score -= w.target_penalty
            if _names_term(fig.metric, terms):
                score += w.exact_metric_bonus  # the figure is of that very thing, not of something named after it (“新龙”经济总量)
            scopes = ranking_scopes(context) if fig.kind == "rank" else set()
            if asked_scopes and scopes and not asked_scopes & scopes:
                score -= w.scope_penalty  # 在全市排第几 is not answered by a rank in 成渝地区 or in the country
            if intent.measured and intent.measured in about:
                score += w.measured_bonus  # 多长的步道: the figure measures that very thing
            if fig.qualifier and fig.qualifier in intent.question:
                score += w.qualifier_bonus  # 超过多少 asks for the figure stated as 超过…
            matches.append(FigureMatch(fig, ev, score))
    matches.sort(key=lambda m: -m.score)
    return matches
