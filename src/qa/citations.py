"""Citations: retrieved passages numbered from 1, with their document's title and date, page and table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import lru_cache

from qa.index import Snapshot
from qa.normalize import Normalized, normalize
from qa.store import StoredText
from qa.types import Answer, Chunk, Citation, Hit


def to_citations(snapshot: Snapshot, hits: Sequence[Hit]) -> list[Citation]:
    """Number hits from 1 as citations carrying their document's title and date (and page and table, if any)."""
    out = []
    for i, hit in enumerate(hits, 1):
        doc = snapshot.documents[hit.chunk.doc_id]
        citation = Citation(id=i, doc_id=doc.doc_id, title=doc.title, date=doc.date, chunk_id=hit.chunk.chunk_id,
                            start=hit.chunk.start, end=hit.chunk.end, text=hit.chunk.text, score=round(hit.score, 6))
        out.append(locate(snapshot, citation))
    return out


def locate(snapshot: Snapshot, citation: Citation) -> Citation:
    """The citation with the pages it spans and the table it falls in, for a converted document."""
    layout = snapshot.layout(citation.doc_id)
    if layout is None:
        return citation
    page = layout.page_at(citation.start)
    last = layout.page_at(max(citation.start, citation.end - 1))
    table = next((t for t in layout.tables if t.start < citation.end and citation.start < t.end), None)
    return replace(citation, page=page, page_end=last if last != page else None,
                   table=table.number if table else None)


def cite_cells(answer: Answer) -> Answer:
    """Give each citation that a table figure of the answer comes from that figure's table, row and column."""
    cells = {}
    for cited in answer.figures:
        f = cited.figure
        if f.table is not None and cited.citation not in cells:
            cells[cited.citation] = (f.table, f.row, f.column)
    if not cells:
        return answer
    citations = tuple(replace(c, table=cells[c.id][0], row=cells[c.id][1], column=cells[c.id][2])
                      if c.id in cells else c for c in answer.citations)
    return replace(answer, citations=citations)


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
    stored = text.normalized() if isinstance(text, StoredText) else None  # an indexed text: normalized at build
    return stored or normalize(text)


def quote_span(document_text: str, chunk: Chunk, quote: str) -> tuple[int, int] | None:
    """Raw offsets of ``quote`` (clean text, as an answer shows it) inside ``chunk``, or None if it is not there."""
    if not quote:
        return None
    at = chunk.clean.find(quote)
    stop = at + len(quote)
    if at < 0:
        # A sentence quoted across a line break (…涉及 | 现状建筑规模约2588万平方米…) is shown without the break.
        kept = [i for i, ch in enumerate(chunk.clean) if ch != "\n"]
        found = "".join(chunk.clean[i] for i in kept).find(quote)
        if found < 0:
            return None
        at, stop = kept[found], kept[found + len(quote) - 1] + 1
    norm = _normalized(document_text)
    base = norm.clean_index(chunk.start)
    start, end = norm.raw_span(base + at, base + stop)
    return (start, end) if chunk.start <= start < end <= chunk.end else None


def with_quotes(citations: Sequence[Citation], spans: Mapping[str, tuple[int, int]]) -> list[Citation]:
    """The citations with the raw span each one's quote covers (by chunk id)."""
    return [replace(c, quote_start=spans[c.chunk_id][0], quote_end=spans[c.chunk_id][1])
            if c.chunk_id in spans else c for c in citations]
