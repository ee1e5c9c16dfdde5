"""Citations: retrieved passages numbered from 1, with their document's title and date."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from functools import lru_cache

from qa.index import Snapshot
from qa.normalize import Normalized, normalize
from qa.types import Chunk, Citation, Hit


def to_citations(snapshot: Snapshot, hits: Sequence[Hit]) -> list[Citation]:
    """Number hits from 1 as citations carrying their document's title and date."""
    out = []
    for i, hit in enumerate(hits, 1):
        doc = snapshot.documents[hit.chunk.doc_id]
        out.append(Citation(id=i, doc_id=doc.doc_id, title=doc.title, date=doc.date, chunk_id=hit.chunk.chunk_id,
                            start=hit.chunk.start, end=hit.chunk.end, text=hit.chunk.text, score=round(hit.score, 6)))
    return out


def cite_answer(snapshot: Snapshot, shown: list[Hit], needed: list[Hit]) -> list[Citation]:
    """Citations for the shown passages, making room for every passage the answer quotes."""
    shown = list(shown)
    for hit in needed:
        if all(h.chunk.chunk_id != hit.chunk.chunk_id for h in shown):
            keep = [h for h in shown if any(n.chunk.chunk_id == h.chunk.chunk_id for n in needed)]
            rest = [h for h in shown if h not in keep]
            shown = keep + rest[: max(0, len(shown) - len(keep) - 1)] + [hit]
    return to_citations(snapshot, shown)


@lru_cache(maxsize=16)
def _normalized(text: str) -> Normalized:
    return normalize(text)


def quote_span(document_text: str, chunk: Chunk, quote: str) -> tuple[int, int] | None:
    """Raw offsets of ``quote`` (clean text, as an answer shows it) inside ``chunk``, or None if it is not there."""
    at = chunk.clean.find(quote)
    if not quote or at < 0:
        return None
    norm = _normalized(document_text)
    base = norm.clean_index(chunk.start)
    start, end = norm.raw_span(base + at, base + at + len(quote))
    return (start, end) if chunk.start <= start < end <= chunk.end else None


def with_quotes(citations: Sequence[Citation], spans: Mapping[str, tuple[int, int]]) -> list[Citation]:
    """The citations with the raw span each one's quote covers (by chunk id)."""
    return [dataclasses.replace(c, quote_start=spans[c.chunk_id][0], quote_end=spans[c.chunk_id][1])
            if c.chunk_id in spans else c for c in citations]
