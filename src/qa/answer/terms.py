"""What a question is about: its content words with their weights, and the places and institutions it names."""

from __future__ import annotations

import re
from itertools import pairwise
from typing import TYPE_CHECKING

from qa.answer.evidence import DATEISH, Terms, coverage
from qa.answer.intent import is_english
from qa.answer.narrative import framing_spans, narrative_spans
from qa.answer.weights import WEIGHTS
from qa.answer.words import district, question_words
from qa.lexical import everyday_words, find_colloquial, pos_tag, tokenize
from qa.normalize import is_cjk

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from qa.answer.evidence import Evidence
    from qa.answer.intent import Intent
    from qa.index import Snapshot
    from qa.spell_index import Words

# Parts of speech that carry content: nouns, verbs, adjectives, idioms, abbreviations, Latin words.
_CONTENT_POS = ("n", "v", "a", "i", "j", "l", "eng", "vn", "an", "nz", "ns", "nt", "nr")
_STORY_POS = ("n",)  # the things a story names (166舰, 中梁山) may be what is asked about; what its people do is not
_QUOTED = re.compile(r"[“\"「『]([^”\"」』]{2,20})[”\"」』]")
_REDUPLICATED = re.compile(r"(.)\1(.)\2|(..)\3")  # 前前后后, 方方面面: fillers that say how, not what


def query_terms(question: str, snapshot: Snapshot) -> Terms:
    """Content words of the question with their idf weight (years, question and light words left out).

    Words of the asker's story (:func:`qa.answer.narrative.narrative_spans`) say why the asker asks, not what:
    a noun of it that the reports use (166舰 in 我爸去看了166舰) counts where it is found and never against
    (:attr:`Terms.context`), any other word of it is left out (老大 in 我家老大明年读小学, and the verbs of what
    the asker did). A question whose asked clause names nothing (…，是不是真有这么多？) is about what its story
    names, and is read whole.
    """
    narrative = narrative_spans(question)
    terms, context = _content_words(question, snapshot, narrative)
    if narrative and not terms.keys() - context:
        terms, context = _content_words(question, snapshot, [])
    return Terms(terms, context)


def _content_words(question: str, snapshot: Snapshot,
                   narrative: Sequence[tuple[int, int]]) -> tuple[dict[str, float], set[str]]:
    """The question's content words with their weights, and those of them only its story (``narrative``) holds."""
    words = question_words()
    corpus_text = snapshot.speller.corpus_text
    context: set[str] = set()
    asked: set[str] = set()  # a word both told in the story and asked about is asked about
    terms: dict[str, float] = {}
    # An everyday phrase (锻炼身体, 开公司) is one term, found when the reports' word for it (健身, 市场主体) is.
    phrases = find_colloquial(question)
    phrase_weight: dict[str, float] = {}
    excluded = excluded_spans(question) + framing_spans(question)
    at = 0
    for word, flag in asks_apart(question):
        start, at = at, at + len(word)
        word = word.strip().lower()
        if not word or word in words.generic or word in words.light_verbs or not flag.startswith(_CONTENT_POS):
            continue
        if word.isdigit() or re.fullmatch(r"(19|20)\d{2}年?|[\d.]+", word) or word in words.units:
            continue
        if _REDUPLICATED.fullmatch(word):
            continue
        inside = next((p for a, b, p in phrases if a <= start < b), None)
        if any(a <= start < b for a, b in excluded):
            continue
        told = any(a <= start < b for a, b in narrative)
        if told and (not flag.startswith(_STORY_POS) or (inside or word) not in corpus_text):
            continue
        if inside is not None:
            phrase_weight[inside] = max(phrase_weight.get(inside, 0.0), snapshot.lexical.idf(word))
            (context if told else asked).add(inside)
            continue
        terms[word] = snapshot.lexical.idf(word)
        (context if told else asked).add(word)
    terms.update(phrase_weight)
    for quoted in _QUOTED.finditer(question):
        # “三高三宜三率先”: a name the question quotes is one word, as the reports write it (jieba reads 高三 in it)
        name = quoted.group(1)
        if name in corpus_text and not any(a <= quoted.start() < b for a, b in narrative):
            for term in [t for t in terms if t in name]:
                del terms[term]
            terms[name] = snapshot.lexical.idf(name)
            asked.add(name)
    for term in [t for t in terms if len(t) == 1 and any(t in other for other in terms if other != t)]:
        del terms[term]  # 山 beside 中梁山: found wherever the longer word is, it would count that word twice
    if is_english(question) and any(is_cjk(ch) for t in terms for ch in t):
        # An English question carries its Chinese glossary terms: judge it on those alone (a Chinese question
        # keeps its Latin words: GDP, PM2.5).
        terms = {t: w for t, w in terms.items() if any(is_cjk(ch) for ch in t)}
    if not terms:  # a question of function words only: fall back to its search tokens
        terms = {t: snapshot.lexical.idf(t) for t in tokenize(question) if t not in words.generic}
    return terms, (context - asked) & terms.keys()


