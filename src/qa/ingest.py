"""The corpus on disk: documents plus one metadata manifest (``corpus/manifest.json``).

Adding a document is dropping a file into the corpus folder (text, Markdown, PDF, DOCX, HTML, XLSX, CSV,
OFD or an image; see :mod:`qa.loaders`) and, optionally, an entry for it in the manifest. A file without an
entry is still indexed, titled by the title its file gives (PDF metadata, 政务公开 box, Word title) or by its
first line, and dated by the date its file gives, if any. Files other than text are converted once and
the conversion cached (:mod:`qa.convert`).
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.errors import CorpusError, DocumentParseError, NotFoundError
from qa.loaders import SUFFIXES as LOADER_SUFFIXES
from qa.loaders import Context, Limits, Loaded, detect_format
from qa.loaders.text import decode
from qa.types import Document, content_hash

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
SUFFIXES = tuple(LOADER_SUFFIXES)
TEXT_SUFFIXES = (".txt", ".md")
Progress = Callable[[str, int, int], None]
DOC_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # used with fullmatch: `$` would let "abc\n" in


@dataclass(frozen=True)
class Problem:
    """A corpus file that was skipped, and why."""

    path: str
    reason: str


def check_doc_id(doc_id: str) -> str:
    """Return ``doc_id`` if it is a safe id (letters, digits, ``_ . -``; no path separators)."""
    if not isinstance(doc_id, str) or not DOC_ID.fullmatch(doc_id) or ".." in doc_id:
        raise NotFoundError(f"invalid document id {doc_id!r}: use 1-64 letters, digits, '_', '.', '-'")
    return doc_id


def check_date(value: str | None) -> str | None:
    """Return an ISO date (YYYY-MM-DD, YYYY-MM or YYYY), or raise CorpusError."""
    if value in (None, ""):
        return None
    assert value is not None
    for fmt, pad in (("%Y-%m-%d", ""), ("%Y-%m", "-01"), ("%Y", "-01-01")):
        try:
            dt.datetime.strptime(value, fmt)
            return value + pad if pad else value
        except ValueError:
            continue
    raise CorpusError(f"invalid date {value!r}: expected YYYY-MM-DD")


def check_text(text: str, name: str = "text") -> str:
    """Return ``text`` if the corpus can hold it: not blank, and no NUL (which marks a binary file)."""
    if not text.strip():
        raise DocumentParseError(f"{name}: empty document" if name != "text" else "empty document")
    at = text.find("\x00")
    if at >= 0:
        raise DocumentParseError(f"{name} contains U+0000 (NUL) at position {at}; a document must be plain text")
    return text


def read_manifest(corpus_dir: Path) -> dict[str, dict[str, Any]]:
    """Manifest entries by file name."""
    path = corpus_dir / MANIFEST
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["documents"]
        return {entry["file"]: entry for entry in entries}
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise CorpusError(f"{path}: broken manifest ({exc})") from exc


def load_corpus(corpus_dir: Path, progress: Progress | None = None,
                limits: Limits | None = None) -> tuple[list[Document], list[Problem]]:
    """Read every document of the corpus; unreadable files are reported, not fatal.

    ``progress(stage, done, total)`` hears of the pages of each file being converted; ``limits`` bound what
    one file may cost to convert.
    """
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder {corpus_dir} does not exist")
    manifest = read_manifest(corpus_dir)
    docs: list[Document] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for path in sorted(corpus_dir.iterdir()):
        if path.suffix.lower() not in SUFFIXES or not path.is_file() or path.name.startswith("."):
            continue
        entry = manifest.get(path.name, {})
        try:
            doc = read_document(corpus_dir, path, entry, progress, limits)
        except (CorpusError, NotFoundError) as exc:
            problems.append(Problem(str(path), str(exc)))
            log.warning("skipped %s", exc)
            continue
        if doc.doc_id in seen:
            problems.append(Problem(str(path), f"duplicate document id {doc.doc_id!r}"))
            continue
        seen.add(doc.doc_id)
        docs.append(doc)
    order = {e["file"]: i for i, e in enumerate(manifest.values())}
    docs.sort(key=lambda d: (order.get(Path(d.path or "").name, len(order)), Path(d.path or "").name))
    return docs, problems


def read_document(corpus_dir: Path, path: Path, entry: dict[str, Any], progress: Progress | None = None,
                  limits: Limits | None = None) -> Document:
    """One corpus file as a Document: a text file as it is, any other format through its (cached) conversion."""
    data = path.read_bytes()
    doc_id = check_doc_id(entry.get("id") or path.stem)
    if path.suffix.lower() in TEXT_SUFFIXES:
        detect_format(path.name, data)  # a .txt that is really a PDF is refused with a message saying so
        text = decode(data, path.name)
        return Document(doc_id=doc_id, title=entry.get("title") or _first_line(text), text=text,
                        date=check_date(entry.get("date")), source=entry.get("source"),
                        date_note=entry.get("date_note") or (None if entry else "not in manifest"), path=str(path))
    from qa.convert import convert

    report = (lambda done, total: progress(f"reading {path.name}", done, total)) if progress else None
    loaded = convert(corpus_dir, path.name, data, Context(limits=limits or Limits(), progress=report))
    return converted_document(doc_id, loaded, entry, path)


def converted_document(doc_id: str, loaded: Loaded, entry: dict[str, Any], path: Path) -> Document:
    """A converted file as a Document: the manifest's metadata first, then what the file itself says."""
    meta = loaded.meta
    date = entry.get("date") or meta.get("date")
    note = entry.get("date_note") if entry.get("date") else meta.get("date_note") if meta.get("date") else None
    return Document(
        doc_id=doc_id,
        title=entry.get("title") or meta.get("title") or _first_line(loaded.text),
        text=loaded.text,
        date=check_date(date),
        source=entry.get("source") or meta.get("source"),
        date_note=note or (None if entry else "not in manifest"),
        path=str(path),
        format=loaded.format,
        index_no=meta.get("index_no"),
        doc_no=meta.get("doc_no"),
        pages=len(loaded.pages),
        layout=loaded,
    )


