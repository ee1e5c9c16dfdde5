"""Lexical retrieval: jieba tokens (with a dictionary of district terms) scored by Okapi BM25."""

from __future__ import annotations

import math
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from importlib import resources
from typing import Any, Protocol

from qa.types import content_hash

_STOPWORDS = frozenset(
    ["的", "了", "和", "与", "及", "是", "在", "为", "把", "被", "对", "将", "也", "等", "有", "这", "那", "其", "之", "于", "以", "并", "而", "或", "中", "上", "下", "个", "年", "月", "日", "吗", "呢", "吧", "啊", "么", "什么", "多少", "哪些", "哪个", "哪里", "哪", "几", "怎么", "怎样", "如何", "是否", "是不是", "请问", "请", "告诉", "我", "你", "他", "有没有", "没有", "一下", "一共", "总共", "现在", "目前", "最新", "情况", "关于", "呢", "啥", "谁", "the", "a", "an", "of", "in", "on", "to", "is", "are", "was", "were", "what", "which", "who", "how", "many", "much", "does", "did", "do", "for", "and"]
)
DISCOVERED_TAG = "n"  # part of speech of a discovered word: most are names and terms
# QA_VOCABULARY settings that use the hand-written files, and those that use the corpus's own words.
CURATED_MODES = ("both", "curated")
DISCOVERY_MODES = ("both", "discovered")

class LexicalIndex(Protocol):
    """A keyword index over chunk rows."""

    def add(self, rows: Sequence[int], tokens: Sequence[list[str]]) -> None: ...
    def remove(self, rows: Iterable[int]) -> None: ...
    def search(self, tokens: Sequence[str] | Mapping[str, float], k: int) -> list[tuple[int, float]]: ...
    def idf(self, term: str) -> float: ...
    def document_frequencies(self) -> Iterator[tuple[str, int]]: ...
    def __len__(self) -> int: ...


_lock = threading.RLock()  # jieba's lazy initialisation is not thread-safe


def _data(name: str) -> str:
    return (resources.files("qa") / "data" / name).read_text(encoding="utf-8")


class Vocabulary:
    """The words jieba keeps whole, and whether the hand-written vocabulary files are used.

    ``curated`` turns on ``userdict.txt`` (district names kept whole), ``colloquial.txt`` (everyday words) and
    ``glossary_en.txt`` (English questions); ``discovered`` are the corpus's own words (:mod:`qa.vocab`).
    An index and the questions asked of it must be cut with the same vocabulary, so each index version
    stores its own and the snapshot carries it.
    """

    def __init__(self, curated: bool = True, discovered: Iterable[str] = ()) -> None:
        self.curated = curated
        self.discovered = tuple(discovered)
        self.fingerprint = content_hash(
            "curated" if curated else "-", _data("userdict.txt") if curated else "", *self.discovered, length=32)
        self._tokenizer: Any = None
        self._tagger: Any = None
        # A question is tagged by several checks, and the same report sentences come back question after
        # question: the tags and everyday words of recent texts are kept (the vocabulary never changes).
        self._tags: dict[str, list[tuple[str, str]]] = {}
        self._colloquial: dict[str, list[tuple[int, int, str]]] = {}

    @classmethod
    def for_mode(cls, mode: str, discovered: Iterable[str] = ()) -> Vocabulary:
        """The vocabulary of a ``QA_VOCABULARY`` setting (``discovered`` is ignored when it leaves them out).

        The same setting and words give the same object, so a build and the index it loads share one tokenizer.
        """
        return _shared(mode in CURATED_MODES, tuple(discovered) if mode in DISCOVERY_MODES else ())

    def __repr__(self) -> str:
        return f"Vocabulary(curated={self.curated}, discovered={len(self.discovered)} words)"

    @property
    def tokenizer(self) -> Any:
        """The jieba tokenizer: its default dictionary, the discovered words, then the district dictionary."""
        with _lock:
            if self._tokenizer is None:
                import jieba

                freq, total = _default_dictionary()
                tok = jieba.Tokenizer()
                # A copy of the dictionary read once, not a new reading of it (which costs ~65 MB a tokenizer).
                tok.FREQ, tok.total, tok.initialized = dict(freq), total, True
                for word in self.discovered:  # jieba picks a frequency just high enough to keep it whole
                    tok.add_word(word, tag=DISCOVERED_TAG)
                if self.curated:
                    with resources.as_file(resources.files("qa") / "data" / "userdict.txt") as path:
                        tok.load_userdict(str(path))
                self._tokenizer = tok
            return self._tokenizer

    def knows(self, word: str) -> bool:
        """Whether the tokenizer has ``word`` as a word of its own."""
        return bool(self.tokenizer.FREQ.get(word))

    def tokenize(self, text: str) -> list[str]:
        """Search tokens of ``text``: jieba words and their sub-words, lower-cased, without stopwords."""
        tok = self.tokenizer
        with _lock:
            # HMM off: new-word guessing glues question words to terms (多少棚户区), breaking matches.
            words = list(tok.cut_for_search(text, HMM=False))
        out = []
        for word in words:
            word = word.strip().lower()
            if not word or word in _STOPWORDS or not any(ch.isalnum() for ch in word):
                continue
            out.append(word)
        return out

    def pos_tag(self, text: str) -> list[tuple[str, str]]:
        """jieba words of ``text`` with their part-of-speech flags."""
        with _lock:
            tags = self._tags.get(text)
            if tags is None:
                if self._tagger is None:
                    import jieba.posseg

                    # jieba.posseg read the default dictionary's tags when imported: copy them, do not read again.
                    tagger = jieba.posseg.POSTokenizer.__new__(jieba.posseg.POSTokenizer)
                    tagger.tokenizer, tagger.word_tag_tab = self.tokenizer, dict(jieba.posseg.dt.word_tag_tab)
                    self._tagger = tagger
                tags = _locatives([tag for piece, date in _date_pieces(text)
                                   for tag in ([(piece, "t")] if date else
                                               [(pair.word, pair.flag) for pair in self._tagger.cut(piece, HMM=False)])])
                _remember(self._tags, text, tags)
            return list(tags)

    def word_spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of each jieba word of ``text``."""
        tok = self.tokenizer
        with _lock:
            return [(start, end) for _, start, end in tok.tokenize(text, HMM=False)]


_YEAR_WORD = re.compile(r"(?:19|20)\d{2}\s*年")
# 上头, 里头 …: colloquial words of place after a noun (中梁山上头, 城里头), which jieba reads as verbs or nouns.
_LOCATIVES = frozenset(["上头", "下头", "里头", "外头", "头"])


def _date_pieces(text: str) -> Iterator[tuple[str, bool]]:
    """``text`` cut around its years (2021年), each piece with whether it is one: a year is one word, never
    read with what follows it (2021年头三个月 is 2021年 + 头三个月, not 2021 + 年头)."""
    at = 0
    for match in _YEAR_WORD.finditer(text):
        if match.start() > at:
            yield text[at : match.start()], False
        yield match.group(), True
        at = match.end()
    if at < len(text):
        yield text[at:], False


def _locatives(tags: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Tag 上头, 里头 … after a noun or place as words of place (``f``), which name nothing of their own."""
    return [(word, "f") if word in _LOCATIVES and i and tags[i - 1][1][:1] in ("n", "s") else (word, flag)
            for i, (word, flag) in enumerate(tags)]