_EXCLUDED = re.compile(r"([^，,；;。？?！!]{1,20}?)(?:以外|之外|外)?(?=[，,]|还|也)")


def excluded_spans(question: str) -> list[tuple[int, int]]:
    """除了长江，还有哪几条河: what a question sets aside is not what it asks about (the span of 长江).

    Only the preposition 除 / 除了 opens it, not the verb 拆除 (拆除了多少违章建筑，还有…).
    """
    spans = []
    for word, flag, at in words_at(question):
        if word in ("除", "除了") and flag == "p":
            aside = _EXCLUDED.match(question, at + len(word))
            if aside:
                spans.append(aside.span(1))
    return spans


# The question words a word of the question may run past (哪天开的 cut as 哪 + 天开 + 的).
_ASK_WORD = re.compile(r"哪一?[天年月日]|几[号月日年天]|多[长大高远久]")


def asks_apart(question: str) -> list[tuple[str, str]]:
    """The question's words with their parts of speech, a word that runs past the end of a question word cut there.

    jieba reads 中梁山花博园哪天开的 as 哪 + 天开 + 的 and 是哪一年迈上 as … 年迈 …: 天开 and 年迈 are no words of
    the question, 开 and 迈 are.
    """
    ends = {m.end() for m in _ASK_WORD.finditer(question)}
    cuts = sorted({e for word, _, at in words_at(question) for e in ends if at < e < at + len(word)})
    if not cuts:
        return pos_tag(question)
    bounds = [0, *cuts, len(question)]
    return [tagged for a, b in pairwise(bounds) for tagged in pos_tag(question[a:b])]


def words_at(text: str) -> list[tuple[str, str, int]]:
    """Words of ``text`` with their part of speech and where each starts."""
    out, at = [], 0
    for word, flag in pos_tag(text):
        at = text.find(word, at)
        out.append((word, flag, at))
        at += len(word)
    return out


def names_something(question: str) -> bool:
    """Whether a question names a place, body or thing of its own (跳磴河, 谢家湾小学), not only the district."""
    return bool(proper_names(question))


NAME_TAGS = ("ns", "nt", "nz", "nr")  # jieba's tags of names: places, bodies, things, people


def proper_names(question: str, *, subtags: bool = False) -> list[str]:
    """The places, bodies and things a question names (跳磴河, 谢家湾小学), not the district's own names;
    with ``subtags``, also those jieba tags more finely (nrt: a transliterated name such as 博世)."""
    generic = question_words().generic
    return [word for word, flag in pos_tag(question)
            if (flag.startswith(NAME_TAGS) if subtags else flag in NAME_TAGS) and len(word) >= 2
            and word not in generic]


def other_place(question: str, corpus_text: Words) -> str | None:
    """A district or county the question names that the reports never mention (渝中区, 大渡口区)."""
    here = district()
    tagged = pos_tag(question)
    for at, (word, flag) in enumerate(tagged):
        if not (word[-1] in "区县" and flag[:1] == "n") or here.core_name in word:
            continue
        if len(word) >= WEIGHTS.min_district_chars and word[-2:] not in here.area_endings \
                and word not in corpus_text:
            return word
        # a district kind the reports know, of a place they never name (成都高新区: they speak of 高新区 here)
        before, before_flag = tagged[at - 1] if at else ("", "")
        if before_flag == "ns" and len(before) >= 2 and before not in corpus_text:
            return before + word
    return None


def named_place(question: str, corpus_text: Words) -> str | None:
    """A particular institution or place the question names and the reports mention (九龙坡区人民医院).

    A figure about it must come from a sentence that names it: a district total does not answer for one
    hospital.
    """
    here = district()
    for match in here.named_place.finditer(question):
        # 九龙坡的中梁山花博园: the name is what follows the last 的
        name = here.place_prefix.sub("", match.group().rpartition("的")[2])
        if len(name) >= WEIGHTS.min_named_place_chars and name in corpus_text:
            return name
    return None


_CLOCK = re.compile(r"\d{1,2}\s*[:：点时]|[上下]午|早上|晚上|全天|24小时")
# How precisely a when-question asks, and what a sentence must then state: 哪天 a day of the month, 几月 a
# month, 哪一年 a year (近年来 or 目前 tell a time, but not which year).
_PRECISION: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = (
    (re.compile(r"哪一?天|哪一?日|几号|几月几[日号]|什么日子|具体日期"),
     re.compile(r"\d{1,2}\s*[日号]|[一二三]?十?[一二三四五六七八九十]日|初[一二三四五六七八九十]")),
    (re.compile(r"几月|哪个?月"), re.compile(r"\d{1,2}\s*月|[一二三四五六七八九十]{1,2}月")),
    (re.compile(r"哪一?年(?!代)|几几年|什么年份"), re.compile(r"(?:19|20)\d{2}\s*年|去年|今年|前年")),
)


