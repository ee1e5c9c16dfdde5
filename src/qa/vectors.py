"""Dense vector indexes: ids and vectors only (text lives in the store). Inner product on unit vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from qa.errors import IndexStoreError


class VectorIndex(Protocol):
    """Maps int64 ids to unit vectors and finds the nearest by inner product."""

    dim: int

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...
    def remove(self, ids: np.ndarray) -> None: ...
    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]: ...
    def save(self, path: Path) -> None: ...
    def __len__(self) -> int: ...


def _check(vectors: np.ndarray, dim: int) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[1] != dim:
        raise IndexStoreError(f"vectors of shape {vectors.shape} do not fit an index of dimension {dim}")
    return vectors


class FaissIndex:
    """FAISS exact inner-product search (IndexFlatIP behind an IndexIDMap2)."""

    def __init__(self, dim: int, index: Any = None) -> None:
        import faiss

        self.dim = dim
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    @classmethod
    def load(cls, path: Path) -> FaissIndex:
        """Read an index written by :meth:`save`."""
        import faiss

        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise IndexStoreError(f"cannot read vector index {path}: {exc}") from exc
        return cls(index.d, index)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under the given ids."""
        self._index.add_with_ids(_check(vectors, self.dim), np.asarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> None:
        """Remove the given ids (unknown ids are ignored)."""
        # The SWIG wrapper takes an int64 array and builds the IDSelector; the stubs only know the latter.
        self._index.remove_ids(np.asarray(ids, dtype=np.int64))  # type: ignore[arg-type]

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest ids with their inner products, best first."""
        if len(self) == 0:
            return []
        scores, ids = self._index.search(_check(query.reshape(1, -1), self.dim), min(k, len(self)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]

    def save(self, path: Path) -> None:
        """Write the index to ``path``."""
        import faiss

        faiss.write_index(self._index, str(path))


class NumpyIndex:
    """Brute-force reference implementation, used to test FaissIndex against."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._ids = np.zeros(0, dtype=np.int64)
        self._vectors = np.zeros((0, dim), dtype=np.float32)

    @classmethod
    def load(cls, path: Path) -> NumpyIndex:
        """Read ids and vectors written by :meth:`save`."""
        with np.load(path) as data:
            index = cls(int(data["vectors"].shape[1]))
            index._ids, index._vectors = data["ids"], data["vectors"]
        return index

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under the given ids."""
        self._ids = np.concatenate([self._ids, np.asarray(ids, dtype=np.int64)])
        self._vectors = np.vstack([self._vectors, _check(vectors, self.dim)])

    def remove(self, ids: np.ndarray) -> None:
        """Remove the given ids."""
        keep = ~np.isin(self._ids, np.asarray(ids, dtype=np.int64))
        self._ids, self._vectors = self._ids[keep], self._vectors[keep]

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest ids with their inner products, best first (ties by id)."""
        scores = self._vectors @ _check(query.reshape(1, -1), self.dim)[0]
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], self._ids[i]))[:k]
        return [(int(self._ids[i]), float(scores[i])) for i in order]

    def save(self, path: Path) -> None:
        """Write ids and vectors as .npz."""
        np.savez(path, ids=self._ids, vectors=self._vectors)


def set_search_threads(threads: int) -> None:
    """Threads FAISS uses for one search (OpenMP). Requests already run in parallel: on a small machine one
    thread a search is faster than two (they fight over the cores the other requests are using)."""
    import faiss

    faiss.omp_set_num_threads(threads)
