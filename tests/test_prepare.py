"""A large build cuts its documents in worker processes and writes the very index one process writes."""

import sqlite3
import threading
from pathlib import Path

import pytest

import qa.prepare
from conftest import make_settings
from qa.embed import HashEmbedder
from qa.index import build, current_version
from qa.prepare import workers_for

TABLES = ("documents", "chunks", "figures", "normalized", "signatures", "trigrams")


def rows(version: Path, table: str) -> list[tuple]:
    conn = sqlite3.connect(version / "store.sqlite")
    try:
        columns = "doc_id, sha256, text" if table == "documents" else "*"
        return conn.execute(f"SELECT {columns} FROM {table} ORDER BY rowid").fetchall()
    finally:
        conn.close()


def test_workers_write_the_index_one_process_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    alone = make_settings(tmp_path / "alone").model_copy(update={"build_workers": 1})
    shared = make_settings(tmp_path / "shared").model_copy(update={"build_workers": 2})
    monkeypatch.setattr(qa.prepare, "MIN_DOCUMENTS", 1)
    monkeypatch.setattr(qa.prepare, "_may_fork", lambda: True)  # whatever threads earlier tests left running
    assert workers_for(alone, 5) == 0 and workers_for(shared, 5) == 2
    calls = []
    real = qa.prepare.prepared
    monkeypatch.setattr(qa.prepare, "prepared", lambda *a: calls.append(a[-1]) or real(*a))
    first = build(alone, HashEmbedder())
    second = build(shared, HashEmbedder())
    assert calls == [0, 2]  # the second build did use two workers
    assert first.chunks == second.chunks > 0
    a, b = current_version(alone.index_dir), current_version(shared.index_dir)
    assert a is not None and b is not None
    for table in TABLES:
        assert rows(a, table) == rows(b, table), table
    for name in ("vectors.faiss", "bm25-rows.npy", "bm25-counts.npy", "bm25-offsets.npy", "bm25-lengths.npy",
                 "bm25-terms.json", "vocab.txt"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_no_workers_from_a_thread_or_for_a_small_build(tmp_path: Path) -> None:
    settings = make_settings(tmp_path).model_copy(update={"build_workers": 2})
    assert workers_for(settings, qa.prepare.MIN_DOCUMENTS - 1) == 0
    seen = []
    thread = threading.Thread(target=lambda: seen.append(workers_for(settings, 10**6)))
    thread.start()
    thread.join()
    assert seen == [0]  # a server reindexes in a thread: forking there could copy a held lock
