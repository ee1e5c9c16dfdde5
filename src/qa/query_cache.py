"""Query vectors remembered by text: a repeated question (the same typo'd 跳凳河, a popular follow-up) is not
run through the model again. Passages are never cached here (the build has its own on-disk cache)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from qa.embed import Embedder

DEFAULT_SIZE = 4096  # 384 floats a vector: about 6 MB at the default model's width


class CachedQueryEmbedder:
    """An embedder whose query vectors are kept in a least-recently-used cache of ``size`` texts."""

    def __init__(self, embedder: Embedder, size: int = DEFAULT_SIZE) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self.inner = embedder
        self.size = size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @property
    def name(self) -> str:
        """The wrapped model's name (an index built through the cache fits the model itself)."""
        return self.inner.name

    @property
    def dim(self) -> int:
        """The wrapped model's width."""
        return self.inner.dim

    def __getattr__(self, name: str) -> Any:
        """Anything else is the wrapped model's (``loaded`` and ``wait`` of one loading in the background)."""
        if name == "inner":  # not set yet (copying, unpickling): no recursion through self.inner
            raise AttributeError(name)
        return getattr(self.inner, name)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors, from the cache where the text was seen recently, else from the model."""
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for text in texts:
                vector = self._cache.get(text)
                if vector is not None:
                    self._cache.move_to_end(text)
                    found[text] = vector
            self.hits += len(found)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = self.inner.encode_queries(missing)
            with self._lock:
                self.misses += len(missing)
                for text, vector in zip(missing, fresh, strict=True):
                    vector = vector.copy()
                    vector.flags.writeable = False  # shared between requests: nobody may change it
                    found[text] = self._cache[text] = vector
                    self._cache.move_to_end(text)
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.vstack([found[t] for t in texts]).astype(np.float32, copy=False)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Passage vectors, straight from the model."""
        return self.inner.encode_passages(texts)
