"""Sentence-aware Chinese chunking with exact raw offsets.

Sentences end at 。！？；… (with any closing quotes) and at the hard boundaries that normalization keeps.
Sentences are packed into chunks of about ``target`` clean characters, never over ``limit`` unless one
sentence alone is longer (then it is cut at a comma). A heading starts a new chunk, and each chunk
repeats the previous chunk's last sentence when that sentence is short, so a fact that straddles two
chunks is whole in one of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from qa.normalize import Normalized, normalize
from qa.types import Chunk, Document, content_hash

_SENTENCE_END = re.compile(r"(?:[。！？；]|…{1,2}|\.{3,})[”’」』）)\"']*|\n")
_SOFT_CUT = re.compile(r"[，、：,]")
_HEADING_MAX = 45


@dataclass(frozen=True)
class Sentence:
    """A sentence as a clean span; ``heading`` when it is a short line with no closing punctuation."""

    start: int
    end: int
    heading: bool


def split_sentences(clean: str, limit: int = 400) -> list[Sentence]:
    """Split clean text into sentences (clean offsets), cutting any over ``limit`` at a comma."""
    sentences: list[Sentence] = []
    start = 0
    for match in _SENTENCE_END.finditer(clean):
        end = match.end()
        sentences.extend(_trimmed(clean, start, end, match.group() == "\n", limit))
        start = end
    sentences.extend(_trimmed(clean, start, len(clean), True, limit))
    return sentences


def _trimmed(clean: str, start: int, end: int, at_line_end: bool, limit: int) -> Iterator[Sentence]:
    while start < end and clean[start].isspace():
        start += 1
    while end > start and clean[end - 1].isspace():
        end -= 1
    if start >= end:
        return
    body = clean[start:end]
    heading = at_line_end and len(body) <= _HEADING_MAX and body[-1] not in "。！？；…，,”"
    while end - start > limit:
        window = clean[start : start + limit]
        cuts = [m.end() for m in _SOFT_CUT.finditer(window) if m.end() >= limit // 2]
        cut = start + (cuts[-1] if cuts else limit)
        yield Sentence(start, cut, False)
        start = cut
    yield Sentence(start, end, heading)


def chunk_document(
    doc: Document,
    target: int = 240,
    limit: int = 400,
    overlap_max: int = 120,
    normalized: Normalized | None = None,
) -> list[Chunk]:
    """Cut a document into chunks whose ``text`` is exactly ``doc.text[start:end]``."""
    norm = normalized or normalize(doc.text)
    sentences = split_sentences(norm.text, limit)
    groups: list[list[Sentence]] = []
    current: list[Sentence] = []

    def size(group: list[Sentence]) -> int:
        return group[-1].end - group[0].start if group else 0

    for sentence in sentences:
        grown = sentence.end - current[0].start if current else 0
        starts_section = sentence.heading and size(current) >= target // 2
        if current and (grown > limit or size(current) >= target or starts_section):
            groups.append(current)
            last = current[-1]
            carry = not last.heading and last.end - last.start <= overlap_max and not starts_section
            current = [last] if carry and sentence.end - last.start <= limit else []
        current.append(sentence)
    if current:
        groups.append(current)

    chunks: list[Chunk] = []
    seen: set[str] = set()
    for group in groups:
        start, end = group[0].start, group[-1].end
        raw_start, raw_end = norm.raw_span(start, end)
        clean = norm.text[start:end]
        chunk_id = content_hash(doc.doc_id, clean)
        if chunk_id in seen:
            chunk_id = content_hash(doc.doc_id, clean, str(raw_start))
        seen.add(chunk_id)
        chunks.append(
            Chunk(
                chunk_id=chunk_id,
                doc_id=doc.doc_id,
                start=raw_start,
                end=raw_end,
                text=doc.text[raw_start:raw_end],
                clean=clean,
                ordinal=len(chunks),
            )
        )
    return chunks
