"""SQLite store beside the vector index: documents, chunks and figures (the index holds ids and vectors only)."""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.normalize import Normalized
from qa.types import Chunk, Document, Figure, fingerprint

if TYPE_CHECKING:
    from qa.loaders import Loaded

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, date TEXT, source TEXT, date_note TEXT,
    path TEXT, sha256 TEXT NOT NULL, text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    row INTEGER PRIMARY KEY AUTOINCREMENT, chunk_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    text TEXT NOT NULL, clean TEXT NOT NULL, tokens TEXT NOT NULL, views INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id, start);
CREATE TABLE IF NOT EXISTS figures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL,
    number TEXT NOT NULL, metric TEXT, year INTEGER, period TEXT, qualifier TEXT, kind TEXT NOT NULL,
    text TEXT NOT NULL, sentence TEXT NOT NULL,
    table_no INTEGER, row_no INTEGER, col_no INTEGER
);
CREATE INDEX IF NOT EXISTS figures_doc ON figures(doc_id, start);
CREATE INDEX IF NOT EXISTS figures_metric ON figures(metric);
CREATE TABLE IF NOT EXISTS normalized (
    doc_id TEXT PRIMARY KEY REFERENCES documents(doc_id) ON DELETE CASCADE,
    clean TEXT NOT NULL, offsets BLOB NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS trigrams USING fts5(body, doc_id UNINDEXED, tokenize='trigram case_sensitive 1');
CREATE TABLE IF NOT EXISTS signatures (
    doc_id TEXT PRIMARY KEY REFERENCES documents(doc_id) ON DELETE CASCADE, signature BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS details (
    doc_id TEXT PRIMARY KEY REFERENCES documents(doc_id) ON DELETE CASCADE,
    format TEXT NOT NULL, duplicate_of TEXT, index_no TEXT, doc_no TEXT, pages INTEGER NOT NULL DEFAULT 0,
    layout TEXT
);
"""

_DOC_COLS = "doc_id, title, date, source, date_note, path, sha256, text"
# A converted document's format, reprint link, ids and page count, read beside its row (the layout is read on demand).
_DETAIL_COLS = "d.format, d.duplicate_of, d.index_no, d.doc_no, d.pages"
_DOC_SELECT = (f"SELECT {', '.join('x.' + c for c in _DOC_COLS.split(', '))}, {_DETAIL_COLS} "
               "FROM documents x LEFT JOIN details d ON d.doc_id = x.doc_id")
_CHUNK_COLS = 'row, chunk_id, doc_id, ordinal, start, "end", text, clean'
_FIGURE_COLS = ('doc_id, start, "end", value, unit, number, metric, year, period, qualifier, kind, text, sentence, '
                'table_no, row_no, col_no')


def connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    """Open the store; read-only connections may be shared across threads."""
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(path)
        conn.executescript(SCHEMA)
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


class StoredText(str):
    """A document's raw text, read from a store that also keeps its clean form (so it need not be normalized)."""

    _store: Store
    _doc_id: str

    def __new__(cls, text: str, store: Store, doc_id: str) -> StoredText:
        """``text`` as read from ``store`` for ``doc_id``."""
        self = super().__new__(cls, text)
        self._store, self._doc_id = store, doc_id
        return self

    def normalized(self) -> Normalized | None:
        """The clean text and offset map stored at build time (None once the store is closed)."""
        try:
            return self._store.normalized(self._doc_id, str(self))
        except sqlite3.Error:
            return None

    def __reduce__(self) -> tuple[type[str], tuple[str]]:
        """Pickle and copy as the plain text."""
        return (str, (str(self),))


class Store:
    """Typed access to one index version's SQLite file."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    # -- writing -------------------------------------------------------------------------------------
    def add_document(self, doc: Document, chunks: Sequence[Chunk], tokens: Sequence[list[str]],
                     figures: Iterable[Figure], views: Sequence[int] | None = None,
                     norm: Normalized | None = None) -> list[int]:
        """Insert a document with its chunks, figures and clean text; returns the chunks' row ids (vector ids)."""
        self.conn.execute(
            f"INSERT INTO documents ({_DOC_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (doc.doc_id, doc.title, doc.date, doc.source, doc.date_note, doc.path, doc.sha256, doc.text),
        )
        if norm is not None:
            self.conn.execute("INSERT INTO normalized (doc_id, clean, offsets) VALUES (?, ?, ?)",
                              (doc.doc_id, norm.text, pack_offsets(norm.offsets)))
            self.conn.execute("INSERT INTO trigrams (body, doc_id) VALUES (?, ?)", (norm.text, doc.doc_id))
        if doc.format != "text" or doc.duplicate_of or doc.layout is not None:
            layout = json.dumps(doc.layout.to_json(), ensure_ascii=False) if doc.layout is not None else None
            self.conn.execute(
                "INSERT INTO details (doc_id, format, duplicate_of, index_no, doc_no, pages, layout) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (doc.doc_id, doc.format, doc.duplicate_of, doc.index_no, doc.doc_no, doc.pages, layout))
        rows = []
        for chunk, toks, n_views in zip(chunks, tokens, views or [1] * len(chunks), strict=True):
            cur = self.conn.execute(
                'INSERT INTO chunks (chunk_id, doc_id, ordinal, start, "end", text, clean, tokens, views) '
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (chunk.chunk_id, chunk.doc_id, chunk.ordinal, chunk.start, chunk.end, chunk.text,
                 chunk.clean, json.dumps(toks, ensure_ascii=False), n_views),
            )
            rows.append(int(cur.lastrowid or 0))
        self.conn.executemany(
            f"INSERT INTO figures ({_FIGURE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(f.doc_id, f.start, f.end, f.value, f.unit, f.number, f.metric, f.year, f.period,
              f.qualifier, f.kind, f.text, f.sentence, f.table, f.row, f.column) for f in figures],
        )
        return rows

    def add_signature(self, doc_id: str, signature: np.ndarray) -> None:
        """Record a document's MinHash signature (:mod:`qa.dedup`), so a later upload is checked without it."""
        self.conn.execute("INSERT INTO signatures (doc_id, signature) VALUES (?, ?)",
                          (doc_id, np.asarray(signature, dtype=np.uint32).tobytes()))

    def original_signatures(self) -> list[tuple[str, np.ndarray]]:
        """Signatures of the documents that reprint no other, by id."""
        cur = self.conn.execute("SELECT s.doc_id, s.signature FROM signatures s LEFT JOIN details d "
                                "ON d.doc_id = s.doc_id WHERE d.duplicate_of IS NULL ORDER BY s.doc_id")
        return [(doc_id, np.frombuffer(blob, dtype=np.uint32)) for doc_id, blob in cur]

    def remove_document(self, doc_id: str) -> list[int]:
        """Delete a document with its chunks and figures; returns the removed chunks' row ids."""
        rows = [r for (r,) in self.conn.execute("SELECT row FROM chunks WHERE doc_id = ?", (doc_id,))]
        self.conn.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
        self.conn.execute("DELETE FROM figures WHERE doc_id = ?", (doc_id,))
        self.conn.execute("DELETE FROM details WHERE doc_id = ?", (doc_id,))
        self.conn.execute("DELETE FROM normalized WHERE doc_id = ?", (doc_id,))
        self.conn.execute("DELETE FROM signatures WHERE doc_id = ?", (doc_id,))
        self.conn.execute("DELETE FROM trigrams WHERE doc_id = ?", (doc_id,))
        self.conn.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
        return rows

    def seal_trigrams(self) -> None:
        """Merge the trigram index into one b-tree (fewer page reads a lookup); done once a store is written."""
        self.conn.execute("INSERT INTO trigrams (trigrams) VALUES ('optimize')")

    def set_tokens(self, rows: Iterable[tuple[int, list[str]]]) -> None:
        """Replace the lexical tokens of the given chunk rows."""
        self.conn.executemany("UPDATE chunks SET tokens = ? WHERE row = ?",
                              [(json.dumps(toks, ensure_ascii=False), row) for row, toks in rows])

    # -- reading -------------------------------------------------------------------------------------
    def documents(self, with_text: bool = False) -> list[Document]:
        """Every document, by id."""
        select = _DOC_SELECT if with_text else _DOC_SELECT.replace("x.text,", "'',")
        rows = self.conn.execute(f"{select} ORDER BY x.doc_id").fetchall()
        if with_text:  # each text can fetch its clean form, stored at build time, instead of normalizing again
            return [_document((*r[:7], StoredText(r[7], self, r[0]), *r[8:])) for r in rows]
        return [_document(r) for r in rows]

    def clean_texts(self) -> Iterator[str]:
        """Every document's clean text (as :func:`qa.normalize.normalize` made it at build time), by id."""
        return (clean for (clean,) in self.conn.execute("SELECT clean FROM normalized ORDER BY doc_id"))

    def normalized(self, doc_id: str, raw: str) -> Normalized | None:
        """A document's clean text with its map back to ``raw`` (its raw text), as stored at build time."""
        row = self.conn.execute("SELECT clean, offsets FROM normalized WHERE doc_id = ?", (doc_id,)).fetchone()
        return Normalized(raw=raw, text=row[0], offsets=unpack_offsets(row[1])) if row else None

    def document(self, doc_id: str) -> Document | None:
        """One document with its raw text, or None."""
        row = self.conn.execute(f"{_DOC_SELECT} WHERE x.doc_id = ?", (doc_id,)).fetchone()
        return _document(row) if row else None

    def layout(self, doc_id: str) -> Loaded | None:
        """The pages, lines and tables of a converted document (None for a text file)."""
        from qa.loaders import Loaded

        row = self.conn.execute("SELECT layout FROM details WHERE doc_id = ?", (doc_id,)).fetchone()
        return Loaded.from_json(json.loads(row[0])) if row and row[0] else None

    def doc_hashes(self) -> dict[str, str]:
        """Raw-text hash and metadata fingerprint by document id, to diff against the corpus."""
        rows = self.conn.execute("SELECT x.doc_id, x.title, x.date, x.source, x.sha256, d.duplicate_of "
                                 "FROM documents x LEFT JOIN details d ON d.doc_id = x.doc_id")
        return {r[0]: fingerprint(r[1], r[2], r[3], r[4], r[5]) for r in rows}

    def chunks_by_rows(self, rows: Sequence[int]) -> dict[int, Chunk]:
        """Chunks keyed by their row id."""
        if not rows:
            return {}
        marks = ",".join("?" * len(rows))
        cur = self.conn.execute(f"SELECT {_CHUNK_COLS} FROM chunks WHERE row IN ({marks})", list(rows))
        return {r[0]: _chunk(r) for r in cur}

    def next_chunk(self, chunk: Chunk) -> Chunk | None:
        """The chunk that follows ``chunk`` in its document, if there is one."""
        row = self.conn.execute(f"SELECT {_CHUNK_COLS} FROM chunks WHERE doc_id = ? AND ordinal = ?",
                                (chunk.doc_id, chunk.ordinal + 1)).fetchone()
        return _chunk(row) if row else None

    def figures_measuring(self, metric: str) -> list[Figure]:
        """The figures whose metric is exactly ``metric``, in every document (an index lookup, not a scan)."""
        cur = self.conn.execute(f"SELECT {_FIGURE_COLS} FROM figures WHERE metric = ? ORDER BY doc_id, start", (metric,))
        return [_figure(r) for r in cur]

    def chunk_holding(self, doc_id: str, start: int, end: int) -> Chunk | None:
        """The first chunk of ``doc_id`` whose raw span holds ``start``–``end``, if one does."""
        row = self.conn.execute(f'SELECT {_CHUNK_COLS} FROM chunks WHERE doc_id = ? AND start <= ? AND "end" >= ? '
                                "ORDER BY ordinal LIMIT 1", (doc_id, start, end)).fetchone()
        return _chunk(row) if row else None

    def all_chunks(self) -> list[tuple[int, Chunk, list[str]]]:
        """Every chunk with its row id and lexical tokens, in document order."""
        cur = self.conn.execute(f"SELECT {_CHUNK_COLS}, tokens FROM chunks ORDER BY doc_id, ordinal")
        return [(r[0], _chunk(r[:8]), json.loads(r[8])) for r in cur]

    def chunk_tokens(self, batch: int = 20000) -> Iterator[list[tuple[int, list[str]]]]:
        """Every chunk's row id and lexical tokens, in document order, ``batch`` chunks at a time."""
        cur = self.conn.execute("SELECT row, tokens FROM chunks ORDER BY doc_id, ordinal")
        while rows := cur.fetchmany(batch):
            yield [(row, json.loads(tokens)) for row, tokens in rows]

    def figures(self, doc_id: str | None = None, metric: str | None = None, year: int | None = None,
                start: int | None = None, end: int | None = None) -> list[Figure]:
        """Figures filtered by document, metric substring, year and raw span."""
        where: list[str] = []
        args: list[object] = []
        if doc_id is not None:
            where.append("doc_id = ?")
            args.append(doc_id)
        if metric:
            pattern = "%" + metric.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append("(metric LIKE ? ESCAPE '\\' OR sentence LIKE ? ESCAPE '\\')")
            args += [pattern, pattern]
        if year is not None:
            where.append("year = ?")
            args.append(year)
        if start is not None and end is not None:
            where.append('start >= ? AND "end" <= ?')
            args += [start, end]
        sql = f"SELECT {_FIGURE_COLS} FROM figures"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [_figure(r) for r in self.conn.execute(sql + " ORDER BY doc_id, start", args)]


def pack_offsets(offsets: Sequence[int]) -> bytes:
    """A clean-to-raw offset map, compactly: the steps between offsets (mostly 1) as int32, zlib-compressed."""
    steps = np.diff(np.asarray(offsets, dtype=np.int64), prepend=0).astype(np.int32)
    return zlib.compress(steps.tobytes(), 6)


def unpack_offsets(blob: bytes) -> tuple[int, ...]:
    """The offset map :func:`pack_offsets` packed."""
    steps = np.frombuffer(zlib.decompress(blob), dtype=np.int32)
    return tuple(np.cumsum(steps, dtype=np.int64).tolist())


def _document(r: tuple[Any, ...]) -> Document:
    return Document(doc_id=r[0], title=r[1], date=r[2], source=r[3], date_note=r[4], path=r[5], text=r[7],
                    format=r[8] or "text", duplicate_of=r[9], index_no=r[10], doc_no=r[11], pages=r[12] or 0)


def _chunk(r: tuple[Any, ...]) -> Chunk:
    return Chunk(chunk_id=r[1], doc_id=r[2], ordinal=r[3], start=r[4], end=r[5], text=r[6], clean=r[7])


def _figure(r: tuple[Any, ...]) -> Figure:
    return Figure(doc_id=r[0], start=r[1], end=r[2], value=r[3], unit=r[4], number=r[5], metric=r[6],
                  year=r[7], period=r[8], qualifier=r[9], kind=r[10], text=r[11], sentence=r[12],
                  table=r[13], row=r[14], column=r[15])
