"""Serving before the embedding model has loaded: questions are searched by keywords alone until it has.

Importing torch and loading the e5 model takes most of a server's start (about 8 s on two cores, more when
they are busy), while the index itself loads in a second or two. After a crash that is the difference between
answering at once and an outage, so the server loads the model in the background and retrieval uses BM25
alone meanwhile (on its own it finds about as many gold passages as hybrid search on the question sets).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

import numpy as np

from qa.embed import Embedder
from qa.errors import ModelError

log = logging.getLogger(__name__)


class ModelLoadingError(ModelError):
    """The embedding model has not finished loading yet."""


class WarmingEmbedder:
    """Wraps an embedder whose model loads in a background thread; its name and width are known already."""

    def __init__(self, inner: Embedder, dim: int, on_loaded: Callable[[str | None], None] | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self._dim = dim
        self._on_loaded = on_loaded
        self._loaded = threading.Event()
        self.error: str | None = None
        threading.Thread(target=self._load, name="qa-model-load", daemon=True).start()

    @property
    def dim(self) -> int:
        """The width the index was built with (checked against the model once it has loaded)."""
        return self._dim

    @property
    def loaded(self) -> bool:
        """Whether queries are embedded (else they raise ModelLoadingError)."""
        return self._loaded.is_set() and self.error is None

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries, or raise ModelLoadingError while the model is still loading."""
        if not self.loaded:
            raise ModelLoadingError(self.error or "the embedding model is still loading")
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages, waiting for the model (builds run on the writer thread and may wait)."""
        self._loaded.wait()
        if self.error:
            raise ModelError(self.error)
        return self.inner.encode_passages(texts)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the model has loaded (or failed to); True when it loaded."""
        self._loaded.wait(timeout)
        return self.loaded

    def _load(self) -> None:
        try:
            width = self.inner.dim  # loads the model
            if width != self._dim:
                raise ModelError(f"the model gives vectors of width {width}, the index holds {self._dim}")
            self.inner.encode_queries(["九龙坡"])  # the first call compiles kernels: not on a resident's time
        except Exception as exc:
            self.error = f"the embedding model could not be loaded ({exc}); answers use keyword search alone"
            log.exception("could not load the embedding model")
        self._loaded.set()
        if self._on_loaded is not None:
            self._on_loaded(self.error)