@lru_cache(maxsize=1)
def _default_dictionary() -> tuple[dict[str, int], int]:
    """jieba's default dictionary, read once: the frequency of each word (and word prefix), and their total."""
    import jieba

    jieba.setLogLevel(60)
    tok = jieba.Tokenizer()
    tok.initialize()
    return tok.FREQ, tok.total


@lru_cache(maxsize=4)
def _shared(curated: bool, discovered: tuple[str, ...]) -> Vocabulary:
    return Vocabulary(curated, discovered)


def plain_vocabulary() -> Vocabulary:
    """jieba's own dictionary alone: neither the hand-written words nor those discovered in the reports."""
    return _shared(False, ())


_installed: Vocabulary | None = None
_pinned: ContextVar[Vocabulary | None] = ContextVar("qa_vocabulary", default=None)


def active_vocabulary() -> Vocabulary:
    """The vocabulary text is cut with: the one pinned for this call, else the last loaded index's."""
    return _pinned.get() or _installed or _shared(True, ())


def install_vocabulary(vocabulary: Vocabulary | None) -> Vocabulary | None:
    """Make ``vocabulary`` the process default (``None``: the hand-written one alone); returns the previous."""
    global _installed
    previous, _installed = _installed, vocabulary
    return previous


@contextmanager
def pinned_vocabulary(vocabulary: Vocabulary) -> Iterator[Vocabulary]:
    """Cut all text with ``vocabulary`` inside the block (this thread or task only)."""
    token = _pinned.set(vocabulary)
    try:
        yield vocabulary
    finally:
        _pinned.reset(token)


def tokenize(text: str) -> list[str]:
    """Search tokens of ``text`` under the active vocabulary (see :meth:`Vocabulary.tokenize`)."""
    return active_vocabulary().tokenize(text)


def pos_tag(text: str) -> list[tuple[str, str]]:
    """jieba words of ``text`` with their part-of-speech flags, under the active vocabulary."""
    return active_vocabulary().pos_tag(text)


