"""What a full build keeps between its passes, compactly, and the passages it embeds a few thousand at a time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from qa.normalize import Normalized, normalize
from qa.store import pack_offsets, unpack_offsets
from qa.types import Document
from qa.vectors import VectorIndex

if TYPE_CHECKING:
    from qa.index import BuildReport, EmbeddingCache

# Passages handed to the embedding cache at once: one lookup and one commit for a few dozen documents.
EMBED_BATCH = 4096


class CleanTexts:
    """Each document normalized once a build: vocabulary discovery reads the clean text, indexing the offset map.

    The map is kept packed (a build holds every document's) and dropped once the document is indexed.
    """

    def __init__(self) -> None:
        self._kept: dict[str, tuple[str, bytes]] = {}
        self._bounds: dict[str, bytes] = {}

    def prepare(self, docs: Sequence[Document], workers: int) -> None:
        """Normalize ``docs`` ahead (by ``workers`` processes), with the word bounds discovery needs."""
        from qa.prepare import cleaned

        for doc, (clean, offsets, bounds) in zip(docs, cleaned((d.text for d in docs), workers), strict=True):
            self._kept[doc.doc_id] = (clean, offsets)
            self._bounds[doc.doc_id] = bounds

    def text(self, doc: Document) -> str:
        """The document's clean text, its offset map kept for :meth:`normalized`."""
        if doc.doc_id in self._kept:
            return self._kept[doc.doc_id][0]
        norm = normalize(doc.text)
        self._kept[doc.doc_id] = (norm.text, pack_offsets(norm.offsets))
        return norm.text

    def bounds(self, doc: Document) -> set[int] | None:
        """Where jieba's default-dictionary words start and end in the clean text, if :meth:`prepare` found them."""
        bits = self._bounds.pop(doc.doc_id, None)
        if bits is None:
            return None
        return set(np.flatnonzero(np.unpackbits(np.frombuffer(bits, dtype=np.uint8))).tolist())

    def normalized(self, doc: Document) -> Normalized:
        """The document normalized: as kept by :meth:`text` (then forgotten), else normalized now."""
        kept = self._kept.pop(doc.doc_id, None)
        if kept is None:
            return normalize(doc.text)
        return Normalized(raw=doc.text, text=kept[0], offsets=unpack_offsets(kept[1]))


class EmbeddingBatch:
    """Passages waiting to be embedded (through the cache) and added to the vector index under their ids."""

    def __init__(self, cache: EmbeddingCache, vectors: VectorIndex, report: BuildReport) -> None:
        self.cache, self.vectors, self.report = cache, vectors, report
        self._ids: list[np.ndarray] = []
        self._texts: list[str] = []

    def add(self, ids: np.ndarray, texts: Sequence[str]) -> None:
        """Queue passages (embedded once ``EMBED_BATCH`` are waiting)."""
        self._ids.append(ids)
        self._texts.extend(texts)
        if len(self._texts) >= EMBED_BATCH:
            self.flush()

    def flush(self) -> None:
        """Embed what is waiting and add it to the index, in the order it was queued."""
        if not self._texts:
            return
        vecs, new = self.cache.vectors(self._texts)
        self.vectors.add(np.concatenate(self._ids), vecs)
        self.report.embedded += new
        self.report.reused += len(vecs) - new
        self._ids, self._texts = [], []