def corpus_hash(docs: list[Document], sha256: Mapping[str, str] | None = None) -> str:
    """Hash over ids, metadata and texts: changes whenever anything indexed would change.

    ``sha256`` may give texts' hashes already known (checked against the texts), by document id.
    """
    sha256 = sha256 or {}
    parts = [f"{d.doc_id}|{d.title}|{d.date}|{d.source}|{sha256.get(d.doc_id) or d.sha256}"
             + (f"|{d.duplicate_of}" if d.duplicate_of else "") for d in sorted(docs, key=lambda d: d.doc_id)]
    return content_hash(*parts, length=32)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = line.replace("**", "").strip().lstrip("#").strip()
        if line:
            return line[:60]
    return "untitled"


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_manifest(corpus_dir: Path, entries: list[dict[str, Any]]) -> None:
    # One entry a line: written by json's C encoder (an indented dump takes its pure-Python path, 1.3 s for
    # 100,000 documents), and still a file a person can read and edit.
    lines = ",\n".join("    " + json.dumps(e, ensure_ascii=False) for e in entries)
    body = '{\n  "documents": [\n' + lines + ("\n" if entries else "") + "  ]\n}\n"
    _write_atomic(corpus_dir / MANIFEST, body.encode("utf-8"))


def _present(corpus_dir: Path) -> Callable[[str], bool]:
    """Whether a file named in the manifest exists, from one listing of the folder instead of a stat each."""
    listed = {e.name: e.is_symlink() for e in os.scandir(corpus_dir)}

    def exists(name: str) -> bool:
        if "/" in name or os.sep in name or name not in listed or listed[name]:
            return (corpus_dir / name).exists()  # a subfolder's file, or a link that may point nowhere
        return True

    return exists


def add_document(
    corpus_dir: Path,
    text: str,
    *,
    title: str,
    doc_id: str | None = None,
    date: str | None = None,
    source: str | None = None,
    suffix: str = ".txt",
) -> Document:
    """Store a new document in the corpus (file, then manifest entry) and return it."""
    check_text(text)
    doc_id = check_doc_id(doc_id or "doc_" + content_hash(text))
    date = check_date(date)
    name = f"{doc_id}{suffix if suffix in TEXT_SUFFIXES else '.txt'}"
    title = title.strip() or _first_line(text)
    entry = {"id": doc_id, "file": name, "title": title, "date": date, "date_note": "given at upload", "source": source}
    put_document(corpus_dir, name, text.encode("utf-8"), entry)
    return Document(doc_id=doc_id, title=title, text=text, date=date, source=source,
                    date_note="given at upload", path=str(corpus_dir / name))