@lru_cache(maxsize=1)
def synonyms() -> dict[str, tuple[str, ...]]:
    """Each listed term (lower-cased) with the other terms of its group."""
    groups: dict[str, tuple[str, ...]] = {}
    for line in _data("synonyms.txt").splitlines():
        terms = [t.lower() for t in line.split() if not line.startswith("#")]
        for term in terms:
            groups[term] = tuple(t for t in terms if t != term)
    return groups


@lru_cache(maxsize=1)
def _colloquial_table() -> dict[str, tuple[str, ...]]:
    table: dict[str, list[str]] = defaultdict(list)
    for line in _data("colloquial.txt").splitlines():
        if line.startswith("#") or "\t" not in line:
            continue
        official, words = line.split("\t", 1)
        for word in words.split():
            if official.lower() not in table[word.lower()]:
                table[word.lower()].append(official.lower())
    return {word: tuple(officials) for word, officials in table.items()}


def colloquial() -> dict[str, tuple[str, ...]]:
    """Each everyday word of ``colloquial.txt`` with the report terms it stands for (none without curation)."""
    return _colloquial_table() if active_vocabulary().curated else {}


@lru_cache(maxsize=1)
def _everyday_table() -> dict[str, tuple[str, ...]]:
    table: dict[str, list[str]] = defaultdict(list)
    for word, officials in _colloquial_table().items():
        for official in officials:
            table[official].append(word)
    return {official: tuple(words) for official, words in table.items()}


def everyday_words(term: str) -> tuple[str, ...]:
    """The everyday words of ``colloquial.txt`` that stand for the report term ``term`` (开建, 动工 for 开工)."""
    return _everyday_table().get(term.lower(), ()) if active_vocabulary().curated else ()


@lru_cache(maxsize=1)
def _report_terms() -> frozenset[str]:
    """The report terms of ``colloquial.txt`` of more than two characters (营业收入, 市场主体)."""
    return frozenset(o for officials in _colloquial_table().values() for o in officials if len(o) > 2)


def aliases() -> dict[str, tuple[str, ...]]:
    """What a question word may appear as in the reports: its synonyms, or the report terms it stands for."""
    return _aliases(active_vocabulary().curated)


@lru_cache(maxsize=2)
def _aliases(curated: bool) -> dict[str, tuple[str, ...]]:
    merged = {term: list(alts) for term, alts in synonyms().items()}
    for word, officials in (_colloquial_table() if curated else {}).items():
        merged.setdefault(word, []).extend(o for o in officials if o not in merged[word])
    return {term: tuple(alts) for term, alts in merged.items()}


@lru_cache(maxsize=1)
def _longest_first() -> tuple[str, ...]:
    """The everyday words, longest first (a longer phrase wins over the words inside it)."""
    return tuple(sorted(_colloquial_table(), key=len, reverse=True))


def find_colloquial(text: str) -> list[tuple[int, int, str]]:
    """Everyday words in ``text`` as (start, end, word), longest first, never overlapping.

    A word counts only when it is made of whole jieba words and is not part of a report term the text
    already uses: 收入 in 人均收入 is the everyday word, the 收入 of 营业收入 is not.
    """
    vocabulary = active_vocabulary()
    if not text or not vocabulary.curated:
        return []
    found = vocabulary._colloquial.get(text)
    if found is None:
        found = _find_colloquial(vocabulary, text)
        with _lock:
            _remember(vocabulary._colloquial, text, found)
    return list(found)


def _remember(memo: dict[str, Any], key: str, value: Any, limit: int = 4096) -> None:
    """Keep ``value`` under ``key``, forgetting everything once ``limit`` texts are kept (call under ``_lock``)."""
    if len(memo) >= limit:
        memo.clear()
    memo[key] = value


def _find_colloquial(vocabulary: Vocabulary, text: str) -> list[tuple[int, int, str]]:
    bounds = vocabulary.word_spans(text)
    starts = {start for start, _ in bounds}
    ends = {end for _, end in bounds}
    lowered = text.lower()
    rank, word_sizes, term_sizes = _colloquial_lookup()
    taken: set[int] = set()
    for at, size in _spans_in(lowered, term_sizes, _report_terms()):
        taken.update(range(at, at + size))
    found: list[tuple[int, int, str]] = []
    # Every place an everyday word occurs, taken longest word first, then in the table's order, then left to right.
    for _, at, size in sorted((rank[lowered[at : at + size]], at, size) for at, size in _spans_in(lowered, word_sizes, rank)):
        end = at + size
        if at in starts and end in ends and not taken.intersection(range(at, end)):
            found.append((at, end, lowered[at:end]))
            taken.update(range(at, end))
    # A verb and its object said apart, with what was done and how much between them (砸了多少钱 for 砸钱).
    for match in _SPLIT_APART.finditer(lowered):
        at, end = match.span()
        word = match["verb"] + match["object"]
        if word in rank and at in starts and end in ends and not taken.intersection(range(at, end)):
            found.append((at, end, word))
            taken.update(range(at, end))
    return sorted(found)


