"""Several processes over one index: each serves what another made current, and changes go one at a time."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from conftest import running_server
from qa.config import Settings
from qa.embed import HashEmbedder
from qa.errors import NotFoundError
from qa.index import build, current_version
from qa.service import Service
from qa.workers import IndexFollower, writer_lock

WINDMILLS = "测试区2030年新建了987座风车，总装机容量达到12万千瓦。"


def two_workers(settings: Settings) -> tuple[Service, Service]:
    """Two services over one index folder, as two worker processes have."""
    return Service.from_settings(settings, HashEmbedder()), Service.from_settings(settings, HashEmbedder())


def test_a_worker_serves_an_upload_made_through_another(mini_settings: Settings) -> None:
    first, second = two_workers(mini_settings)
    try:
        first.add_document(WINDMILLS, title="风车", doc_id="windmills")
        with pytest.raises(NotFoundError):
            second.document("windmills")  # not followed yet
        assert second.follow_current() is True
        assert second.snapshot.path == first.snapshot.path == current_version(mini_settings.index_dir)
        assert second.document("windmills").text == WINDMILLS
        assert "987座风车" in second.ask("测试区新建了多少座风车？").text
        assert second.follow_current() is False  # nothing new
    finally:
        first.close()
        second.close()


def test_a_version_made_by_qa_build_is_served_by_the_following_thread(mini_settings: Settings) -> None:
    service = Service.from_settings(mini_settings, HashEmbedder())
    service.follow(interval=0.05)
    try:
        (mini_settings.corpus_dir / "windmills.txt").write_text(WINDMILLS, encoding="utf-8")
        version = build(mini_settings, HashEmbedder()).version  # as `qa build` in another process
        deadline = time.monotonic() + 30
        while service.snapshot.path.name != version:
            assert time.monotonic() < deadline, "the new version was never served"
            time.sleep(0.05)
        assert "windmills" in {d.doc_id for d in service.documents()}
    finally:
        service.close()


def test_a_change_is_made_against_the_newest_version_whoever_made_it(mini_settings: Settings) -> None:
    """A worker that has not followed an upload yet can still delete the uploaded document."""
    first, second = two_workers(mini_settings)
    try:
        first.add_document(WINDMILLS, title="风车", doc_id="windmills")
        report = second.delete_document("windmills")
        assert report.removed == ["windmills"]
        assert first.follow_current() is True
        assert "windmills" not in {d.doc_id for d in first.documents()}
    finally:
        first.close()
        second.close()


def test_changes_wait_while_another_process_holds_the_writer_lock(mini_settings: Settings) -> None:
    service = Service.from_settings(mini_settings, HashEmbedder())
    held, release, done = threading.Event(), threading.Event(), threading.Event()

    def other_process() -> None:  # flock locks per open file, so a second open in this process conflicts too
        with writer_lock(mini_settings.index_dir):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=other_process)
    holder.start()
    try:
        assert held.wait(30)
        files = sorted(mini_settings.corpus_dir.iterdir())
        change = threading.Thread(target=lambda: (service.add_document(WINDMILLS, title="风车"), done.set()))
        change.start()
        assert not done.wait(0.5)  # still waiting for the lock
        assert sorted(mini_settings.corpus_dir.iterdir()) == files  # nothing written meanwhile
        release.set()
        change.join(60)
        assert done.is_set()
        assert any(d.text == WINDMILLS for d in service.documents())
    finally:
        release.set()
        holder.join()
        service.close()


def test_a_damaged_new_version_is_not_followed_and_says_so(mini_settings: Settings) -> None:
    first, second = two_workers(mini_settings)
    try:
        served = second.snapshot.path
        first.add_document(WINDMILLS, title="风车", doc_id="windmills")
        damaged = current_version(mini_settings.index_dir)
        assert damaged is not None
        (damaged / "vectors.faiss").write_bytes(b"garbage")
        assert second.follow_current() is False
        assert second.snapshot.path == served  # still answering from what it had
        assert [i["code"] for i in second.issues()] == ["index_not_followed"]
        assert second.follow_current() is False  # not tried again and again
    finally:
        first.close()
        second.close()


def test_the_follower_goes_on_after_a_failed_check() -> None:
    calls: list[int] = []

    def follow() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")

    follower = IndexFollower(follow, interval=0.01)
    try:
        deadline = time.monotonic() + 30
        while len(calls) < 3:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        follower.stop()
    with pytest.raises(ValueError, match="interval"):
        IndexFollower(follow, interval=0)


def test_every_worker_of_a_server_serves_an_upload(tmp_path: Path) -> None:
    """`qa serve --workers 2`: an upload through whichever worker gets it is served by both."""
    with running_server(tmp_path, QA_WORKERS="2", QA_RATE_LIMIT_PER_MINUTE="100000") as server:
        admin = {"Authorization": f"Bearer {server.admin_key}"}
        seen: dict[int, str] = {}
        deadline = time.monotonic() + 60
        while len(seen) < 2:  # both workers ready (new connections are spread over them)
            assert time.monotonic() < deadline, f"only workers {sorted(seen)} answered:\n{server.log_text()}"
            ready = httpx.get(f"{server.url}/readyz", timeout=10)
            if ready.status_code == 200:
                seen[ready.json()["worker"]] = ready.json()["index"]
        upload = httpx.post(f"{server.url}/v1/documents", headers=admin, timeout=60,
                            json={"title": "风车", "text": WINDMILLS, "doc_id": "windmills"})
        assert upload.status_code == 201, upload.text
        version = upload.json()["index"]
        assert version not in seen.values()
        followed: set[int] = set()
        deadline = time.monotonic() + 60
        while followed != set(seen):
            assert time.monotonic() < deadline, f"workers {sorted(set(seen) - followed)} still serve the old index"
            with httpx.Client(base_url=server.url, timeout=30) as worker:  # one connection: one worker
                ready = worker.get("/readyz").json()
                if ready["index"] == version:
                    followed.add(ready["worker"])
                    answer = worker.post("/v1/ask", json={"question": "测试区新建了多少座风车？"}).json()
                    assert "987" in answer["answer"]
