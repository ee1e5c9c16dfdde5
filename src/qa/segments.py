"""An index version as a list of immutable segments and the documents deleted from them.

Every version folder holds one segment of its own (``store.sqlite``, ``vectors.faiss``): a full build writes
the whole corpus into it, and an update (adding or deleting a document through the service) writes only the
new document's chunks, vectors and figures. Its ``meta.json`` lists the segments the version is made of, the
earlier versions' folders first and its own last, and the documents deleted from each (tombstones). So an
update costs in proportion to the document, never to the corpus: nothing is copied or rewritten, and a
reload reuses every segment the previous snapshot had already loaded. A full build (``qa build``) merges the
segments back into one (compaction) and is also when the vocabulary is discovered again; an update to a version
of ``MAX_SEGMENTS`` segments merges every segment but the first (the full build's) into its own.

Across segments the answers are those of one index of the same documents: BM25 counts documents, term
frequencies and lengths over the live chunks of every segment (the same floats, in the same order), the
vectors of each segment are searched exactly and merged, and SQLite reads the segments' stores as one,
through views over attached files.
"""

from __future__ import annotations

import heapq
import math
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from qa.backends import IndexBackend
from qa.backends.local import LocalBackend
from qa.bm25 import SparseBM25Index, score, top_k
from qa.errors import IndexDamagedError
from qa.lexical import LexicalIndex
from qa.spell_index import DocumentTrigrams, endings, found_in
from qa.store import Store, StoredText, connect
from qa.types import Document
from qa.vectors import FaissIndex, VectorIndex

# SQLite attaches at most 10 files to a connection: a version of more segments is compacted first.
MAX_SEGMENTS = 8
TABLES = ("documents", "chunks", "figures", "details", "normalized", "signatures")


def segment_names(meta: Mapping[str, Any], version: Path) -> list[str]:
    """The folders of the segments a version is made of, oldest first (its own last)."""
    names = meta.get("segments")
    if names is None:
        return [version.name]
    if not isinstance(names, list) or not names or names[-1] != version.name:
        raise IndexDamagedError(f"index version {version.name}: meta.json lists no valid segments")
    return [str(n) for n in names]


