"""Repair messy report text for matching and display, keeping an exact map back to raw offsets.

The reports arrive with hard line wraps (some every ~10 characters), spaces inside words (``创新发 展``),
half- and full-width punctuation, ``**bold**`` markers and, in places, newspaper columns interleaved by
OCR. :func:`normalize` produces a *clean* string in which

- a ``\\n`` always means a hard boundary (paragraph, heading, or a column seam) and never a wrap;
- wraps and stray spaces between Chinese characters are gone;
- full-width letters and digits are half-width, Chinese-context punctuation is full-width;

and, for every clean character, the raw offset it came from. Citations are therefore always cut from the
raw text, so they are exact, while matching, embedding and figure extraction work on clean text.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

# Characters after which a paragraph break really ends a sentence.
TERMINALS = "。！？；…!?;：:"
_CLOSERS = "”’」』）)》\"'"
_FULLWIDTH_PUNCT = {",": "，", ";": "；", "?": "？", "!": "！", "(": "（", ")": "）", ":": "："}
_LIST_MARKER = re.compile(r"^\s*(?:[一二三四五六七八九十]+、|\d+[.、]|[①-⑳]|[（(][一二三四五六七八九十\d]+[)）]|[◇◆●■▲◎★☆→])")
# A line is read as interleaved newspaper columns when its space-separated pieces are this long on
# median: plain hard wraps that were flattened into spaces leave shorter, regular pieces.
_COLUMN_PIECE_MEDIAN = 20
# …but pieces twice a newspaper column's width are one full-width column whose wraps became spaces.
_COLUMN_PIECE_MAX = 32
_HEADING_MAX = 45
# Photo credits and captions dropped into running text by page layout.
_CAPTION = re.compile(r"摄/|供图|/图$|图片由")
_CAPTION_MAX = 60


def is_cjk(ch: str) -> bool:
    """True for Chinese characters (CJK unified ideographs and the common extension)."""
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or ch == "〇"


def is_caption(line: str) -> bool:
    """A photo credit or caption set into running text by page layout (…锻环 摄/李影)."""
    stripped = line.strip()
    return len(stripped) <= _CAPTION_MAX and bool(_CAPTION.search(stripped))


def starts_item(text: str) -> bool:
    """Whether ``text`` opens with a list or heading marker (一、 1. ① （二） ◆)."""
    return bool(_LIST_MARKER.match(text))


def _is_word(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


@dataclass(frozen=True)
class Normalized:
    """Clean text plus ``offsets[i]``: the raw index of clean character ``i``."""

    raw: str
    text: str
    offsets: tuple[int, ...]

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a clean span ``[start, end)`` to the raw span that covers exactly those characters."""
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"clean span [{start}, {end}) outside 0..{len(self.text)}")
        return self.offsets[start], self.offsets[end - 1] + 1

    def clean_index(self, raw_offset: int) -> int:
        """First clean index whose raw offset is at or after ``raw_offset``."""
        return bisect_left(self.offsets, raw_offset)


def _fold_char(ch: str) -> str:
    """Full-width ASCII to half-width; ideographic space to space; other characters unchanged."""
    code = ord(ch)
    if 0xFF01 <= code <= 0xFF5E:
        half = chr(code - 0xFEE0)
        # Keep Chinese punctuation full-width; fold letters, digits and the symbols used in figures.
        return half if half.isalnum() or half in "%+-.×/~" else ch
    if ch == "\u3000" or ch == "\xa0":
        return " "
    return ch


def _split_pieces(line: str) -> list[tuple[int, int]]:
    """Spans of the runs of non-space characters in ``line``."""
    return [m.span() for m in re.finditer(r"\S+", line)]


def _line_mode(line: str) -> str:
    """How to read the spaces inside a line: ``wrap`` (drop them), ``columns`` (break) or ``plain`` (keep).

    Reports flattened from narrow columns carry many spaces where wraps were; OCR that interleaves
    newspaper columns leaves many spaces too, but between longer pieces.
    """
    pieces = _split_pieces(line)
    inner = [
        (a, b) for (a, b), (c, _) in pairwise(pieces)
        if not (line[b - 1].isascii() and line[b - 1].isalpha() and line[c].isascii() and line[c].isalpha())
    ]
    if not inner:
        return "plain"
    lengths = [b - a for a, b in pieces]
    median = statistics.median(lengths)
    if len(inner) >= 3 and median >= _COLUMN_PIECE_MEDIAN:
        return "columns" if median <= _COLUMN_PIECE_MAX else "wrap"
    body = lengths[:-1]  # the last piece of a wrapped paragraph may be short
    if len(body) >= 2 and max(body) - min(body) <= 4 and 10 <= min(body) < _COLUMN_PIECE_MEDIAN:
        return "wrap"
    return "plain"


def _ends_sentence(chars: list[str]) -> bool:
    for ch in reversed(chars):
        if ch in _CLOSERS:
            continue
        return ch in TERMINALS
    return True


