"""Citations: retrieved passages numbered from 1, with their document's title and date."""

from __future__ import annotations

from collections.abc import Sequence

from qa.index import Snapshot
from qa.types import Citation, Hit


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
