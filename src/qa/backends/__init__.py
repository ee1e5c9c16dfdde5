"""Where an index version keeps its vectors and its BM25 index: one backend, picked from the settings.

The builder (:mod:`qa.index`) and the retriever only see the :class:`~qa.vectors.VectorIndex` and
:class:`~qa.lexical.LexicalIndex` protocols; a backend makes, saves, loads and drops them for an index version:

- ``faiss`` (default, :mod:`qa.backends.local`): per segment (:mod:`qa.segments`), a FAISS file and BM25 postings
  files in its folder, memory-mapped; an upload writes a small segment of its own;
- ``milvus`` (:mod:`qa.backends.milvus`): two Milvus collections per version (views and chunks), Milvus Lite in a
  local folder or a Milvus server or cluster (``QA_MILVUS_URI``); a version is always one segment, and an upload
  or deletion makes a new full version (its collections copied from the current one's); see ``docs/scaling.md``.

``meta.json`` records which backend wrote a version (:meth:`IndexBackend.describe`); a version written by another
backend, or by Milvus with another analyzer, is rebuilt rather than served.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from qa.errors import IndexStoreError

if TYPE_CHECKING:
    from qa.config import Settings
    from qa.lexical import LexicalIndex
    from qa.store import Store
    from qa.vectors import VectorIndex

BUILD_PREFIX = ".build-"  # a version being built lives in index/.build-<version> (see qa.index)


class IndexBackend(Protocol):
    """Makes, saves, loads and drops the vector and lexical indexes of index versions."""

    name: str
    vector_file: str  # the file in a version folder that holds (or names) its vectors; sealed in meta.json

    def describe(self) -> dict[str, Any]: ...
    def vectors_for_build(self, dim: int, base: Path | None, work: Path) -> VectorIndex: ...
    def save(self, work: Path, vectors: VectorIndex, store: Store) -> None: ...
    def load_vectors(self, version: Path) -> VectorIndex: ...
    def load_lexical(self, version: Path, store: Store) -> LexicalIndex: ...
    def discard(self, version: str) -> None: ...
    def cleanup(self, keep: Iterable[str]) -> None: ...


def version_name(folder: Path) -> str:
    """The version a folder holds, whether it is still being built (``.build-v-…``) or finished (``v-…``)."""
    return folder.name.removeprefix(BUILD_PREFIX)


def get_backend(settings: Settings) -> IndexBackend:
    """The backend the settings ask for (``QA_BACKEND``)."""
    if settings.backend == "milvus":
        from qa.backends.milvus import MilvusBackend

        return MilvusBackend.from_settings(settings)
    from qa.backends.local import LocalBackend

    return LocalBackend()


def check_backend(meta: dict[str, Any], backend: IndexBackend) -> None:
    """Refuse a version written by another backend (a version from before backends were recorded is FAISS's)."""
    built = meta.get("backend", {"name": "faiss"})
    wanted = backend.describe()
    if built != wanted:
        raise IndexStoreError(f"index was built for the backend {_say(built)}, but the settings ask for "
                              f"{_say(wanted)}; run `qa build`")


def _say(described: Any) -> str:
    if not isinstance(described, dict):
        return repr(described)
    return " ".join(f"{key}={value}" for key, value in described.items())
