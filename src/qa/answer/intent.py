"""What a question asks for: its kind, the years it names, the unit it expects, and follow-up resolution.

Everything here is deterministic and rule-based on question wording (never on known questions): the same
question always resolves the same way, so answers can be tested and explained.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from qa.answer.slots import Slot, asked_slot
from qa.answer.weights import WEIGHTS
from qa.answer.words import district, question_words
from qa.query import ASKED_JI

_OVERVIEW = re.compile(r"介绍|讲讲|说说|谈谈|聊聊|概况|概述|总体情况|基本情况|有什么好玩|有哪些好玩|好玩的|好去处|"
                       r"\btell me about\b|\boverview\b|\bintroduce\b", re.I)
_LIST = re.compile(r"[两二三四五六七八九十几][个大项类种条张座岛金区园化心处]\S{0,12}(?:是什么|是哪|有什么|指什么|指的是|叫什么)|"
                   r"(?:哪|什么)\S{0,2}[“\"]?[两二三四五六七八九十][个大项类种条张座岛金区园化心]|哪些|哪几|有几大|包括什么|包括哪|分别是|都有什么|列举|\bwhat are\b|\blist\b|\bwhich\b.*\bare\b", re.I)
_WHEN = re.compile(r"什么时候|哪个?时候|何时|什么日期|具体日期|几点(?!零)|哪一?年|哪一?天|哪一?日|几号|几月|哪个月|什么时间|(?:哪个|什么)年代|\bwhen\b|\bwhat year\b", re.I)
_QUANTITY = re.compile(
    rf"多少|具体的?(?:数字|数据|数值|数)|产能|产量|什么规模|多大规模|什么水平|{ASKED_JI}(?:[个家项条天倍名位座所张台辆件户次栋艘处万千百十亿吨亩]|公里|平方)|多大|多长|多高|多远|多久|比重|占比|百分之|增速|增幅|增长了?几|排第几|第几|排老几|名次|"
    r"\bhow (many|much|large|long|big|fast|quickly|high)\b|\bby how much\b|\bwhat (percentage|share|proportion)\b|\bwhat was the\b.*\b(rate|value|total|gdp)\b|\brank(?:s|ed)?\b",
    re.I,
)
# 比较 compares where it ends a clause or takes 一下 (和2020年比较，…; 比较一下); before a word it is the adverb "rather"
# (比较关心空气, 比较有名的企业).
_COMPARE = re.compile(r"相比|对比|比较(?=一下|[呢吗]|[^\u4e00-\u9fff]|$)|哪个更|哪个多|变化了?多少|增加了多少|比\S{1,16}[多少高低]了?多少|相差|差多少|多出|\bcompare|\bversus\b|\bvs\.?\b", re.I)
_YESNO = re.compile(r"是否|是不是|有没有|能不能|可不可以|吗[？?]?$|\b(is|are|does|did|has|have)\b.*\?$", re.I)
_WHO = re.compile(r"谁|哪家|哪所|哪个|什么(企业|公司|学校|单位|项目|奖|工程|地方|园区|平台)|\bwho\b|\bwhich\b", re.I)
_ACTUAL = re.compile(r"实际")  # 实际是多少: what was achieved, in contrast with a goal
_TARGET = re.compile(r"目标|计划|规划|预计|打算|准备|力争|到20\d\d|要达到|要控制|将要|\btarget|\bplan", re.I)
# 哪家公司 / 哪个部门 / 什么学校: the kind of name asked for, and the word endings such names carry.
NAME_KINDS: dict[str, tuple[str, ...]] = {
    "公司": ("公司", "集团", "企业"), "企业": ("公司", "集团", "企业", "厂"), "车企": ("汽车", "公司", "集团"),
    "集团": ("集团", "公司"), "部门": ("部", "局", "委", "办", "中心", "署", "厅"),
    "单位": ("部", "局", "委", "办", "中心", "公司", "集团", "院"), "机构": ("部", "局", "委", "中心", "院", "所", "会"),
    "学校": ("学校", "小学", "中学", "大学", "学院"), "医院": ("医院", "卫生院", "中心"),
    "社区": ("社区", "村"), "街道": ("街道", "镇"), "园区": ("园区", "园", "产业园", "基地"),
    "项目": ("项目", "工程"), "奖": ("奖",), "荣誉": ("奖", "称号", "示范", "先进"),
}
PLACE_KINDS = frozenset(["社区", "街道", "园区"])  # the kinds of name above that are places
NAME_ASKED = re.compile(r"(?:哪|什么|which|what)\s*(?:一|几)?(?:家|个|所|座|位|条|些)?\s*(" + "|".join(NAME_KINDS) + ")", re.I)
_MEASURED = re.compile(r"(?:多少|多长|多大|多高|多远|多重|几)(?:[个名家项座张条所台辆件位户吨亩米]|平方米|公里)?的?"
                       r"([\u4e00-\u9fff]{2,6}?)(?:[？?。，,呢吗啊]|$)")
_LATEST = re.compile(r"最新|现在|目前|当前|如今|最近|今年|去年|前年|后来|latest|current|now|recent|last year|this year", re.I)
# 后来又到了多少: a time after the one asked before, which the follow-up does not inherit.
_LATER = re.compile(r"后来|之后|此后|如今|现在|目前|最新|\b(?:later|now)\b", re.I)

# Expected units by cue in the question: the first matching cue wins.
_UNIT_CUES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"什么水平"), ("位", "%", "个百分点")),  # a level is a rank (全市第一) or a rate (99%)
    (re.compile(r"排第几|第几名|第几位|[居列]第几|排名|排在|名列|排老几|名次|\brank", re.I), ("位",)),
    (re.compile(r"多少天|几天|天数|days", re.I), ("天",)),
    (re.compile(r"比重|占比|比例|百分之|百分比|增速|增幅|涨幅|增长率|(?:增长|涨)[了是为有]?多少|率|percent|share|rate|growth|grow|how fast", re.I), ("%", "个百分点")),
    (re.compile(r"多少家|几家|企业数|companies|firms", re.I), ("家",)),
    (re.compile(r"多少户|几户|households", re.I), ("户", "万户")),
    (re.compile(r"多少吨|产能|产量|tons|tonnes", re.I), ("吨", "万吨")),
    (re.compile(r"多少公里|多长|长度|km|kilomet|how (?:long|far)\b(?! ago)|length", re.I), ("公里", "米", "千米")),
    # 多大一片, 占地多大, 那块地方有多大: the size of an expanse is its area (占多大一块 is a share)
    (re.compile(r"面积|多少平方|多少亩|公顷|多大一?片|占地|地方\S{0,3}多大|square|area|hectare", re.I),
     ("平方米", "万平方米", "平方公里", "亩", "万亩", "公顷")),
    (re.compile(r"多少人|人数|几名|多少名|people|staff|visits", re.I), ("人", "万人", "名", "人次", "万人次")),
    (re.compile(r"多少个|几个", re.I), ("个",)),
    (re.compile(r"多少项|几项", re.I), ("项",)),
    (re.compile(r"多少钱|多少元|多少亿|金额|产值|总值|生产总值|gdp|投资|收入|营收|规模|income|invest|yuan|output|revenue", re.I),
     ("亿元", "万元", "元", "亿")),
)

_NAMED_UNIT = re.compile(rf"(?:多少|{ASKED_JI})(公顷|平方公里|平方米|公里|千米|万元|亿元|元|万吨|吨|万亩|亩|万户|户|万人次|人次|万人|"
                         r"家|个|项|座|张|条|所|台|辆|件|名|天|年|倍|米)")
_GLOSSED_UNIT = re.compile(r"[（(][^）)]*?(公顷|平方公里|平方米|公里|千米|万吨|吨|万亩|亩)[^）)]*[）)]")
_POINTS = re.compile(r"(?:多少|几)个?百分点")
# Classifiers that count things (not measures): what the general classifier 个 stands for in speech.
_CLASSIFIERS = ("家", "项", "座", "张", "条", "所", "台", "辆", "件", "名", "人", "位", "处", "栋", "根", "艘", "户")
_TEN_THOUSANDS = frozenset(["元", "吨", "亩", "户", "人次", "人", "平方米", "个", "家", "公顷"])  # units also counted in 万
# Classifiers after 这 / 那 that make a pronoun of them (那段河, 这批项目, 那些企业), besides 这个, 那个, 这次, 这项.
_POINTED = "段条批座片些家所处块艘位"
# 那 opens a follow-up (那2025年呢), but not as the 那 of 那个 / 那些 / 那段, which points back itself (see _PRONOUN).
_FOLLOW_START = re.compile(rf"^(那么|那(?![个项次{_POINTED}])|还有|另外|其中|而|并且|and|what about|how about)\s*", re.I)
_FOLLOW_END = re.compile(r"(呢|怎么样|如何|又是多少|是多少|多少)?[？?。!！\s]*$")
_PRONOUN = re.compile(rf"它们?的?|其(?!中)|该(企业|项目|公司|工程|园区|社区)?|(?:这个|那个|[这那][{_POINTED}])(?:地方|地儿)?|"
                      r"这次|此次|本次|这项|该项|\b(it|its|they|their)\b", re.I)
YEARISH = re.compile(r"(?:19|20)\d{2}\s*年?|一季度|二季度|三季度|四季度|上半年|下半年|全年|去年|今年|前年|十[三四五]五(?:时期|期间)?")


_YEAR = re.compile(r"((?:19|20)\d{2})\s*年?")
ASKS = re.compile(r"多少|几|什么|哪|谁|是否|吗|如何|怎么|怎样|多[长大高远久重深宽]")  # a question word: the text asks on its own
_PERIOD = re.compile(r"[一二三四]季度|上半年|下半年|前三季度|全年|十[三四五]五")


def parse_year_mentions(text: str) -> tuple[list[int], list[str]]:
    """Explicit years (2020年, 2020) and named periods (一季度, 十四五) in a question."""
    years = [int(m.group(1)) for m in _YEAR.finditer(text)]
    return years, [m.group() for m in _PERIOD.finditer(text)]


@dataclass(frozen=True)
class Intent:
    """The kind of question and its constraints."""

    kind: str  # quantity | when | list | entity | yesno | compare | overview | fact
    years: tuple[int, ...] = ()
    periods: tuple[str, ...] = ()
    latest: bool = False
    units: tuple[str, ...] = ()
    english: bool = False
    target: bool = False  # asks for a goal or plan rather than what was achieved
    actual: bool = False  # 实际是多少: asks for what was achieved, never a goal
    question: str = ""
    name_endings: tuple[str, ...] = ()  # 哪家公司: a good answer names something ending in 公司, 集团 …
    measured: str = ""  # 多少名护林员, 多长的步道: the thing counted or measured
    slot: Slot | None = None  # 在哪里, 是谁, 哪个部门, 分别叫什么: what the answer must name (qa.answer.slots)


def is_english(question: str) -> bool:
    """Whether a question is written in English (most of its characters Latin letters)."""
    return sum(ch.isascii() and ch.isalpha() for ch in question) / max(1, len(question)) > WEIGHTS.english_share


def detect_intent(question: str) -> Intent:
    """Classify a (normalized, resolved) question, on what it asks (the asker's story left out)."""
    from qa.answer.narrative import outside_narrative

    full, question = question, outside_narrative(question)
    if _OVERVIEW.search(question) and not _QUANTITY.search(question):
        kind = "overview"  # 介绍一下九龙坡的氢能产业: a short overview, not one sentence
    elif _COMPARE.search(question):
        kind = "compare"
    elif "多少" in question and _QUANTITY.search(question):
        kind = "quantity"  # 分别是多少: amounts, even when several are asked for
    elif _LIST.search(question):
        kind = "list"
    elif _WHEN.search(question):
        kind = "when"
    elif _QUANTITY.search(question):
        kind = "quantity"
    elif _YESNO.search(question):
        kind = "yesno"
    elif _WHO.search(question):
        kind = "entity"
    else:
        kind = "fact"
    units: tuple[str, ...] = ()
    if kind in ("quantity", "compare"):
        # An English question names its unit in words (in hectares), which the glossary gives in Chinese beside it.
        named = _NAMED_UNIT.search(question) or (_GLOSSED_UNIT.search(question) if is_english(question) else None)
        if _POINTS.search(question):  # 涨了几个百分点: a rate, stated in % or in points
            units = ("%", "个百分点")
        elif named:  # 多少公顷: exactly the unit asked for (and its 万 form)
            unit = named.group(1)
            units = (unit, "万" + unit) if unit in _TEN_THOUSANDS else (unit,)
            if unit in ("名", "人"):  # people are counted in either
                units = ("名", "人", "万人")
            elif unit == "个":  # 个 counts anything: 几个护林员 is answered in 名, 几个公厕 in 座
                units = (*units, *_CLASSIFIERS)
        else:
            for cue, cue_units in _UNIT_CUES:
                if cue.search(question):
                    units = cue_units
                    break
    years, periods = parse_year_mentions(question)
    asked = NAME_ASKED.search(question)
    measured = _MEASURED.search(question)
    measured_text = measured.group(1) if measured else _measured_before(question)
    return Intent(kind=kind, years=tuple(years), periods=tuple(periods), latest=bool(_LATEST.search(question)),
                  units=units, english=is_english(question), target=bool(_TARGET.search(question)),
                  actual=bool(_ACTUAL.search(question)) and not _TARGET.search(question),
                  question=full, name_endings=NAME_KINDS[asked.group(1)] if asked else (),
                  measured=measured_text.lower(), slot=asked_slot(question, kind))


_ASK_AMOUNT = frozenset(["多少", "几", "多大", "多长", "多高", "多远", "多重"])
_BRIDGE = frozenset(["有", "是", "达到", "达", "为", "共", "约", "一共", "总共", "大约", "累计"])


def _measured_before(question: str) -> str:
    """The nouns just before 有多少 / 是多少 (高新技术企业有多少家 → 高新技术企业)."""
    from qa.lexical import pos_tag

    words = pos_tag(question)
    at = next((i for i, (w, _) in enumerate(words) if w in _ASK_AMOUNT or w.startswith(("多少", "几"))), None)
    if at is None:
        return ""
    i = at - 1
    while i >= 0 and words[i][0] in _BRIDGE:
        i -= 1
    phrase: list[str] = []
    while i >= 0 and (words[i][1].startswith("n") or words[i][1] in ("vn", "eng")) \
            and words[i][1] not in ("ns", "nr", "nt") and not YEARISH.fullmatch(words[i][0]):
        phrase.insert(0, words[i][0])
        i -= 1
    text = "".join(phrase)
    return text if len(text) >= 2 else ""


_SIDE = re.compile(r"[东西南北中]部|[东西南北]边|[东西南北]")


def subject_of(question: str) -> str:
    """The leading noun phrase of a question: what a pronoun in a follow-up points back to."""
    from qa.answer.narrative import outside_narrative
    from qa.lexical import pos_tag

    words = pos_tag(outside_narrative(question))  # 我家住二郎，…: the asker is not what a later part points back to
    # 九龙坡的西部氢谷, 九龙坡那个西部氢谷: what a question says of the district is its subject, never the district.
    if len(words) > 2 and words[0][0] in district().names \
            and (words[1][0] == "的" or (words[1][1] == "r" and words[1][0].startswith(("这", "那")))):
        words = words[2:]
    phrase: list[str] = []
    for word, flag in words:
        if YEARISH.fullmatch(word) or (flag in ("m", "t") and phrase == []):
            continue
        if (flag[:1] in ("n", "v") and flag not in ("v", "vd")) or flag in ("eng", "j", "l", "vn") \
                or (_SIDE.fullmatch(word) and phrase == []):  # 西部氢谷, 东部槽谷: a name may open with a side
            phrase.append(word)
        elif phrase:
            break
    return "".join(phrase)


def _has_subject(question: str) -> bool:
    """Whether a question names something of its own (a noun of two or more characters, not a word of asking)."""
    from qa.lexical import pos_tag

    generic = question_words().generic  # 报道, 数据: words of asking, no subject (报道里的数据是多少？)
    words = pos_tag(question)
    # 166舰: a number with the one-character noun it names (jieba cuts the name in two)
    numbered = any(flag == "eng" and word.isdigit() and after[1][:1] == "n" and len(after[0]) == 1
                   for (word, flag), after in pairwise(words))
    return numbered or any(flag[:1] == "n" and len(word) >= 2 and word not in generic for word, flag in words) \
        or len(question) > WEIGHTS.subject_question_chars


def resolve_followup(question: str, history: Sequence[dict[str, Any]] | None) -> str:
    """Rewrite a follow-up (那2025年呢？ / 它的产能呢？) into a stand-alone question, using earlier turns."""
    from qa.answer.terms import proper_names

    if not history:
        return question
    previous = ""
    for turn in history:
        asked = str(turn.get("question", "")).strip() if isinstance(turn, dict) else ""
        if asked:
            previous = resolve_followup(asked, [{"question": previous}] if previous else None)
    if not previous:
        return question
    text = question.strip()
    opened = _FOLLOW_START.sub("", text)
    ending = _FOLLOW_END.search(opened)
    core = opened[: ending.start() if ending else len(opened)].strip()
    # 那汽摩产值涨了多少: a follow-up that ends by asking keeps its own words (not …涨了是多少)
    asked_end = ending.group(1) if ending and ending.group(1) and ASKS.search(ending.group(1)) else ""
    starts_like_followup = bool(_FOLLOW_START.match(text)) or text.rstrip("？?。 ").endswith("呢")
    has_pronoun = bool(_PRONOUN.search(core))
    if not (starts_like_followup or has_pronoun):
        if _has_subject(text):
            return question
        # 同比增长了多少？ — no subject of its own: it asks about the previous question's subject.
        subject = subject_of(YEARISH.sub("", previous))
        inherits = not YEARISH.search(text) and not _LATER.search(text)
        years = "".join(m.group() for m in YEARISH.finditer(previous)) if inherits else ""
        return f"{years}{subject}{text}" if subject else question
    rest = YEARISH.sub("", core).strip("，, 的")
    new_years = [m.group() for m in YEARISH.finditer(core)]
    if not rest and new_years:
        # 那2025年呢: the previous question with its time replaced (or added).
        if YEARISH.search(previous):
            return YEARISH.sub(new_years[0], previous, count=1)
        return new_years[0] + previous
    # …有几家？产值涨了多少？ the question word that ends the follow-up stays, whatever its earlier parts ask
    tail = f"{asked_end}？" if asked_end else "？" if ASKS.search(core) else _ask_like(question, previous)
    if has_pronoun:
        subject = subject_of(YEARISH.sub("", previous)) or previous.rstrip("？?")
        # 它的产能 → 166舰的产能, 它哪天开放 → 166舰哪天开放: keep the 的 only where the question had one.
        resolved = _PRONOUN.sub(lambda m: subject + ("的" if m.group().endswith("的") else ""), core, count=1)
        years = "" if new_years else "".join(m.group() for m in YEARISH.finditer(previous))
        return f"{years}{resolved}{tail}"
    topic = YEARISH.sub("", core).strip("，, ")
    if not _has_subject(topic):
        # 那具体是哪一天: the same topic asked anew — the previous question without its question words.
        return f"{_ASKED.sub('', previous).rstrip('了的是')}{topic}{tail}"
    # 那空气质量呢: a new topic asked the same way, in the same place and time.
    years = "".join(new_years) or "".join(m.group() for m in YEARISH.finditer(previous))
    # 那治理的河段有多长？ after a question about 跳磴河: a question of its own that names nothing is about what the
    # previous one named.
    named = "" if not ASKS.search(topic) or proper_names(topic) else \
        "".join(dict.fromkeys(proper_names(YEARISH.sub("", previous))))
    return f"{years}{named}{topic}{tail}"


_ASKED = re.compile(r"(?:哪|什么|多少|几|谁)[家个所些位项座条年月天]?|是否|[吗呢？?。]")


def _ask_like(question: str, previous: str) -> str:
    """The question tail for a rewritten follow-up: ask for an amount when either turn did."""
    return "是多少？" if _QUANTITY.search(question) or _QUANTITY.search(previous) else "是什么？"
