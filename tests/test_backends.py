"""The index backends behind the builder: settings pick one, and the Milvus backend (on Milvus Lite) builds, swaps,
updates, cleans up and answers like the default FAISS one."""

import re
import subprocess
import sys

import httpx
import pytest
from pydantic import ValidationError

from conftest import MINI, collection_name, make_settings, running_server
from qa.backends import get_backend
from qa.backends.local import LocalBackend
from qa.backends.milvus import INSTALL_HINT, MilvusBackend, MilvusLexicalIndex, connect
from qa.config import Settings
from qa.embed import HashEmbedder
from qa.errors import ConfigError, IndexStoreError
from qa.index import build, current_version, load_good_snapshot, load_snapshot, read_meta
from qa.service import Service

QUESTIONS = ("西彭园区铝加工年总产能是多少", "2020年九龙坡地区生产总值是多少", "市场主体总量有多少户", "九龙坡有几个机场")


def milvus_settings(tmp_path, milvus_uri, corpus=MINI, **overrides):
    """Settings over ``corpus`` whose index lives in the shared Milvus Lite folder, under a prefix of its own."""
    return make_settings(tmp_path, corpus, backend="milvus", milvus_uri=milvus_uri,
                         milvus_prefix=collection_name("p"), **overrides)


def collections(settings):
    client = connect(settings.milvus_address())
    return sorted(name for name in client.list_collections() if name.startswith(f"{settings.milvus_prefix}_"))


def answer_of(service, question):
    answer = service.ask(question)
    return answer.found, answer.text, [(c.doc_id, c.start, c.end) for c in answer.citations]


def test_the_settings_pick_the_backend(tmp_path, milvus_uri):
    assert isinstance(get_backend(make_settings(tmp_path, MINI)), LocalBackend)
    backend = get_backend(milvus_settings(tmp_path, milvus_uri))
    assert isinstance(backend, MilvusBackend) and backend.uri == milvus_uri
    default = make_settings(tmp_path, MINI, backend="milvus")
    assert default.milvus_address() == str(tmp_path / "index" / "milvus.db")


@pytest.mark.parametrize("uri", ["milvus", "/var/qa/milvus", "tcp://db:19530"])
def test_a_milvus_uri_that_is_neither_lite_nor_a_server_is_refused(uri):
    with pytest.raises(ValidationError, match=re.escape("milvus_uri must be a Milvus Lite path ending in .db, or an "
                                                        "http:// or https:// address of a Milvus server")):
        Settings(milvus_uri=uri)


def test_a_missing_pymilvus_fails_with_an_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "pymilvus", None)
    with pytest.raises(ConfigError) as err:
        connect("http://127.0.0.1:19530")
    assert str(err.value) == INSTALL_HINT == ("QA_BACKEND=milvus needs pymilvus and milvus-lite: install them with "
                                              "`pip install 'qa[milvus]'`")


def test_a_service_on_milvus_answers_as_on_faiss(tmp_path, milvus_uri):
    faiss = Service.from_settings(make_settings(tmp_path / "faiss", MINI), HashEmbedder())
    milvus = Service.from_settings(milvus_settings(tmp_path / "milvus", milvus_uri), HashEmbedder())
    try:
        assert type(milvus.snapshot.vectors).__name__ == "MilvusVectorIndex"
        assert type(milvus.snapshot.lexical).__name__ == "MilvusLexicalIndex"
        assert read_meta(milvus.snapshot.path)["backend"] == {"name": "milvus", "analyzer": "tokens"}
        found = answer_of(milvus, QUESTIONS[0])
        assert found[0] and "100万吨" in found[1] and found[2][0][0] == "narrow"
        for question in QUESTIONS:
            assert answer_of(milvus, question) == answer_of(faiss, question), question
        assert milvus.search(QUESTIONS[1], k=3) == faiss.search(QUESTIONS[1], k=3)
    finally:
        faiss.close()
        milvus.close()


