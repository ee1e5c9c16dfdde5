"""Deleted documents, kept restorable for a while under ``state_dir/trash``.

A delete copies the document's file and manifest entry here before it touches the corpus, so any delete can
be undone (``POST /v1/trash/{doc_id}/restore``) until the copy is older than ``trash_days``. Layout::

    trash/<UTC time>-<doc_id>/entry.json   the manifest entry (or none), the file name and when it was deleted
    trash/<UTC time>-<doc_id>/<file name>  the document's bytes
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.errors import CorpusError, NotFoundError
from qa.ingest import check_doc_id, find_document, put_document, remove_document

ENTRY = "entry.json"


@dataclass(frozen=True)
class Trashed:
    """A deleted document that can still be restored."""

    doc_id: str
    title: str
    deleted_at: str
    folder: Path


def trash_document(corpus_dir: Path, trash_dir: Path, doc_id: str) -> Trashed:
    """Copy a document to the trash, then remove it from the corpus."""
    doc, entry = find_document(corpus_dir, doc_id)
    assert doc.path is not None
    now = dt.datetime.now(dt.UTC)
    folder = trash_dir / f"{now.strftime('%Y%m%dT%H%M%S%f')}-{doc_id}"
    folder.mkdir(parents=True)
    try:
        name = Path(doc.path).name
        shutil.copyfile(doc.path, folder / name)
        deleted_at = now.isoformat(timespec="seconds")
        record = {"doc_id": doc_id, "title": doc.title, "file": name, "entry": entry, "deleted_at": deleted_at}
        (folder / ENTRY).write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
        remove_document(corpus_dir, doc_id)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Trashed(doc_id, doc.title, deleted_at, folder)


def list_trash(trash_dir: Path, keep_days: float) -> list[Trashed]:
    """Restorable documents, newest first; copies older than ``keep_days`` are removed on the way."""
    if not trash_dir.is_dir():
        return []
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=keep_days)
    found = []
    for folder in sorted(trash_dir.iterdir(), reverse=True):
        record = _record(folder)
        if record is None:
            continue
        if dt.datetime.fromisoformat(record["deleted_at"]) < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            continue
        found.append(Trashed(record["doc_id"], record["title"], record["deleted_at"], folder))
    return found


def restore_document(corpus_dir: Path, trash_dir: Path, doc_id: str, keep_days: float) -> Trashed:
    """Put the newest deleted copy of ``doc_id`` back into the corpus (file and manifest entry)."""
    check_doc_id(doc_id)
    trashed = next((t for t in list_trash(trash_dir, keep_days) if t.doc_id == doc_id), None)
    if trashed is None:
        raise NotFoundError(f"no deleted document {doc_id!r} to restore")
    record = _record(trashed.folder)
    assert record is not None
    try:
        find_document(corpus_dir, doc_id)
    except NotFoundError:
        pass
    else:
        raise CorpusError(f"document {doc_id!r} already exists; delete it before restoring the old one")
    put_document(corpus_dir, record["file"], (trashed.folder / record["file"]).read_bytes(), record["entry"])
    return trashed


def forget(trashed: Trashed) -> None:
    """Drop a trash copy (after it was restored and indexed)."""
    shutil.rmtree(trashed.folder, ignore_errors=True)


def _record(folder: Path) -> dict[str, Any] | None:
    try:
        record: dict[str, Any] = json.loads((folder / ENTRY).read_text(encoding="utf-8"))
        dt.datetime.fromisoformat(record["deleted_at"])
        name = record.get("file")
        plain = isinstance(name, str) and Path(name).name == name and not name.startswith(".")
        return record if isinstance(record.get("doc_id"), str) and plain else None
    except (OSError, ValueError, KeyError, TypeError):
        return None
