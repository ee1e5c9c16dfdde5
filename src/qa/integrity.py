"""Checks that an index version is exactly what its build wrote, and that its store agrees with its documents.

A build seals each version: ``meta.json`` records a checksum of each of its files (store, vectors, postings), and
before sealing every chunk's text is checked against the raw text of its document in the corpus. Loading
checks the seal and the store again, so a truncated file, a damaged page or an edited number is refused with
:class:`~qa.errors.IndexDamagedError` (and the previous good version served instead) rather than answered from.
"""

from __future__ import annotations

import hashlib
import sqlite3
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from qa.errors import IndexDamagedError
from qa.types import Document

SEALED_FILES = ("store.sqlite", "vectors.faiss", "vocab.txt", "bm25-terms.json", "bm25-offsets.npy", "bm25-rows.npy",
                "bm25-counts.npy", "bm25-lengths.npy")
# A version whose vectors and BM25 are in Milvus (qa.backends.milvus) seals the file naming its collections instead.
MILVUS_MARKER = "vectors.milvus.json"
MILVUS_SEALED_FILES = ("store.sqlite", MILVUS_MARKER, "vocab.txt")


def sealed_files(version: Path, recorded: Any = None) -> tuple[str, ...]:
    """The files sealed in a version: a Milvus version's (recorded in its checksums, else present) or FAISS's."""
    milvus = MILVUS_MARKER in recorded if isinstance(recorded, dict) else (version / MILVUS_MARKER).exists()
    return MILVUS_SEALED_FILES if milvus else SEALED_FILES


def file_digest(path: Path) -> str:
    """CRC-32 and length of a file's bytes: finds truncation and damage at several GB/s, so a large index starts
    in seconds (an edit made on purpose, with the seal redone, is caught by :func:`check_chunks`)."""
    crc, size = 0, 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            crc, size = zlib.crc32(block, crc), size + len(block)
    return f"crc32:{crc:08x}:{size}"


def seal(version: Path) -> dict[str, str]:
    """The checksums a version's meta.json records."""
    return {name: file_digest(version / name) for name in sealed_files(version)}


def check_seal(version: Path, meta: dict[str, Any]) -> None:
    """Refuse a version whose files are missing or differ from what its build wrote."""
    sums = meta.get("checksums")
    if not isinstance(sums, dict):
        raise IndexDamagedError(f"index version {version.name} has no checksums in meta.json")
    for name in sealed_files(version, sums):
        try:
            actual = file_digest(version / name)
        except OSError as exc:
            raise IndexDamagedError(f"index version {version.name}: {name} cannot be read ({exc.strerror})") from None
        if actual != sums.get(name):
            raise IndexDamagedError(f"index version {version.name}: {name} does not match its checksum "
                                    "(truncated, damaged or edited after it was written)")


def check_chunks(conn: sqlite3.Connection, documents: Iterable[Document], where: str) -> None:
    """Every chunk's text must be its document's raw text at its offsets, and every document's hash its text's.

    ``documents`` are the corpus documents when a version is written, the stored ones when it is loaded.
    """
    texts = {d.doc_id: d.text for d in documents}
    for doc_id, sha in conn.execute("SELECT doc_id, sha256 FROM documents"):
        text = texts.get(doc_id)
        if text is None or hashlib.sha256(text.encode("utf-8")).hexdigest() != sha:
            raise IndexDamagedError(f"{where}: the stored text of document {doc_id!r} does not match its hash")
    for doc_id, start, end, text in conn.execute('SELECT doc_id, start, "end", text FROM chunks'):
        raw = texts.get(doc_id)
        if raw is None or raw[start:end] != text:
            raise IndexDamagedError(f"{where}: a chunk of document {doc_id!r} at {start}-{end} does not match "
                                    "the document's text")


def describe(exc: BaseException) -> str:
    """A short reason for a library error met while reading an index (no stack, no internal paths)."""
    if isinstance(exc, sqlite3.DatabaseError):
        return f"the store cannot be read ({exc})"
    if isinstance(exc, OSError):
        return f"a file cannot be read ({exc.strerror or exc})"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"a file cannot be read ({first[:120]})"
