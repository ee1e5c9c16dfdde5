"""The vectors of a full build, written to a file as they come instead of held in memory until the end.

A million chunks are about six million passages, 6 GB of vectors at 256 dimensions: held in a flat index, then
copied into an inverted file, they took three times that. Spilled, they are read back once, a block at a time,
into the index that is saved (flat or inverted file, exactly as :meth:`qa.vectors.FaissIndex.sized` makes it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from qa import vectors as sizes
from qa.vectors import FaissIndex, _check, trained_ivf

# Vectors read back at a time; a multiple of FAISS's own add and search batches, so that an inverted file
# assigns every vector exactly as one call with all of them would.
BLOCK = 65536


class SpilledVectors:
    """A write-mostly vector index for a build: ids in memory, vectors appended to ``path``."""

    def __init__(self, dim: int, path: Path) -> None:
        self.dim, self.path = dim, path
        self._ids: list[np.ndarray] = []
        self._dead: set[int] = set()
        self._file = open(path, "wb")  # noqa: SIM115 - appended to until save() or discard()

    def __len__(self) -> int:
        ids = self._all_ids()
        return int(len(ids) - np.isin(ids, np.fromiter(self._dead, np.int64, len(self._dead))).sum())

    def _all_ids(self) -> np.ndarray:
        return np.concatenate(self._ids) if self._ids else np.zeros(0, np.int64)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Append vectors under the given ids."""
        vectors = _check(vectors, self.dim)
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids but {len(vectors)} vectors")
        self._file.write(vectors.tobytes())
        self._ids.append(ids)

    def remove(self, ids: np.ndarray) -> None:
        """Leave out the given ids when the index is written."""
        self._dead.update(int(i) for i in np.asarray(ids, dtype=np.int64))

    def blocks(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids, vectors) of the live vectors in the order they were added, ``BLOCK`` at a time or fewer."""
        self._file.flush()
        ids = self._all_ids()
        live = ~np.isin(ids, np.fromiter(self._dead, np.int64, len(self._dead)))
        with open(self.path, "rb") as fh:
            for start in range(0, len(ids), BLOCK):
                vectors = np.fromfile(fh, dtype=np.float32, count=min(BLOCK, len(ids) - start) * self.dim)
                keep = live[start : start + BLOCK]
                yield ids[start : start + BLOCK][keep], vectors.reshape(-1, self.dim)[keep]

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest ids by inner product, best first (an exact scan of the file)."""
        best: list[tuple[int, float]] = []
        for ids, vectors in self.blocks():
            part = FaissIndex(self.dim)
            part.add(ids, vectors)
            best = sorted([*best, *part.search(query, k)], key=lambda hit: -hit[1])[:k]
        return best

    def sized(self) -> FaissIndex:
        """The index to save: flat below ``IVF_MIN_VECTORS`` vectors, else an inverted file."""
        n = len(self)
        if n < sizes.IVF_MIN_VECTORS:  # read when called: tests lower it
            flat = FaissIndex(self.dim)
            for ids, vectors in self.blocks():
                flat.add(ids, vectors)
            return flat

        def sample(rows: np.ndarray) -> np.ndarray:  # the training rows, read in one pass over the file
            picked, seen = [], 0
            for _, vectors in self.blocks():
                inside = rows[(rows >= seen) & (rows < seen + len(vectors))]
                picked.append(vectors[inside - seen])
                seen += len(vectors)
            return np.concatenate(picked)

        ivf = trained_ivf(self.dim, n, sample)
        for ids, vectors in self.blocks():
            ivf.add_with_ids(vectors, ids)
        return FaissIndex(self.dim, ivf)

    def save(self, path: Path) -> None:
        """Write the sized index to ``path`` and drop the spill file."""
        self.sized().save(path)
        self.discard()

    def discard(self) -> None:
        """Close and delete the spill file."""
        self._file.close()
        self.path.unlink(missing_ok=True)