def add_file(
    corpus_dir: Path,
    name: str,
    data: bytes,
    *,
    title: str | None = None,
    doc_id: str | None = None,
    date: str | None = None,
    source: str | None = None,
    context: Context | None = None,
    accept: Callable[[str], None] | None = None,
) -> Document:
    """Convert a file of any supported format and store it in the corpus (original, conversion, manifest entry).

    The file is converted before anything is written: a file that cannot be read, or whose text ``accept``
    refuses (by raising), changes nothing.
    """
    from qa.convert import cache_path, write_cache
    from qa.loaders import FORMATS, load

    fmt = detect_format(name, data)
    if fmt == "text":
        text = decode(data, name)
        if accept is not None:
            accept(text)
        return add_document(corpus_dir, text, title=title or "", doc_id=doc_id, date=date, source=source,
                            suffix=".md" if name.lower().endswith(".md") else ".txt")
    date = check_date(date)
    if doc_id is not None:
        check_doc_id(doc_id)
    loaded = load(data, name, context)
    if accept is not None:
        accept(loaded.text)
    doc_id = check_doc_id(doc_id or "doc_" + content_hash(loaded.text))
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else FORMATS[fmt].suffix
    stored = f"{doc_id}{suffix}"
    if any(p.stem == doc_id for p in corpus_dir.iterdir() if p.suffix.lower() in SUFFIXES):
        raise CorpusError(f"document {doc_id!r} already exists")
    entry: dict[str, Any] = {"id": doc_id, "file": stored, "title": (title or "").strip() or None,
                             "date": date, "date_note": "given at upload" if date else None, "source": source}
    entry = {k: v for k, v in entry.items() if v is not None}
    write_cache(cache_path(corpus_dir, stored, data), loaded)
    put_document(corpus_dir, stored, data, entry)
    return converted_document(doc_id, loaded, entry, corpus_dir / stored)


def put_document(corpus_dir: Path, name: str, data: bytes, entry: dict[str, Any] | None) -> None:
    """Write a document's file and then its manifest entry (if any); a failure leaves neither behind."""
    doc_id = entry["id"] if entry else Path(name).stem
    # An entry whose file is gone (a removal cut short by a full disk) does not hold its id.
    exists = _present(corpus_dir)
    entries = [e for e in read_manifest(corpus_dir).values() if exists(e["file"])]
    if any((e["id"] if "id" in e else Path(e["file"]).stem) == doc_id for e in entries) or any(
        (corpus_dir / f"{doc_id}{s}").exists() for s in SUFFIXES
    ) or (corpus_dir / name).exists():
        raise CorpusError(f"document {doc_id!r} already exists")
    _write_atomic(corpus_dir / name, data)
    if entry is None:
        return
    try:
        _write_manifest(corpus_dir, [*entries, entry])
    except BaseException:
        (corpus_dir / name).unlink(missing_ok=True)
        raise


def find_document(corpus_dir: Path, doc_id: str) -> tuple[Document, dict[str, Any] | None]:
    """A corpus document with its manifest entry (None when it has none), or NotFoundError."""
    check_doc_id(doc_id)
    manifest = read_manifest(corpus_dir)
    named = [name for name, entry in manifest.items() if entry.get("id") == doc_id]
    named += [p.name for p in corpus_dir.glob(f"{glob.escape(doc_id)}.*")
              if p.suffix.lower() in SUFFIXES and not manifest.get(p.name, {}).get("id") and p.name not in named]
    if len(named) == 1 and (corpus_dir / named[0]).is_file():  # one file holds the id: read it alone
        try:
            return read_document(corpus_dir, corpus_dir / named[0], manifest.get(named[0], {})), manifest.get(named[0])
        except (CorpusError, NotFoundError):
            pass  # as the whole corpus is read: the error is the scan's to report
    docs, _ = load_corpus(corpus_dir)
    doc = next((d for d in docs if d.doc_id == doc_id), None)
    if doc is None or doc.path is None:
        raise NotFoundError(f"unknown document {doc_id!r}")
    return doc, read_manifest(corpus_dir).get(Path(doc.path).name)


def remove_document(corpus_dir: Path, doc_id: str) -> None:
    """Delete a document's file and manifest entry.

    The file goes first: on a full disk that frees the space the new manifest needs, and an entry left
    without its file is never indexed.
    """
    doc, _ = find_document(corpus_dir, doc_id)
    assert doc.path is not None
    Path(doc.path).unlink(missing_ok=True)
    entries = [e for e in read_manifest(corpus_dir).values() if e["file"] != Path(doc.path).name]
    _write_manifest(corpus_dir, entries)