# A separable verb-object word (砸钱, 花钱, 出钱) with an aspect particle and a question word between its halves.
_SPLIT_APART = re.compile(r"(?P<verb>[\u4e00-\u9fff])(?:了|过)?(?:多少|好多|几多)(?P<object>[\u4e00-\u9fff])")


@lru_cache(maxsize=1)
def _colloquial_lookup() -> tuple[dict[str, int], tuple[int, ...], tuple[int, ...]]:
    """Each everyday word's place in :func:`_longest_first`, and the lengths of everyday words and report terms."""
    words = _longest_first()
    return {w: i for i, w in enumerate(words)}, tuple({len(w) for w in words}), tuple({len(t) for t in _report_terms()})


def _spans_in(text: str, sizes: Iterable[int], words: Container[str]) -> Iterator[tuple[int, int]]:
    """(start, length) of every occurrence in ``text`` of the ``words`` (whose lengths are ``sizes``)."""
    for size in sizes:
        for at in range(len(text) - size + 1):
            if text[at : at + size] in words:
                yield at, size


def expansion_groups(text: str) -> list[tuple[str, ...]]:
    """For each word of ``text`` that has them, its synonyms or the report terms it stands for (收入: 营业收入,
    人均可支配收入), one group per word."""
    lowered = text.lower()
    groups = [alts for term, alts in synonyms().items() if term in lowered]
    return groups + [colloquial()[word] for _, _, word in find_colloquial(text)]


def expansions(text: str) -> list[str]:
    """The synonyms and report terms of the words ``text`` contains, that it does not already hold."""
    lowered = text.lower()
    return list(dict.fromkeys(alt for group in expansion_groups(text) for alt in group if alt not in lowered))


def expand(text: str) -> str:
    """``text`` plus its :func:`expansions` (for matching, not display)."""
    extra = expansions(text)
    return text + (" " + " ".join(extra) if extra else "")


EXPANSION_WEIGHT = 1.0  # an added term counts as one word of the question, however many tokens it has


def query_weights(text: str) -> dict[str, float]:
    """BM25 query-term weights: the question's tokens, then each expansion's tokens sharing its weight.

    A long synonym (地区生产总值 → 地区, 生产, 总值, 生产总值 …) would otherwise outweigh the short word
    the question used (GDP), and the passages that use that very word would sink.
    """
    weights: dict[str, float] = dict(Counter(tokenize(text)))
    for alt in expansions(text):
        tokens = [t for t in tokenize(alt) if t not in weights]
        for token in tokens:
            weights[token] = weights.get(token, 0.0) + EXPANSION_WEIGHT / len(tokens)
    return weights


class BM25Index:
    """Okapi BM25 over token lists, with incremental add and remove."""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.postings: dict[str, dict[int, int]] = defaultdict(dict)
        self.lengths: dict[int, int] = {}
        self.terms: dict[int, list[str]] = {}
        self._total = 0

    def __len__(self) -> int:
        return len(self.lengths)

    def add(self, rows: Sequence[int], tokens: Sequence[list[str]]) -> None:
        """Index each row's tokens."""
        for row, toks in zip(rows, tokens, strict=True):
            counts = Counter(toks)
            for term, tf in counts.items():
                self.postings[term][row] = tf
            self.lengths[row] = len(toks)
            self.terms[row] = list(counts)
            self._total += len(toks)

    def remove(self, rows: Iterable[int]) -> None:
        """Forget the given rows."""
        for row in rows:
            for term in self.terms.pop(row, []):
                self.postings[term].pop(row, None)
                if not self.postings[term]:
                    del self.postings[term]
            self._total -= self.lengths.pop(row, 0)

    def document_frequencies(self) -> Iterator[tuple[str, int]]:
        """Every indexed term with the number of rows holding it."""
        return ((term, len(rows)) for term, rows in self.postings.items())

    def idf(self, term: str) -> float:
        """BM25 idf (the +1 form, never negative)."""
        n = len(self.lengths)
        df = len(self.postings.get(term, ()))
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def search(self, tokens: Sequence[str] | Mapping[str, float], k: int) -> list[tuple[int, float]]:
        """Top ``k`` rows by BM25 score, best first; ``tokens`` may carry a weight each."""
        if not self.lengths:
            return []
        avg = self._total / len(self.lengths) or 1.0
        scores: dict[int, float] = defaultdict(float)
        weighted = tokens if isinstance(tokens, Mapping) else Counter(tokens)
        for term, qtf in weighted.items():
            posting = self.postings.get(term)
            if not posting:
                continue
            idf = self.idf(term)
            for row, tf in posting.items():
                norm = tf + self.k1 * (1 - self.b + self.b * self.lengths[row] / avg)
                scores[row] += qtf * idf * tf * (self.k1 + 1) / norm
        return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]
