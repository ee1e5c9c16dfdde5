"""Reprints: a document whose text nearly repeats one before it in the corpus is recorded as its reprint.

The same report is often published on several sites, or as both a web page and a PDF. Texts are compared
by their 5-character shingles (Chinese characters, letters and digits only, so layout, punctuation and
width do not matter), through 128-value MinHash signatures: two documents whose estimated Jaccard
similarity is at least 0.8 are the same text. The first in corpus order (manifest order, then file name;
an upload is appended, so the one indexed first) is the original; every later copy is recorded as a reprint
of it, kept as a document but not indexed, so it is never cited and its figures never counted twice.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from qa.types import Document

SHINGLE = 5
PERMUTATIONS = 128
BANDS = 32  # locality-sensitive hashing: 32 bands of 4 values find pairs above ~0.5 similarity
THRESHOLD = 0.8
_KEEP = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbfA-Za-z0-9]+")
_RNG = np.random.default_rng(20240701)
_A = _RNG.integers(1, 2**63, PERMUTATIONS, dtype=np.uint64) | np.uint64(1)
_B = _RNG.integers(0, 2**63, PERMUTATIONS, dtype=np.uint64)
_BASE = np.uint64(1000003)
_BLOCK = 32768  # shingles hashed at a time: 128 × 32768 × 8 bytes = 32 MB


def comparable(text: str) -> str:
    """The text with only its words: Chinese characters, letters and digits, widths folded."""
    return "".join(_KEEP.findall(unicodedata.normalize("NFKC", text)))


def signature(text: str) -> np.ndarray:
    """MinHash signature (``PERMUTATIONS`` uint32 values) of the text's shingles."""
    codes = np.frombuffer(comparable(text).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(codes) < SHINGLE:
        codes = np.pad(codes, (0, SHINGLE - len(codes)))
    shingles = np.zeros(len(codes) - SHINGLE + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(SHINGLE):  # polynomial hash of each window, wrapping modulo 2**64
            shingles = shingles * _BASE + codes[k : len(codes) - SHINGLE + 1 + k]
        shingles = np.unique(shingles)
        lowest = np.full(PERMUTATIONS, np.iinfo(np.uint64).max, dtype=np.uint64)
        for i in range(0, len(shingles), _BLOCK):  # in blocks: a 500-page report has a million shingles
            block = shingles[i : i + _BLOCK]
            mixed = (_A[:, None] * block[None, :] + _B[:, None]) >> np.uint64(32)
            lowest = np.minimum(lowest, mixed.min(axis=1))
    return lowest.astype(np.uint32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.mean(a == b))


def mark_reprints(docs: Sequence[Document], signatures: Sequence[np.ndarray] | None = None) -> list[Document]:
    """``docs`` in order, each later near-duplicate given ``duplicate_of`` = the first document of its text.

    ``signatures`` may give the documents' signatures, already computed.
    """
    signatures = [signature(d.text) for d in docs] if signatures is None else signatures
    rows = PERMUTATIONS // BANDS
    buckets: dict[tuple[int, bytes], list[int]] = {}
    original: dict[int, int] = {}
    for i, sig in enumerate(signatures):
        candidates: set[int] = set()
        for band in range(BANDS):
            key = (band, sig[band * rows : (band + 1) * rows].tobytes())
            candidates.update(buckets.setdefault(key, []))
        best = max((j for j in candidates if j not in original),
                   key=lambda j: similarity(sig, signatures[j]), default=None)
        if best is not None and similarity(sig, signatures[best]) >= THRESHOLD:
            original[i] = best
        for band in range(BANDS):
            buckets[(band, sig[band * rows : (band + 1) * rows].tobytes())].append(i)
    return [replace(d, duplicate_of=docs[original[i]].doc_id) if i in original else replace(d, duplicate_of=None)
            for i, d in enumerate(docs)]


def reprint_of(sig: np.ndarray, originals: Sequence[tuple[str, np.ndarray]]) -> str | None:
    """The document a new, last document of the corpus reprints, given the signatures of the originals before it.

    The same decision :func:`mark_reprints` makes for the corpus's last document, without reading the others.
    """
    if not originals:
        return None
    matrix = np.stack([s for _, s in originals])
    rows = PERMUTATIONS // BANDS
    shares_band = (matrix.reshape(len(originals), BANDS, rows) == sig.reshape(BANDS, rows)).all(axis=2).any(axis=1)
    candidates = np.flatnonzero(shares_band)
    if not len(candidates):
        return None
    scores = (matrix[candidates] == sig).mean(axis=1)
    best = int(np.argmax(scores))
    return originals[int(candidates[best])][0] if float(scores[best]) >= THRESHOLD else None
