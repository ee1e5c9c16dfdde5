"""Whether the retrieved evidence actually answers a question: the "not found" decision.

- A "how much" question is answered only by a figure in the expected unit, for the year and period
  asked, in a sentence that holds most of the question's terms (idf-weighted, so a word the reports never
  use, such as 门票 or 常住人口, weighs heavily) or that the dense retriever matched strongly.
- Any other question needs a sentence holding most of its terms, or a strongly matched sentence that holds
  some of them.
- A question about another district (渝中区, 大渡口区 …) is not answered from reports on this one.
- English questions share no words with the reports and are judged by the dense score.
Thresholds were calibrated on bench/questions.jsonl (see bench/README.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qa.evidence import DATEISH, coverage, report_year
from qa.lexical import find_colloquial, pos_tag, tokenize
from qa.normalize import is_cjk

if TYPE_CHECKING:
    from qa.evidence import Evidence, FigureMatch
    from qa.index import Snapshot
    from qa.intent import Intent
    from qa.types import Hit

# Words that name the place every report is about, or only shape the question: no evidence either way.
_GENERIC = frozenset(
    ["九龙坡", "九龙坡区", "九龙", "坡区", "重庆", "重庆市", "全区", "该区", "本区", "区里", "区内", "地区", "jiulongpo", "district", "chongqing", "数据", "信息", "资料", "报告", "报道", "具体", "主要", "相关", "哪年", "哪一年", "一年", "一天", "哪天", "哪一天", "时候", "什么", "时间", "年份", "期间", "时期", "是多少", "几个", "几条", "几种", "几项", "几家", "几大", "哪几", "哪几个", "有多", "多大", "多长", "多高", "多少", "哪家", "哪所", "哪些", "哪个", "意思", "一般", "怎么样", "如何", "为什么", "指的是", "指", "叫", "叫做", "称为", "算", "属于", "情况", "方面", "分别", "分别是", "有没有", "是不是", "不是", "多不多", "能不能", "可以", "现在", "目前", "全年", "一季度", "二季度", "三季度", "四季度", "上半年", "下半年", "去年", "今年",
     # how a ranking is asked (排第几, 在全市算什么水平): the figure is the rank itself
     "排", "排名", "排在", "名列", "位列", "位居", "水平", "第几", "第几名",
     # how a comparison is asked (相比如何, 多了多少): the figures compared carry the meaning
     "相比", "对比", "比较", "比", "变化", "相差", "差距", "多出", "差",
     "一共", "总共", "合计", "总计", "加起来", "老几", "名次"]
)
# Units and measure words say how a thing is counted, not what it is (多少万人 asks about people only by way
# of the unit).
_UNIT_WORDS = frozenset(["钱", "块", "块钱", "人", "万人", "人次", "名", "家", "个", "户", "万户", "元", "万元", "亿元", "亿", "万", "天", "年", "吨", "万吨", "亩", "万亩", "米", "公里", "平方米", "公顷", "项", "座", "张", "条", "所", "台", "辆", "件", "位", "倍", "批", "处"])
_AREA_WORDS = frozenset(["园区", "社区", "城区", "片区", "景区", "辖区", "街区", "厂区", "新区", "商区", "湾区", "主城区", "半岛区", "示范区"])
MIN_COVERAGE = 0.4
MIN_WINDOW_COVERAGE = 0.25
MIN_FIGURE_SCORE = 0.45
MIN_DENSE_ENGLISH = 0.80


@dataclass(frozen=True)
class Support:
    """The decision and the evidence for it."""

    found: bool
    coverage: float
    dense: float
    missing: str | None = None
    reasons: tuple[str, ...] = ()


# Parts of speech that carry content: nouns, verbs, adjectives, idioms, abbreviations, Latin words.
_CONTENT_POS = ("n", "v", "a", "i", "j", "l", "eng", "vn", "an", "nz", "ns", "nt", "nr")
_LIGHT_VERBS = frozenset(["是", "有", "要", "在", "会", "能", "可", "可以", "进行", "属于", "叫", "做", "让", "把", "被", "给", "到", "达到", "成", "为", "称", "想", "算", "搞", "弄", "拿", "花"])


def query_terms(question: str, snapshot: Snapshot) -> dict[str, float]:
    """Content words of the question with their idf weight (years, question and light words left out)."""
    terms: dict[str, float] = {}
    # An everyday phrase (锻炼身体, 开公司) is one term, found when the reports' word for it (健身, 市场主体) is.
    phrases = find_colloquial(question)
    phrase_weight: dict[str, float] = {}
    at = 0
    for word, flag in pos_tag(question):
        start, at = at, at + len(word)
        word = word.strip().lower()
        if not word or word in _GENERIC or word in _LIGHT_VERBS or not flag.startswith(_CONTENT_POS):
            continue
        if word.isdigit() or re.fullmatch(r"(19|20)\d{2}年?|[\d.]+", word) or word in _UNIT_WORDS:
            continue
        if len(word) == 4 and ((word[0] == word[1] and word[2] == word[3]) or word[:2] == word[2:]):
            continue  # 前前后后, 方方面面: reduplicated fillers say how, not what
        inside = next((p for a, b, p in phrases if a <= start < b), None)
        if inside is not None:
            phrase_weight[inside] = max(phrase_weight.get(inside, 0.0), snapshot.lexical.idf(word))
            continue
        terms[word] = snapshot.lexical.idf(word)
    terms.update(phrase_weight)
    if any(is_cjk(ch) for t in terms for ch in t):
        # An English question carries its Chinese glossary terms: judge it on those alone.
        terms = {t: w for t, w in terms.items() if any(is_cjk(ch) for ch in t)}
    if not terms:  # a question of function words only: fall back to its search tokens
        terms = {t: snapshot.lexical.idf(t) for t in tokenize(question) if t not in _GENERIC}
    return terms


def names_something(question: str) -> bool:
    """Whether a question names a place, body or thing of its own (跳磴河, 谢家湾小学), not only the district."""
    return any(flag in ("ns", "nt", "nz", "nr") and len(word) >= 2 and word not in _GENERIC
               for word, flag in pos_tag(question))


def other_place(question: str, corpus_text: str) -> str | None:
    """A district or county the question names that the reports never mention (渝中区, 大渡口区)."""
    for word, flag in pos_tag(question):
        if len(word) >= 3 and word[-1] in "区县" and flag[:1] == "n" and "九龙坡" not in word \
                and word[-2:] not in _AREA_WORDS and word not in corpus_text:
            return word
    return None


WHEN_DEPTH = 3  # a "when" question may be answered by any of the best few sentences
_CLOCK = re.compile(r"\d{1,2}\s*[:：点时]|[上下]午|早上|晚上|全天|24小时")


def tells_time(ev: Evidence, intent: Intent) -> bool:
    """Whether a sentence answers "when": a date, or for 几点 a time of day."""
    text = ev.reach or ev.sentence
    return bool(_CLOCK.search(text) if "几点" in intent.question else DATEISH.search(text))


def named_place(question: str, corpus_text: str) -> str | None:
    """A particular institution or place the question names and the reports mention (九龙坡区人民医院).

    A figure about it must come from a sentence that names it: a district total does not answer for one
    hospital.
    """
    for match in _NAMED.finditer(question):
        name = _DISTRICT_PREFIX.sub("", match.group())
        if len(name) >= 4 and name in corpus_text:
            return name
    return None


_NAMED = re.compile(r"[\u4e00-\u9fff]{2,8}?(?:人民医院|医院|小学|中学|大学|学校|博物馆|动物园|花博园|博览园|码头|社区)")
_DISTRICT_PREFIX = re.compile(r"^(?:重庆市?|九龙坡区?)")


def judge_support(
    snapshot: Snapshot,
    question: str,
    intent: Intent,
    terms: dict[str, float],
    hits: Sequence[Hit],
    evidence: Sequence[Evidence],
    matches: Sequence[FigureMatch],
) -> Support:
    """Decide found / not found."""
    if not hits or not evidence:
        return Support(False, 0.0, 0.0, reasons=("没有检索到段落",))
    top = hits[:3]
    best = evidence[0]
    dense = max((h.dense or 0.0) for h in top)
    unseen = [t for t in sorted(terms, key=lambda t: -terms[t]) if not any(t in h.chunk.clean for h in top)]
    missing = unseen[0] if unseen else None

    def no(reason: str, subject: str | None = missing) -> Support:
        return Support(False, best.coverage, dense, missing=subject, reasons=(reason,))

    place = other_place(question, snapshot.speller.corpus_text)
    if place:
        return no(f"资料只涉及九龙坡区，没有{place}的内容", place)
    if intent.kind in ("quantity", "compare"):
        name = named_place(question, snapshot.speller.corpus_text)
        if name and matches:
            matches = [m for m in matches if name in (m.evidence.reach or m.evidence.sentence)]
            if not matches:
                return no(f"有数据，但不是关于{name}的", f"{name}的这项数据")
        measured = intent.measured
        if len(measured) >= 4 and measured in snapshot.speller.corpus_text and matches:
            # 多少家高新技术企业: the reports speak of them, so a count of other firms does not answer (a
            # compound of four or more characters: 资金 or 面积 alone are how things are measured, not what)
            matches = [m for m in matches if coverage(m.evidence.reach or m.evidence.sentence, {measured: 1.0}) == 1.0]
            if not matches:
                return no(f"资料提到{measured}，但没有给出这项数据", f"{measured}的数量")
        if not matches:
            what = f"{intent.years[0]}年的相关数据" if intent.years else (missing or "相关数据")
            return no("段落中没有单位、年份都相符的数据", what)
        strong = matches[0].score >= MIN_FIGURE_SCORE or (intent.english and matches[0].evidence.in_window)
        if not strong:
            return no(f"最相符的数据与问题的匹配度 {matches[0].score:.2f} 低于 {MIN_FIGURE_SCORE}")
        return Support(True, best.coverage, dense)
    # 2024年那篇报道 asks about the report of that year as much as about text naming it
    if intent.years and not any(report_year(snapshot, ev.hit.chunk.doc_id) in intent.years
                                or any(str(y) in ev.sentence for y in intent.years) for ev in evidence[:8]):
        return no("段落中没有所问年份的内容", f"{intent.years[0]}年的相关情况")
    if intent.kind == "when" and not any(tells_time(ev, intent) for ev in evidence[:WHEN_DEPTH]):
        return no("最相符的句子没有说时间")
    if intent.english and not any(is_cjk(ch) for t in terms for ch in t):
        if dense >= MIN_DENSE_ENGLISH:
            return Support(True, best.coverage, dense)
        return no(f"语义匹配度 {dense:.2f} 低于 {MIN_DENSE_ENGLISH}")
    if best.coverage >= MIN_COVERAGE or (best.in_window and best.coverage >= MIN_WINDOW_COVERAGE):
        return Support(True, best.coverage, dense)
    return no(f"问题的关键词覆盖率 {best.coverage:.2f} 低于 {MIN_COVERAGE}")