def tells_time(ev: Evidence, intent: Intent) -> bool:
    """Whether a sentence answers "when": a date as precise as the question asks, or for 几点 a time of day."""
    return time_stated(ev.reach or ev.sentence, intent) is not None


# A name in quotes or title marks (“2021年重庆市最美河湖”, 《…2023年工作方案》): a year inside it says no time
_NAMED = re.compile(r"“[^”]*”|《[^》]*》")


def time_stated(text: str, intent: Intent) -> re.Match[str] | None:
    """Where ``text`` says when, as precisely as the question asks (for 几点, a time of day); not inside a name
    the question does not ask about."""
    if "几点" in intent.question:
        return _CLOCK.search(text)
    precise = next((stated for asked, stated in _PRECISION if asked.search(intent.question)), DATEISH)
    # a name the question asks about (哪年评上重庆市最美河湖) carries its time; another name does not
    names = [m.span() for m in _NAMED.finditer(text) if not _shares_words(m.group(), intent.question)]
    return next((m for m in precise.finditer(text) if not any(a <= m.start() < b for a, b in names)), None)


def _shares_words(name: str, question: str) -> bool:
    """Whether ``question`` holds two characters in a row of ``name`` (its words, not its digits)."""
    return any(name[i : i + 2] in question for i in range(len(name) - 1) if all(is_cjk(ch) for ch in name[i : i + 2]))


def asked_events(question: str, terms: Mapping[str, float]) -> list[str]:
    """The happenings a when-question asks the time of: its verbs among the terms (完工, 投产, 开放).

    One-character verbs (进, 建) are left out, as in :func:`qa.answer.checks.asked_part`: 选进 cut as 选 + 进
    names no event the reports would word the same way (入选), and 进 is found inside 推进.
    """
    words = words_at(question)
    events = [(at, word) for word, flag, at in words
              if word in terms and flag in ("v", "vn") and len(word) > 1 and not _copula(word)]
    # Two events asked together are also named by their first characters, as the reports shorten them
    # (开工建设 → 开建, 招商引资 → 招引).
    shortened = [a[1][0] + b[1][0] for a, b in pairwise(events) if a[0] + len(a[1]) == b[0]]
    # A set phrase jieba keeps whole (对外开放) is named by its head, the verb it ends in (向公众开放).
    heads = [word[-2:] for word, flag, _ in words
             if word in terms and flag == "l" and len(word) >= WEIGHTS.set_phrase_chars
             and [f for _, f in pos_tag(word[-2:])] == ["v"]]
    return shortened + [word for _, word in events] + heads


def _copula(word: str) -> bool:
    """是从, 是由: the copula run together with a function word, which names no happening (是从什么时候开始上线的)."""
    rest = pos_tag(word[1:]) if word.startswith("是") else []
    return len(rest) == 1 and rest[0][1][:1] in ("p", "d", "c")


def names_event(ev: Evidence, events: Sequence[str]) -> bool:
    """Whether ``ev``'s sentence (with its continuation) names one of the asked ``events`` (or a report word for it,
    or an everyday word for that report word which this report uses: 开建 for 开工)."""
    text = ev.reach or ev.sentence
    return any(coverage(text, {e: 1.0}) == 1.0 or any(w in text for w in everyday_words(e)) for e in events)


def dated(evidence: Sequence[Evidence], intent: Intent, terms: Mapping[str, float]) -> list[Evidence]:
    """The best few sentences (``when_depth``) that say when, as precisely as the question asks: those naming
    an asked event first (哪天开放: 6月27日已正式向公众开放 before 6月26日，166舰停靠…), then best first.

    A when-question quotes the first of them, so its checks judge that one.
    """
    stated = [ev for ev in evidence[: WEIGHTS.when_depth] if tells_time(ev, intent)]
    events = asked_events(intent.question, terms)
    # A sentence a little further down in the best passage, which tells when the asked event happened, fills the
    # question's slot (6月26日，166舰停靠… then 6月27日已正式向公众开放), as one naming the asked kind of thing does.
    best = evidence[0].hit.chunk.chunk_id if evidence else None
    stated += [ev for ev in evidence[WEIGHTS.when_depth : WEIGHTS.slot_depth]
               if ev.hit.chunk.chunk_id == best and tells_time(ev, intent) and names_event(ev, events)]
    return sorted(stated, key=lambda ev: not names_event(ev, events))
