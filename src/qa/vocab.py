"""New-word discovery: the corpus's own terms (跳磴河, 中梁山, 西彭园区, 黄磏港), found from n-gram statistics.

A string of two to six Chinese characters is a word of the corpus when it is

- **frequent**: it occurs at least ``min_count`` times;
- **cohesive**: however it is split in two, the halves occur together far more often than chance would have
  them (pointwise mutual information, the minimum over the split points);
- **free at both ends**: the characters before it and after it vary (the entropy of its left and of its right
  neighbours; the edge of a run of Chinese characters counts as a new neighbour each time). 西彭 is always
  followed by 园区, so the word is 西彭园区, not 西彭.

This is the method of Matrix67, 互联网时代的社会语言学：基于SNS的文本数据挖掘 (2012). Of the strings that pass, a
word is kept only when it adds to jieba's default dictionary: it is not made of dictionary words (or of
shorter discovered ones) of two or more characters (科技/创新 is matched by those words, 老旧小区 by 老旧 and
小区), none of its pieces is a function word (的, 将, 我们), and where it occurs it does not cut through a
dictionary word of the text (力打造 cuts 努力).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from qa.lexical import DISCOVERY_MODES, Vocabulary
from qa.normalize import normalize
from qa.types import Document

_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_EDGE = object()  # a run boundary: a new neighbour every time
# jieba part-of-speech tags of words that glue a phrase together (particles, prepositions, conjunctions,
# adverbs, pronouns, interjections, onomatopoeia, modal particles), and of measure words, which start a
# phrase, not a word (个镇街, 类水质).
_FUNCTION_TAGS = ("u", "p", "c", "d", "r", "e", "o", "y")
_MEASURE_TAGS = ("q",)


@dataclass(frozen=True)
class Term:
    """A discovered word with the statistics that admitted it."""

    word: str
    count: int
    cohesion: float  # the lowest pointwise mutual information over split points (natural log)
    freedom: float  # the lower of the left and right neighbour entropies (nats)


@dataclass(frozen=True)
class Thresholds:
    """What a string must reach to be a word.

    Set by reading the list discovered in the five seed reports (17,500 Chinese characters), where a name
    may occur only twice (黄磏港); they were not tuned on questions.
    """

    min_count: int = 2
    min_length: int = 2
    max_length: int = 6
    min_cohesion: float = 4.0  # pointwise mutual information, natural log: ≈ 55 times more often than chance
    # The entropy a word's neighbours must reach, capped by what its count allows (log count): a word seen
    # twice must have two different neighbours on each side, one seen four times three.
    min_freedom: float = 0.9


def dictionary_bounds(text: str) -> set[int]:
    """Where the words of jieba's default dictionary alone start and end in ``text``."""
    return {at for span in Vocabulary.for_mode("none").word_spans(text) for at in span}


def discover(texts: Iterable[str], settings: Thresholds | None = None,
             bounds: Callable[[int], set[int] | None] | None = None) -> list[Term]:
    """The new words of ``texts`` (clean text), most frequent first.

    ``bounds(t)`` may give where jieba's default-dictionary words start and end in text ``t``, found ahead.
    """
    settings = settings or Thresholds()
    texts = list(texts)
    runs = [(t, m.start(), m.group()) for t, text in enumerate(texts) for m in _CJK_RUN.finditer(text)]
    total = sum(len(run) for _, _, run in runs)
    counts = _frequent_ngrams([run for _, _, run in runs], settings.min_count, settings.max_length)
    candidates = {w for w, c in counts.items()
                  if settings.min_length <= len(w) and c >= settings.min_count and _cohesion(w, counts, total)
                  >= settings.min_cohesion}
    left: dict[str, Counter[Any]] = defaultdict(Counter)
    right: dict[str, Counter[Any]] = defaultdict(Counter)
    whole: Counter[str] = Counter()  # occurrences where the word starts and ends at dictionary word bounds
    plain = Vocabulary.for_mode("none")  # jieba's default dictionary alone
    text_bounds: set[int] = set()
    text_of = -1
    for t, offset, run in runs:  # one text at a time: only its word bounds are held
        if t != text_of:
            found_ahead = bounds(t) if bounds is not None else None
            text_bounds = found_ahead if found_ahead is not None else dictionary_bounds(texts[t])
            text_of = t
        for n in range(settings.min_length, settings.max_length + 1):
            for i in range(len(run) - n + 1):
                word = run[i : i + n]
                if word in candidates:
                    left[word][run[i - 1] if i else _EDGE] += 1
                    right[word][run[i + n] if i + n < len(run) else _EDGE] += 1
                    if offset + i in text_bounds and offset + i + n in text_bounds:
                        whole[word] += 1
    found: dict[str, Term] = {}
    for word in sorted(candidates, key=lambda w: (len(w), w)):  # shorter words first: 老旧 before 老旧小区
        count = counts[word]
        freedom = min(_entropy(left[word]), _entropy(right[word]))
        if freedom < min(settings.min_freedom, math.log(count)) - 1e-9 or not _is_new(word, found, plain):
            continue
        if 2 * whole[word] > count:
            found[word] = Term(word, count, _cohesion(word, counts, total), freedom)
    return sorted(found.values(), key=lambda term: (-term.count, -term.freedom, term.word))