def deleted_documents(meta: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """Documents deleted from each segment, by segment folder."""
    dead = meta.get("deleted") or {}
    return {str(k): frozenset(v) for k, v in dead.items()}


class TextSource:
    """The stores a document's clean text can be read from: every open snapshot that holds the document."""

    def __init__(self) -> None:
        self.stores: list[Store] = []
        self._lock = threading.Lock()

    def add(self, store: Store) -> None:
        """Read through ``store`` too (a newer snapshot that reuses the document); forget the closed ones."""
        with self._lock:
            self.stores = [s for s in self.stores if _is_open(s)] + [store]

    def normalized(self, doc_id: str, raw: str) -> Any:
        """The stored clean text of ``doc_id`` from the newest store still open, else None."""
        with self._lock:
            stores = list(reversed(self.stores))
        for store in stores:
            try:
                return store.normalized(doc_id, raw)
            except sqlite3.ProgrammingError:  # that snapshot was closed
                with self._lock:
                    if store in self.stores:
                        self.stores.remove(store)
        return None


def _is_open(store: Store) -> bool:
    try:
        store.conn.total_changes  # noqa: B018  (raises once the connection is closed)
    except sqlite3.ProgrammingError:
        return False
    return True


class SegmentText(StoredText):
    """A document's raw text whose clean form is read from whichever open snapshot holds it."""

    _source: TextSource

    def normalized(self) -> Any:
        """The clean text and offset map stored at build time (None once every snapshot holding it closed)."""
        try:
            return self._source.normalized(self._doc_id, str(self))
        except sqlite3.Error:
            return None


@dataclass
class Segment:
    """One loaded segment: its documents, lexical postings and vectors, shared by every snapshot using it."""

    path: Path
    documents: dict[str, Document]
    endings: dict[str, str]  # the last two characters of each document's clean text (they start no trigram)
    sha256: dict[str, str]  # raw text's hash by document, checked against the text when loaded
    rows: dict[str, list[tuple[int, int]]]  # (row, views) of each document's chunks
    lexical: LexicalIndex  # a SparseBM25Index and a FaissIndex on the FAISS backend (the only one with several)
    vectors: VectorIndex
    source: TextSource = field(default_factory=TextSource)
    _trigrams: DocumentTrigrams | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _users: int = 0

    @property
    def trigrams(self) -> DocumentTrigrams:
        """A trigram index of the segment's clean texts, built once (for the typo speller and answer checks)."""
        with self._lock:
            if self._trigrams is None:
                self._trigrams = DocumentTrigrams.stored(self.path / "store.sqlite")
            return self._trigrams

    def acquire(self) -> None:
        """A snapshot starts using the segment."""
        with self._lock:
            self._users += 1

    def release(self) -> None:
        """A snapshot is done with the segment: the last one closes its trigram index's file."""
        with self._lock:
            self._users -= 1
            if self._users <= 0 and self._trigrams is not None:
                self._trigrams.close()
                self._trigrams = None

    @property
    def name(self) -> str:
        """The segment's folder name (that of the version that wrote it)."""
        return self.path.name

    def dead_rows(self, dead: Iterable[str]) -> list[tuple[int, int]]:
        """(row, views) of the chunks of the given documents."""
        return [rv for doc_id in dead for rv in self.rows.get(doc_id, ())]


def load_segment(path: Path, check: Any, backend: IndexBackend | None = None) -> Segment:
    """Read a segment's documents, postings and vectors; ``check(conn, documents)`` verifies its store.

    The postings and vectors are those of ``backend`` (by default FAISS's, mapped from the segment's files).
    """
    backend = backend or LocalBackend()
    conn = connect(path / "store.sqlite", readonly=True)
    try:
        store = Store(conn)
        source = TextSource()
        documents = {}
        for doc in store.documents(with_text=True):
            text = SegmentText(str(doc.text), store, doc.doc_id)
            text._source = source
            documents[doc.doc_id] = replace(doc, text=text)
        check(conn, documents.values())
        tails = dict(conn.execute("SELECT doc_id, substr(clean, -2) FROM normalized"))
        sha256 = dict(conn.execute("SELECT doc_id, sha256 FROM documents"))
        rows: dict[str, list[tuple[int, int]]] = {}
        lexical = backend.load_lexical(path, store)
        for doc_id, row, views in conn.execute("SELECT doc_id, row, views FROM chunks ORDER BY doc_id, ordinal"):
            rows.setdefault(doc_id, []).append((row, views))
    finally:
        conn.close()
    vectors = backend.load_vectors(path)
    views = sum(v for doc_rows in rows.values() for _, v in doc_rows)
    if len(vectors) != views:
        raise IndexDamagedError(f"index version {path.name} is inconsistent ({len(vectors)} vectors, {views} views)")
    if len(lexical) != sum(len(r) for r in rows.values()):
        raise IndexDamagedError(f"index version {path.name} is inconsistent ({len(lexical)} postings lists, "
                                f"{sum(len(r) for r in rows.values())} chunks)")
    return Segment(path, documents, tails, sha256, rows, lexical, vectors, source)


def open_store(paths: Sequence[Path], deleted: Mapping[str, frozenset[str]]) -> Store:
    """One read-only store over the segments' files: the file itself for a single segment, else views."""
    if len(paths) == 1 and not deleted.get(paths[0].name):
        return Store(connect(paths[0] / "store.sqlite", readonly=True))
    conn = sqlite3.connect("file::memory:", uri=True, check_same_thread=False)
    try:
        for n, path in enumerate(paths):
            conn.execute(f"ATTACH DATABASE ? AS s{n}", (f"file:{path / 'store.sqlite'}?mode=ro",))
        conn.execute("CREATE TEMP TABLE deleted (segment INTEGER NOT NULL, doc_id TEXT NOT NULL)")
        conn.executemany("INSERT INTO deleted VALUES (?, ?)",
                         [(n, d) for n, p in enumerate(paths) for d in sorted(deleted.get(p.name, ()))])
        for table in TABLES:
            arms = [f"SELECT * FROM s{n}.{table} WHERE doc_id NOT IN "
                    f"(SELECT doc_id FROM temp.deleted WHERE segment = {n})" for n in range(len(paths))]
            conn.execute(f"CREATE TEMP VIEW {table} AS " + " UNION ALL ".join(arms))
    except sqlite3.Error:
        conn.close()
        raise
    return Store(conn)


class SegmentedLexical:
    """BM25 over several segments' postings, with the statistics of the live chunks of all of them.

    Scores are those of one :class:`~qa.bm25.SparseBM25Index` over the same chunks: the same document count,
    average length, document frequencies and per-term operations, so the same floats.
    """

    def __init__(self, parts: Sequence[SparseBM25Index], dead: Sequence[int]) -> None:
        self.parts = list(parts)
        self.k1, self.b = self.parts[0].k1, self.parts[0].b
        size = max((len(p._lengths) for p in self.parts), default=0)
        self._dead = np.zeros(size, dtype=bool)
        dead_rows = np.asarray(sorted(set(dead)), dtype=np.int64)
        self._dead[dead_rows[dead_rows < size]] = True
        self._lengths = np.full(size, -1, dtype=np.int64)
        for part in self.parts:
            with part._lock:
                part._fold()
            have = np.flatnonzero(part._lengths >= 0)
            self._lengths[have] = part._lengths[have]
        live = (self._lengths >= 0) & ~self._dead
        self._count = int(live.sum())
        self._total = int(self._lengths[live].sum())
        # Document frequencies over the live rows, by term in order of first appearance (read by the speller
        # for every term, and by idf for a question's): counted once, part by part, in bulk.
        self._df: dict[str, int] = {}
        for part in self.parts:
            df = np.diff(part._offsets)
            mine = dead_rows[dead_rows < len(part._lengths)]
            if len(mine) and (part._lengths[mine] >= 0).any():  # only a part holding deleted rows is read whole
                dead_entries = self._dead[part._rows]
                owners = np.repeat(np.arange(len(df)), df)
                df = df - np.bincount(owners[dead_entries], minlength=len(df))
            counts = df.tolist()
            for term, tid in part._term_ids.items():
                self._df[term] = self._df.get(term, 0) + counts[tid]

    def __len__(self) -> int:
        return self._count

    def add(self, rows: Sequence[int], tokens: Sequence[list[str]]) -> None:
        """Segments are immutable: an update writes a new segment."""
        raise TypeError("a segmented index is read-only; write a new segment")

    def remove(self, rows: Iterable[int]) -> None:
        """Segments are immutable: a deletion is recorded as a tombstone."""
        raise TypeError("a segmented index is read-only; record a tombstone")

    def _postings(self, term: str) -> list[tuple[np.ndarray, np.ndarray]]:
        found = []
        for part in self.parts:
            rows, counts = part._posting(term)
            if len(rows):
                found.append((rows, counts))
        return found

    def document_frequency(self, term: str) -> int:
        """How many live rows hold ``term``."""
        return self._df.get(term, 0)

    def document_frequencies(self) -> Iterator[tuple[str, int]]:
        """Every term with the number of live rows holding it (terms in order of first appearance)."""
        return iter([(term, df) for term, df in self._df.items() if df > 0])

    def idf(self, term: str) -> float:
        """BM25 idf (the +1 form, never negative)."""
        df = self.document_frequency(term)
        return math.log(1 + (self._count - df + 0.5) / (df + 0.5))

    def search(self, tokens: Sequence[str] | Mapping[str, float], k: int) -> list[tuple[int, float]]:
        """Top ``k`` live rows by BM25 score, best first (ties by row)."""
        scores, touched = score(tokens, self._count, self._total, self._lengths, (self.k1, self.b), self._postings,
                                self._dead)
        return top_k(scores, touched, k) if self._count and k > 0 else []


class SegmentedVectors:
    """Exact search over several segments' vector indexes, leaving out deleted chunks' vectors."""

    def __init__(self, parts: Sequence[FaissIndex], dead: Sequence[Iterable[int]]) -> None:
        self.parts = list(parts)
        self.dim = self.parts[0].dim
        self._dead = [frozenset(int(i) for i in ids) for ids in dead]

    def __len__(self) -> int:
        return sum(len(p) for p in self.parts) - sum(len(d) for d in self._dead)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Segments are immutable: an update writes a new segment."""
        raise TypeError("a segmented index is read-only; write a new segment")

    def remove(self, ids: np.ndarray) -> None:
        """Segments are immutable: a deletion is recorded as a tombstone."""
        raise TypeError("a segmented index is read-only; record a tombstone")

    def save(self, path: Path) -> None:
        """Segments are written by the build, one file each."""
        raise TypeError("a segmented index is saved segment by segment")

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest live ids with their inner products, best first."""
        found: list[list[tuple[int, float]]] = []
        for part, dead in zip(self.parts, self._dead, strict=True):
            hits = part.search(query, k + len(dead))  # enough to have k left once the deleted are dropped
            found.append([(i, s) for i, s in hits if i not in dead][:k])
        merged = heapq.merge(*found, key=lambda hit: -hit[1])
        return list(merged)[:k]


class SegmentedCorpusText:
    """Whether a live document of the segments holds a string, asked of each segment's trigram index.

    No text is held: each segment's index answers for its documents less the deleted ones, and the live
    documents' endings (their last two characters) answer for the one- and two-character strings that start
    no trigram. A string is found inside one document, never across two.
    """

    def __init__(self, tails: Iterable[str], parts: Sequence[tuple[DocumentTrigrams, frozenset[str]]]) -> None:
        """``tails``: each live document's last two characters; ``parts``: each segment's trigram index with the
        documents deleted from it."""
        self._endings = endings(tails)
        self._parts = list(parts)

    def __contains__(self, part: object) -> bool:
        """Whether ``part`` occurs in a live document (``in`` of a string, of each document alone)."""
        if not isinstance(part, str):
            raise TypeError(f"'in <corpus text>' requires string as left operand, not {type(part).__name__}")
        return not part or found_in(part, self._endings, self._parts)
