"""The corpus text with an index of its substrings, so "does the corpus say X" costs no scan of the corpus.

The typo speller asks it for every three- to five-character window of a question, and the answer checks ask
it for names and terms; a plain ``in`` over the corpus text grows with the corpus (about 350 ms a question at
100,000 chunks). :class:`CorpusText` is that same text, a ``str``, whose ``in`` is answered by an in-memory
SQLite FTS5 ``trigram`` index (case-sensitive, one row per document): a phrase of trigrams matches exactly
where the substring occurs, so the answer is the one ``str.__contains__`` would give.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

SEPARATOR = "\n"
MIN_INDEXED = 3  # trigram index: shorter substrings are looked up in the text itself


class CorpusText(str):
    """Documents joined by newlines, with substring tests answered by a trigram index built at creation."""

    _db: sqlite3.Connection
    _lock: threading.Lock

    def __new__(cls, documents: Iterable[str]) -> CorpusText:
        """Join ``documents`` and index each one."""
        texts = list(documents)
        self = super().__new__(cls, SEPARATOR.join(texts))
        db = sqlite3.connect(":memory:", check_same_thread=False)
        db.execute("CREATE VIRTUAL TABLE corpus USING fts5(body, tokenize='trigram case_sensitive 1')")
        with db:
            db.executemany("INSERT INTO corpus(body) VALUES (?)", ((t,) for t in texts))
            db.execute("INSERT INTO corpus(corpus) VALUES ('optimize')")  # one b-tree segment: fewer reads a query
        self._db, self._lock = db, threading.Lock()
        return self

    def __contains__(self, part: object) -> bool:
        """Whether ``part`` occurs in the text (as ``str.__contains__``, without scanning it)."""
        if not isinstance(part, str):
            return super().__contains__(part)  # type: ignore[operator]  # raises the usual TypeError
        if len(part) < MIN_INDEXED or SEPARATOR in part:
            # Short parts cannot be trigram-matched; a part spanning two documents only the joined text has.
            return super().__contains__(part)
        phrase = '"' + part.replace('"', '""') + '"'
        with self._lock:
            return self._db.execute("SELECT 1 FROM corpus WHERE corpus MATCH ? LIMIT 1", (phrase,)).fetchone() is not None

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
        self._db, self._lock, self._table = db, threading.Lock(), table

    @classmethod
    def stored(cls, path: Path, table: str = "trigrams") -> DocumentTrigrams:
        """The index a build wrote in the SQLite file ``path`` (read from disk as lookups need its pages)."""
        self = cls.__new__(cls)
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._db.execute("PRAGMA mmap_size = 4294967296")  # pages read in place, shared with other processes
        for _ in self._db.execute(f"SELECT length(block) FROM {table}_data"):  # mapped now, not by questions
            pass
        self._lock, self._table = threading.Lock(), table
        return self

    def close(self) -> None:
        """Close the index's database."""
        self._db.close()

    def holds(self, part: str, deleted: frozenset[str] = frozenset()) -> bool:
        """Whether ``part`` (three characters or more, no newline) occurs in a document not in ``deleted``."""
        phrase = '"' + part.replace('"', '""') + '"'
        with self._lock:
            if not deleted:
                return self._db.execute(f"SELECT 1 FROM {self._table} WHERE {self._table} MATCH ? LIMIT 1",
                                        (phrase,)).fetchone() is not None
            cursor = self._db.execute(f"SELECT doc_id FROM {self._table} WHERE {self._table} MATCH ?", (phrase,))
            return any(doc_id not in deleted for (doc_id,) in cursor)