def _frequent_ngrams(runs: Sequence[str], min_count: int, max_length: int) -> Counter[str]:
    """Counts of every character, and of every longer n-gram seen ``min_count`` times.

    Level by level: an n-gram is counted only when both its (n-1)-grams are frequent, so memory grows with
    the frequent n-grams, not with all of them.
    """
    counts: Counter[str] = Counter(ch for run in runs for ch in run)
    frequent = {ch for ch, c in counts.items() if c >= min_count}
    for n in range(2, max_length + 1):
        level: Counter[str] = Counter(
            run[i : i + n] for run in runs for i in range(len(run) - n + 1)
            if run[i : i + n - 1] in frequent and run[i + 1 : i + n] in frequent)
        frequent = {w for w, c in level.items() if c >= min_count}
        counts.update({w: level[w] for w in frequent})
    return counts


def _cohesion(word: str, counts: Counter[str], total: int) -> float:
    """min over split points of log p(word) / (p(left) p(right)), every probability a count over ``total``."""
    return min(math.log(counts[word] * total / (counts[word[:i]] * counts[word[i:]])) for i in range(1, len(word)))


def _entropy(neighbours: Counter[Any]) -> float:
    n = sum(neighbours.values())
    entropy = 0.0
    for key, c in neighbours.items():
        # Each run edge is a neighbour of its own: c edges add c terms of (1/n) log n.
        entropy += c / n * math.log(n) if key is _EDGE else -c / n * math.log(c / n)
    return entropy


def _is_new(word: str, known: Container[str], plain: Vocabulary) -> bool:
    """Whether ``word`` adds to jieba's default dictionary and the ``known`` words found so far.

    It must not be made of words of two or more characters already (科技/创新, 老旧/小区), and of jieba's pieces
    of it none may be a function word (建设为牵引, 成了城市) and the first not a measure word (个镇街).
    """
    if plain.knows(word) or _composed(word, known, plain):
        return False
    tags = [tag for _, tag in plain.pos_tag(word)]
    return not any(t.startswith(_FUNCTION_TAGS) for t in tags) and not tags[0].startswith(_MEASURE_TAGS)


def _composed(word: str, known: Container[str], plain: Vocabulary) -> bool:
    """Whether ``word`` is a sequence of dictionary or ``known`` words, each of two or more characters."""
    ends = {0}
    for end in range(2, len(word) + 1):
        if any(start in ends and (plain.knows(word[start:end]) or word[start:end] in known)
               for start in range(end - 1)):
            ends.add(end)
    return len(word) in ends


def write_terms(terms: Sequence[Term]) -> str:
    """``vocab.txt``: a header, then one word a line with its count, cohesion and freedom."""
    lines = ["# word\tcount\tcohesion\tfreedom (discovered from the corpus; see qa.vocab)"]
    lines += [f"{t.word}\t{t.count}\t{t.cohesion:.3f}\t{t.freedom:.3f}" for t in terms]
    return "\n".join(lines) + "\n"


def read_terms(text: str) -> list[str]:
    """The words of a ``vocab.txt``."""
    return [line.split("\t", 1)[0] for line in text.splitlines() if line.strip() and not line.startswith("#")]


def corpus_vocabulary(docs: Iterable[Document], mode: str, clean: Callable[[Document], str] | None = None,
                      bounds: Callable[[Document], set[int] | None] | None = None
                      ) -> tuple[Vocabulary, list[Term]]:
    """The vocabulary an index of ``docs`` is cut with under ``QA_VOCABULARY`` = ``mode``, and its new words.

    ``clean`` gives a document's clean text (by default it is normalized here), ``bounds`` its word bounds
    when found ahead (see :func:`discover`).
    """
    clean = clean or (lambda d: normalize(d.text).text)
    docs = list(docs)
    ahead = (lambda t: bounds(docs[t])) if bounds is not None else None
    terms = discover((clean(d) for d in docs), bounds=ahead) if mode in DISCOVERY_MODES else []
    return Vocabulary.for_mode(mode, [t.word for t in terms]), terms
