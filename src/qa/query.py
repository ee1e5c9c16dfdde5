"""Question intake: validation, width and script folding, and repair of homophone typos.

Residents type 九龍坡 (traditional), 九龙波 or 跳凳河 (a homophone picked by the input method). Each
window of three to five Chinese characters that never occurs in the corpus is replaced by the corpus
term that reads the same in pinyin, so both retrievers see the words the reports use.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from qa.errors import QueryError
from qa.lexical import active_vocabulary
from qa.normalize import fold_query, is_cjk

if TYPE_CHECKING:
    from qa.spell_index import Words

MAX_QUESTION_CHARS = 500
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{3,}")
# The answer to a question with nothing to search for (see has_content), and the reason it carries.
NO_CONTENT_ANSWER = "这个问题里没有可以查找的内容（只有标点、符号或虚词），请用文字说明您想了解什么。"
NO_CONTENT = "question has no words to search for (only punctuation, symbols or function words)"
# English function words the lexical stopwords leave in; a question made of these alone asks nothing.
_FUNCTION_WORDS = frozenset(["or", "and", "not", "if", "then", "else", "is", "be", "it", "this", "that", "these", "those", "null", "true", "false"])


@dataclass(frozen=True)
class Query:
    """A question ready for retrieval, with the repairs made to it."""

    original: str
    text: str
    corrections: tuple[tuple[str, str], ...] = ()


def check_question(question: Any, max_chars: int = MAX_QUESTION_CHARS) -> str:
    """Return the stripped question, or raise QueryError with the exact reason."""
    if not isinstance(question, str):
        raise QueryError("question must be a string")
    question = question.strip()
    if not question:
        raise QueryError("question must not be empty")
    if len(question) > max_chars:
        raise QueryError(f"question is too long ({len(question)} characters; the limit is {max_chars})")
    return question


def strip_format_characters(text: str) -> str:
    """``text`` without invisible format characters (zero-width spaces and joiners, bidi controls, BOM).

    They change no meaning a reader sees, but they split words for matching (九龙\u200b坡 is not 九龙坡).
    """
    if text.isascii():
        return text
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def has_content(question: str, follow_up: bool = False) -> bool:
    """Whether a question has something to search for: a letter or digit, and a word that is not a function word.

    ``?？？``, an emoji, a private-use character or 的 alone have nothing. A follow-up (one with history) only
    needs a letter or digit: 那2019年呢 takes its topic from the turn before it.
    """
    question = strip_format_characters(question)
    if not any(unicodedata.category(ch)[0] in "LN" for ch in question):
        return False
    if follow_up:
        return True
    from qa.lexical import tokenize

    return any(w not in _FUNCTION_WORDS and any(unicodedata.category(ch)[0] == "L" for ch in w)
               for w in tokenize(fold_query(question)))


@lru_cache(maxsize=1)
def _t2s() -> Any:
    from opencc import OpenCC

    return OpenCC("t2s")


_pinyin_lock = threading.Lock()


# Sounds an input method or a listener easily confuses (fuzzy pinyin, plus aspirated/unaspirated pairs).
_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("p", "b"), ("t", "d"), ("k", "g"), ("q", "j"),
                   ("l", "n"), ("r", "n"), ("f", "h"))
_FUZZY_FINALS = (("iang", "ian"), ("uang", "uan"), ("ang", "an"), ("eng", "en"), ("ing", "in"))


def _fuzzy(syllable: str) -> str:
    for full, plain in _FUZZY_INITIALS:
        if syllable.startswith(full):
            syllable = plain + syllable[len(full):]
            break
    for full, plain in _FUZZY_FINALS:
        if syllable.endswith(full):
            return syllable[: -len(full)] + plain
    return syllable


@lru_cache(maxsize=65536)
def _reading(text: str) -> str:
    from pypinyin import lazy_pinyin

    with _pinyin_lock:
        return " ".join(_fuzzy(s) for s in lazy_pinyin(text))


def _word_bounds(run: str) -> set[int]:
    """Offsets in ``run`` where a jieba word starts or ends."""
    from qa.lexical import pos_tag

    bounds, at = {0}, 0
    for word, _ in pos_tag(run):
        at += len(word)
        bounds.add(at)
    return bounds


class Speller:
    """Maps pinyin readings of corpus terms back to the terms, to undo homophone typos."""

    def __init__(self, vocabulary: Iterable[tuple[str, int]], corpus_text: Words) -> None:
        self.corpus_text = corpus_text
        self.by_reading: dict[str, tuple[str, int]] = {}
        for term, freq in vocabulary:
            if 3 <= len(term) <= 5 and all(is_cjk(ch) for ch in term):
                key = _reading(term)
                if key not in self.by_reading or freq > self.by_reading[key][1]:
                    self.by_reading[key] = (term, freq)

    def correct(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """Text with unknown homophones of corpus terms replaced, and the replacements made."""
        fixes: list[tuple[str, str]] = []
        for run in _CJK_RUN.findall(text):
            bounds = _word_bounds(run)
            for size in (5, 4, 3):
                for i in range(len(run) - size + 1):
                    if i not in bounds or i + size not in bounds:
                        continue  # 九龙坡去|年: a window cutting through a word (去年) is no misspelt term
                    window = run[i : i + size]
                    # The corpus lookup last of the cheap tests: it is an index query.
                    if (window in text and any(window in f for _, f in fixes)) or window in self.corpus_text:
                        continue
                    hit = self.by_reading.get(_reading(window))
                    # Only a slip of one character: two different words never count as a typo.
                    if hit and sum(a != b for a, b in zip(hit[0], window, strict=True)) == 1:
                        fixes.append((window, hit[0]))
        for wrong, right in fixes:
            text = text.replace(wrong, right)
        return text, fixes


@lru_cache(maxsize=1)
def _glossary_pairs() -> list[tuple[str, str]]:
    """The glossary's English terms with their Chinese, longest first."""
    from importlib import resources

    pairs = []
    text = (resources.files("qa") / "data" / "glossary_en.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            english, chinese = line.split("\t")
            pairs.append((english.strip(), chinese.strip()))
    pairs.sort(key=lambda p: -len(p[0]))
    return pairs


@lru_cache(maxsize=1)
def _glossary() -> list[tuple[re.Pattern[str], str]]:
    return [(re.compile(rf"\b{re.escape(e)}\b", re.I), c) for e, c in _glossary_pairs()]


@lru_cache(maxsize=1)
def _glossary_terms() -> dict[str, tuple[int, str]]:
    """Each English term of the glossary, lower-cased, with its place in it and its Chinese (a term given twice
    keeps its first place): a whole phrase is looked up, not searched for."""
    terms: dict[str, tuple[int, str]] = {}
    for at, (english, chinese) in enumerate(_glossary_pairs()):
        terms.setdefault(english.lower(), (at, chinese))
    return terms


def translate_terms(text: str) -> str:
    """Chinese report terms for the English words of a question (a glossary, longest phrase first).

    Without the hand-written vocabulary (``QA_VOCABULARY`` discovered or none) only the years are given.
    """
    found: list[str] = []
    rest = text
    for pattern, chinese in _glossary() if active_vocabulary().curated else []:
        if pattern.search(rest):
            found.append(chinese)
            rest = pattern.sub(" ", rest)
    years = re.findall(r"\b((?:19|20)\d{2})\b", text)
    return " ".join(dict.fromkeys(found + [f"{y}年" for y in years]))


_LATIN_WORD = r"[A-Za-z](?:[A-Za-z0-9'’+-]|\.(?=\d))*"  # hydrogen, Q1, PM2.5
_LATIN_RUN = re.compile(rf"{_LATIN_WORD}(?:\s+{_LATIN_WORD})*")


def english_in_chinese(text: str, corpus_text: Any = None) -> str:
    """A Chinese question with English words in it, in Chinese: 氢能 for hydrogen, 多少 for how many.

    Each run of English words is read longest phrase first: a question word or a joining word (how many, vs),
    a word the reports themselves print (GDP, PM2.5; without the reports to ask, any word in capitals), or a
    glossary term (revenue → 营业收入). A printed word stays as typed, spaces and all; a translated one joins
    the Chinese around it. Any other English word is left out: no sentence of the Chinese reports holds it, so
    it could only make the question look unanswered.
    """
    asks = _english_asks()
    glossary = _glossary_terms() if active_vocabulary().curated else {}

    def printed(word: str) -> str | None:
        if corpus_text is None:
            return word if word.upper() == word else None
        return next((f for f in (word, word.upper()) if f in corpus_text), None)

    def chinese(match: re.Match[str]) -> str:
        words, out = match.group().split(), []
        while words:
            for n in range(len(words), 0, -1):
                phrase = " ".join(words[:n])
                forms = (phrase, phrase[:-1]) if phrase.endswith("s") else (phrase,)  # rivers as river
                kept = printed(phrase) if n == 1 and phrase.lower() not in asks else None
                glossed = [glossary[f.lower()] for f in forms if f.lower() in glossary]
                said = asks.get(phrase.lower()) or (min(glossed)[1] if glossed else None)
                if kept is not None or said is not None or n == 1:
                    out.append(kept if kept is not None else f"{_GLUED}{said or ''}{_GLUED}")
                    words = words[n:]
                    break
        return " ".join(out)

    text = _LATIN_RUN.sub(chinese, text)
    return re.sub(rf" *{_GLUED} *", "", text)


_GLUED = "\x01"  # marks a translated word, which takes no spaces around it


@lru_cache(maxsize=1)
def _question_words() -> dict[str, Any]:
    """``question_words.toml``, read once (qa.answer.words reads it for the answer layer, which imports this module)."""
    import tomllib
    from importlib import resources

    return tomllib.loads((resources.files("qa") / "data" / "question_words.toml").read_text(encoding="utf-8"))


def _english_asks() -> dict[str, str]:
    return dict(_question_words()["english"]["asks"])


# 几 asks how many, but not in 这几年, 那几个, 前几年, 近几年 (these, those, the past few).
ASKED_JI = r"(?<![这那前近])几"
# A question word of its own, or a yes/no question (有好多好玩的地方吗: 好多 says "many" there).
_MANDARIN_ASK = re.compile(rf"多少|{ASKED_JI}|什么|哪|谁|如何|怎么|怎样|多[长大高远久重深宽]|吗|是否|是不是|有没有|能不能")


@lru_cache(maxsize=1)
def _dialect() -> tuple[tuple[tuple[str, str], ...], dict[str, str]]:
    """The dialect's question words that always ask, longest first (啥子 before 啥), and those that ask alone."""
    data = _question_words()
    always = data["dialect"]["always"]
    return tuple(sorted(always.items(), key=lambda pair: -len(pair[0]))), data["dialect"]["when_no_other_ask"]


def to_mandarin_asks(text: str) -> str:
    """Chongqing question words in Mandarin (啥子 → 什么; 有好多户 → 有多少户), so the question is read as asked.

    Each question of a message is read alone (…是好多？…又是好多？).
    """
    always, alone = _dialect()
    for word, mandarin in always:
        text = text.replace(word, mandarin)
    return "".join(_mandarin_ask(part, alone) for part in re.split(r"(?<=[？?！!。])", text))


def _mandarin_ask(question: str, alone: dict[str, str]) -> str:
    asks = bool(_MANDARIN_ASK.search(question))
    # One ending a clause asks wherever it stands (GDP是好多，…又涨到好多了？), with the one character it counts
    # (一季度有好多天，全年又有好多天？): 好多 meaning "many" goes before a noun the clause goes on about.
    question = re.sub(rf"({'|'.join(map(re.escape, alone))})(?=[\u4e00-\u9fff]?[，,；;])", lambda m: alone[m.group(1)],
                      question)
    if asks:
        return question
    found = [(question.rfind(word), word) for word in alone if word in question]
    if not found:
        return question
    at, word = max(found)  # the last one asks (以前好多小巷不通公交，现在比例到好多了); an earlier one means "many"
    return question[:at] + alone[word] + question[at + len(word) :]


# 19年, 23年底: a year said by its last two digits. Not a span of years: 近10年, 这20年, 用了10年, 10年来, 20年的时间.
_SHORT_YEAR = re.compile(r"(?<![\d.．年])(?<![近这了约超逾满第每历经共去])([0-3]\d|9\d)(?=年(?![来间内多前后余代纪龄]|的?时间))")


def full_years(text: str) -> str:
    """Years said by their last two digits in full (19年GDP → 2019年GDP), as the reports and figures write them.

    00–39 are read as this century, 90–99 as the last; other two-digit counts of years (56年) are spans.
    """
    return _SHORT_YEAR.sub(lambda m: ("19" if m.group(1)[0] == "9" else "20") + m.group(1), text)


# The first months of a year said as a span (头三个月, 前六个月, 1-3月): the quarter or half the reports name.
_FIRST_MONTHS = re.compile(r"(?:头|前|开年|年初)([三六九])个月|(?<![\d.])(?:1|一)\s*(?:-|—|–|~|～|到|至)\s*([369三六九])\s*月份?")
_PERIOD_OF_MONTHS = {"三": "一季度", "3": "一季度", "六": "上半年", "6": "上半年", "九": "前三季度", "9": "前三季度"}


def named_periods(text: str) -> str:
    """The first months of a year as the reports name them (21年头三个月 → 21年一季度, 前六个月 → 上半年)."""
    return _FIRST_MONTHS.sub(lambda m: _PERIOD_OF_MONTHS[m.group(1) or m.group(2)], text)


def prepare_query(question: str, snapshot: Any = None, max_chars: int = MAX_QUESTION_CHARS) -> Query:
    """Validate and fold a question; with a snapshot, also repair homophone typos against its corpus.

    An English question gets the Chinese report terms of its words appended, so both retrievers and
    the evidence checks can match the Chinese text.
    """
    original = check_question(question, max_chars)
    text = _t2s().convert(fold_query(strip_format_characters(original)))
    if sum(ch.isascii() and ch.isalpha() for ch in text) > len(text) / 2:
        chinese = translate_terms(text)
        if chinese:  # in front, so that a question mark still ends the question
            text = f"（{chinese}） {text}"
    elif any(is_cjk(ch) for ch in text) and re.search(r"[A-Za-z]", text):
        text = english_in_chinese(text, getattr(getattr(snapshot, "speller", None), "corpus_text", None))
    text = re.sub(r"(?<=[\u4e00-\u9fff]) +(?=[\u4e00-\u9fff])", "，", text)
    text = named_periods(full_years(to_mandarin_asks(text)))
    fixes: list[tuple[str, str]] = []
    speller = getattr(snapshot, "speller", None)
    if speller is not None:
        text, fixes = speller.correct(text)
    return Query(original=original, text=text, corrections=tuple(fixes))
