"""Dense vector indexes: ids and vectors only (text lives in the store). Inner product on unit vectors."""

from __future__ import annotations

from collections.abc import Callable
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


# Up to this many vectors an index is searched exactly (a flat scan); from it on, an inverted file (IVF) of
# about 4·√n lists, 1/PROBE_SHARE of them searched a question: recall@10 0.995 and recall@400 0.946 against
# the flat index with real e5 vectors (bench/ivf_recall.py, bench/README.md).
IVF_MIN_VECTORS = 200_000
PROBE_SHARE = 16


def trained_ivf(dim: int, n: int, rows: Callable[[np.ndarray], np.ndarray]) -> Any:
    """An empty inverted file for ``n`` vectors, trained on a seeded sample of them (``rows`` reads them by
    position, ascending), probing ``1/PROBE_SHARE`` of its lists."""
    import faiss

    nlist = int(4 * np.sqrt(n))
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    sample = np.random.default_rng(0).choice(n, min(n, nlist * 50), replace=False)
    ivf.train(rows(np.sort(sample)))
    ivf.nprobe = max(1, nlist // PROBE_SHARE)
    return ivf


class FaissIndex:
    """FAISS inner-product search: exact (IndexFlatIP behind an IndexIDMap2), or an inverted file when large."""

    def __init__(self, dim: int, index: Any = None, read_only: bool = False) -> None:
        import faiss

        self.dim = dim
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.read_only = read_only

    @property
    def is_ivf(self) -> bool:
        """Whether this is an inverted-file (approximate) index."""
        import faiss

        return isinstance(faiss.downcast_index(self._index), faiss.IndexIVF)

    def sized(self) -> FaissIndex:
        """This index, or an IVF copy of it once it holds ``IVF_MIN_VECTORS`` vectors or more."""
        if self.is_ivf or len(self) < IVF_MIN_VECTORS:
            return self
        ids, vectors = self.contents()
        ivf = trained_ivf(self.dim, len(ids), lambda rows: vectors[rows])
        ivf.add_with_ids(vectors, ids)
        return FaissIndex(self.dim, ivf)

    @classmethod
    def load(cls, path: Path, mmap: bool = False) -> FaissIndex:
        """Read an index written by :meth:`save`; ``mmap`` maps its vectors instead of reading them (read-only:
        pages are read as searches reach them, and shared by every process serving the same file)."""
        import faiss

        try:
            flags = 0
            if mmap:  # an inverted file maps its lists, a flat index its vectors (FAISS has a flag for each)
                with open(path, "rb") as fh:
                    flags = faiss.IO_FLAG_MMAP if fh.read(3) == b"IwF" else faiss.IO_FLAG_MMAP_IFC
            index = faiss.read_index(str(path), flags)
        except RuntimeError as exc:
            raise IndexStoreError(f"cannot read vector index {path}: {exc}") from exc
        return cls(index.d, index, read_only=mmap)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def _writable(self) -> None:
        if self.read_only:
            raise IndexStoreError("a memory-mapped vector index is read-only")

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under the given ids."""
        self._writable()
        self._index.add_with_ids(_check(vectors, self.dim), np.asarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> None:
        """Remove the given ids (unknown ids are ignored)."""
        self._writable()
        # The SWIG wrapper takes an int64 array and builds the IDSelector; the stubs only know the latter.
        self._index.remove_ids(np.asarray(ids, dtype=np.int64))  # type: ignore[arg-type]

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest ids with their inner products, best first."""
        if len(self) == 0:
            return []
        scores, ids = self._index.search(_check(query.reshape(1, -1), self.dim), min(k, len(self)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]

    def contents(self) -> tuple[np.ndarray, np.ndarray]:
        """Every id and its vector, in the order they were added."""
        import faiss

        index = faiss.downcast_index(self._index)
        if isinstance(index, faiss.IndexIVF):
            lists = index.invlists
            assert lists is not None
            parts = [(faiss.rev_swig_ptr(lists.get_ids(n), size).copy(),
                      faiss.rev_swig_ptr(lists.get_codes(n), size * self.dim * 4).copy())
                     for n in range(index.nlist) if (size := lists.list_size(n))]
            ids = np.concatenate([i for i, _ in parts]) if parts else np.zeros(0, np.int64)
            codes = np.concatenate([c for _, c in parts]) if parts else np.zeros(0, np.uint8)
            return ids.astype(np.int64), codes.view(np.float32).reshape(len(ids), self.dim)
        ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        codes = faiss.vector_to_array(faiss.downcast_index(self._index.index).codes)  # type: ignore[attr-defined]
        return ids, codes.view(np.float32).reshape(len(ids), self.dim).copy()

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
