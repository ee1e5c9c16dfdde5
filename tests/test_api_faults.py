"""The HTTP API under abuse and faults: writes that never starve reads, uploads that cannot vanish, a full disk,
guessed keys, a content-less question, deletes that can be undone."""

from __future__ import annotations

import errno
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import qa.api.app
import qa.service
from conftest import MINI, make_settings
from qa.api.app import create_app
from qa.api.keys import KeyStore
from qa.embed import HashEmbedder
from qa.service import Service
from test_api import Env, assert_error, make_env  # noqa: F401  (the fixture new_app uses)

WINDMILLS = "测试区2030年新建了987座风车，总装机容量达到12万千瓦。"


@pytest.fixture
def new_app(request: pytest.FixtureRequest) -> Callable[..., Env]:
    """An app over a private corpus copy, with settings overrides (test_api's make_env)."""
    build: Callable[..., Env] = request.getfixturevalue("make_env")
    return build


# -- writes never starve reads ---------------------------------------------------------------------------


def test_fifty_admin_calls_during_a_reindex_never_block_reads(new_app: Callable[..., Env],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """45 DELETEs waiting on a reindex once filled the shared thread pool: health checks and asks timed out."""
    app = new_app(write_queue=4)
    release, building = threading.Event(), threading.Event()
    real_build = qa.service.build

    def held_build(*args: Any, **kwargs: Any) -> Any:
        building.set()
        assert release.wait(60)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(qa.service, "build", held_build)
    statuses: list[int] = []
    lock = threading.Lock()

    def call(method: str, path: str) -> None:
        response = app.client.request(method, path, headers=app.admin)
        with lock:
            statuses.append(response.status_code)
        if response.status_code == 503:
            assert_error(response, 503, "busy")
            assert response.headers["retry-after"] == "5"

    reindex = threading.Thread(target=call, args=("POST", "/v1/reindex?full=true"))
    reindex.start()
    assert building.wait(30)
    doc_ids = app.doc_ids()
    writers = [threading.Thread(target=call, args=("DELETE", f"/v1/documents/{doc_ids[i % 4]}")) for i in range(49)]
    try:
        for thread in writers:
            thread.start()
        deadline = time.monotonic() + 30
        while len(statuses) < 49 - 4 and time.monotonic() < deadline:  # all but the queued few are refused
            time.sleep(0.05)
        assert sorted(statuses) == [503] * (49 - 4)
        reads: dict[str, int] = {}

        def read() -> None:
            reads["healthz"] = app.client.get("/healthz").status_code
            reads["readyz"] = app.client.get("/readyz").status_code
            reads["ask"] = app.client.post("/v1/ask", json={"question": "九龙坡2020年地区生产总值是多少"}).status_code
            reads["documents"] = app.client.get("/v1/documents").status_code

        reader = threading.Thread(target=read)
        reader.start()
        reader.join(30)
        assert reads == {"healthz": 200, "readyz": 200, "ask": 200, "documents": 200}, "reads waited for writes"
    finally:
        release.set()
        reindex.join(60)
        for thread in writers:
            thread.join(60)
    assert len(statuses) == 50
    assert statuses.count(200) >= 2  # the reindex and at least one delete ran once released
    assert set(statuses) <= {200, 404, 409, 503}


# -- uploads that got 201 and vanished -----------------------------------------------------------------------


BAD = [
    pytest.param({"json": {"title": "t", "text": "九龙坡\x00区"}}, 422, "unparseable_document",
                 "text contains U+0000 (NUL) at position 3; a document must be plain text", id="json-nul"),
    pytest.param({"files": {"file": ("a.txt", "九龙坡区。".encode() + b"x" * 5000 + b"\x00")}}, 422,
                 "unparseable_document", "text contains U+0000 (NUL) at position 5005; a document must be plain text",
                 id="file-nul-after-the-start"),
    pytest.param({"json": {"title": "t", "text": "九龙坡区。", "doc_id": "narrow\n"}}, 422, "invalid_request",
                 "invalid document id 'narrow\\n': use 1-64 letters, digits, '_', '.', '-'", id="json-id-newline"),
    pytest.param({"files": {"file": ("a.txt", "九龙坡区。".encode())}, "data": {"doc_id": "abc\n"}}, 422,
                 "invalid_request", "invalid document id 'abc\\n': use 1-64 letters, digits, '_', '.', '-'",
                 id="form-id-newline"),
    pytest.param({"content": b'{"title": "t", "text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"}, 422,
                 "invalid_request", "body is not valid JSON: nested too deeply", id="deeply-nested"),
    pytest.param({"content": b'{"title": "t", "text": "x", "n": ' + b"9" * 5000 + b"}"}, 422, "invalid_request",
                 "body is not valid JSON: a number is too long", id="5000-digits"),
]


@pytest.mark.parametrize(("request_kwargs", "status", "code", "message"), BAD)
def test_uploads_the_corpus_cannot_hold_are_refused(new_app: Callable[..., Env], request_kwargs: dict[str, Any],
                                                    status: int, code: str, message: str) -> None:
    app = new_app(MINI, max_upload_bytes=512 * 1024)
    files, docs = app.corpus_files(), app.doc_ids()
    kwargs = dict(request_kwargs)
    headers = {**app.admin, **({"Content-Type": "application/json"} if "content" in kwargs else {})}
    assert_error(app.client.post("/v1/documents", headers=headers, **kwargs), status, code, message)
    assert app.corpus_files() == files and app.doc_ids() == docs


def test_an_upload_the_build_skips_is_refused_and_rolled_back(new_app: Callable[..., Env],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the cause, an upload answered 201 is indexed: one the build did not index is refused."""
    app = new_app(MINI)
    files = app.corpus_files()
    real_build = qa.service.build

    def build_without_it(settings: Any, embedder: Any, **kwargs: Any) -> Any:
        from qa.ingest import Problem, load_corpus

        docs, problems = load_corpus(settings.corpus_dir)
        report = real_build(settings, embedder, docs=[d for d in docs if d.doc_id != "windmills"], **kwargs)
        report.problems = [*problems, Problem(str(settings.corpus_dir / "windmills.txt"), "unreadable")]
        return report

    def update_without_it(settings: Any, embedder: Any, *, add: Any = (), remove: Any = ()) -> Any:
        from qa.ingest import Problem

        report = real_update(settings, embedder, add=[a for a in add if a != "windmills"], remove=remove)
        report.problems = [Problem(str(settings.corpus_dir / "windmills.txt"), "unreadable")]
        return report

    real_update = qa.service.update
    monkeypatch.setattr(qa.service, "build", build_without_it)
    monkeypatch.setattr(qa.service, "update", update_without_it)
    response = app.client.post("/v1/documents", headers=app.admin,
                               json={"title": "风车", "text": WINDMILLS, "doc_id": "windmills"})
    assert_error(response, 422, "unparseable_document", "document 'windmills' could not be indexed: unreadable")
    assert app.corpus_files() == files


def test_an_upload_too_large_to_index_is_413(new_app: Callable[..., Env]) -> None:
    app = new_app(MINI, max_upload_passages=50)
    text = "。".join(f"测试区第{i}项工程投资{i}万元" for i in range(200)) + "。"
    assert_error(app.client.post("/v1/documents", headers=app.admin, json={"title": "大", "text": text}), 413,
                 "document_too_large")
    assert app.client.post("/v1/documents", headers=app.admin, json={"title": "小", "text": WINDMILLS}).status_code == 201


@pytest.mark.parametrize("name", ["big.html", "big.txt"])
def test_a_file_too_large_to_index_is_413_before_anything_is_written(new_app: Callable[..., Env], name: str) -> None:
    app = new_app(MINI, max_upload_passages=50)
    files = app.corpus_files()
    items = "".join(f"<p>测试区第{i}项工程投资{i}万元。</p>" for i in range(200))
    page = f"<html><head><title>大</title></head><body><article>{items}</article></body></html>"
    data = page.encode("utf-8") if name.endswith(".html") else items.replace("<p>", "").replace("</p>", "").encode()
    response = app.client.post("/v1/documents", headers=app.admin, files={"file": (name, data)})
    assert_error(response, 413, "document_too_large")
    assert app.corpus_files() == files  # neither the file nor its conversion was kept


# -- a full disk --------------------------------------------------------------------------------------------


def test_a_full_disk_is_507_and_readiness_says_degraded(new_app: Callable[..., Env],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    app = new_app(MINI)

    def full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(qa.service, "build", full)
    monkeypatch.setattr(qa.service, "update", full)  # an upload writes a segment, or builds in full
    monkeypatch.setattr(qa.service, "has_room", lambda path, needed: False)  # the disk stays full
    response = app.client.post("/v1/documents", headers=app.admin, json={"title": "风车", "text": WINDMILLS})
    assert_error(response, 507, "insufficient_storage",
                 "adding the document failed: no space left on the server's disk; nothing was changed")
    assert response.headers["retry-after"] == "60"
    ready = app.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert [i["code"] for i in ready.json()["issues"]] == ["storage_full"]
    assert app.client.post("/v1/ask", json={"question": "西彭园区铝加工产能是多少"}).status_code == 200  # reads go on
    monkeypatch.undo()
    assert app.client.post("/v1/reindex", headers=app.admin).status_code == 200
    assert app.client.get("/readyz").json()["status"] == "ready"


class FullDisk:
    """A connection whose writes fail the way SQLite's do on a full disk."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, *args: Any) -> Any:
        import sqlite3

        if sql.lstrip().upper().startswith("INSERT"):
            raise sqlite3.OperationalError("database or disk is full")
        return self.conn.execute(sql, *args)

    def __enter__(self) -> Any:
        return self.conn.__enter__()

    def __exit__(self, *exc: Any) -> Any:
        return self.conn.__exit__(*exc)


def test_feedback_on_a_full_disk_is_507_not_lost_silently(new_app: Callable[..., Env],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    app = new_app(MINI)
    monkeypatch.setattr(qa.api.app, "has_room", lambda path, needed: False)  # the disk stays full
    keystore: KeyStore = app.client.app.state.keystore  # type: ignore[attr-defined]
    real = keystore._conn
    keystore._conn = FullDisk(real)  # type: ignore[assignment]
    try:
        response = app.client.post("/v1/feedback", json={"question": "q", "rating": 1})
        assert_error(response, 507, "insufficient_storage",
                     "storing the feedback failed: no space left on the server's disk; nothing was changed")
        assert app.client.get("/readyz").json()["issues"][0]["code"] == "feedback_storage_full"
    finally:
        keystore._conn = real
    assert app.client.post("/v1/feedback", json={"question": "q", "rating": 1}).status_code == 201
    assert app.client.get("/readyz").json()["status"] == "ready"


# -- guessed keys ------------------------------------------------------------------------------------------


def test_wrong_keys_are_throttled_per_address(new_app: Callable[..., Env]) -> None:
    """700 wrong keys once gave 700 401s; after auth_failures_per_minute the address gets 429."""
    app = new_app(MINI, auth_failures_per_minute=5)
    for n in range(5):
        assert_error(app.client.get("/v1/documents", headers={"X-API-Key": f"guess-{n}"}), 401, "invalid_key")
    throttled = app.client.get("/v1/documents", headers={"X-API-Key": "guess-5"})
    assert_error(throttled, 429, "rate_limited", "too many wrong API keys from this address; slow down")
    assert int(throttled.headers["retry-after"]) >= 1
    # even a right key from that address waits: a guesser cannot tell a hit from a miss
    assert_error(app.client.get("/v1/documents", headers=app.reader), 429, "rate_limited")
    assert app.client.get("/v1/documents").status_code == 200  # reads without a key are unaffected


# -- a question with nothing to search for -------------------------------------------------------------------


@pytest.mark.parametrize("question", ["\u200b\u200b", "😀", "？？？", "的", "\ue000", "' OR 1=1 --", "2020年"])
def test_a_question_with_no_content_is_not_found(new_app: Callable[..., Env], question: str) -> None:
    app = new_app(MINI)
    body = app.client.post("/v1/ask", json={"question": question}).json()
    assert body["found"] is False
    assert body["citations"] == [] and body["figures"] == []
    assert body["reasons"] == ["question has no words to search for (only punctuation, symbols or function words)"]
    assert app.client.get("/v1/search", params={"q": question}).json() == []


# -- deletes ------------------------------------------------------------------------------------------------


def test_delete_then_restore_over_http(new_app: Callable[..., Env]) -> None:
    app = new_app(MINI)
    assert app.client.delete("/v1/documents/narrow", headers=app.admin).status_code == 200
    trash = app.client.get("/v1/trash", headers=app.admin).json()
    assert [(t["doc_id"], t["title"]) for t in trash] == [("narrow", "西彭园区铝产业")]
    assert_error(app.client.delete("/v1/documents/wrapped", headers=app.admin), 409, "corpus_conflict",
                 "'wrapped' is the last document and cannot be deleted; upload another first")
    restored = app.client.post("/v1/trash/narrow/restore", headers=app.admin)
    assert restored.status_code == 200, restored.text
    assert restored.json()["doc_id"] == "narrow"
    assert app.doc_ids() == ["narrow", "wrapped"]
    assert_error(app.client.post("/v1/trash/narrow/restore", headers=app.admin), 404, "not_found",
                 "no deleted document 'narrow' to restore")
    assert_error(app.client.get("/v1/trash", headers=app.reader), 403, "forbidden")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs of its own (needs root; skipped where mounting is not allowed)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk is full; returns it (delete it to free the space)."""
    filler = disk / "filler"
    with filler.open("wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def test_a_really_full_disk(small_disk: Path) -> None:
    """Index, corpus and state on a filesystem that fills up: specific errors, nothing changed, reads go on."""
    settings = make_settings(small_disk, MINI, rate_limit_per_minute=100_000)
    service = Service.from_settings(settings, HashEmbedder())
    admin = {"Authorization": f"Bearer {KeyStore.open(settings.state_dir).create('ops', admin=True)}"}
    try:
        with TestClient(create_app(settings, service=service, ui=False)) as client:
            files, version = sorted(p.name for p in settings.corpus_dir.iterdir()), service.snapshot.path
            filler = fill(small_disk)
            upload = client.post("/v1/documents", headers=admin, json={"title": "风车", "text": WINDMILLS * 50})
            assert_error(upload, 507, "insufficient_storage")
            assert sorted(p.name for p in settings.corpus_dir.iterdir()) == files
            assert_error(client.post("/v1/feedback", json={"question": "q" * 1500, "comment": "c" * 1500,
                                                            "rating": 1}), 507, "insufficient_storage")
            ready = client.get("/readyz").json()
            assert ready["status"] == "degraded" and ready["index"] == version.name
            assert {i["code"] for i in ready["issues"]} == {"storage_full", "feedback_storage_full"}
            asked = client.post("/v1/ask", json={"question": "西彭园区铝加工产能是多少"})
            assert asked.status_code == 200 and asked.json()["citations"]
            filler.unlink()
            assert client.get("/readyz").json()["status"] == "ready"  # room again: no longer degraded
            assert client.post("/v1/documents", headers=admin, json={"title": "风车", "text": WINDMILLS}).status_code == 201
            assert client.post("/v1/feedback", json={"question": "q", "rating": 1}).status_code == 201
    finally:
        service.close()


@pytest.mark.parametrize("path", ["/v1/ask", "/v1/feedback", "/v1/documents"])
@pytest.mark.parametrize("body", [b'{"question": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
                                  b'{"question": "x", "title": "t", "text": "x", "top_k": ' + b"9" * 5000 + b"}"],
                         ids=["deeply-nested", "5000-digits"])
def test_pathological_json_is_a_client_error_on_every_route(new_app: Callable[..., Env], path: str,
                                                            body: bytes) -> None:
    app = new_app(MINI, max_request_bytes=512 * 1024)
    response = app.client.post(path, content=body, headers={**app.admin, "Content-Type": "application/json"})
    assert response.status_code in (400, 422)
    assert_error(response, response.status_code, "bad_request" if response.status_code == 400 else "invalid_request")
