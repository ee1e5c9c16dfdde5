"""Okapi BM25 over numpy arrays: the same scores as :class:`qa.lexical.BM25Index`, computed per term in bulk.

Postings are kept term by term in two flat arrays (compressed sparse columns: the chunk rows and the term
counts, with an offset per term), so a question costs a few vectorized passes over its terms' postings and one
partial sort, instead of a Python loop over every posting and a sort of every matching chunk. Each score is
computed with the very operations, in the very order, of the pure-Python index (which stays as the reference
the contract tests compare against), so both give the same floats and the same ranking.

Adds and removals are collected and folded into the arrays on the next search (a few array passes; the index
of a loaded snapshot never changes after loading).
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

TERMS_FILE = "bm25-terms.json"


class SparseBM25Index:
    """BM25 with flat numpy postings; same interface and scores as ``BM25Index``."""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self._term_ids: dict[str, int] = {}
        self._lengths = np.zeros(0, dtype=np.int64)  # by row; -1 where no row
        self._count = 0
        self._total = 0
        # Folded postings: entries of term t are offsets[t]:offsets[t + 1] of rows and counts.
        self._offsets = np.zeros(1, dtype=np.int64)
        self._rows = np.zeros(0, dtype=np.int64)
        self._counts = np.zeros(0, dtype=np.int32)
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (terms, rows, counts) to fold in
        self._removed: set[int] = set()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._count

    def add(self, rows: Sequence[int], tokens: Sequence[list[str]]) -> None:
        """Index each row's tokens (a row already present is replaced)."""
        rows, tokens = list(rows), list(tokens)
        if len(rows) != len(tokens):
            raise ValueError(f"{len(rows)} rows but {len(tokens)} token lists")
        if not rows:
            return
        with self._lock:
            present = [r for r in rows if self._has(r)]
            if present:
                self._remove(present)
            if max(rows) >= len(self._lengths):
                grown = np.full(max(max(rows) + 1, 2 * len(self._lengths)), -1, dtype=np.int64)
                grown[: len(self._lengths)] = self._lengths
                self._lengths = grown
            terms: list[int] = []
            owners: list[int] = []
            counts: list[int] = []
            for row, toks in zip(rows, tokens, strict=True):
                for term, tf in Counter(toks).items():
                    terms.append(self._term_ids.setdefault(term, len(self._term_ids)))
                    owners.append(row)
                    counts.append(tf)
                self._lengths[row] = len(toks)
                self._total += len(toks)
            self._count += len(rows)
            self._pending.append((np.asarray(terms, np.int64), np.asarray(owners, np.int64),
                                  np.asarray(counts, np.int32)))

    def reserve(self, rows: int) -> None:
        """Make room for row ids below ``rows`` at once (adding in parts then grows nothing)."""
        with self._lock:
            if rows > len(self._lengths):
                grown = np.full(rows, -1, dtype=np.int64)
                grown[: len(self._lengths)] = self._lengths
                self._lengths = grown

    def remove(self, rows: Iterable[int]) -> None:
        """Forget the given rows (rows not in the index are ignored)."""
        with self._lock:
            self._remove([r for r in rows if self._has(r)])

    def _has(self, row: int) -> bool:
        return 0 <= row < len(self._lengths) and self._lengths[row] >= 0

    def _remove(self, rows: list[int]) -> None:
        if not rows:
            return
        self._fold()  # so that pending entries never belong to a removed row: removals apply to folded ones
        for row in dict.fromkeys(rows):
            self._total -= int(self._lengths[row])
            self._lengths[row] = -1
            self._count -= 1
            self._removed.add(row)

    def _fold(self) -> None:
        """Merge pending adds and removals into the term-ordered arrays."""
        if not self._pending and not self._removed:
            return
        n_terms = len(self._term_ids)
        have = np.repeat(np.arange(len(self._offsets) - 1, dtype=np.int64), np.diff(self._offsets))
        terms = np.concatenate([have, *(t for t, _, _ in self._pending)])
        rows = np.concatenate([self._rows, *(r for _, r, _ in self._pending)])
        counts = np.concatenate([self._counts, *(c for _, _, c in self._pending)])
        if self._removed:
            # Only folded entries can be stale (a removal folds first); a removed row added again is pending.
            keep = np.ones(len(rows), dtype=bool)
            keep[: len(self._rows)] = ~np.isin(self._rows, np.fromiter(self._removed, np.int64))
            terms, rows, counts = terms[keep], rows[keep], counts[keep]
        order = np.argsort(terms, kind="stable")
        self._rows, self._counts = rows[order], counts[order]
        self._offsets = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(np.bincount(terms, minlength=n_terms), out=self._offsets[1:])
        self._pending, self._removed = [], set()

    def save(self, folder: Path) -> None:
        """Write the postings as arrays (``bm25-*.npy``) and the terms (``bm25-terms.json``) into ``folder``."""
        with self._lock:
            self._fold()
            for name, array in (("offsets", self._offsets), ("rows", self._rows), ("counts", self._counts),
                                ("lengths", self._lengths)):
                np.save(folder / f"bm25-{name}.npy", array)
            terms = sorted(self._term_ids, key=self._term_ids.__getitem__)
        (folder / TERMS_FILE).write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> SparseBM25Index:
        """Postings written by :meth:`save`, memory-mapped: pages are read as questions reach their terms."""
        index = cls()
        terms = json.loads((folder / TERMS_FILE).read_text(encoding="utf-8"))
        index._term_ids = {term: n for n, term in enumerate(terms)}
        arrays = {name: np.load(folder / f"bm25-{name}.npy", mmap_mode="r")
                  for name in ("offsets", "rows", "counts", "lengths")}
        if len(arrays["offsets"]) != len(terms) + 1:
            raise ValueError(f"{len(terms)} terms but {len(arrays['offsets']) - 1} postings")
        index._offsets, index._rows, index._counts = arrays["offsets"], arrays["rows"], arrays["counts"]
        index._lengths = np.array(arrays["lengths"])  # small, and grown in place by add
        live = index._lengths[index._lengths >= 0]
        index._count, index._total = len(live), int(live.sum())
        return index

    def _posting(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        tid = self._term_ids.get(term)
        if tid is None:
            return self._rows[:0], self._counts[:0]
        start, end = self._offsets[tid], self._offsets[tid + 1]
        return self._rows[start:end], self._counts[start:end]

    def document_frequency(self, term: str) -> int:
        """How many rows hold ``term``."""
        with self._lock:
            self._fold()
            return len(self._posting(term)[0])

    def document_frequencies(self) -> Iterator[tuple[str, int]]:
        """Every indexed term with the number of rows holding it."""
        with self._lock:
            self._fold()
            df = np.diff(self._offsets)
            items = [(term, int(df[tid])) for term, tid in self._term_ids.items() if df[tid] > 0]
        return iter(items)

    def idf(self, term: str) -> float:
        """BM25 idf (the +1 form, never negative)."""
        df = self.document_frequency(term)
        return math.log(1 + (self._count - df + 0.5) / (df + 0.5))

    def search(self, tokens: Sequence[str] | Mapping[str, float], k: int) -> list[tuple[int, float]]:
        """Top ``k`` rows by BM25 score, best first (ties by row); ``tokens`` may carry a weight each."""
        with self._lock:
            self._fold()
            scores, touched = score(tokens, self._count, self._total, self._lengths, (self.k1, self.b),
                                    lambda term: [self._posting(term)])
        return top_k(scores, touched, k) if self._count and k > 0 else []


Postings = list[tuple[np.ndarray, np.ndarray]]


def score(tokens: Sequence[str] | Mapping[str, float], count: int, total: int, lengths: np.ndarray,
          params: tuple[float, float], postings: Callable[[str], Postings],
          dead: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """BM25 scores of every row (and which rows any term touched) over ``count`` live rows of ``total`` tokens.

    ``postings(term)`` gives the (rows, counts) arrays holding a term, one pair per part of the index; rows
    marked in ``dead`` count for nothing and are never touched.
    """
    scores = np.zeros(len(lengths), dtype=np.float64)
    touched = np.zeros(len(lengths), dtype=bool)
    if not count:
        return scores, touched
    n, avg = count, total / count or 1.0
    k1, b = params
    weighted = tokens if isinstance(tokens, Mapping) else Counter(tokens)
    for term, qtf in weighted.items():
        parts = [(rows, counts) for rows, counts in postings(term) if len(rows)]
        df = sum(len(rows) - (int(dead[rows].sum()) if dead is not None else 0) for rows, _ in parts)
        if not df:
            continue
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        for rows, counts in parts:  # a row is in one part: each gets one addition per term
            add_term(scores, touched, rows, counts, lengths, qtf * idf, (k1, b, avg))
    if dead is not None:
        touched &= ~dead
    return scores, touched


def add_term(scores: np.ndarray, touched: np.ndarray, rows: np.ndarray, counts: np.ndarray, lengths: np.ndarray,
             weight: float, params: tuple[float, float, float]) -> None:
    """Add one query term's BM25 contribution (``weight`` = its query weight times its idf) to ``scores``."""
    k1, b, avg = params
    tf = counts.astype(np.float64)
    # Same operations in the same order as BM25Index.search, so the floats are identical.
    norm = tf + k1 * (1 - b + b * lengths[rows] / avg)
    scores[rows] += weight * tf * (k1 + 1) / norm
    touched[rows] = True


def top_k(scores: np.ndarray, touched: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ``k`` best touched rows by score, best first (ties by row)."""
    hits = np.flatnonzero(touched)
    if len(hits) > k:
        # Everything scoring at least the k-th best, so that ties at the cut are ordered by row below.
        kth = np.partition(scores[hits], len(hits) - k)[len(hits) - k]
        hits = hits[scores[hits] >= kth]
    order = np.lexsort((hits, -scores[hits]))[:k]
    return [(int(row), float(scores[row])) for row in hits[order]]
