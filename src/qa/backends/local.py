"""The default backend: a FAISS file per index version, and BM25 over numpy arrays built when a version loads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from qa.bm25 import SparseBM25Index
from qa.lexical import LexicalIndex
from qa.store import Store
from qa.vectors import FaissIndex, VectorIndex

VECTOR_FILE = "vectors.faiss"


class LocalBackend:
    """FAISS and numpy BM25 in the serving process; everything lives in the version folder."""

    name = "faiss"
    vector_file = VECTOR_FILE

    def describe(self) -> dict[str, Any]:
        """What meta.json records about this backend."""
        return {"name": self.name}

    def vectors_for_build(self, dim: int, base: Path | None, work: Path) -> VectorIndex:
        """The base version's vectors (read from its file) to update, or an empty index."""
        return FaissIndex.load(base / VECTOR_FILE) if base is not None else FaissIndex(dim)

    def save(self, work: Path, vectors: VectorIndex, store: Store) -> None:
        """Write the vectors into the version folder (BM25 is rebuilt from the store's tokens at load)."""
        vectors.save(work / VECTOR_FILE)

    def load_vectors(self, version: Path) -> VectorIndex:
        """The version's FAISS index, read into memory."""
        return FaissIndex.load(version / VECTOR_FILE)

    def load_lexical(self, version: Path, rows: Sequence[int], tokens: Sequence[list[str]]) -> LexicalIndex:
        """BM25 over the stored tokens."""
        lexical = SparseBM25Index()
        lexical.add(rows, tokens)
        return lexical

    def discard(self, version: str) -> None:
        """Nothing outside the version folder to drop."""

    def cleanup(self, keep: Iterable[str]) -> None:
        """Nothing outside the version folders to drop."""