def test_an_upload_on_milvus_is_a_full_version_answering_as_faiss_segments_do(tmp_path, milvus_uri):
    faiss = Service.from_settings(make_settings(tmp_path / "faiss", MINI), HashEmbedder())
    milvus = Service.from_settings(milvus_settings(tmp_path / "milvus", milvus_uri), HashEmbedder())
    try:
        for service in (faiss, milvus):
            service.add_document("九龙坡区新建口袋公园36个，总面积12公顷。", title="公园", doc_id="parks")
            service.delete_document("wrapped")
        assert len(read_meta(faiss.snapshot.path)["segments"]) == 3  # the full build's, the upload's, the deletion's
        meta = read_meta(milvus.snapshot.path)
        assert (meta["segments"], meta["deleted"]) == ([milvus.snapshot.path.name], {})
        assert sorted(p.name for p in milvus.snapshot.path.iterdir()) == ["meta.json", "store.sqlite",
                                                                          "vectors.milvus.json", "vocab.txt"]
        assert sorted(meta["checksums"]) == ["store.sqlite", "vectors.milvus.json", "vocab.txt"]
        for question in (*QUESTIONS, "九龙坡新建了多少个口袋公园", "口袋公园总面积多大"):
            assert answer_of(milvus, question) == answer_of(faiss, question), question
        assert milvus.search("口袋公园", k=3) == faiss.search("口袋公园", k=3)
    finally:
        faiss.close()
        milvus.close()


