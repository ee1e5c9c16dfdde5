"""Hybrid retrieval: dense (e5 through FAISS) and lexical (jieba BM25) candidates, fused into one ranking."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from qa.config import Settings
from qa.errors import QueryError
from qa.index import VIEW_SLOTS, Snapshot
from qa.lexical import pinned_vocabulary, query_weights
from qa.query import prepare_query
from qa.types import Hit
from qa.warmup import ModelLoadingError


@dataclass(frozen=True)
class Fusion:
    """How the two rankings are combined."""

    method: str = "score"  # "score": weighted, normalized scores; "rrf": reciprocal rank fusion
    dense_weight: float = 0.4
    rrf_k: int = 10
    candidates: int = 50

    @classmethod
    def from_settings(cls, settings: Settings) -> Fusion:
        """The fusion the settings ask for."""
        return cls(settings.fusion, settings.dense_weight, settings.rrf_k, settings.candidates)


def check_k(k: int, max_k: int) -> int:
    """Validate a requested result count."""
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise QueryError("k must be a positive integer")
    if k > max_k:
        raise QueryError(f"k must be at most {max_k}")
    return k


def fuse(dense: Sequence[tuple[int, float]], lexical: Sequence[tuple[int, float]], fusion: Fusion) -> list[
        tuple[int, float]]:
    """Combine two best-first (row, score) lists into one best-first list of (row, fused score)."""
    scores: dict[int, float] = {}
    if fusion.method == "rrf":
        for ranking, weight in ((dense, fusion.dense_weight), (lexical, 1 - fusion.dense_weight)):
            for rank, (row, _) in enumerate(ranking):
                scores[row] = scores.get(row, 0.0) + 2 * weight / (fusion.rrf_k + rank + 1)
    else:
        for ranking, weight in ((dense, fusion.dense_weight), (lexical, 1 - fusion.dense_weight)):
            if not ranking:
                continue
            top = ranking[0][1]
            floor = ranking[-1][1] if ranking is dense and len(ranking) > 1 else 0.0
            span = (top - floor) or 1.0
            for row, score in ranking:
                scores[row] = scores.get(row, 0.0) + weight * max(0.0, (score - floor) / span)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def search(
    snapshot: Snapshot,
    question: str,
    k: int = 5,
    fusion: Fusion | None = None,
    mode: str = "hybrid",
    prepared: bool = False,
) -> list[Hit]:
    """The ``k`` best chunks for ``question``; ``mode`` is hybrid, dense or lexical.

    ``prepared`` says the text already went through :func:`prepare_query` (the answer layer does that
    once per question); folding it again would, for an English question, add its glossary terms twice.
    """
    with pinned_vocabulary(snapshot.vocabulary):  # the question is cut as the snapshot's chunks were
        return _search(snapshot, question, k, fusion or Fusion(), mode, prepared)


def _search(snapshot: Snapshot, question: str, k: int, fusion: Fusion, mode: str, prepared: bool) -> list[Hit]:
    # Callers validate the user's question; what arrives here may be a longer rewritten follow-up.
    text = question if prepared else prepare_query(question, snapshot, max_chars=100_000).text
    n = max(fusion.candidates, k)
    dense: list[tuple[int, float]] = []
    lexical: list[tuple[int, float]] = []
    views: dict[int, int] = {}
    vector = None
    if mode in ("hybrid", "dense"):
        try:
            vector = snapshot.embedder.encode_queries([text])[0]
        except ModelLoadingError:  # a server that has just started: keywords alone until the model is up
            if mode == "dense":
                raise
    if vector is not None:
        for vid, score in snapshot.vectors.search(vector, n * 8):
            row = vid // VIEW_SLOTS
            if row not in views:  # results are best first: the first view of a row is its best
                views[row] = vid % VIEW_SLOTS
                dense.append((row, score))
        dense = dense[:n]
    if mode in ("hybrid", "lexical"):
        lexical = snapshot.lexical.search(query_weights(text), n)
    if mode == "dense":
        ranked = dense
    elif mode == "lexical":
        ranked = lexical
    else:
        ranked = fuse(dense, lexical, fusion)
    ranked = ranked[:k]
    chunks = snapshot.store.chunks_by_rows([row for row, _ in ranked])
    dense_by_row, lexical_by_row = dict(dense), dict(lexical)
    return [
        Hit(chunk=chunks[row], score=score, dense=dense_by_row.get(row), lexical=lexical_by_row.get(row), rank=i + 1,
            view=views.get(row, 0))
        for i, (row, score) in enumerate(ranked)
        if row in chunks
    ]
