"""The service under faults: a restart after a crash, replaced snapshots, a full disk, deletes to undo."""

from __future__ import annotations

import errno
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

import qa.service
from conftest import MINI, make_settings
from qa.config import Settings
from qa.embed import HashEmbedder
from qa.errors import CorpusError, NotFoundError, StorageFullError
from qa.index import build, current_version
from qa.service import Service

WINDMILLS = "测试区2030年新建了987座风车，总装机容量达到12万千瓦。"


def deleted_files_open(under: Path) -> list[str]:
    """Files under ``under`` this process still holds open although they were deleted."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(under)) and target.endswith(" (deleted)"):
            found.append(target)
    return found


# -- a restart after a crash ------------------------------------------------------------------------------


def test_a_stale_index_is_served_at_once_and_caught_up_in_the_background(
        corpus_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """kill -9 during an upload leaves the corpus ahead of the index; the restart must not wait for a build."""
    build(corpus_settings, HashEmbedder())
    before = current_version(corpus_settings.index_dir)
    (corpus_settings.corpus_dir / "windmills.txt").write_text(WINDMILLS, encoding="utf-8")  # never indexed
    release = threading.Event()
    real_build = qa.service.build

    def held_build(*args: Any, **kwargs: Any) -> Any:
        assert release.wait(30)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(qa.service, "build", held_build)
    service = Service.from_settings(corpus_settings, HashEmbedder(), wait=False)
    try:
        assert service.snapshot.path == before  # answering from the last good index, build still held
        assert "1500亿元" in service.ask("九龙坡2020年地区生产总值是多少").text
        assert [i["code"] for i in service.issues()] == ["index_catching_up"]
        release.set()
        service.wait_idle(60)
        assert service.issues() == []
        assert "windmills" in service.snapshot.documents
    finally:
        release.set()
        service.close()


def test_a_failed_catch_up_is_reported_and_the_old_index_kept(corpus_settings: Settings,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    build(corpus_settings, HashEmbedder())
    before = current_version(corpus_settings.index_dir)
    (corpus_settings.corpus_dir / "windmills.txt").write_text(WINDMILLS, encoding="utf-8")

    def broken_build(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(qa.service, "build", broken_build)
    monkeypatch.setattr(qa.service, "has_room", lambda path, needed: False)  # the disk stays full
    service = Service.from_settings(corpus_settings, HashEmbedder(), wait=False)
    try:
        service.wait_idle(60)
        assert service.snapshot.path == before
        issues = {i["code"]: i["message"] for i in service.issues()}
        assert issues["storage_full"] == ("updating the index failed: no space left on the server's disk; "
                                          "nothing was changed")
        assert issues["index_update_failed"].startswith("bringing the index up to date failed (updating the index "
                                                        "failed: no space left")
    finally:
        service.close()


# -- replaced snapshots are closed --------------------------------------------------------------------------


def test_replaced_snapshots_are_closed_when_their_last_request_ends(mini_settings: Settings) -> None:
    """About 130 swaps left 82 handles open on deleted files; now none stays open."""
    service = Service.from_settings(mini_settings, HashEmbedder())
    try:
        with service.lease() as held:  # a request that started before all the swaps below
            for n in range(12):
                service.add_document(f"测试区{2030 + n}年新建了{n + 2}座风车。", title=f"风车{n}", doc_id=f"w{n}")
            assert service.snapshot is not held
            assert held.store.figures(doc_id="wrapped")  # still readable while leased
            assert service._slot.open_count() == 2
        assert service._slot.open_count() == 1
        with pytest.raises(Exception, match="closed"):
            held.store.figures()
        assert deleted_files_open(mini_settings.index_dir) == []
    finally:
        service.close()


# -- a full disk -------------------------------------------------------------------------------------------


def test_a_full_disk_during_an_upload_is_a_clear_error_and_changes_nothing(
        mini_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    service = Service.from_settings(mini_settings, HashEmbedder())
    files = sorted(p.name for p in mini_settings.corpus_dir.iterdir())
    version = service.snapshot.path

    def full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    try:
        monkeypatch.setattr(qa.service, "build", full)
        monkeypatch.setattr(qa.service, "update", full)  # an upload writes a segment, or builds in full
        monkeypatch.setattr(qa.service, "has_room", lambda path, needed: False)  # the disk stays full
        with pytest.raises(StorageFullError) as err:
            service.add_document(WINDMILLS, title="风车", doc_id="windmills")
        assert str(err.value) == "adding the document failed: no space left on the server's disk; nothing was changed"
        assert sorted(p.name for p in mini_settings.corpus_dir.iterdir()) == files
        assert service.snapshot.path == version
        assert [i["code"] for i in service.issues()] == ["storage_full"]
        monkeypatch.undo()
        service.add_document(WINDMILLS, title="风车", doc_id="windmills")  # space again: the issue clears
        assert service.issues() == []
    finally:
        service.close()


def entries(settings: Settings) -> list[dict[str, Any]]:
    manifest = json.loads((settings.corpus_dir / "manifest.json").read_text(encoding="utf-8"))
    return sorted(manifest["documents"], key=lambda e: e["id"])


# -- deletes can be undone -----------------------------------------------------------------------------------


def test_a_deleted_document_can_be_restored(mini_settings: Settings) -> None:
    service = Service.from_settings(mini_settings, HashEmbedder())
    try:
        original = service.document("narrow")
        manifest = entries(mini_settings)
        service.delete_document("narrow")
        assert "narrow" not in service.snapshot.documents
        assert [t.doc_id for t in service.trash()] == ["narrow"]
        restored, report = service.restore_document("narrow")
        assert restored == original
        assert report.added == ["narrow"]
        assert entries(mini_settings) == manifest
        assert service.trash() == []
        with pytest.raises(NotFoundError, match="no deleted document 'narrow' to restore"):
            service.restore_document("narrow")
    finally:
        service.close()


def test_the_last_document_cannot_be_deleted(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, MINI)
    service = Service.from_settings(settings, HashEmbedder())
    try:
        service.delete_document("narrow")
        with pytest.raises(CorpusError) as err:
            service.delete_document("wrapped")
        assert str(err.value) == "'wrapped' is the last document and cannot be deleted; upload another first"
        assert set(service.snapshot.documents) == {"wrapped"}
    finally:
        service.close()


def test_a_failed_delete_puts_the_document_back(mini_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    service = Service.from_settings(mini_settings, HashEmbedder())
    files = sorted(p.name for p in mini_settings.corpus_dir.iterdir())

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise CorpusError("the build broke")

    try:
        monkeypatch.setattr(qa.service, "build", broken)
        monkeypatch.setattr(qa.service, "update", broken)
        with pytest.raises(CorpusError, match="the build broke"):
            service.delete_document("narrow")
        assert sorted(p.name for p in mini_settings.corpus_dir.iterdir()) == files
        assert service.trash() == []
    finally:
        service.close()


# -- answering before the model has loaded -------------------------------------------------------------------


class SlowModel:
    """A model that takes until ``release`` to load, like torch and e5 on a busy machine."""

    name = "hash-256"

    def __init__(self, release: threading.Event) -> None:
        self.release = release
        self.fake = HashEmbedder()
        self.loaded = False
        self.queries = 0

    @property
    def dim(self) -> int:
        assert self.release.wait(30)
        self.loaded = True
        return 256

    def encode_queries(self, texts: Any) -> Any:
        self.queries += 1
        return self.fake.encode_queries(texts)

    def encode_passages(self, texts: Any) -> Any:
        return self.fake.encode_passages(texts)


def test_a_server_answers_by_keywords_while_the_model_loads(corpus_settings: Settings) -> None:
    build(corpus_settings, HashEmbedder())
    release = threading.Event()
    model = SlowModel(release)
    service = Service.from_settings(corpus_settings, model, wait=False)
    try:
        assert not model.loaded
        assert [i["code"] for i in service.issues()] == ["model_loading"]
        answer = service.ask("九龙坡2020年地区生产总值是多少")
        assert answer.found and "1500亿元" in answer.text  # from BM25 alone
        assert model.queries == 0
        release.set()
        assert service.embedder.wait(30)  # type: ignore[attr-defined]
        assert service.issues() == []
        queries = model.queries
        service.search("跳磴河综合整治", mode="dense")
        assert model.queries > queries
    finally:
        release.set()
        service.close()