def test_several_workers_on_milvus_lite_are_refused_before_serving(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from qa.cli import main
    from qa.config import get_settings

    for key, value in {"QA_INDEX_DIR": tmp_path / "index", "QA_STATE_DIR": tmp_path / "state", "QA_MODEL": "hash",
                       "QA_BACKEND": "milvus"}.items():
        monkeypatch.setenv(key, str(value))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["serve", "--workers", "2", "--port", "1"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert result.output.strip() == (f"error: 2 workers cannot share Milvus Lite ({tmp_path / 'index' / 'milvus.db'}), "
                                     "which serves one process at a time: run one worker, or set QA_MILVUS_URI to a "
                                     "Milvus server")
    assert not (tmp_path / "index").exists()


def test_each_version_has_its_own_collections_and_old_ones_are_dropped(tmp_path, milvus_uri):
    settings = milvus_settings(tmp_path, milvus_uri)
    service = Service.from_settings(settings, HashEmbedder())
    try:
        first = service.snapshot.path.name
        service.add_document("九龙坡区新建口袋公园36个，总面积12公顷。", title="公园", doc_id="parks")
        second = service.snapshot.path.name
        assert second != first
        assert collections(settings) == sorted(MilvusBackend("", prefix=settings.milvus_prefix).collection(v, kind)
                                               for v in (first, second) for kind in ("chunks", "views"))
        assert service.search("口袋公园", k=1)[0].doc_id == "parks"
        service.delete_document("parks")  # the third version: the first one's collections go with its folder
        third = service.snapshot.path.name
        assert {name.split("_v_")[1].rsplit("_", 1)[0] for name in collections(settings)} == {
            second.removeprefix("v-").replace("-", "_"), third.removeprefix("v-").replace("-", "_")}
        assert all(c.doc_id != "parks" for c in service.search("口袋公园", k=5))
        with service.lease() as snapshot:
            views, chunks = snapshot.store.conn.execute("SELECT SUM(views), COUNT(*) FROM chunks").fetchone()
            assert (len(snapshot.vectors), len(snapshot.lexical)) == (views, chunks)
    finally:
        service.close()


def test_a_failed_build_leaves_the_previous_version_and_no_collections(tmp_path, milvus_uri, monkeypatch):
    settings = milvus_settings(tmp_path, milvus_uri)
    build(settings, HashEmbedder())
    before, kept = current_version(settings.index_dir), collections(settings)
    (settings.corpus_dir / "wrapped.txt").write_text("九龙坡区新建口袋公园36个。", encoding="utf-8")

    def fail(self):
        raise OSError("disk went away")

    monkeypatch.setattr(MilvusLexicalIndex, "flush", fail)
    with pytest.raises(OSError, match="disk went away"):
        build(settings, HashEmbedder())
    assert current_version(settings.index_dir) == before
    assert collections(settings) == kept
    assert not any(p.name.startswith(".build-") for p in settings.index_dir.iterdir())
    snapshot = load_snapshot(settings, HashEmbedder())
    assert snapshot.path == before and len(snapshot.lexical) > 0


def test_a_version_built_for_faiss_is_rebuilt_for_milvus(tmp_path, milvus_uri):
    faiss = make_settings(tmp_path, MINI)
    build(faiss, HashEmbedder())
    milvus = milvus_settings(tmp_path, milvus_uri)
    with pytest.raises(IndexStoreError, match="index was built for the backend name=faiss, but the settings ask for "
                                              "name=milvus analyzer=tokens; run `qa build`"):
        load_snapshot(milvus, HashEmbedder())
    report = build(milvus, HashEmbedder())
    assert sorted(report.added) == ["narrow", "wrapped"]
    assert read_meta(current_version(milvus.index_dir))["backend"]["name"] == "milvus"


def test_a_version_whose_collection_is_gone_is_passed_over_for_the_previous_one(tmp_path, milvus_uri):
    settings = milvus_settings(tmp_path, milvus_uri)
    build(settings, HashEmbedder())
    first = current_version(settings.index_dir)
    (settings.corpus_dir / "narrow.md").write_text("西彭园区铝加工产能120万吨。", encoding="utf-8")
    build(settings, HashEmbedder())
    second = current_version(settings.index_dir)
    assert second is not None and first is not None
    backend = MilvusBackend.from_settings(settings)
    connect(settings.milvus_address()).drop_collection(backend.collection(second.name, "views"))
    snapshot, notes = load_good_snapshot(settings, HashEmbedder())
    assert snapshot.path == first
    assert notes == [f"index version {second.name}: a file cannot be read (Milvus has no collection "
                     f"{backend.collection(second.name, 'views')})"]


def test_a_milvus_lite_folder_open_in_another_process_is_a_clear_error(tmp_path):
    uri = str(tmp_path / "held.db")
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from qa.backends.milvus import connect; "
                               "connect(sys.argv[1]); print('open', flush=True); time.sleep(60)", uri],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(IndexStoreError) as err:
            connect(uri)
        assert str(err.value) == (f"cannot open Milvus Lite at {uri}: another process may have it open (Milvus Lite "
                                  "serves one process at a time: stop it, or use a Milvus server)")
    finally:
        holder.kill()
        holder.wait(10)


def test_qa_serve_on_milvus_lite_answers_takes_an_upload_and_finds_it(tmp_path):
    with running_server(tmp_path, QA_BACKEND="milvus") as server:
        asked = httpx.post(f"{server.url}/v1/ask", json={"question": "跳磴河治理累计投入了多少资金？"}, timeout=60).json()
        assert asked["found"] and "16.5亿元" in asked["answer"]
        upload = httpx.post(f"{server.url}/v1/documents", headers={"Authorization": f"Bearer {server.admin_key}"},
                            json={"title": "公园", "text": "九龙坡区新建口袋公园36个，总面积12公顷。", "doc_id": "parks"},
                            timeout=120)
        assert upload.status_code == 201
        found = httpx.get(f"{server.url}/v1/search", params={"q": "口袋公园", "k": 1}, timeout=60).json()
        assert found[0]["doc_id"] == "parks"
        ready = httpx.get(f"{server.url}/readyz", timeout=10).json()
        assert ready["status"] == "ready" and ready["documents"] == 6
    assert (tmp_path / "index" / "milvus.db").is_dir()
    assert read_meta(current_version(tmp_path / "index"))["backend"]["name"] == "milvus"
