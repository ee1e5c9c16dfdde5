"""Whether the retrieved evidence actually answers a question: the "not found" decision, as named checks.

- A "how much" question is answered only by a figure in the expected unit, for the year and period
  asked, in a sentence that holds most of the question's terms (idf-weighted, so a word the reports never
  use, such as 门票 or 常住人口, weighs heavily) or that the dense retriever matched strongly.
- Any other question needs a sentence holding most of its terms, or a strongly matched sentence that holds
  some of them.
- A question about another district (渝中区, 大渡口区 …) is not answered from reports on this one.
- English questions share no words with the reports and are judged by the dense score.

Each check takes the :class:`Case` and returns a :class:`Refusal` (why not, and what is missing) or
``None``; checks that narrow the figures replace ``case.matches``. :func:`judge_support` runs them in
order. Thresholds live in :mod:`qa.answer.weights`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from qa.answer.decision import features, general_frequencies, lacking, load_model, rarity
from qa.answer.evidence import (
    bare_metric,
    coverage,
    figure_context,
    holds,
    only_phrases,
    own_clause,
    ranking_scopes,
    report_year,
    same_metric,
    shortens,
    story_words,
)
from qa.answer.narrative import clauses, narrative_spans
from qa.answer.slots import holds_slot, slot_text
from qa.answer.terms import (
    NAME_TAGS,
    asked_events,
    dated,
    named_place,
    names_event,
    other_place,
    proper_names,
    words_at,
)
from qa.answer.weights import WEIGHTS
from qa.answer.words import district, question_words
from qa.figures import extract_figures
from qa.lexical import active_vocabulary, plain_vocabulary, pos_tag
from qa.lexical import aliases as known_aliases
from qa.normalize import is_cjk
from qa.numerals import ORDINALS

if TYPE_CHECKING:
    from qa.answer.evidence import Evidence, FigureMatch
    from qa.answer.intent import Intent
    from qa.index import Snapshot
    from qa.spell_index import Words
    from qa.types import Chunk, Document, Figure, Hit


@dataclass(frozen=True)
class Support:
    """The decision and the evidence for it."""

    found: bool
    coverage: float
    dense: float
    missing: str | None = None
    reasons: tuple[str, ...] = ()
    features: Mapping[str, float] = field(default_factory=dict)  # of the evidence, once the checks pass
    probability: float | None = None  # that the question is answerable from it (the fitted model)
    refused_by: str | None = None  # the check that refused ("model" for the fitted decision)
    matches: tuple[FigureMatch, ...] = ()  # the figures the checks kept (a figure about another thing is dropped)


@dataclass(frozen=True)
class Refusal:
    """Why a check refuses to answer, and what the reports lack (for the "not found" message)."""

    reason: str
    missing: str | None


@dataclass
class Case:
    """Everything the checks look at for one question."""

    question: str
    intent: Intent
    terms: dict[str, float]
    hits: Sequence[Hit]
    evidence: Sequence[Evidence]
    matches: list[FigureMatch]
    corpus_text: Words
    report_years: dict[str, int | None] = field(default_factory=dict)
    documents: Mapping[str, Document] = field(default_factory=dict)
    # the figures of every report whose metric or sentence holds a word (None: no store to ask)
    figures_of: Callable[[str], Sequence[Figure]] | None = None

    @cached_property
    def dense(self) -> float:
        """The best dense score among the top passages."""
        return max((h.dense or 0.0) for h in self.hits[: WEIGHTS.support_depth])

    @cached_property
    def missing(self) -> str | None:
        """The heaviest question term that none of the top passages holds, nor a word of the reports for it
        (GDP is not missing where they say 地区生产总值)."""
        top = self.hits[: WEIGHTS.support_depth]
        told = story_words(self.terms)  # the asker's story is never what the reports lack
        unseen = [t for t in sorted(self.terms, key=lambda t: -self.terms[t])
                  if t not in told and not any(coverage(h.chunk.clean, {t: 1.0}) == 1.0 for h in top)]
        return unseen[0] if unseen else None


def check_other_district(case: Case) -> Refusal | None:
    """A question about another district is not answered from reports on this one."""
    place = other_place(case.question, case.corpus_text)
    return Refusal(f"资料只涉及九龙坡区，没有{place}的内容", place) if place else None


def check_named_place(case: Case) -> Refusal | None:
    """A figure about a named hospital or school must come from a sentence that names it."""
    name = named_place(case.question, case.corpus_text)
    if not name or not case.matches:
        return None
    case.matches = [m for m in case.matches if shortens(name, m.evidence.reach or m.evidence.sentence)]
    return None if case.matches else Refusal(f"有数据，但不是关于{name}的", f"{name}的这项数据")


def check_named_subject(case: Case) -> Refusal | None:
    """国鸿氢能科技产业园总投资 / 博世和庆铃的基地总投资: a figure about a thing the question names must come from a
    passage that names it (or just after one), not from one about another project (西南铝“1+4”系列项目总投资超百亿元)."""
    told = story_words(case.terms)
    # A word of the reports that jieba tags a name but general Chinese uses often (城镇, 新建, 河水) is a common
    # word there, not a name; a place the reports never speak of (成都) is a name whatever its use.
    names = [w for w in proper_names(case.question, subtags=True) + coined_names(case.question)
             if w in case.terms and w not in told and (rarity(w) >= WEIGHTS.rare_word or w not in case.corpus_text)]
    if not names or not case.matches:
        return None
    # Its passage and what comes just before it, not only its sentence: 沿岸新建步道20公里 goes on from sentences
    # about 跳磴河, and a passage may start in the middle of a story.
    named = {n: 1.0 for n in names}
    passages = [_lead_in(case, m.evidence.hit.chunk) for m in case.matches]
    case.matches = [m for m, text in zip(case.matches, passages, strict=True) if coverage(text, named) == 1.0]
    if case.matches:
        return None
    # the name no passage holds, rather than one they all hold (清水河 of 把跳磴河变回清水河, not 跳磴河)
    lacked = next((n for n in names if not any(coverage(text, {n: 1.0}) == 1.0 for text in passages)), names[0])
    return Refusal(f"有数据，但所在段落没有说到{lacked}", f"{lacked}的这项数据")


def coined_names(question: str) -> list[str]:
    """The names the reports coin that a question uses (国鸿氢能科技, 九龙坡云医院): words found by new-word discovery
    over the reports, unknown to general Chinese (jieba's dictionary), of a few characters, in which plain jieba
    reads a name (国 + 鸿 + 氢能 + 科技: 鸿 a person's name). jieba tags such a word a plain noun."""
    coined = active_vocabulary().discovered
    general, _ = general_frequencies()
    plain = plain_vocabulary()
    return [word for word, _ in pos_tag(question)
            if word in coined and word not in general and len(word) >= WEIGHTS.min_coined_name_chars
            and any(flag.startswith(NAME_TAGS) for _, flag in plain.pos_tag(word))]


def _lead_in(case: Case, chunk: Chunk) -> str:
    """A passage's clean text with the raw text just before it in its document (line breaks taken out)."""
    document = case.documents.get(chunk.doc_id)
    before = document.text[max(0, chunk.start - WEIGHTS.lead_in_chars) : chunk.start] if document else ""
    return re.sub(r"\s+", "", before) + chunk.clean


def check_measured_kind(case: Case) -> Refusal | None:
    """多少家高新技术企业: the reports speak of that kind, so a count of other things does not answer.

    Only a compound of several characters counts: 资金 or 面积 alone say how a thing is measured, not what.
    """
    measured = case.intent.measured
    if len(measured) < WEIGHTS.min_measured_chars or measured not in case.corpus_text or not case.matches:
        return None
    case.matches = [m for m in case.matches if holds(m.evidence.reach or m.evidence.sentence, measured)]
    return None if case.matches else Refusal(f"资料提到{measured}，但没有给出这项数据", f"{measured}的数量")


def check_unquantified(case: Case) -> Refusal | None:
    """氢能产业的利润有多少: where the reports name a measure (公司利润实现大幅增长) but give no figure of it anywhere,
    a figure of another measure in the same sentence or passage (营业收入10.6亿元) does not answer."""
    measured = known_tail(case.intent.measured, case.corpus_text, case.matches)
    total = sum(w for t, w in case.terms.items() if not only_phrases(t, case.corpus_text))  # not 赚 of 赚了多少利润
    if case.figures_of is None or not case.matches or measured not in case.corpus_text \
            or case.terms.get(measured, 0.0) < WEIGHTS.head_term_share * total:
        return None  # only the word the question turns on is what it asks a figure of (not 资金 in 投入资金多少)
    if any(holds(m.evidence.reach or m.evidence.sentence, measured) for m in case.matches):
        return None  # 166舰有多长: the sentence is about it (舰长130余米)
    if any(holds(_measures(f), measured) for f in case.figures_of(measured)):
        return None
    return Refusal(f"资料提到{measured}，但没有一处给出它的数据", f"{measured}的数据")


_AMOUNT_ASKED = re.compile(r"(?:百分之多少|百分之几|多少|几成|几个百分点)(?P<unit>[^了呢啊呀吗？?。！!，,\s]*)"
                           r"[了呢啊呀吗？?。！!，,\s]*$")
_READ_PAST = ("d", "a", "u", "p", "t", "m", "q", "r", "f", "y")  # 具体, 了, 比前年: how and when it moved
_COMPARED = frozenset(["同比", "环比"])  # against the same time a year or a period before (jieba calls them abbreviations)


def measured_noun(question: str) -> str:
    """The noun a question of how much something moved asks a figure of: the subject of the verb of the move, read
    back from the question word that ends the question (西南铝去年的利润比前年涨了百分之多少 → 利润). A question word
    followed by what it counts (多少钱), or after another verb (投了多少), names the measure otherwise."""
    asked = _AMOUNT_ASKED.search(question)
    unit = asked["unit"] if asked else ""
    if not asked or (unit and [(f.unit, f.text) for f in extract_figures("1" + unit)] != [(unit, "1" + unit)]):
        return ""  # 多少钱, 多少家企业: what follows says what is counted; 多少亿元 only how
    moved = False
    for word, flag in reversed(pos_tag(question[: asked.start()])):
        if not word.strip() or flag.startswith(_READ_PAST) or word in _COMPARED:
            continue
        if flag.startswith("v"):
            if not (_RISE.fullmatch(word) or _FALL.fullmatch(word)):
                return ""
            moved = True
            continue
        if moved and flag.startswith(("n", "eng", "vn")) and flag not in ("ns", "nr", "nt") and len(word) > 1:
            return word.lower()
        return ""
    return ""


def check_measure_said_first(case: Case) -> Refusal | None:
    """公司利润实现大幅增长 after 订单同比增长40%，销量同比增长131%: the reports say what a figure measures before it,
    so a figure whose sentence names the asked measure only after it is of something else. When every figure is
    of that kind and their sentences do name the measure, the reports name it without a figure."""
    noun = measured_noun(case.question)
    if not noun or noun not in case.corpus_text or not case.matches:
        return None
    said = [m for m in case.matches if holds(figure_context(m.figure, m.evidence.reach), noun)]
    if said:
        return None
    if not any(holds(m.evidence.reach or m.evidence.sentence, noun) for m in case.matches):
        return None  # the measure is in none of their sentences: for the other checks to judge
    case.matches = []
    return Refusal(f"资料提到{noun}，但没有给出它的数据", f"{noun}的数据")


def known_tail(measured: str, corpus_text: Words, matches: Sequence[FigureMatch]) -> str:
    """The measure as the reports could name it: the whole phrase if they use it, else, when the best figure's
    sentence holds what the phrase opens with (氢能产业 of 氢能产业利润), its longest ending of whole words that they
    use (利润): the figure is of that thing, and the question asks another measure of it."""
    if not measured or measured in corpus_text or not matches:
        return measured
    words = [w for w, _ in pos_tag(measured)]
    said = matches[0].evidence.reach or matches[0].evidence.sentence
    for i in range(1, len(words)):
        head, tail = "".join(words[:i]), "".join(words[i:])
        if len(tail) >= WEIGHTS.min_measure_word_chars and tail in corpus_text and holds(said, head):
            return tail
    return measured


def check_given_figure(case: Case) -> Refusal | None:
    """全区3605个体育场地里，篮球场占了多少个？ A figure the question itself gives is the whole it starts from, not
    the answer: it is never quoted as one, and when the reports hold no other the part is not given."""
    given = [(f.value, f.unit) for f in extract_figures(case.question)]
    if len(given) != 1 or not case.matches or case.intent.kind != "quantity":  # 从1500亿到2000亿，多了多少: compared
        return None

    def stated(figure: Figure) -> bool:  # 27万 in the question is the report's 27万人
        return any(figure.value == value and figure.unit.startswith(unit) for value, unit in given)

    # The question's figure as the reports state it, and another statement of that same measure (超过150个公园游园
    # for 158个公园游园里…): both say the whole the question starts from. A figure beside it in its own sentence
    # is not another statement of it (由52%提升至100%: 由多少提升至100% asks for the 52%).
    wholes = [m.figure for m in case.matches if stated(m.figure)]
    case.matches = [m for m in case.matches if not stated(m.figure) and not any(
        m.figure.unit == f.unit and m.figure.sentence != f.sentence and same_metric(m.figure.metric, f.metric)
        for f in wholes)]
    part = part_of_given(case.question, case.terms)
    if wholes and part:
        # 447家规上工业企业里，汽摩企业有多少家: the whole is the reports' own, so a figure that answers is one of
        # the part (24家十亿级工业企业, beside the 447家, is another part).
        case.matches = [m for m in case.matches if any(holds(_measures(m.figure), w) for w in part)]
    # All matches are gone only if one was stated, so wholes[0] is the question's figure as the reports give it.
    return None if case.matches else Refusal(f"资料只给出问题里已有的{wholes[0].text}，没有分项数据",
                                             f"{case.missing}的单项数据" if case.missing else "单项数据")


# 里 / 中 / 其中 … after the figure a question gives: what follows is a part of that whole
_WITHIN = re.compile(r"[”’\"']?(当中|之中|里面|里头|其中|里|中)")


def part_of_given(question: str, terms: Mapping[str, float]) -> list[str]:
    """The question's words for the part it asks of the whole its one figure gives, not those of the whole:
    3605个体育场地里，篮球场占了多少个 → 篮球场; 外贸进出口31亿元，其中出口额是多少 → 出口额.

    The whole runs from the figure to 里 / 中 in the figure's clause, or to 其中 opening the next one. A 中 or 里
    inside a longer word (服务中心) marks nothing: the marker ends the clause or comes before a question term.
    """
    given = extract_figures(question)
    if len(given) != 1:
        return []
    spans = clauses(question)
    at = given[0].end
    end = next((b for a, b in spans if a <= at < b), len(question))
    for marker in _WITHIN.finditer(question, at):
        after = question[marker.end() :]
        if marker.start() >= end:  # past the figure's clause: only 其中 opening the next one
            if marker.group(1) != "其中" or question[end : marker.start()].strip():
                break
        elif not (after[:1] in ("", "，", ",", " ", "？", "?", "的") or any(after.startswith(t) for t in terms)):
            continue  # 服务中心
        whole = question[at : marker.start()]
        return [t for t in terms if t in after and t not in whole]
    return []


_FUNCTION_TAGS = ("u", "p", "c", "d", "r", "m", "q", "f", "x", "t", "e", "y", "o")


def qualifier_conflict(question: str, metric: str) -> str | None:
    """The question's own qualifier of a measure the figure's metric qualifies otherwise, if any.

    城镇居民人均可支配收入 against the metric 全体居民人均可支配收入: both end in 居民人均可支配收入, the report says 全体 and
    the question 城镇, so the figure measures another thing. A qualifier the metric holds (or a word of the
    reports for it), the district's own names and words that only phrase the question conflict with nothing.
    """
    metric = bare_metric(metric)
    compound = whole_asked(question, metric) or _compound_qualifier(question, metric) or one_side(question, metric)
    if compound:
        return compound
    for k in range(len(metric), WEIGHTS.shared_metric_chars - 1, -1):
        at = question.find(metric[-k:])
        if at < 0:
            continue
        prefix = metric[:-k]
        if not prefix or prefix in question:
            return None
        # The qualifier is the word right before the shared ones, verbs between read past (城镇常住居民 → 城镇); a
        # function word, 的 or a quote mark there means the question qualifies nothing.
        word = next((w for w, f in reversed(pos_tag(question[:at])) if w.strip() and not f.startswith("v")), "")
        flag = pos_tag(word)[0][1] if word else "x"
        if len(word) < 2 or flag.startswith(_FUNCTION_TAGS) or word in question_words().generic \
                or word in district().names or coverage(metric, {word: 1.0}) > 0:
            return None
        return word
    return None


_ALL = re.compile(r"(?:全部|所有)的?")
_NOT_ONLY = re.compile(r"不(?:只|光|仅|仅仅|单)(?:是|有)?")
_ASIDE = re.compile(r"[（(][^（）()]*[）)]")
_WHOLE = ("全体", "全部", "所有", "总")  # qualifiers that already name the whole


def whole_asked(question: str, metric: str) -> str | None:
    """全部工业企业, or 不只是规上的: the question asks for all of what the metric counts only a part of (规上工业企业).

    The question's 全部 (or 所有) stands right before words the metric holds after a qualifier of its own; or it says
    not only (不只是, 不光是) of a qualifier the metric holds. An aside in brackets is read past (全部工业（含规下企业）总产值).
    """
    plain = _ASIDE.sub("", question)
    for m in _ALL.finditer(plain):
        head = plain[m.end() : m.end() + WEIGHTS.compound_part_chars]
        at = metric.find(head) if len(head) == WEIGHTS.compound_part_chars else -1
        if at > 0 and not metric[:at].endswith(_WHOLE):
            return m.group().rstrip("的")
    for m in _NOT_ONLY.finditer(question):
        said = question[m.end() : m.end() + WEIGHTS.compound_part_chars]
        if len(said) == WEIGHTS.compound_part_chars and said in metric and not said.startswith(_WHOLE):
            return "全部"
    return None


_QUALIFIER_TAGS = ("n", "a", "b", "s")  # what qualifies a noun: a noun, an adjective, a distinguishing word, a place


def _tagged(word: str) -> str:
    """The part of speech of ``word`` read alone, when jieba reads it as one word ("" otherwise)."""
    tags = pos_tag(word)
    return tags[0][1] if len(tags) == 1 else ""


def _compound_qualifier(question: str, metric: str) -> str | None:
    """A question word made of a qualifier and a head noun (城镇 + 居民) where the metric qualifies that head
    otherwise (全体居民人均可支配收入): the question's qualifier. A verb's compounds (城市更新, 引进外资) qualify nothing."""
    part = WEIGHTS.compound_part_chars
    for word, _ in pos_tag(question):
        if len(word) < 2 * part or word in metric:
            continue
        for k in range(len(word) - part, part - 1, -1):
            qualifier, head = word[:-k], word[-k:]
            if metric.find(head) < part or not _tagged(head).startswith("n") \
                    or _tagged(qualifier)[:1] not in _QUALIFIER_TAGS:
                continue
            if qualifier not in question_words().generic and coverage(metric, {qualifier: 1.0}) == 0:
                return qualifier  # (the generic words hold the district's own names)
    return None


def one_side(question: str, metric: str) -> str | None:
    """One side of a measure the metric names by both (出口 where the metric is 进出口总额), as the question says it.

    A word that joins two verbs of one kind over a shared object (进出口: 进口 and 出口) names both together; a
    question that names only one side asks for what the figure does not measure. Read off the dictionary alone:
    the pair (进出), both sides (进口, 出口) and the whole (进出口) are words, and the two joined characters are
    the same part of speech, so 总产值 (总 qualifies 产值) is no pair.
    """
    knows = active_vocabulary().knows
    for i in range(len(metric) - 2):
        first, second, rest = metric[i], metric[i + 1], metric[i + 2]
        whole = first + second + rest
        if whole in question or not (knows(first + second) and knows(whole)):
            continue
        sides = (first + rest, second + rest)
        if not all(knows(side) for side in sides) or _tagged(first)[:1] != _tagged(second)[:1]:
            continue
        for side in sides:
            if side in question:
                return side
    return None


def check_qualifier(case: Case) -> Refusal | None:
    """A figure whose metric the question qualifies otherwise (城镇居民 where the report gives 全体居民) does not
    answer it: the refusal names the question's qualifier, and the reply quotes what the reports give."""
    conflicts = [(m, qualifier_conflict(case.question, m.figure.metric or "")) for m in case.matches]
    kept = [m for m, word in conflicts if word is None]
    if conflicts and conflicts[0][1]:
        # The figure that fits best measures the thing the question qualifies otherwise: of the others, only those
        # measuring the same thing answer (城镇居民人均可支配收入 beside 全体居民人均可支配收入), not what else the
        # sentence measures (外贸进出口总额增长13.2% beside 规上工业增加值增长37.4%, for 全部工业增加值).
        head = (conflicts[0][0].figure.metric or "")[-WEIGHTS.shared_metric_chars :]
        kept = [m for m in kept if (m.figure.metric or "").endswith(head)]
    if kept or not conflicts:
        case.matches = kept
        return None
    word = next(w for _, w in conflicts if w)
    return Refusal(f"资料只给出“{conflicts[0][0].figure.metric}”，未单列“{word}”", word)


# A wider area named where the district is ranked or measured against it (在全市排第几, 占全市的比重, 全市第一).
_RANKED_IN = re.compile(r"^(?:范围)?[的里中内]?(?:倒数|第|排|名列|前|首|领先|最|率先|唯一|之最)")
_RANKED_AT = ("在", "居", "于", "占", "列", "比", "为")


def wider_area(question: str) -> str | None:
    """整个重庆的氢能产业营收有多少: the area wider than the district that a question asks a figure of, not one
    it ranks or measures the district against (在全市排第几, 占全市的比重)."""
    for area in district().wider_areas:
        for m in re.finditer(re.escape(area), question):
            if not (question[: m.start()].endswith(_RANKED_AT) or _RANKED_IN.match(question[m.end() :])):
                return area
    return None


def check_wider_area(case: Case) -> Refusal | None:
    """A figure of the whole city or country is answered only by a figure whose own clause names that area, not
    by the district's (重庆全市的市场主体总量 against 市场主体总量超过20万户、居全市第一)."""
    area = wider_area(case.question) if case.intent.kind == "quantity" and case.matches else None
    if not area:
        return None
    scopes = ranking_scopes(area)
    case.matches = [m for m in case.matches if scopes & ranking_scopes(m.clause + (m.figure.metric or ""))]
    return None if case.matches else Refusal(f"资料给出的是九龙坡区的数据，没有{area}的", f"{area}的这项数据")


def check_figure_subject(case: Case) -> Refusal | None:
    """A figure whose sentence holds the question's words only in what its other figures measure is about
    something else: 规上工业增加值增长37.4%，实现外贸进出口总额31.0亿元 does not give 数字经济增加值 in 亿元."""
    kept = [m for m in case.matches if not _about_other_figures(m, case.terms)]
    if kept or not case.matches:
        case.matches = kept
        return None
    best = case.matches[0]
    own = _measures(best.figure)
    lacked = max((t for t in case.terms if coverage(own, {t: 1.0}) < 1.0), key=lambda t: case.terms[t])
    said = coverage(best.evidence.reach or best.evidence.sentence, {lacked: 1.0}) == 1.0
    return Refusal(f"这句话的数据是“{best.figure.metric or own}”，不是所问的",
                   f"{lacked}的这项数据" if said else lacked)


def _measures(figure: Figure) -> str:
    """What a figure is of: its own clause and its metric."""
    return own_clause(figure) + (figure.metric or "")


def _about_other_figures(match: FigureMatch, terms: Mapping[str, float]) -> bool:
    sentence = match.evidence.reach or match.evidence.sentence
    held = [t for t in terms if coverage(sentence, {t: 1.0}) == 1.0]
    own = _measures(match.figure)
    if not held or any(coverage(own, {t: 1.0}) == 1.0 for t in held):
        return False
    others = [f.metric for f in match.evidence.figures if f.start != match.figure.start and f.metric]
    return all(any(coverage(metric, {t: 1.0}) == 1.0 for metric in others) for t in held)


def check_has_figure(case: Case) -> Refusal | None:
    """A how-much question needs a figure in the expected unit, for the year and period asked."""
    if case.matches:
        return None
    what = f"{case.intent.years[0]}年的相关数据" if case.intent.years else (case.missing or "相关数据")
    return Refusal("段落中没有单位、年份都相符的数据", what)


def check_figure_strength(case: Case) -> Refusal | None:
    """The best figure must match the question well enough (or sit in a strong dense window, for English)."""
    best = case.matches[0]
    if best.score >= WEIGHTS.min_figure_score or (case.intent.english and best.evidence.in_window):
        return None
    return Refusal(f"最相符的数据与问题的匹配度 {best.score:.2f} 低于 {WEIGHTS.min_figure_score}", case.missing)


_PART_MARKERS = frozenset(["中", "里", "里头", "里面", "当中", "之中", "内"])


def asked_part(question: str, terms: Mapping[str, float], corpus_text: Words, measured: str = "") -> list[str]:
    """166个中心中村社级的有多少个: the nouns after 中 / 里头 / 内 that name the part of a whole asked about.

    Only nouns of two characters or more that the reports use count (what the question calls the part, not how
    it phrases the ask), and neither the thing measured nor the kind of answer asked for, next to the ask word
    (哪四类区域, 好大比例, 目标是好多): the figure's unit or the answer itself stands for those.
    """
    words = words_at(question)
    marker = _part_marker(words, question)
    if marker is None:
        return []
    after = marker[2] + len(marker[0])
    asks = [(m.start(), m.end()) for m in _ASK_WORD.finditer(question)]
    asides = [(m.start(), m.end()) for m in _ASIDE.finditer(question)]
    nouns = set()
    for word, flag, start in words:
        end = start + len(word)
        if start < after or not (flag.startswith("n") or flag == "vn") or len(word) < 2:
            continue
        if any(a <= start < b for a, b in asides):
            continue  # 服务业（开店、物流、金融这些）: examples in brackets explain the part, they are not it
        if any(a - _ASK_REACH <= end and b + _ASK_REACH >= start for a, b in asks):
            continue  # the thing asked for or measured: 哪四类区域, 目标是好多
        nouns.add(word)
    return [t for t in terms if t in nouns and t in corpus_text and t not in measured]


def _part_marker(words: Sequence[tuple[str, str, int]], question: str) -> tuple[str, str, int] | None:
    """The first 中 / 里头 / 内 outside the asker's story (有居民在群里问 says where the question was heard)."""
    story = narrative_spans(question)
    return next((m for m in words if m[0] in _PART_MARKERS and m[1] in ("f", "n")
                 and not any(a <= m[2] < b for a, b in story)), None)


def whole_named(question: str) -> list[str]:
    """113项任务里头，扬尘治理占几项: the nouns naming the whole, before 中 / 里头 / 内 in its clause (任务)."""
    words = words_at(question)
    marker = _part_marker(words, question)
    if marker is None:
        return []
    start = max((b for a, b in clauses(question) if b <= marker[2]), default=0)
    return [w for w, f, at in words if start <= at < marker[2] and f.startswith("n") and len(w) >= 2]


_ASK_WORD = re.compile(r"哪|什么|啥|几|多少|好多|好大|多大|多高|多长")
_ASK_REACH = 2  # characters between an ask word and the noun it asks about (哪四类区域, 目标是好多)


# Words that single out a part (光是出口就有多少, 民主村片区的项目单独投了多少): 光 only before the 就 it pairs with.
_FOCUS = re.compile(r"光是|光要|单是|单单|单独|光(?=[^，,。？?！!]{1,12}就)")


def focused_part(question: str, terms: Mapping[str, float], corpus_text: Words) -> list[str]:
    """The words a question singles out as the part it asks about: after 光是 / 光…就, or before 单独.

    Only words of two characters or more that the reports use count, as for :func:`asked_part`.
    """
    focus = _FOCUS.search(question)
    if focus is None:
        return []
    start, end = next((a, b) for a, b in clauses(question) if a <= focus.start() < b)
    # 单独: what comes before it in its clause (民主村片区的城市更新项目单独…); the others: what comes after it, up
    # to 就 or the end of the clause (光是出口就…, 光要出口那块的数字)
    span = question[start : focus.start()] if focus.group() == "单独" else question[focus.end() : end].split("就")[0]
    words = {w for w, f in pos_tag(span) if len(w) >= 2 and (f.startswith("n") or f == "vn")}
    return [t for t in terms if t in words and t in corpus_text]


def _names_word(text: str, word: str) -> bool:
    """Whether ``text`` holds ``word`` as a word, not only inside a longer one (出口 in 进出口 is the whole trade)."""
    return any(w.startswith(word) for w, _ in pos_tag(text))


def check_part(case: Case) -> Refusal | None:
    """A question about a part of a whole (113项任务里头，扬尘治理占几项; 光是出口就有多少) is not answered by the
    whole: the quoted sentence must name the part."""
    focused = focused_part(case.question, case.terms, case.corpus_text)
    part = focused or asked_part(case.question, case.terms, case.corpus_text, case.intent.measured)
    if not part:
        return None
    whole = whole_named(case.question)
    if not focused and whole:
        # A part is asked of a whole the reports speak of: where the passage quoted never names that whole
        # (材料中，… cites the source, it names no whole), what follows 中 is no part of what it says.
        chunk = (case.matches[0].evidence if case.matches else case.evidence[0]).hit.chunk
        if not any(_names_word(_lead_in(case, chunk), w) for w in whole):
            return None

    def named(text: str, word: str) -> bool:
        return _names_word(text, word) if focused else coverage(text, {word: 1.0}) == 1.0

    def names_part(text: str) -> bool:
        return all(named(text, t) for t in part)

    if case.intent.kind in ("quantity", "compare"):
        # The figure's own clause must name the part: 20万吨循环经济、…等项目 listed beside 总投资超百亿元的
        # “1+4”系列项目 names the part, but the figure is the whole's.
        quoted = case.matches[0].clause if case.matches else ""
        case.matches = [m for m in case.matches if names_part(m.clause)]
        if case.matches:
            return None
    else:
        quoted = case.evidence[0].reach or case.evidence[0].sentence
        if names_part(quoted):
            return None
    lacked = next((t for t in part if not named(quoted, t)), part[0])
    return Refusal(f"资料只说到整体，没有分项“{lacked}”", f"{lacked}的单项数据" if focused else lacked)


# 一期, 第二期, 首期 (not 分三期 or 共三期, how many; nor 十三五期间, a plan period)
_PHASE = re.compile(r"(?<![分共计])(?<!十[一二三四五六七八九])第?([一二三四五六七八九十首]|\d+)期(?!间)")


def check_phase(case: Case) -> Refusal | None:
    """中梁山生态景区一期工程花了多少钱: a phase of a project (一期, 第二期, 首期) is a part of it. The quoted sentence
    must name that phase, not only the whole project (计划投资398亿元) or how many phases it has (三期推进)."""
    asked = _PHASE.search(case.question)
    if asked is None:
        return None
    n = "一" if asked.group(1) == "首" else asked.group(1)
    forms = (f"第{n}期", "首期") if n == "一" else (f"第{n}期",)
    pattern = re.compile("|".join(forms) + f"|(?<![分共计第]){n}期(?!间)")

    def names(ev: Evidence) -> bool:
        return bool(pattern.search(ev.reach or ev.sentence))

    if case.intent.kind in ("quantity", "compare"):
        quoted = [m for m in case.matches if names(m.evidence)]
        if quoted or not case.matches:
            case.matches = quoted
            return None
    elif not case.evidence or names(case.evidence[0]):
        return None
    return Refusal(f"资料只说到整个项目，没有单列{asked.group()}", f"{asked.group()}的情况")


_EXAMPLES = re.compile(r"[^，,；;。：:、等]+(?:、[^，,；;。：:、等]+)*等")  # a list of examples closed by 等


def _only_as_example(clause: str, lists: Sequence[tuple[int, int]], word: str) -> bool:
    """Whether ``word`` occurs in ``clause`` only among the examples of a list closed by 等 (商家院子、李家院子等5个
    传统院落; 凌江园等公园游园26个), never outside one. ``lists``: the spans of the clause's lists of examples."""
    at = [m.span() for m in re.finditer(re.escape(word), clause)]
    # an item ends where the word does (商家院子、 / 凌江园等); 惠及 in 将惠及渝州路、…等区域 is the verb before the list
    return bool(at) and all(clause[j : j + 1] in ("、", "等") and any(a <= i < b for a, b in lists) for i, j in at)


def check_listed_example(case: Case) -> Refusal | None:
    """商家院子有多少栋 is not answered by 商家院子、李家院子等5个传统院落57栋: a thing the figure's clause names only as
    an example of a group (before 等) is counted in the figure with the others, not on its own. A question that
    itself says 等 asks about the group."""
    if "等" in case.question or not case.matches:
        return None
    told = story_words(case.terms)
    words = [t for t in case.terms if len(t) >= WEIGHTS.min_example_chars and t not in told]

    def example(m: FigureMatch) -> str | None:
        clause = m.clause
        lists = [found.span() for found in _EXAMPLES.finditer(clause)]
        return next((w for w in words if _only_as_example(clause, lists, w)), None)

    examples = [example(m) for m in case.matches]
    kept = [m for m, word in zip(case.matches, examples, strict=True) if word is None]
    if kept:
        case.matches = kept
        return None
    word = examples[0] or ""
    return Refusal(f"资料只给出包括{word}在内的合计数", f"{word}的单项数据")


_RANK_CLAIM = re.compile(r"(第([一二三四五六七八九十]|\d+)|首个|首家|首批|首座|首次|唯一)")


def rank_claims(text: str) -> dict[tuple[str, int], str]:
    """The ranks a text claims, by scope and rank, with the words that claim it: 居全市第一 → {("市", 1): "全市第一"}."""
    claims = {}
    claimed = 0  # a scope is read with the first rank after it: 全市第一，比第二名… claims no second place in 全市
    for match in _RANK_CLAIM.finditer(text):
        before = text[max(claimed, match.start() - WEIGHTS.rank_scope_chars) : match.start()]
        claimed = match.end()
        named = [(m.start(), name) for name, pattern in district().scopes for m in pattern.finditer(before)]
        if not named:
            continue  # 第一代, 第二个五年: a rank only counts with the scope it is made in
        at, scope = max(named)  # the scope named nearest the rank
        word = match.group(1)
        number = match.group(2)
        rank = 1 if word in ("首个", "首家", "首批", "首座", "首次", "唯一") else \
            (ORDINALS.index(number) + 1 if number in ORDINALS else int(number))
        claims[(scope, rank)] = before[at:].lstrip("的在") + word
    return claims


def check_premise(case: Case) -> Refusal | None:
    """A question that asserts a rank the reports state otherwise (全国第一 where they say 全市第一) is not
    answered as if it were true: the refusal names the question's claim, and the reply quotes the report's."""
    asked = rank_claims(case.question)
    if not asked:
        return None
    quoted = case.matches[0].evidence if case.matches else case.evidence[0]
    stated = rank_claims(quoted.reach or quoted.sentence)
    if not stated:
        # The quoted sentence ranks nothing: what a better sentence of the same measure ranks, clause by clause
        # (地区生产总值…居全市第二；市场主体…居全市第一 ranks the first only second).
        stated = _ranks_of(case, asked)
    if not stated or asked.keys() & stated.keys():
        return None
    claim = next(iter(asked.values()))
    return Refusal(f"资料说的是“{next(iter(stated.values()))}”，不是“{claim}”", claim)


def _ranks_of(case: Case, asked: dict[tuple[str, int], str]) -> dict[tuple[str, int], str]:
    """The ranks, in the scopes the question claims one, that the best few sentences give in a clause holding the
    word the question turns on."""
    told = story_words(case.terms)
    words = [t for t in case.terms if t not in told and (t in case.corpus_text or t in known_aliases())]
    if not words:
        return {}
    head = max(words, key=lambda t: case.terms[t])
    scopes = {scope for scope, _ in asked}
    stated: dict[tuple[str, int], str] = {}
    for ev in case.evidence[: WEIGHTS.premise_depth]:
        for clause in re.split(r"[；。！？]", ev.reach or ev.sentence):
            if holds(clause, head):
                stated.update({k: v for k, v in rank_claims(clause).items() if k[0] in scopes})
    return stated


# Which way a figure moved, said just before it: 增长13.2%, 提升至32%, 下降了13.2%, 跌了131%.
_FALL = re.compile(r"下降|下滑|回落|减少|降低|缩减|萎缩|跌|降|掉|减")
_RISE = re.compile(r"增长|增加|增速|提升|提高|上升|上涨|翻番|增|涨|升")
_NOT_A_MOVE = re.compile(r"增加值")  # a measure (value added), not a rise


def _direction(before: str) -> tuple[str, int]:
    """"fall", "rise" or "" for the words right before a figure (the last such word deciding), and where it is."""
    before = _NOT_A_MOVE.sub(lambda m: "　" * len(m.group()), before)
    found = [(m.start(), "fall") for m in _FALL.finditer(before)] + [(m.start(), "rise") for m in _RISE.finditer(before)]
    at, way = max(found) if found else (len(before), "")
    return way, at


_FROM = re.compile(r"[从由]$")
_CLAUSE_MARKS = "，,；;。？?！!"


def _moves(text: str) -> list[tuple[float, str, str, str]]:
    """Each figure of ``text`` with the way it moved (said within its clause, just before it) and those words.
    The first figure of 由15.7%提升至32% moved the way the second did: the change is from it."""
    out = []
    figures = extract_figures(text)
    for i, fig in enumerate(figures):
        start = max(text.rfind(mark, 0, fig.start) for mark in _CLAUSE_MARKS)
        before = text[max(start + 1, fig.start - WEIGHTS.direction_reach) : fig.start]
        way, at = _direction(before)
        said = before[at:] + fig.text
        if not way and _FROM.search(before) and i + 1 < len(figures):
            after = figures[i + 1]
            between = text[fig.end : after.start]
            if not any(mark in between for mark in _CLAUSE_MARKS):
                way = _direction(between)[0]
                said = text[fig.start - 1 : after.end]
        out.append((fig.value, fig.unit, way, said))
    return out


def check_direction(case: Case) -> Refusal | None:
    """跌了131% where the reports say 增长131%: a question that says a figure moved the other way than the reports
    do rests on a false premise, and is not answered as if it were true. The figure must be the reports' own (same
    value and unit) and the way it moved said beside it on both sides."""
    asked = [m for m in _moves(case.question) if m[2]]
    if not asked:
        return _way_asked_otherwise(case)
    for ev in case.evidence[: WEIGHTS.premise_depth]:
        for value, unit, way, said in _moves(ev.reach or ev.sentence):
            for q_value, q_unit, q_way, q_said in asked:
                if (value, unit) == (q_value, q_unit) and way and way != q_way:
                    return Refusal(f"资料说的是“{said}”，不是“{q_said}”", q_said)
    return None


def _way_asked_otherwise(case: Case) -> Refusal | None:
    """营收降了多少, 同比下降的原因 where the quoted sentence says it grew: a question stating only which way a measure
    moved, one way, against a quoted sentence whose every figure moved the other way."""
    words = [w for w, _ in pos_tag(case.question)]  # 降 of 营收降了, not 掉 of 拆掉
    ways = {way for way, pattern in (("fall", _FALL), ("rise", _RISE)) for w in words if pattern.fullmatch(w)}
    if len(ways) != 1:
        return None
    quoted = case.matches[0].evidence if case.matches else case.evidence[0]
    stated = [(way, said) for _, _, way, said in _moves(quoted.reach or quoted.sentence) if way]
    if not stated or any(way in ways for way, _ in stated):
        return None
    asked = next(w for w in words if (_FALL if "fall" in ways else _RISE).fullmatch(w))
    return Refusal(f"资料说的是“{stated[0][1]}”，不是“{asked}”", asked)


def check_stated_figure(case: Case) -> Refusal | None:
    """A question that states a figure the quoted sentence gives otherwise (有3000亿吗 where it says 1500亿元) is
    not answered as if it were true: the refusal names the question's figure, and the reply quotes the report's."""
    if case.intent.kind == "list":
        return None  # 那3个优势产业是哪些: the number says how many names are asked for
    # the figure stated anywhere among the best few sentences is no false premise, whatever the first one says
    near = {(f.value, f.unit) for ev in case.evidence[: WEIGHTS.premise_depth] for f in ev.figures}
    for value, unit, text in ((f.value, f.unit, f.text) for f in extract_figures(case.question)):
        same_unit = [f for f in case.evidence[0].figures if f.unit == unit]
        if same_unit and (value, unit) not in near:
            return Refusal(f"资料说的是“{same_unit[0].text}”，不是“{text}”", text)
    return None


def check_year(case: Case) -> Refusal | None:
    """A question naming a year needs a sentence naming it, or a report of that year (2024年那篇报道)."""
    years = case.intent.years
    if not years or any(case.report_years.get(ev.hit.chunk.doc_id) in years
                        or any(str(y) in ev.sentence for y in years) for ev in case.evidence[: WEIGHTS.year_depth]):
        return None
    return Refusal("段落中没有所问年份的内容", f"{years[0]}年的相关情况")


def check_when(case: Case) -> Refusal | None:
    """A when-question needs one of the best few sentences to state a time."""
    if case.intent.kind != "when" or dated(case.evidence, case.intent, case.terms):
        return None
    return Refusal("最相符的句子没有说时间", case.missing)


_WHEN_ASKED = re.compile(r"(?:什么时候|啥时候|哪个?时候|何时|什么时间|哪一?天|哪一?年|哪一?日|几号|几月几[日号]?)")
_AUXILIARY = frozenset(["会", "能", "要", "将", "才", "就", "还", "又", "可", "可以", "已", "已经", "正式", "被", "再"])


def event_after_when(question: str) -> str | None:
    """The word a when-question's question word is followed by (什么时候闭馆, 哪一天开放), the auxiliaries and light
    verbs before it read past: the happening asked about, however jieba tags it (闭馆 reads as a noun)."""
    when = _WHEN_ASKED.search(question)
    if not when:
        return None
    light = question_words().light_verbs
    words = [(w, f) for w, f in pos_tag(question[when.end() :]) if w.strip()]
    for i, (word, flag) in enumerate(words):
        if word in _AUXILIARY or word in light:
            continue
        if len(word) < WEIGHTS.min_event_chars or not all(is_cjk(ch) for ch in word) or word[0] in light:
            return None  # 搞完, 弄好: a light verb and its result say only that something was done
        # A verb, or a word jieba reads as a noun that ends the clause (闭馆的？), not one more is said of (老百姓进去)
        after = words[i + 1][1] if i + 1 < len(words) else "x"
        if flag.startswith("v") or flag == "l" or (flag.startswith("n") and after.startswith(("u", "x", "y", "c"))):
            return word
        return None
    return None


def _shares_a_character(words: Sequence[str], text: str, *, verbs_only: bool = True) -> bool:
    """Whether a word of ``text`` of two characters or more (a verb, unless ``verbs_only`` is off) shares a character
    with one of ``words``: how the reports name an everyday verb they never use (完工 for 搞完, 迁 of 搬迁)."""
    if not words:
        return False
    return any(set(word) & set(w) for w, f in pos_tag(text)
               if len(w) > 1 and (f.startswith("v") or not verbs_only) for word in words)


def check_event(case: Case) -> Refusal | None:
    """何时完工 is not answered by the date a project started: the sentence with the date must name the event."""
    if case.intent.kind != "when":
        return None
    events = asked_events(case.question, case.terms)
    stated = dated(case.evidence, case.intent, case.terms)
    if not stated:
        return None
    # 对公众开放后，是哪一天闭馆的: the happening right after the question word, when the reports never name it, is
    # what is asked, whatever other happening the question names; a word of theirs sharing a character with it
    # names it (完工 for 搞完).
    asked = event_after_when(case.question)
    if asked in case.terms and asked not in case.corpus_text and not any(names_event(ev, [asked]) for ev in stated) \
            and not _shares_a_character([asked], stated[0].reach or stated[0].sentence, verbs_only=False):
        return Refusal(f"资料提到相关时间，但没有说“{asked}”是什么时候", f"{asked}的时间")
    if not events:
        return None
    if any(names_event(ev, events) for ev in stated):
        return None
    # An everyday verb the reports never use (搞完, 启用) is named by a verb of theirs that shares a character with it
    # (完工, 启航); a verb they do use must be there itself (开工 is not 开展).
    unused = [e for e in events if e not in case.corpus_text]
    if _shares_a_character(unused, stated[0].reach or stated[0].sentence):
        return None
    return Refusal(f"资料提到相关时间，但没有说“{events[-1]}”是什么时候", f"{events[-1]}的时间")


# …到哪去了, 到哪里, 到何处: where to (not 到了哪些, which ones)
_WHERE_TO = re.compile(r"(?:到|去|往|向)了?(?:哪(?:里|裡|儿|兒|去|了|个地方|[？?，,。!！啊呀呢]|$)|何处|何地)")


def check_moved_to(case: Case) -> Refusal | None:
    """搬到哪去了, 迁到哪里: a question where something went is answered by a sentence that says it went: one holding the
    verb of going (a one-character verb itself, 搬; a longer one, or a word sharing a character with it, 搬迁)."""
    where = _WHERE_TO.search(case.question)
    if not where:
        return None
    words = [(w, f) for w, f in pos_tag(case.question[: where.start()]) if w.strip()]
    if not words or not words[-1][1].startswith("v") or words[-1][0] in question_words().light_verbs:
        return None
    verb = words[-1][0]
    best = case.evidence[0]
    said = best.reach or best.sentence
    if verb in said or (len(verb) > 1 and _shares_a_character([verb], said)):
        return None
    return Refusal(f"最相符的句子没有说到“{verb}”", f"{verb}到哪里")


def check_when_subject(case: Case) -> Refusal | None:
    """黄磏港是什么时候开工的？ is not answered by the date another project started: the report of the sentence that
    says when must name the thing the question most specifically asks about (its heaviest name)."""
    if case.intent.kind != "when":
        return None
    stated = dated(case.evidence, case.intent, case.terms)
    told = story_words(case.terms)
    # the names the reports' own words were found to hold (黄磏港, 跳磴河): jieba's name tags are guesses (开园)
    named = active_vocabulary().discovered
    nouns = [w for w, f in pos_tag(case.question) if f.startswith("n") and w in case.terms and w not in told
             and w in named and len(w) >= 2]
    if not stated or not nouns:
        return None
    subject = max(nouns, key=lambda w: case.terms[w])
    chunk = stated[0].hit.chunk
    document = case.documents.get(chunk.doc_id)
    if coverage(re.sub(r"\s+", "", document.text) if document else chunk.clean, {subject: 1.0}) == 1.0:
        return None
    return Refusal(f"说到时间的报告没有说到{subject}", f"{subject}的时间")


def check_slot(case: Case) -> Refusal | None:
    """在哪里, 是谁, 哪个部门, 分别叫什么: the quoted clause must name a place, a person, a body or the several
    names asked for, one the question does not already hold (:mod:`qa.answer.slots`)."""
    slot = case.intent.slot
    if slot is None or slot.kind == "count" or case.intent.kind not in ("entity", "list", "fact"):
        return None  # a count (分几期) is written many ways (三个阶段): it orders the sentences, it refuses none
    if holds_slot(slot_text(case.evidence[0], case.intent), case.intent.question, slot):
        return None
    return Refusal(f"最相符的句子没有说{slot.what}", slot.what)


def english_only(case: Case) -> bool:
    """An English question with no Chinese glossary term: only the dense score can judge it."""
    return case.intent.english and not any(is_cjk(ch) for t in case.terms for ch in t)


def check_dense_english(case: Case) -> Refusal | None:
    """An English question sharing no words with the reports needs a strong dense match."""
    if case.dense >= WEIGHTS.min_dense_english:
        return None
    return Refusal(f"语义匹配度 {case.dense:.2f} 低于 {WEIGHTS.min_dense_english}", case.missing)


def _before(ev: Evidence) -> str:
    """The sentence before ``ev``'s in its passage (empty for the first)."""
    clean = ev.hit.chunk.clean
    at = clean.find(ev.sentence)
    if at <= 0:
        return ""
    starts = [m.end() for m in re.finditer(r"[。！？!?]", clean[: at - 1])]
    return clean[max(starts, default=0) : at]


def check_coverage(case: Case) -> Refusal | None:
    """The quoted sentence must hold most of the question's terms, some of them inside a strong window, or every
    one of them that the reports use (at least ``min_used_terms_held``): words the reports never use cannot be
    held by any sentence of theirs.

    A when-question quotes the best of the first few sentences that says when, so that one is judged; when it
    names the asked event, with the sentence before it (6月27日已正式向公众开放 after 6月26日，166舰停靠…), and over
    the words the reports use (哪天开始对老百姓开放参观: they never say 开始, 参观 or 老百姓).
    """
    best = case.evidence[0]
    covered = best.coverage
    used = {t: w for t, w in case.terms.items() if t in case.corpus_text}
    if case.intent.kind == "when":
        best = (dated(case.evidence, case.intent, case.terms) or [best])[0]
        covered = best.coverage
        if names_event(best, asked_events(case.question, case.terms)):
            covered = max(covered, coverage(_before(best) + (best.reach or best.sentence), used or case.terms))
    if covered >= WEIGHTS.min_coverage or (best.in_window and covered >= WEIGHTS.min_window_coverage):
        return None
    if len(used) >= WEIGHTS.min_used_terms_held and \
            coverage(best.reach or best.sentence, dict.fromkeys(used, 1.0)) == 1.0:
        return None
    return Refusal(f"问题的关键词覆盖率 {covered:.2f} 低于 {WEIGHTS.min_coverage}", case.missing)


Check = Callable[[Case], "Refusal | None"]
FIGURE_CHECKS: tuple[Check, ...] = (check_named_place, check_named_subject, check_measured_kind, check_unquantified,
                                    check_measure_said_first,
                                    check_given_figure, check_part, check_phase, check_listed_example,
                                    check_has_figure, check_qualifier, check_wider_area, check_figure_subject,
                                    check_figure_strength, check_premise, check_direction)
TEXT_CHECKS: tuple[Check, ...] = (check_year, check_when, check_event, check_moved_to, check_when_subject, check_part,
                                  check_phase, check_premise, check_direction, check_stated_figure, check_slot)


def judge_support(
    snapshot: Snapshot,
    question: str,
    intent: Intent,
    terms: dict[str, float],
    hits: Sequence[Hit],
    evidence: Sequence[Evidence],
    matches: Sequence[FigureMatch],
) -> Support:
    """Decide found / not found by running the checks in order; the first refusal decides."""
    if not hits or not evidence:
        return Support(False, 0.0, 0.0, reasons=("没有检索到段落",))
    case = Case(question, intent, terms, hits, evidence, list(matches), snapshot.speller.corpus_text,
                {ev.hit.chunk.doc_id: report_year(snapshot, ev.hit.chunk.doc_id)
                 for ev in evidence[: WEIGHTS.year_depth]}, snapshot.documents,
                lambda word: snapshot.store.figures(metric=word))
    if intent.kind in ("quantity", "compare"):
        checks: tuple[Check, ...] = (check_other_district, *FIGURE_CHECKS)
    else:
        checks = (check_other_district, *TEXT_CHECKS, check_dense_english if english_only(case) else check_coverage)
    for check in checks:
        refusal = check(case)
        if refusal is not None:
            return Support(False, evidence[0].coverage, case.dense, missing=refusal.missing, reasons=(refusal.reason,),
                           refused_by=check.__name__)
    values = features(intent, terms, hits, evidence, case.matches, case.corpus_text, case.dense)
    model = load_model(snapshot.meta.get("model"))
    if model is None:
        return Support(True, evidence[0].coverage, case.dense, features=values, matches=tuple(case.matches))
    probability = model.probability(values)
    if probability >= model.threshold:
        return Support(True, evidence[0].coverage, case.dense, features=values, probability=probability,
                       matches=tuple(case.matches))
    quoted = case.matches[0].evidence if case.matches else evidence[0]
    missing = _most_specific(lacking(quoted.reach or quoted.sentence, terms), terms, case.corpus_text) or case.missing
    reason = f"引用的句子没有说到“{missing}”（可答概率 {probability:.2f}）" if missing else \
        f"证据不足以回答（可答概率 {probability:.2f}）"
    return Support(False, evidence[0].coverage, case.dense, missing=missing, reasons=(reason,), features=values,
                   probability=probability, refused_by="model")


def _most_specific(words: Sequence[str], terms: Mapping[str, float], corpus_text: Words) -> str | None:
    """The lacking word that most marks what the question asks: one the reports never use, else the heaviest."""
    if not words:
        return None
    return max(words, key=lambda w: (w not in corpus_text, terms[w]))
