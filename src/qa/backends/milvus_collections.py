"""Milvus collections behind the index protocols: a VectorIndex and a LexicalIndex, and the one client per URI.

See :mod:`qa.backends.milvus` for how an index version uses them.
"""


from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

from qa.errors import ConfigError, IndexStoreError
from qa.vectors import _check

if TYPE_CHECKING:
    pass

INSTALL_HINT = "QA_BACKEND=milvus needs pymilvus and milvus-lite: install them with `pip install 'qa[milvus]'`"
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


def milvus_call(what: str, action: Callable[[], T]) -> T:
    """Run a Milvus call; its errors become IndexStoreError naming what was being done."""
    pymilvus = _pymilvus()
    try:
        return action()
    except pymilvus.MilvusException as exc:
        raise IndexStoreError(f"Milvus failed to {what}: {exc.message}") from exc


def _count(client: Any, collection: str) -> int:
    rows = milvus_call(f"count {collection}", lambda: client.query(collection, filter="", output_fields=["count(*)"]))
    return int(rows[0]["count(*)"])


def _require(client: Any, collection: str) -> None:
    if not milvus_call(f"look up {collection}", lambda: client.has_collection(collection)):
        raise IndexStoreError(f"Milvus has no collection {collection}")


def _load(client: Any, collection: str) -> None:
    """Make an existing collection searchable (a collection written by another process starts released)."""
    _require(client, collection)
    milvus_call(f"load {collection}", partial(client.load_collection, collection))


def in_batches(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    """``items`` in slices of ``size`` (one Milvus request each)."""
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
        milvus_call(f"create {collection}", lambda: client.create_collection(
            collection, schema=schema, index_params=params, consistency_level="Strong"))

    @classmethod
    def open(cls, client: Any, collection: str, index_type: str = "HNSW") -> MilvusVectorIndex:
        """An existing collection written by this class."""
        _load(client, collection)
        described = milvus_call(f"describe {collection}", lambda: client.describe_collection(collection))
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
        for batch in in_batches(records):
            milvus_call(f"insert into {self.collection}", partial(self.client.insert, self.collection, list(batch)))

    def remove(self, ids: np.ndarray) -> None:
        """Remove the given ids (unknown ids are ignored)."""
        keys = [int(i) for i in np.asarray(ids, dtype=np.int64)]
        for batch in in_batches(keys):
            milvus_call(f"delete from {self.collection}", partial(self.client.delete, self.collection, ids=list(batch)))

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
        hits = milvus_call(f"search {self.collection}", lambda: self.client.search(
            # Only the key back: Milvus Lite sends every field for an empty list (the vectors, 400 of them).
            self.collection, data=[vector.tolist()], anns_field="vector", limit=limit, output_fields=["id"],
            search_params=params))[0]
        return [(int(hit["id"]), float(hit["distance"])) for hit in hits]

    def copy_from(self, source: MilvusVectorIndex, ids: Sequence[int]) -> None:
        """Copy the vectors of ``ids`` from ``source`` (the version a build starts from) into this collection."""
        for batch in in_batches(ids):
            got = milvus_call(f"read {source.collection}", partial(
                self.client.get, source.collection, ids=list(batch), output_fields=["id", "vector"]))
            if len(got) != len(batch):
                raise IndexStoreError(f"Milvus collection {source.collection} lacks {len(batch) - len(got)} vectors")
            self.add(np.array([r["id"] for r in got], dtype=np.int64),
                     np.array([r["vector"] for r in got], dtype=np.float32))

    def flush(self) -> None:
        """Make everything written so far durable (sealed segments)."""
        milvus_call(f"flush {self.collection}", lambda: self.client.flush(self.collection))

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
        milvus_call(f"create {collection}", lambda: client.create_collection(
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
        for batch in in_batches(records):
            milvus_call(f"write to {self.collection}", partial(self.client.upsert, self.collection, list(batch)))
        self._count_terms(rows, tokens)

    def remove(self, rows: Iterable[int]) -> None:
        """Forget the given rows (rows not in the index are ignored)."""
        present = list(dict.fromkeys(r for r in rows if r in self._terms))
        for batch in in_batches(present):
            milvus_call(f"delete from {self.collection}", partial(self.client.delete, self.collection, ids=list(batch)))
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
        hits = milvus_call(f"search {self.collection}", lambda: self.client.search(
            self.collection, data=[query], anns_field="sparse", limit=limit, output_fields=["row"],
            search_params={"metric_type": "BM25"}))[0]
        # Milvus Lite gives BM25 scores as negative distances, a server as positive scores.
        scored = [(int(hit["row"] if "row" in hit else hit["id"]), abs(float(hit["distance"])) / unit)
                  for hit in hits]
        return sorted((s for s in scored if s[1] > 0), key=lambda s: (-s[1], s[0]))[:k]

    def flush(self) -> None:
        """Make everything written so far durable (sealed segments)."""
        milvus_call(f"flush {self.collection}", lambda: self.client.flush(self.collection))


