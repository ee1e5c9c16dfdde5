"""Numeric facts (数据) in clean report text: value, unit, qualifier, metric, year, period and kind.

:func:`extract_figures` reads text produced by :func:`qa.normalize.normalize`, where ``\\n`` is a hard
boundary. Conventions, all covered by ``tests/test_figures.py``:

- **value and unit**: the unit keeps the magnitude: ``1500亿元`` is 1500 ``亿元``, ``10万余人次`` is 10
  ``万人次``. A magnitude with no written coefficient is the number itself: ``近万`` is 10000, number ``万``.
- **number** is the numeral as written, without qualifier or magnitude: ``1500``, ``两千``, ``十``,
  ``三分之一``. Fractions have unit ``""``; ``N大X`` counts (``九大主题景观``) are N ``个``.
- **rank**: ``居全市第二`` is value 2, unit ``位``, kind ``rank``; only ``第N`` after a ranking word
  (居, 位列, 全市 …) and not followed by a noun, so ``第一要务`` and ``第二个`` are not ranks.
- **kind** precedence: rank > target > growth/change > share > level. *target* is a forward-looking
  figure (到2025年, 目标, 计划, 预计, 力争, 将 …); *growth* a % right after 增长/增速/下降 …; *change* the
  same with another unit; *share* a % or fraction after 占/比重/占比, or ``X的80%``.
- **year**: the nearest year before the figure in its paragraph (``2020年``, ``去年`` against
  ``doc_date``, ``到2025年``); not ``自2020年…以来``, ``较2020年`` or ``2016-2020年`` (a period), and none for
  the start of ``由A提升至B``. A short heading such as ``（均规划到2025年）`` lends its target year to the
  paragraphs under it, until the next heading or a paragraph that opens with its own time (当前, 去年 …).

Not figures: years and dates, plan labels (十四五), names and models (166舰, 051型, 5G, 248X, 4+1),
numbers in short quoted names (“七大工程”), a lone 一 (一批, 一个), Chinese numeral + 年 (五年来, 近两年,
time expressions), ``N个月``, rate bases (每万人) and ranges (3-5个).
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from dataclasses import dataclass, replace

from qa.errors import CorpusError
from qa.numerals import (
    NUMERAL_CHARS,
    SPELLED_DIGITS,
    parse_chinese,
    parse_digit_string,
    parse_fraction,
    parse_number,
    split_magnitude,
)
from qa.types import Figure

_UNITS = sorted(
    ["个百分点", "微克每立方米", "平方公里", "平方千米", "平方米", "立方米", "千瓦时", "千瓦", "美元", "元",
     "%", "‰", "公顷", "公里", "千米", "米", "亩", "天", "个", "家", "户", "人次", "人", "名", "吨", "公斤",
     "千克", "台", "座", "张", "项", "条", "所", "倍", "年", "处", "辆", "件", "位", "批", "栋", "根", "场次",
     "岁", "套", "艘", "株"],
    key=len, reverse=True)
_TOKEN = re.compile(
    rf"(?P<rank>第(?P<ordinal>[{NUMERAL_CHARS}]+|\d+)[名位]?)"
    rf"|(?P<fraction>(?P<den>\d+|[{NUMERAL_CHARS}]+)分之(?P<num>\d+(?:\.\d+)?|[{NUMERAL_CHARS}]+(?:点[{SPELLED_DIGITS}]+)?))"
    rf"|(?P<arabic>\d+(?:,\d{{3}})*(?:\.\d+)?)"
    rf"|(?P<chinese>[{NUMERAL_CHARS}]+(?:点[{SPELLED_DIGITS}]+)?)")
_TAIL = re.compile(rf" ?(?P<approx>[余多])? ?(?P<mag>[万亿])? ?(?P<approx2>[余多])? ?(?P<unit>"
                   rf"{'|'.join(map(re.escape, _UNITS))})?")
_SUFFIX = re.compile(r" ?(以上|左右|以下|以内|上下)")
_PREFIXES = ("不低于", "不少于", "不超过", "将近", "接近", "超过", "突破", "达到", "低于", "高于",
             "大约", "累计", "不到", "不足", "约", "近", "超", "逾", "达", "数")
_WEAK = {"达", "达到", "累计"}  # a bound or an estimate (近, 以上, 余) says more than these
_TIME_EXPRESSION = re.compile(r"个[多余半]?(?:月|小时|星期)")
_QUOTE = re.compile(r"“[^“”，。；！？]{1,15}”|‘[^‘’，。；！？]{1,15}’|「[^「」，。；！？]{1,15}」"
                    r"|《[^《》]{1,40}》")
_SENTENCE_END = re.compile(r"[。！？]+[”’」』）)]*|…{2}")
_CLAUSE_MARK = re.compile(r"[，；：,;:。！？]")
_YEAR = re.compile(r"(?P<to>力争到|到|(?<!截)至)?"
                   rf"(?:(?P<arabic>(?<!\d)(?:19|20)\d{{2}})|(?P<chinese>[{SPELLED_DIGITS}]{{4}}))年(?!代)"
                   r"|(?P<relative>去年|今年|明年|前年)")
# 自2020年…以来 (since), 较2020年 (a base), 2016-2020年 (a period) do not date the figures after them.
_NOT_FIGURE_YEAR = ("自", "从", "较", "比", "相比", "与", "-", "—", "–", "~")
_RELATIVE = {"前年": -2, "去年": -1, "今年": 0, "明年": 1}
_PERIOD = re.compile(r"十[一二三四五六]五|前三季度|[一二三四]季度|[上下]半年|\d{1,2} ?[-—–~至] ?\d{1,2}月"
                     r"|(?P<first>(?:19|20)\d{2}) ?[-—–~至到] ?(?P<last>(?:19|20)\d{2})")
_TARGET_WORD = re.compile(r"(?:目标|计划)(?!的)|预计|预期|力争|争取|规划到|有望|拟|将(?!近)")
# 将 also marks the object of a verb (率先将贫困家庭纳入低保), which says nothing about the future.
_DISPOSAL = re.compile(r"将[^，。；！？]{2,40}?"
                       r"(?:纳入|列入|串联成|打造成|建设成|转化为|改造成|改造为|变为|变成|作为)")
_TIME_LEAD = re.compile(r"(?:当前|目前|近年来|近年|如今|截至|去年|今年|明年|(?:19|20)\d{2}年)")
_CHANGE_TO = re.compile(r" ?(?:提升|提高|增加|增长|上升|下降|降低|减少|扩大|缩小)?(?:至|到)")
_CHANGE = ("增长", "增加", "减少", "下降", "降低")
_GROWTH = (*_CHANGE, "增速", "增幅", "上涨", "上升", "提高", "提升", "回落", "下滑")
_RANK_CUE = re.compile(r"居|位列|排名|排在|列|保持|总分|全市|全国|全省|全球|重庆市")
_SCOPE = re.compile(r"(?:全市|全国|全省|全球|全区|重庆市)$")
_LEAD_NOISE = re.compile(
    r"^(?:(?:19|20)\d{2}年(?:底|末|初|上半年|下半年|[一二三四]季度)?|去年|今年|明年|[一二三四]季度|[上下]半年|"
    r"近年来|近年|目前|当前|截至目前|如今|此外|其中|同时|另外|九龙坡区|九龙坡|全区|该区|我区|本区|已|就|还|"
    r"也|共有|拥有|共|均|则|累计|实现了?|完成|涉及|由|从|计划|预计|一[项个批]|[、和及与“”])+")
_TAIL_NOISE = re.compile(
    r"(?:保持在|稳定在|巩固在|提升至|提高至|提高到|增至|增加到|降至|下降到|达到|突破|超过|将近|接近|低于|"
    r"高于|不到|不足|累计|拥有|位居|位列|稳居|跃居|排名|实现|全市|全国|全省|全球|重庆市|达|为|是|超|约|近|"
    r"逾|由|从|已|就|完成|迈上|跃上|站上|均|在|居|有|了|的|将|、)+$")
_CLASSIFIERS = set("个家项条名座所处批栋根台辆件位张艘株套")
# How far back a figure's clause is read. Report clauses are far shorter; the bound keeps a paragraph
# with no punctuation at all (a list pasted one item per line) from costing time quadratic in its length.
_CLAUSE_WINDOW = 200
# An Arabic number longer than this is an identifier or noise, not a figure (and may not fit a float).
_MAX_DIGITS = 15


@dataclass
class _Mention:
    """A number as read, before its sentence is consulted."""

    start: int  # includes a prefix qualifier
    num_start: int
    end: int  # includes a suffix qualifier
    value: float
    unit: str
    number: str
    qualifier: str | None
    rank: bool = False


def extract_figures(text: str, doc_date: str | None = None) -> list[Figure]:
    """Every numeric fact in clean ``text``, in order; ``start``/``end`` are offsets into ``text``.

    ``doc_date`` (ISO, ``YYYY[-MM[-DD]]``) resolves 去年/今年/明年. ``doc_id`` is left empty for the caller.
    """
    doc_year = _doc_year(doc_date)
    figures: list[Figure] = []
    scope_year: int | None = None  # target year lent by a heading such as （均规划到2025年）
    start = 0
    for line in text.split("\n"):
        end = start + len(line)
        heading = _is_heading(line)
        if heading or _TIME_LEAD.match(line.lstrip()):
            scope_year = None
        figures.extend(_paragraph_figures(text, start, end, doc_year, scope_year))
        if heading:
            scope_year = next((y for _, y, to in _year_marks(text, start, end, doc_year) if to), None)
        start = end + 1
    return figures


def _doc_year(doc_date: str | None) -> int | None:
    if doc_date is None:
        return None
    if not re.fullmatch(r"\d{4}(?:-\d{2}(?:-\d{2})?)?", doc_date):
        raise CorpusError(f"invalid doc_date {doc_date!r}: expected YYYY-MM-DD")
    return int(doc_date[:4])


def _is_heading(line: str) -> bool:
    stripped = line.strip()
    return 0 < len(stripped) <= 45 and stripped[-1] not in "。！？；，…：、"


class _Paragraph:
    """Positions in one paragraph, found once, so that each mention is placed by bisection.

    Looking each of them up again for every mention made extraction quadratic in a paragraph's length.
    """

    def __init__(self, text: str, start: int, end: int, doc_year: int | None) -> None:
        self.text, self.start, self.end = text, start, end
        self.quotes = [m.span() for m in _QUOTE.finditer(text, start, end)]
        self.quote_starts = [a for a, _ in self.quotes]
        self.years = _year_marks(text, start, end, doc_year, self)
        self.year_ends = [e for e, _, _ in self.years]
        self.sentences = _sentence_spans(text, start, end)
        self.sentence_starts = [a for a, _ in self.sentences]
        self.clause_ends = [c.end() for c in _CLAUSE_MARK.finditer(text, start, end)]
        self.list_marks = [i for i in range(start, end) if text[i] in "，；：。"]
        self.periods = list(_PERIOD.finditer(text, start, end))
        self.period_ends = [m.end() for m in self.periods]
        plans = []
        for m in _TARGET_WORD.finditer(text, start, end):
            s_end = self.sentence(m.start())[1]
            if m.group() != "将" or not _DISPOSAL.match(text, m.start(), s_end):
                plans.append(m.span())
        self.plan_starts = [a for a, _ in plans]
        self.plan_ends = [b for _, b in plans]

    def quoted(self, pos: int) -> bool:
        """Whether ``pos`` lies inside a short quoted name."""
        k = bisect_right(self.quote_starts, pos) - 1
        return k >= 0 and pos < self.quotes[k][1]

    def sentence(self, pos: int) -> tuple[int, int]:
        """The sentence span holding ``pos``."""
        return self.sentences[bisect_right(self.sentence_starts, pos) - 1]

    def clause(self, sentence_start: int, pos: int) -> int:
        """Where the clause of ``pos`` starts: after the last clause mark of its sentence before it."""
        k = bisect_right(self.clause_ends, pos) - 1
        begin = max(sentence_start, self.clause_ends[k]) if k >= 0 else sentence_start
        return max(begin, pos - _CLAUSE_WINDOW)

    def list_clause(self, pos: int) -> int:
        """Where the clause of a list starting at ``pos`` starts (after ，；：。 or the paragraph start)."""
        k = bisect_right(self.list_marks, pos - 1) - 1
        begin = self.list_marks[k] + 1 if k >= 0 else self.start
        return max(begin, pos - _CLAUSE_WINDOW)

    def year_for(self, pos: int, starts_change: bool) -> tuple[int | None, bool]:
        """The nearest year before ``pos``; the start value of 由A提升至B carries none."""
        k = bisect_right(self.year_ends, pos) - 1
        if k < 0 or starts_change:
            return None, False
        _, year, to = self.years[k]
        return year, to

    def period(self, pos: int) -> str | None:
        """The last period named in the paragraph before ``pos``."""
        k = bisect_right(self.period_ends, pos) - 1
        if k + 1 < len(self.periods) and self.periods[k + 1].start() < pos:
            # A period runs on past pos: read its start up to pos alone, as the text before pos reads.
            cut = list(_PERIOD.finditer(self.text, self.periods[k + 1].start(), pos))
            if cut:
                return _period_name(cut[-1])
        return _period_name(self.periods[k]) if k >= 0 else None

    def forward_looking(self, sentence_start: int, pos: int) -> bool:
        """A plan word (目标, 预计, 将 …) in the sentence before ``pos``, not counting 将 that marks an object."""
        k = bisect_right(self.plan_ends, pos) - 1
        return k >= 0 and self.plan_starts[k] >= sentence_start


def _paragraph_figures(
    text: str, start: int, end: int, doc_year: int | None, scope_year: int | None
) -> list[Figure]:
    para = _Paragraph(text, start, end, doc_year)
    figures: list[Figure] = []
    prev: tuple[_Mention, Figure] | None = None
    for m in _mentions(text, start, end, para):
        s_start, s_end = para.sentence(m.num_start)
        clause = para.clause(s_start, m.num_start)
        linked = prev if prev and prev[0].end > clause else None
        since = linked[0].end if linked else clause
        before = text[since:m.start].replace(" ", "")
        in_list = bool(linked) and before.strip("、和及与") == ""
        starts_change = before.endswith(("由", "从")) and bool(_CHANGE_TO.match(text, m.end))
        year, to_year = para.year_for(m.num_start, starts_change)
        target = to_year or scope_year is not None or para.forward_looking(s_start, m.num_start)
        if year is None and scope_year is not None and not starts_change:
            year = scope_year
        kind = _kind(m, text[clause:m.start].replace(" ", ""), before, target,
                     linked[1].kind if in_list and linked else None)
        earlier = prev[1] if prev and prev[0].end > s_start else None
        metric = _metric(text, m, before, linked[1] if linked else None, earlier)
        figure = Figure(value=m.value, unit=m.unit, text=text[m.start:m.end], start=m.start, end=m.end,
                        metric=metric, year=year, period=para.period(m.num_start), kind=kind,
                        qualifier=m.qualifier or _cumulative(text[clause:m.start]), number=m.number,
                        sentence=text[s_start:s_end].strip())
        figures.append(figure)
        prev = (m, figure)
    return _spread_lists(text, figures, para)


def _mentions(text: str, start: int, end: int, para: _Paragraph) -> list[_Mention]:
    found: list[_Mention] = []
    for token in _TOKEN.finditer(text, start, end):
        if para.quoted(token.start()) or (found and token.start() < found[-1].end):
            continue  # inside a quoted name, or the 万 of 4.5万元 already read
        mention = _read_rank(text, token, start) if token.group("rank") else _read_quantity(text, token, end)
        if mention is not None:
            found.append(mention)
    return found


def _read_rank(text: str, token: re.Match[str], para_start: int) -> _Mention | None:
    """``居全市第二`` → 2 位; ordinals that name things (第一要务, 第二个, 第八届) are not ranks."""
    after = text[token.end():token.end() + 1]
    value = _parse(token.group("ordinal"))
    lead = text[max(para_start, token.start() - 12):token.start()]
    lead = lead[max([0] + [c.end() for c in _CLAUSE_MARK.finditer(lead)]):]
    if value is None or (after and not _is_boundary(after)) or not _RANK_CUE.search(lead):
        return None
    scope = _SCOPE.search(lead)
    begin = token.start() - (len(scope.group()) if scope else 0)
    return _Mention(begin, token.start(), token.end(), value, "位", token.group("ordinal"), None, rank=True)


def _read_quantity(text: str, token: re.Match[str], end: int) -> _Mention | None:
    before = text[token.start() - 1:token.start()] if token.start() else ""
    tail = _TAIL.match(text, token.end(), end)
    assert tail is not None  # every group of _TAIL is optional
    base = tail.group("unit") or ""
    after = text[tail.end():tail.end() + 3]
    if token.group("fraction"):
        number, magnitude, base, tail_end = token.group(), "", "", token.end()
        if token.group("den") == "百":  # 百分之三十 is 30%
            value, base = parse_number(token.group("num")), "%"
        else:
            value = parse_fraction(token.group("den"), token.group("num"))
    elif token.group("arabic"):
        number = token.group("arabic")
        if sum(ch.isdigit() for ch in number) > _MAX_DIGITS:
            return None
        value = float(number.replace(",", ""))
        magnitude, tail_end = tail.group("mag") or "", tail.end()
        if _ascii_neighbour(before, text[token.end():token.end() + 1]) or before == "每":
            return None
        if base == "年" and (value >= 1000 or after.startswith("代")):
            return None  # a year or a decade, not a duration
    else:
        number, magnitude = split_magnitude(token.group("chinese"))
        value = parse_chinese(number)
        tail_end = tail.end()
        magnitude += tail.group("mag") or ""
        if value is None or number == "一" or before in ("第", "每"):
            return None
        if not base and not magnitude and text.startswith("大", tail.start()):
            return _count_of_kinds(text, token, value, number)
        if base in ("年", "台"):  # 五年来, 近两年: time expressions; 五台山: a place
            return None
    at = token.start()
    prefix = next((q for q in _PREFIXES if at >= len(q) and text.startswith(q, at - len(q))), None)
    if prefix == "数" and (not token.group("chinese") or re.search("[一二两三四五六七八九]", number)):
        prefix = None  # 数百万, 数十万 are several hundred thousand; 天数三百零八天 is a count of days
    bare = token.group("chinese") and not re.search("[一二两三四五六七八九十]", token.group())
    # 两千亿, 一千五百亿: a number of two numerals or more with its 万/亿 is an amount, as 2000亿 is (十亿级 names a class)
    amount = bool(magnitude) and len(number) >= 2 and not text.startswith("级", tail_end)
    if bare or (token.group("chinese") and not base and not amount):
        # A bare 万, 千万 or 亿元 is prose (千家万户, 千万不能, 亿元以上项目); 数百万, 近万, 超百亿元
        # are figures.
        if not (prefix and prefix not in _WEAK):
            return None
    elif not base and not magnitude and not token.group("fraction"):
        return None
    if value is None or not math.isfinite(value):
        return None
    if base == "个" and _TIME_EXPRESSION.match(text, tail.end() - 1):
        return None
    suffix = _SUFFIX.match(text, tail_end, end)
    approx = tail.group("approx") or tail.group("approx2") if not token.group("fraction") else None
    strong = [q for q in (prefix if prefix not in _WEAK else None, approx, suffix and suffix.group(1)) if q]
    qualifier = strong[0] if strong else prefix
    start = token.start() - len(prefix) if prefix else token.start()
    stop = suffix.end() if suffix else tail_end
    return _Mention(start, token.start(), stop, value, magnitude + base, number, qualifier)


def _count_of_kinds(text: str, token: re.Match[str], value: float, number: str) -> _Mention | None:
    """``九大主题景观`` → 9 个; not 一大批 (no count) nor 大于/大约 (not a noun after 大)."""
    nxt = text[token.end() + 1:token.end() + 2]
    if not nxt or nxt in "于约概小大多批型" or not ("\u4e00" <= nxt <= "\u9fff" or nxt == "“"):
        return None
    return _Mention(token.start(), token.start(), token.end() + 1, value, "个", number, None)


def _parse(numeral: str) -> float | None:
    return float(numeral) if numeral.isdigit() else parse_chinese(numeral)


def _is_boundary(ch: str) -> bool:
    return not ("\u4e00" <= ch <= "\u9fff" or ch.isalnum())


def _ascii_neighbour(before: str, after: str) -> bool:
    """PM2.5, 5G, 248X, 4+1, 2016-2020, 023-6878: a number glued to letters or signs is a label."""
    glue = "+-—–~/.＋"
    return any(ch and ((ch.isascii() and ch.isalpha()) or ch in glue) for ch in (before, after))


def _year_marks(text: str, start: int, end: int, doc_year: int | None,
                para: _Paragraph | None = None) -> list[tuple[int, int, bool]]:
    """(end offset, year, is a target year) for the year expressions that date what follows them."""
    marks = []
    for m in _YEAR.finditer(text, start, end):
        lead = text[max(0, m.start() - 2):m.start()]
        if (para is not None and para.quoted(m.start())) or lead.endswith(_NOT_FIGURE_YEAR):
            continue
        if m.group("relative"):
            if doc_year is not None:
                marks.append((m.end(), doc_year + _RELATIVE[m.group("relative")], False))
            continue
        year = int(m.group("arabic")) if m.group("arabic") else parse_digit_string(m.group("chinese"))
        if year is not None:
            marks.append((m.end(), year, bool(m.group("to"))))
    return marks


def _sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, begin = [], start
    for m in _SENTENCE_END.finditer(text, start, end):
        spans.append((begin, m.end()))
        begin = m.end()
    spans.append((begin, end))
    return spans


def _period_name(match: re.Match[str]) -> str:
    return f"{match.group('first')}-{match.group('last')}" if match.group("first") else match.group()


def _kind(m: _Mention, clause_before: str, before: str, target: bool, listed: str | None) -> str:
    if m.rank:
        return "rank"
    if target:
        return "target"
    if m.unit == "个百分点":
        return "change"
    if listed in ("growth", "change", "share"):
        return listed
    verb = _TAIL_NOISE.sub("", before.replace("同比", "")) or before
    if verb.endswith(_GROWTH):
        if m.unit in ("%", "倍", "‰"):
            return "growth"
        if verb.endswith(_CHANGE):
            return "change"
    if m.unit in ("%", "", "‰") and (
        "占" in clause_before or re.search("比重|占比|比例", clause_before) or before.endswith("的")
    ):
        return "share"
    return "level"


def _metric(text: str, m: _Mention, before: str, prev: Figure | None, earlier: Figure | None) -> str | None:
    """What the figure measures: the words before it in its clause, else the noun after it.

    ``prev`` is the figure just before in the same clause (``381.0亿元、增长18.6%``), ``earlier`` the one
    before in the same sentence; a figure with no words of its own borrows theirs.
    """
    words = re.sub(r"同比|分别|累计|实现了?|[较比](?:上年|去年|(?:19|20)\d{2}年)", "", before)
    words = _LEAD_NOISE.sub("", _TAIL_NOISE.sub("", words))
    words = re.sub(r"在[^在]{1,12}[中内上里]$", "", words)
    after = re.split(r"[，。；：、（(\n的\d]", text[m.end:m.end + 24].removeprefix("的"))[0]
    after = after.replace(" ", "")
    counted = m.unit[-1:] in _CLASSIFIERS and not m.rank and len(after) >= 2
    if words.count("“") != words.count("”"):
        words = re.sub("[“”]", "", words)
    borrows = len(words) <= 1 or words in _GROWTH or m.rank
    if prev is not None and prev.metric and not counted and borrows:
        return _borrow(prev.metric, words)
    if words in _GROWTH and earlier is not None and earlier.metric:
        return _borrow(earlier.metric, words)
    if counted or len(words) <= 1:
        if not after and earlier is not None and earlier.metric:
            return _borrow(earlier.metric, words)
        words = after[:16] if after else words
    if len(words) > 24:
        tail = words.rsplit("的", 1)[-1]
        words = tail if "的" in words and len(tail) >= 2 else words[-24:]
    return words or None


def _borrow(metric: str, words: str) -> str:
    """The metric of the figure before; ``增长`` after it makes ``<metric>增长`` (never ``…增长增速``)."""
    if words not in _GROWTH:
        return metric
    return next((metric[: -len(g)] for g in _GROWTH if metric.endswith(g)), metric) + words


def _cumulative(clause_before: str) -> str | None:
    """累计 qualifies a figure even when a verb stands between: 累计投入16.5亿元."""
    return "累计" if "累计" in clause_before else None


def _spread_lists(text: str, figures: list[Figure], para: _Paragraph) -> list[Figure]:
    """``A、B和C分别增至15家、4家和25个``: give each figure of the list its own subject."""
    out = list(figures)
    i = 0
    while i < len(out):
        head = out[i]
        j = i + 1
        while j < len(out) and out[j].start >= out[j - 1].end and \
                text[out[j - 1].end:out[j].start].strip(" 、和及与") == "":
            j += 1
        clause = text[para.list_clause(head.start):head.start] if j - i > 1 else ""
        if "分别" in clause:
            subjects = re.split(r"[、和及与]", _LEAD_NOISE.sub("", clause.split("分别")[0]))
            subjects = [s for s in subjects if s]
            if len(subjects) == j - i:
                verb = next((g for g in _GROWTH if clause.endswith(g)), "")
                for k, subject in enumerate(subjects):
                    out[i + k] = replace(out[i + k], metric=subject.replace(" ", "") + verb)
        i = j
    return out