def normalize(raw: str) -> Normalized:
    """Return the clean form of ``raw`` with its offset map."""
    out: list[str] = []
    pos: list[int] = []
    para_len = 0  # clean characters in the current paragraph
    pending_break: int | None = None  # raw offset of a paragraph break not yet emitted
    # Whether the paragraph's last quote opened one, kept as characters are emitted: rescanning the
    # paragraph for it at every line made normalization quadratic in a paragraph's length.
    quote = _QuoteState()

    def emit(ch: str, at: int) -> None:
        nonlocal para_len
        for part in ch:  # NFC may turn one character into two; each keeps the raw offset
            out.append(part)
            pos.append(at)
            para_len += 1
            if part in "“”":
                quote.open = part == "“"

    def hard_break(at: int) -> None:
        nonlocal para_len
        if out and out[-1] != "\n":
            out.append("\n")
            pos.append(at)
        para_len = 0
        quote.open = False

    line_start = 0
    after_caption = False
    for line in raw.split("\n"):
        offset = line_start
        line_start += len(line) + 1
        stripped = line.replace("**", "").strip()
        if not stripped:
            if out and out[-1] != "\n" and pending_break is None:
                pending_break = offset
            continue
        first = _fold_char(stripped[0])
        caption = is_caption(stripped)
        if caption:
            pending_break = pending_break if pending_break is not None else offset
        if pending_break is not None:
            # A blank line: a real paragraph end, unless the text runs on across a page or column break
            # (previous paragraph long and unfinished, this one not a list item or heading).
            runs_on = (
                not caption
                and not after_caption
                and para_len > _HEADING_MAX
                and not _ends_sentence(out)
                and (is_cjk(first) or first.isdigit())
                and not _LIST_MARKER.match(stripped)
            )
            if not runs_on:
                hard_break(pending_break)
            pending_break = None
        elif out and out[-1] != "\n":
            # A single newline inside a paragraph is a hard wrap: join, with a space only between words.
            prev = out[-1]
            if _LIST_MARKER.match(stripped) and _ends_sentence(out):
                hard_break(offset - 1)
            elif (_is_word(prev) or prev in ",.;:!?") and _is_word(first):
                emit(" ", offset - 1)
        _emit_line(line, offset, _line_mode(line), emit, hard_break, out, quote.open)
        after_caption = caption
        if caption:
            pending_break = offset + len(line)
    while out and out[-1] == "\n":
        out.pop()
        pos.pop()
    return Normalized(raw=raw, text="".join(out), offsets=tuple(pos))


def _emit_line(
    line: str,
    offset: int,
    mode: str,
    emit: Callable[[str, int], None],
    hard_break: Callable[[int], None],
    out: list[str],
    quote_open: bool,
) -> None:
    """Emit one raw line: drop bold markers, fold widths, resolve inner spaces.

    ``quote_open`` says whether the paragraph so far ends inside a quotation (straight quotes alternate).
    """
    i = 0
    n = len(line)
    context: _LineContext | None = None
    while i < n:
        ch = line[i]
        if ch == "*" and line.startswith("**", i):
            i += 2
            continue
        if ch.isspace():
            j = i
            while j < n and line[j].isspace():
                j += 1
            if out and out[-1] != "\n" and j < n:
                prev, nxt = out[-1], _fold_char(line[j])
                words = prev.isascii() and prev.isalpha() and nxt.isascii() and nxt.isalpha()
                if mode == "columns" and not words:
                    hard_break(offset + i)
                elif mode == "plain" or words or (_is_word(prev) and _is_word(nxt)):
                    emit(" ", offset + i)
            i = j
            continue
        folded = _fold_char(ch)
        if folded == '"':
            folded = "”" if quote_open else "“"
            quote_open = not quote_open
        elif folded in _FULLWIDTH_PUNCT and not _between_digits(line, i):
            context = context or _LineContext(line)
            if context.in_chinese(i):
                folded = _FULLWIDTH_PUNCT[folded]
        emit(unicodedata.normalize("NFC", folded), offset + i)
        i += 1


class _QuoteState:
    """Whether the current paragraph's last quotation mark opened a quotation."""

    open = False


class _LineContext:
    """The nearest non-space character on either side of each position of a line, computed once per line."""

    def __init__(self, line: str) -> None:
        self.line = line
        self.chinese_line = any(is_cjk(ch) for ch in line)
        self.before: list[str] = []
        last = ""
        for ch in line:
            self.before.append(last)
            if not ch.isspace():
                last = ch
        self.after: list[str] = [""] * len(line)
        nxt = ""
        for i in range(len(line) - 1, -1, -1):
            self.after[i] = nxt
            if not line[i].isspace():
                nxt = line[i]

    def in_chinese(self, i: int) -> bool:
        """Punctuation next to a Chinese character (skipping spaces) is Chinese punctuation."""
        before, after = self.before[i], self.after[i]
        return any(is_cjk(ch) or ch in "“”" for ch in before + after) or (not after and self.chinese_line)


def _between_digits(line: str, i: int) -> bool:
    """A comma or colon inside a number or a time (1,000 or 10:30) stays as it is."""
    return 0 < i < len(line) - 1 and line[i - 1].isdigit() and line[i + 1].isdigit()


def fold_query(text: str) -> str:
    """Normalize a user's question the same way as document text (without offsets)."""
    return normalize(text).text.replace("\n", " ").strip()
