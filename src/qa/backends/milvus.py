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

import hashlib
import json
import math
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

from qa.backends import version_name
from qa.errors import ConfigError, IndexStoreError
from qa.vectors import _check

if TYPE_CHECKING:
    from qa.config import Settings
    from qa.store import Store
    from qa.vectors import VectorIndex

INSTALL_HINT = "QA_BACKEND=milvus needs pymilvus and milvus-lite: install them with `pip install 'qa[milvus]'`"
MARKER = "vectors.milvus.json"
QUERY_STEPS = 360  # a query term's weight is sent as round(weight * 360) repetitions of it (360: exact for 1/2 … 1/6, 1/8, 1/9, 1/10)
MAX_LIMIT = 16384  # Milvus's largest topk
BATCH = 1000
T = TypeVar("T")

_clients: dict[tuple[str, str], Any] = {}
_clients_lock = threading.Lock()


def _pymilvus() -> Any:
    try:
        import pymilvus
    except ImportError as exc:
        raise ConfigError(INSTALL_HINT) from exc
    return pymilvus


def connect(uri: str, token: str | None = None) -> Any:
    """A MilvusClient for ``uri``, one per process: a ``.db`` path is Milvus Lite (started in this process)."""
    pymilvus = _pymilvus()
    if uri.endswith(".db"):
        try:
            import milvus_lite  # noqa: F401
        except ImportError as exc:
            raise ConfigError(INSTALL_HINT) from exc
        uri = str(Path(uri).resolve())
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
    key = (uri, token or "")
    with _clients_lock:
        if key not in _clients:
            try:
                _clients[key] = pymilvus.MilvusClient(uri=uri, token=token or "")
            except pymilvus.MilvusException as exc:
                if uri.endswith(".db") and (Path(uri) / "LOCK").exists():
                    raise IndexStoreError(
                        f"cannot open Milvus Lite at {uri}: another process may have it open (Milvus Lite serves "
                        "one process at a time: stop it, or use a Milvus server)") from exc
                raise IndexStoreError(f"cannot connect to Milvus at {uri}: {exc.message}") from exc
        return _clients[key]


def _call(what: str, action: Callable[[], T]) -> T:
    """Run a Milvus call; its errors become IndexStoreError naming what was being done."""
    pymilvus = _pymilvus()
    try:
        return action()
    except pymilvus.MilvusException as exc:
        raise IndexStoreError(f"Milvus failed to {what}: {exc.message}") from exc


def _count(client: Any, collection: str) -> int:
    rows = _call(f"count {collection}", lambda: client.query(collection, filter="", output_fields=["count(*)"]))
    return int(rows[0]["count(*)"])


def _require(client: Any, collection: str) -> None:
    if not _call(f"look up {collection}", lambda: client.has_collection(collection)):
        raise IndexStoreError(f"Milvus has no collection {collection}")


def _load(client: Any, collection: str) -> None:
    """Make an existing collection searchable (a collection written by another process starts released)."""
    _require(client, collection)
    _call(f"load {collection}", partial(client.load_collection, collection))


