"""The default backend: per segment, a FAISS file and BM25 postings files in the version folder, memory-mapped."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from qa.bm25 import SparseBM25Index
from qa.lexical import LexicalIndex
from qa.spilled import SpilledVectors
from qa.store import Store
from qa.vectors import FaissIndex, VectorIndex

VECTOR_FILE = "vectors.faiss"
SPILL_FILE = ".vectors.spill"  # a full build's vectors until they are saved


def save_postings(folder: Path, store: Store) -> None:
    """Write the BM25 postings of the store's chunks beside it (memory-mapped when the segment is loaded)."""
    lexical = SparseBM25Index()
    top = store.conn.execute("SELECT MAX(row) FROM chunks").fetchone()[0]
    lexical.reserve(top + 1 if top is not None else 0)
    for part in store.chunk_tokens():  # in parts: a million chunks' tokens as Python lists would not fit
        lexical.add([row for row, _ in part], [tokens for _, tokens in part])
    lexical.save(folder)


class LocalBackend:
    """FAISS and numpy BM25 in the serving process; everything lives in the version's segment folders."""

    name = "faiss"
    vector_file = VECTOR_FILE

    def describe(self) -> dict[str, Any]:
        """What meta.json records about this backend."""
        return {"name": self.name}

    def vectors_for_build(self, dim: int, base: Path | None, work: Path) -> VectorIndex:
        """The base version's vectors (read from its file) to update, or a file the new vectors are spilled to."""
        return FaissIndex.load(base / VECTOR_FILE) if base is not None else SpilledVectors(dim, work / SPILL_FILE)

    def save(self, work: Path, vectors: VectorIndex, store: Store) -> None:
        """Write the vectors (flat while small, an inverted file once large) and the BM25 postings."""
        if not isinstance(vectors, FaissIndex | SpilledVectors):
            raise TypeError(f"the FAISS backend saves FAISS vectors, not {type(vectors).__name__}")
        vectors.sized().save(work / VECTOR_FILE)
        if isinstance(vectors, SpilledVectors):
            vectors.discard()
        save_postings(work, store)

    def load_vectors(self, version: Path) -> VectorIndex:
        """The segment's FAISS index, memory-mapped."""
        return FaissIndex.load(version / VECTOR_FILE, mmap=True)

    def load_lexical(self, version: Path, store: Store) -> LexicalIndex:
        """The segment's BM25 postings, memory-mapped."""
        return SparseBM25Index.load(version)

    def discard(self, version: str) -> None:
        """Nothing outside the version folder to drop."""

    def cleanup(self, keep: Iterable[str]) -> None:
        """Nothing outside the version folders to drop."""
