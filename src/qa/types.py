"""Typed value objects passed between pipeline stages.

All of them are frozen: a stage never mutates what another stage produced. Offsets are always into the
*raw* document text, so ``document.text[chunk.start:chunk.end] == chunk.text`` holds everywhere.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qa.loaders import Loaded


def content_hash(*parts: str, length: int = 16) -> str:
    """Return a short, stable hex id for the given text parts."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:length]


def fingerprint(title: str, date: str | None, source: str | None, sha256: str,
                duplicate_of: str | None = None) -> str:
    """Metadata and text hash of a document in one comparable string (and the document it reprints, if any)."""
    base = f"{title}|{date}|{source}|{sha256}"
    return f"{base}|reprint of {duplicate_of}" if duplicate_of else base


@dataclass(frozen=True)
class Document:
    """One source report: raw text exactly as stored in the corpus, plus its metadata."""

    doc_id: str
    title: str
    text: str
    date: str | None = None  # ISO date, e.g. "2021-04-30"
    source: str | None = None
    date_note: str | None = None  # how the date was established
    path: str | None = None  # the file in the corpus: the original PDF, DOCX … for a converted document
    format: str = "text"  # text | pdf | docx | html | xlsx | csv | ofd | image
    duplicate_of: str | None = None  # a near-duplicate (reprint) of this document: indexed once, under that id
    index_no: str | None = None  # 索引号 of a 政务公开 page
    doc_no: str | None = None  # 发文字号
    pages: int = 0  # pages of a PDF, OFD or image; 0 for formats without pages
    layout: Loaded | None = field(default=None, compare=False, repr=False)  # pages, lines and tables of a converted file

    @property
    def year(self) -> int | None:
        """Publication year, when the date is known."""
        return int(self.date[:4]) if self.date else None

    @property
    def fingerprint(self) -> str:
        """What an index compares to tell whether a document must be re-indexed."""
        return fingerprint(self.title, self.date, self.source, self.sha256, self.duplicate_of)

    @property
    def sha256(self) -> str:
        """Hash of the raw text; part of the corpus hash."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage: ``text == raw[start:end]``; ``clean`` is the normalized form that is indexed."""

    chunk_id: str
    doc_id: str
    start: int
    end: int
    text: str
    clean: str
    ordinal: int = 0


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the per-retriever scores behind it."""

    chunk: Chunk
    score: float
    dense: float | None = None
    lexical: float | None = None
    rank: int = 0
    view: int = 0  # which embedded view matched best: 0 the whole chunk, i > 0 the window at sentence i-1


@dataclass(frozen=True)
class Figure:
    """A numeric fact (数据) mentioned in a document."""

    value: float
    unit: str
    text: str  # the mention as it reads in clean text, e.g. "突破1500亿元"
    doc_id: str = ""
    start: int = 0  # raw offsets of the mention
    end: int = 0
    metric: str | None = None
    year: int | None = None
    period: str | None = None  # "一季度", "十三五", "2016-2020", ...
    qualifier: str | None = None
    kind: str = "level"  # level | growth | share | target | rank | change
    sentence: str = ""  # clean sentence that carries the mention
    number: str = ""  # the number exactly as written, e.g. "1500" or "三分之一"
    table: int | None = None  # a figure read from a table cell: the table (1-based) and the cell's row and column
    row: int | None = None
    column: int | None = None


@dataclass(frozen=True)
class Citation:
    """A passage cited by an answer, numbered from 1."""

    id: int
    doc_id: str
    title: str
    date: str | None
    chunk_id: str
    start: int
    end: int
    text: str
    score: float
    # raw offsets of what the answer quotes from this passage, inside start..end (for a "not found" reply, the
    # sentence it gives as the nearest the reports say)
    quote_start: int | None = None
    quote_end: int | None = None
    page: int | None = None  # PDF, OFD and images: the page the passage starts on, and the one it ends on
    page_end: int | None = None
    table: int | None = None  # a passage in a table: the table, and the row and column of the cell it cites
    row: int | None = None
    column: int | None = None


@dataclass(frozen=True)
class CitedFigure:
    """A figure tied to the citation it comes from."""

    figure: Figure
    citation: int


@dataclass(frozen=True)
class Answer:
    """What `answer()` returns: a short extractive answer, its citations and figures."""

    question: str
    found: bool
    text: str
    citations: tuple[Citation, ...] = ()
    figures: tuple[CitedFigure, ...] = ()
    intent: str = "fact"
    resolved_question: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)  # for the reader: typo repairs, follow-up reading
    reasons: tuple[str, ...] = field(default_factory=tuple)  # diagnostics: why an answer was (not) given
    took_ms: float = 0.0
