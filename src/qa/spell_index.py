"""The corpus text with an index of its substrings, so "does the corpus say X" costs no scan of the corpus.

The typo speller asks it for every three- to five-character window of a question, and the answer checks ask
it for names and terms; a plain ``in`` over the corpus text grows with the corpus (about 350 ms a question at
100,000 chunks). :class:`CorpusText` is that same text, a ``str``, whose ``in`` is answered by an in-memory
SQLite FTS5 ``trigram`` index (case-sensitive, one row per document): a phrase of trigrams matches exactly
where the substring occurs, so the answer is the one ``str.__contains__`` would give.

A string of one or two characters is no phrase of trigrams. It occurs in a document exactly when some trigram
of the document starts with it, or when it is among the document's last two characters (which start no
trigram): the index's vocabulary answers the first by a range of terms, a set of every document's ending the
second. A scan for a two-character word the corpus lacks took 200–290 ms at 1M chunks.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

SEPARATOR = "\n"
MIN_INDEXED = 3  # trigram index: shorter substrings are looked up by the trigrams they start
_LAST = "\U0010ffff"  # sorts after every character: terms >= "ab" and < "ab" + _LAST start with "ab"


class Words(Protocol):
    """A corpus asked whether it holds a string (``part in words``), as the speller and the answer checks ask."""

    def __contains__(self, part: object) -> bool:
        """Whether ``part`` occurs in the corpus."""
        ...


def endings(texts: Iterable[str]) -> frozenset[str]:
    """Every one- or two-character string among each text's last two characters (those start no trigram)."""
    out: set[str] = set()
    for text in texts:
        tail = text[-2:]
        out.update((tail, *tail))
    out.discard("")
    return frozenset(out)


def _starting(db: sqlite3.Connection, vocabulary: str, part: str) -> Iterator[str]:
    """The index's trigrams that start with ``part``, from its ``fts5vocab`` table."""
    query = f"SELECT term FROM {vocabulary} WHERE term >= ? AND term < ?"
    return (term for (term,) in db.execute(query, (part, part + _LAST)))


def found_in(part: str, tails: frozenset[str], parts: Iterable[tuple[DocumentTrigrams, frozenset[str]]]) -> bool:
    """Whether ``part`` (not empty) occurs in a live document: each of ``parts`` is a trigram index with the
    documents deleted from it, ``tails`` the live documents' :func:`endings`."""
    if len(part) < MIN_INDEXED:  # in a live document's ending, or starting a trigram of one
        return part in tails or any(index.starts(part, dead) for index, dead in parts)
    return any(index.holds(part, dead) for index, dead in parts)


class CorpusText(str):
    """Documents joined by newlines, with substring tests answered by a trigram index built at creation."""

    _index: DocumentTrigrams
    _endings: frozenset[str]

    def __new__(cls, documents: Iterable[str]) -> CorpusText:
        """Join ``documents`` and index each one."""
        texts = list(documents)
        self = super().__new__(cls, SEPARATOR.join(texts))
        self._index = DocumentTrigrams(((str(n), text) for n, text in enumerate(texts)), table="corpus")
        self._endings = endings(texts)
        return self

    def __contains__(self, part: object) -> bool:
        """Whether ``part`` occurs in the text (as ``str.__contains__``, without scanning it)."""
        if not isinstance(part, str):
            return super().__contains__(part)  # type: ignore[operator]  # raises the usual TypeError
        if not part or SEPARATOR in part:  # a part spanning two documents only the joined text has
            return super().__contains__(part)
        return found_in(part, self._endings, [(self._index, frozenset())])

    def __reduce__(self) -> tuple[type[str], tuple[str]]:
        """Pickle and copy as the plain text (the index is rebuilt only by constructing anew)."""
        return (str, (str(self),))


class DocumentTrigrams:
    """A trigram index of documents by id, asked whether a substring occurs in any document still live."""

    def __init__(self, documents: Iterable[tuple[str, str]], table: str = "trigrams") -> None:
        """Index ``(doc_id, text)`` pairs in memory."""
        db = sqlite3.connect(":memory:", check_same_thread=False)
        db.execute(f"CREATE VIRTUAL TABLE {table} USING fts5(body, doc_id UNINDEXED, "
                   "tokenize='trigram case_sensitive 1')")
        with db:
            db.executemany(f"INSERT INTO {table}(body, doc_id) VALUES (?, ?)", ((t, d) for d, t in documents))
            db.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")
        db.execute(f"CREATE VIRTUAL TABLE {table}_terms USING fts5vocab({table}, 'row')")
        self._db, self._lock, self._table = db, threading.Lock(), table

    @classmethod
    def stored(cls, path: Path, table: str = "trigrams") -> DocumentTrigrams:
        """The index a build wrote in the SQLite file ``path`` (read from disk as lookups need its pages)."""
        self = cls.__new__(cls)
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._db.execute("PRAGMA mmap_size = 4294967296")  # pages read in place, shared with other processes
        for _ in self._db.execute(f"SELECT length(block) FROM {table}_data"):  # mapped now, not by questions
            pass
        # The vocabulary of a read-only file's index, as a table of the connection's own (temporary) schema.
        self._db.execute(f"CREATE VIRTUAL TABLE temp.{table}_terms USING fts5vocab(main, {table}, 'row')")
        self._lock, self._table = threading.Lock(), table
        return self

    def close(self) -> None:
        """Close the index's database."""
        self._db.close()

    def holds(self, part: str, deleted: frozenset[str] = frozenset()) -> bool:
        """Whether ``part`` (three characters or more) occurs in a document not in ``deleted``."""
        phrase = '"' + part.replace('"', '""') + '"'
        with self._lock:
            if not deleted:
                return self._db.execute(f"SELECT 1 FROM {self._table} WHERE {self._table} MATCH ? LIMIT 1",
                                        (phrase,)).fetchone() is not None
            cursor = self._db.execute(f"SELECT doc_id FROM {self._table} WHERE {self._table} MATCH ?", (phrase,))
            return any(doc_id not in deleted for (doc_id,) in cursor)

    def starts(self, part: str, deleted: frozenset[str] = frozenset()) -> bool:
        """Whether a trigram starting with ``part`` (one or two characters) occurs in a document not in ``deleted``."""
        with self._lock:
            terms = _starting(self._db, f"{self._table}_terms", part)
            if not deleted:
                return next(terms, None) is not None
            candidates = list(terms)
        return any(self.holds(term, deleted) for term in candidates)