def _batches(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class MilvusVectorIndex:
    """A VectorIndex in one Milvus collection: int64 ids and unit vectors, inner product."""

    INDEX_PARAMS: ClassVar[dict[str, dict[str, Any]]] = {"HNSW": {"M": 16, "efConstruction": 200},
                                                        "IVF_FLAT": {"nlist": 256}, "FLAT": {}}

    def __init__(self, client: Any, collection: str, dim: int, index_type: str = "HNSW",
                 create: bool = True) -> None:
        self.client, self.collection, self.dim, self.index_type = client, collection, dim, index_type
        if not create:
            _load(client, collection)
            return
        dtype = _pymilvus().DataType
        schema = client.create_schema(auto_id=False)
        schema.add_field("id", dtype.INT64, is_primary=True)
        schema.add_field("vector", dtype.FLOAT_VECTOR, dim=dim)
        params = client.prepare_index_params()
        # Nested under "params", the form both a server and Milvus Lite read (Lite ignores flattened ones).
        params.add_index("vector", index_type=index_type, metric_type="IP",
                         params={"params": self.INDEX_PARAMS[index_type]})
        _call(f"create {collection}", lambda: client.create_collection(
            collection, schema=schema, index_params=params, consistency_level="Strong"))

    @classmethod
    def open(cls, client: Any, collection: str, index_type: str = "HNSW") -> MilvusVectorIndex:
        """An existing collection written by this class."""
        _load(client, collection)
        described = _call(f"describe {collection}", lambda: client.describe_collection(collection))
        dim = next(int(f["params"]["dim"]) for f in described["fields"] if f["name"] == "vector")
        return cls(client, collection, dim, index_type, create=False)

    @classmethod
    def load(cls, client: Any, path: Path, index_type: str = "HNSW") -> MilvusVectorIndex:
        """The collection named by a file written by :meth:`save`."""
        try:
            collection = json.loads(path.read_text(encoding="utf-8"))["views"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexStoreError(f"cannot read vector index {path}: {exc}") from exc
        return cls.open(client, collection, index_type)

    def __len__(self) -> int:
        return _count(self.client, self.collection)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under the given ids."""
        vectors = _check(vectors, self.dim)
        ids = np.asarray(ids, dtype=np.int64)
        records = [{"id": int(i), "vector": v} for i, v in zip(ids, vectors, strict=True)]
        for batch in _batches(records):
            _call(f"insert into {self.collection}", partial(self.client.insert, self.collection, list(batch)))

    def remove(self, ids: np.ndarray) -> None:
        """Remove the given ids (unknown ids are ignored)."""
        keys = [int(i) for i in np.asarray(ids, dtype=np.int64)]
        for batch in _batches(keys):
            _call(f"delete from {self.collection}", partial(self.client.delete, self.collection, ids=list(batch)))

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest ids with their inner products, best first."""
        vector = _check(query.reshape(1, -1), self.dim)[0]
        limit = min(k, MAX_LIMIT)
        if limit <= 0:
            return []
        params: dict[str, Any] = {"metric_type": "IP", "params": {}}
        if self.index_type == "HNSW":
            params["params"]["ef"] = max(limit, 64)
        elif self.index_type == "IVF_FLAT":
            params["params"]["nprobe"] = 32
        hits = _call(f"search {self.collection}", lambda: self.client.search(
            # Only the key back: Milvus Lite sends every field for an empty list (the vectors, 400 of them).
            self.collection, data=[vector.tolist()], anns_field="vector", limit=limit, output_fields=["id"],
            search_params=params))[0]
        return [(int(hit["id"]), float(hit["distance"])) for hit in hits]

    def copy_from(self, source: MilvusVectorIndex, ids: Sequence[int]) -> None:
        """Copy the vectors of ``ids`` from ``source`` (the version a build starts from) into this collection."""
        for batch in _batches(ids):
            got = _call(f"read {source.collection}", partial(
                self.client.get, source.collection, ids=list(batch), output_fields=["id", "vector"]))
            if len(got) != len(batch):
                raise IndexStoreError(f"Milvus collection {source.collection} lacks {len(batch) - len(got)} vectors")
            self.add(np.array([r["id"] for r in got], dtype=np.int64),
                     np.array([r["vector"] for r in got], dtype=np.float32))

    def flush(self) -> None:
        """Make everything written so far durable (sealed segments)."""
        _call(f"flush {self.collection}", lambda: self.client.flush(self.collection))

    def save(self, path: Path) -> None:
        """Flush, and write a file naming the collection (what the index folder keeps of it)."""
        self.flush()
        path.write_text(json.dumps({"views": self.collection, "dim": self.dim, "vectors": len(self)}),
                        encoding="utf-8")


def bm25_term(token: str) -> str:
    """A token as a BM25 term any Milvus analyzer keeps whole: ``t`` and 16 hex digits of its hash."""
    return "t" + hashlib.blake2b(token.encode("utf-8"), digest_size=8).hexdigest()


def _jieba_params() -> dict[str, Any]:
    """Milvus's jieba analyzer with the district dictionary, without stopwords and punctuation."""
    from qa.lexical import _STOPWORDS, _data

    words = [line.split()[0] for line in _data("userdict.txt").splitlines() if line.strip()
             and not line.startswith("#")]
    punctuation = list("，。、；：？！“”‘’（）《》【】—…·,.;:?!\"'()[]<>-%/ ")
    return {"tokenizer": {"type": "jieba", "dict": ["_default_", *words], "mode": "search", "hmm": False},
            "filter": [{"type": "stop", "stop_words": sorted(_STOPWORDS) + punctuation}]}


class MilvusLexicalIndex:
    """A LexicalIndex in one Milvus collection scored by Milvus's BM25 (k1 1.2, b 0.75, as ``BM25Index``)."""

    def __init__(self, client: Any, collection: str, analyzer: str = "tokens", create: bool = True,
                 k1: float = 1.2, b: float = 0.75) -> None:
        self.client, self.collection, self.analyzer = client, collection, analyzer
        self._terms: dict[int, list[str]] = {}  # row -> its distinct tokens (for document frequencies)
        self._df: Counter[str] = Counter()
        if not create:
            _load(client, collection)
            return
        pymilvus = _pymilvus()
        dtype = pymilvus.DataType
        schema = client.create_schema(auto_id=False)
        schema.add_field("row", dtype.INT64, is_primary=True)
        analyzer_params = {"tokenizer": "standard"} if analyzer == "tokens" else _jieba_params()
        schema.add_field("text", dtype.VARCHAR, max_length=65535, enable_analyzer=True,
                         analyzer_params=analyzer_params)
        schema.add_field("sparse", dtype.SPARSE_FLOAT_VECTOR)
        schema.add_function(pymilvus.Function(name="bm25", function_type=pymilvus.FunctionType.BM25,
                                              input_field_names=["text"], output_field_names=["sparse"]))
        params = client.prepare_index_params()
        params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                         params={"params": {"bm25_k1": k1, "bm25_b": b}})
        _call(f"create {collection}", lambda: client.create_collection(
            collection, schema=schema, index_params=params, consistency_level="Strong"))

    @classmethod
    def open(cls, client: Any, collection: str, analyzer: str, rows: Sequence[int],
             tokens: Sequence[list[str]]) -> MilvusLexicalIndex:
        """An existing collection, with the document frequencies of the stored ``tokens`` of its ``rows``."""
        index = cls(client, collection, analyzer, create=False)
        index._count_terms(rows, tokens)
        held = _count(client, collection)
        if held != len(index._terms):
            raise IndexStoreError(f"Milvus collection {collection} holds {held} chunks, the store {len(index._terms)}")
        return index

    def __len__(self) -> int:
        return len(self._terms)

    def _count_terms(self, rows: Sequence[int], tokens: Sequence[list[str]]) -> None:
        for row, toks in zip(rows, tokens, strict=True):
            distinct = list(dict.fromkeys(toks))
            self._terms[row] = distinct
            self._df.update(distinct)

    def add(self, rows: Sequence[int], tokens: Sequence[list[str]], texts: Sequence[str] | None = None) -> None:
        """Index each row's tokens (a row already present is replaced); ``texts`` feed the jieba analyzer."""
        rows, tokens = list(rows), list(tokens)
        if len(rows) != len(tokens):
            raise ValueError(f"{len(rows)} rows but {len(tokens)} token lists")
        self._forget([r for r in rows if r in self._terms])
        if self.analyzer == "tokens":
            documents = [" ".join(bm25_term(t) for t in toks) for toks in tokens]
        else:
            documents = list(texts) if texts is not None else [" ".join(toks) for toks in tokens]
        records = [{"row": int(r), "text": d} for r, d in zip(rows, documents, strict=True)]
        for batch in _batches(records):
            _call(f"write to {self.collection}", partial(self.client.upsert, self.collection, list(batch)))
        self._count_terms(rows, tokens)

    def remove(self, rows: Iterable[int]) -> None:
        """Forget the given rows (rows not in the index are ignored)."""
        present = list(dict.fromkeys(r for r in rows if r in self._terms))
        for batch in _batches(present):
            _call(f"delete from {self.collection}", partial(self.client.delete, self.collection, ids=list(batch)))
        self._forget(present)

    def _forget(self, rows: list[int]) -> None:
        for row in rows:
            self._df.subtract(self._terms.pop(row))
        self._df = +self._df  # drop the terms no row holds any more

    def document_frequencies(self) -> Iterator[tuple[str, int]]:
        """Every indexed term with the number of rows holding it."""
        return iter(list(self._df.items()))

    def idf(self, term: str) -> float:
        """BM25 idf (the +1 form, never negative), from the counted document frequencies."""
        n, df = len(self._terms), self._df.get(term, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def query_text(self, tokens: Sequence[str] | Mapping[str, float]) -> tuple[str, float]:
        """The query as Milvus takes it, each term repeated in proportion to its weight, and the repetitions that
        stand for a weight of 1 (the fewest that keep the proportions: 1 when every weight is 1)."""
        weighted = tokens if isinstance(tokens, Mapping) else Counter(tokens)
        counts = {term: round(weight * QUERY_STEPS) for term, weight in weighted.items()}
        counts = {term: n for term, n in counts.items() if n > 0}
        step = math.gcd(*counts.values()) if counts else 1
        encode = bm25_term if self.analyzer == "tokens" else str
        text = " ".join(" ".join([encode(term)] * (n // step)) for term, n in counts.items())
        return text, QUERY_STEPS / step

    def search(self, tokens: Sequence[str] | Mapping[str, float], k: int) -> list[tuple[int, float]]:
        """Top ``k`` rows by BM25 score, best first (ties by row); ``tokens`` may carry a weight each."""
        query, unit = self.query_text(tokens)
        if k <= 0 or not self._terms or not query:
            return []
        # A few more than k, so that rows tied at the cut are ordered by row as the other indexes order them.
        limit = min(max(2 * k, k + 16), MAX_LIMIT)
        hits = _call(f"search {self.collection}", lambda: self.client.search(
            self.collection, data=[query], anns_field="sparse", limit=limit, output_fields=["row"],
            search_params={"metric_type": "BM25"}))[0]
        # Milvus Lite gives BM25 scores as negative distances, a server as positive scores.
        scored = [(int(hit["row"] if "row" in hit else hit["id"]), abs(float(hit["distance"])) / unit)
                  for hit in hits]
        return sorted((s for s in scored if s[1] > 0), key=lambda s: (-s[1], s[0]))[:k]

    def flush(self) -> None:
        """Make everything written so far durable (sealed segments)."""
        _call(f"flush {self.collection}", lambda: self.client.flush(self.collection))


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
        self.discard(version)  # left by a build of the same name that was killed
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
        for batch in _batches(chunks):
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

    def load_lexical(self, version: Path, rows: Sequence[int], tokens: Sequence[list[str]]) -> MilvusLexicalIndex:
        """The version's chunks collection, with document frequencies from the stored tokens."""
        return MilvusLexicalIndex.open(self.client, self._marker(version)["chunks"], self.analyzer, rows, tokens)

    def discard(self, version: str) -> None:
        """Drop a version's collections (a failed build's, or a removed version's)."""
        for kind in ("views", "chunks"):
            name = self.collection(version, kind)
            if _call(f"look up {name}", partial(self.client.has_collection, name)):
                _call(f"drop {name}", partial(self.client.drop_collection, name))

    def cleanup(self, keep: Iterable[str]) -> None:
        """Drop this index folder's collections of every version but ``keep`` (left by removed or killed builds)."""
        kept = {self.collection(version, kind) for version in keep for kind in ("views", "chunks")}
        mine = f"{self.prefix}_v_"
        for name in _call("list collections", self.client.list_collections):
            if name.startswith(mine) and name.endswith(("_views", "_chunks")) and name not in kept:
                _call(f"drop {name}", partial(self.client.drop_collection, name))
