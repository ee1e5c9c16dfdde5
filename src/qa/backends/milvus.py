"""The Milvus backend: dense vectors and BM25 in Milvus collections, one pair of collections per index version.

An index version ``v-…`` owns two collections, named from the version and ``QA_MILVUS_PREFIX``:

- ``<prefix>_v_…_views``: one entity per chunk view (id = chunk row * 256 + view), an HNSW (or IVF_FLAT, FLAT)
  inner-product index over the e5 vectors;
- ``<prefix>_v_…_chunks``: one entity per chunk (id = chunk row), its BM25 terms in a VARCHAR field turned into a
  sparse vector by Milvus's BM25 function.

A build writes a new version's collections while the current version's keep serving, and names them in the
version folder's ``vectors.milvus.json`` (sealed in meta.json like the FAISS file). The version becomes current
when the ``current`` link is swapped, so the swap stays one atomic rename; a build that fails drops its
collections, and every build drops the collections of versions whose folders it removes (and of builds that
were killed). See ``docs/scaling.md``.

BM25 terms are, by default (``QA_MILVUS_ANALYZER=tokens``), this index's own jieba tokens (district dictionary,
discovered words, stopwords), each written as a short hash so that any analyzer keeps it whole; ``jieba`` gives
Milvus the chunk text and its own jieba analyzer instead. The query's term weights (an expansion weighs less than
a word of the question) are passed as repetitions, in steps of 1/360. Document frequencies for the answer layer's
term weights (:meth:`MilvusLexicalIndex.idf`) are counted in process from the stored tokens.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.backends import version_name
from qa.backends.milvus_collections import (
    INSTALL_HINT,
    MilvusLexicalIndex,
    MilvusVectorIndex,
    connect,
    in_batches,
    milvus_call,
)
from qa.errors import ConfigError, IndexStoreError
from qa.integrity import MILVUS_MARKER

if TYPE_CHECKING:
    from qa.config import Settings
    from qa.store import Store
    from qa.vectors import VectorIndex

__all__ = ["INSTALL_HINT", "MARKER", "MilvusBackend", "MilvusLexicalIndex", "MilvusVectorIndex", "connect"]

log = logging.getLogger(__name__)
MARKER = MILVUS_MARKER


def _view_ids(version: Path) -> list[int]:
    """The vector ids of every chunk view of a version, from its store."""
    from qa.index import VIEW_SLOTS
    from qa.store import connect as open_store

    conn = open_store(version / "store.sqlite", readonly=True)
    try:
        return [row * VIEW_SLOTS + j for row, views in conn.execute("SELECT row, views FROM chunks")
                for j in range(views)]
    finally:
        conn.close()


class MilvusBackend:
    """Index versions as pairs of Milvus collections, on Milvus Lite or a Milvus server or cluster."""

    name = "milvus"
    vector_file = MARKER

    def __init__(self, uri: str, token: str | None = None, prefix: str = "qa", analyzer: str = "tokens",
                 index_type: str = "HNSW") -> None:
        self.uri, self.token, self.prefix, self.analyzer, self.index_type = uri, token, prefix, analyzer, index_type

    @classmethod
    def from_settings(cls, settings: Settings) -> MilvusBackend:
        """The backend for ``QA_MILVUS_*`` settings."""
        return cls(settings.milvus_address(), settings.milvus_token, settings.milvus_prefix,
                   settings.milvus_analyzer, settings.milvus_index)

    @cached_property
    def client(self) -> Any:
        """The process's client for this URI."""
        return connect(self.uri, self.token)

    def describe(self) -> dict[str, Any]:
        """What meta.json records about this backend (a version built otherwise is rebuilt)."""
        return {"name": self.name, "analyzer": self.analyzer}

    def collection(self, version: str, kind: str) -> str:
        """The name of a version's ``views`` or ``chunks`` collection."""
        return f"{self.prefix}_{version.replace('-', '_')}_{kind}"

    def vectors_for_build(self, dim: int, base: Path | None, work: Path) -> VectorIndex:
        """A new collection for the version being built, holding the base version's vectors when there is one."""
        version = version_name(work)
        self._drop(version)  # left by a killed build of the same name
        vectors = MilvusVectorIndex(self.client, self.collection(version, "views"), dim, self.index_type)
        if base is not None:
            vectors.copy_from(self._vectors(base), _view_ids(base))
        return vectors

    def save(self, work: Path, vectors: VectorIndex, store: Store) -> None:
        """Write the version's BM25 collection from the store, flush both and name them in the version folder."""
        if not isinstance(vectors, MilvusVectorIndex):
            raise TypeError(f"the Milvus backend saves Milvus vectors, not {type(vectors).__name__}")
        lexical = MilvusLexicalIndex(self.client, self.collection(version_name(work), "chunks"), self.analyzer)
        chunks = store.all_chunks()
        for batch in in_batches(chunks):
            lexical.add([row for row, _, _ in batch], [toks for _, _, toks in batch],
                        [chunk.clean for _, chunk, _ in batch])
        lexical.flush()
        vectors.flush()
        marker = {"views": vectors.collection, "chunks": lexical.collection, "dim": vectors.dim,
                  "vectors": len(vectors), "rows": len(chunks)}
        (work / MARKER).write_text(json.dumps(marker), encoding="utf-8")

    def _marker(self, version: Path) -> dict[str, Any]:
        try:
            marker = json.loads((version / MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexStoreError(f"{MARKER} cannot be read ({exc})") from exc
        if not isinstance(marker, dict) or not {"views", "chunks"} <= marker.keys():
            raise IndexStoreError(f"{MARKER} does not name the version's collections")
        return marker

    def _vectors(self, version: Path) -> MilvusVectorIndex:
        return MilvusVectorIndex.load(self.client, version / MARKER, self.index_type)

    def load_vectors(self, version: Path) -> VectorIndex:
        """The version's views collection."""
        return self._vectors(version)

    def load_lexical(self, version: Path, store: Store) -> MilvusLexicalIndex:
        """The version's chunks collection, with document frequencies from the stored tokens."""
        rows = store.all_chunks()
        return MilvusLexicalIndex.open(self.client, self._marker(version)["chunks"], self.analyzer,
                                       [row for row, _, _ in rows], [toks for _, _, toks in rows])

    def _drop(self, version: str) -> None:
        for kind in ("views", "chunks"):
            name = self.collection(version, kind)
            if milvus_call(f"look up {name}", partial(self.client.has_collection, name)):
                milvus_call(f"drop {name}", partial(self.client.drop_collection, name))

    def discard(self, version: str) -> None:
        """Drop a version's collections (a failed build's); when Milvus cannot, the next build's cleanup will."""
        try:
            self._drop(version)
        except (IndexStoreError, ConfigError) as exc:  # never hide the error that made the build fail
            log.warning("collections of %s left for the next build to drop: %s", version, exc)

    def cleanup(self, keep: Iterable[str]) -> None:
        """Drop this index folder's collections of every version but ``keep`` (left by removed or killed builds)."""
        kept = {self.collection(version, kind) for version in keep for kind in ("views", "chunks")}
        mine = f"{self.prefix}_v_"
        for name in milvus_call("list collections", self.client.list_collections):
            if name.startswith(mine) and name.endswith(("_views", "_chunks")) and name not in kept:
                milvus_call(f"drop {name}", partial(self.client.drop_collection, name))
