import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa.embed import HashEmbedder
from qa.errors import IndexNotBuiltError, IndexStoreError
from qa.index import build, current_version, load_snapshot, read_meta
from qa.retrieve import search

ROOT = Path(__file__).resolve().parents[1]


def test_build_writes_meta_and_loads(mini_settings):
    report = build(mini_settings, HashEmbedder())
    assert report.documents == 2 and report.chunks >= 2 and report.figures >= 3
    meta = read_meta(current_version(mini_settings.index_dir))
    assert meta["model"] == "hash-256" and meta["dim"] == 256 and len(meta["corpus_hash"]) == 32
    snapshot = load_snapshot(mini_settings, HashEmbedder())
    assert set(snapshot.documents) == {"wrapped", "narrow"}


def test_second_build_changes_nothing_and_embeds_nothing(mini_settings):
    first = build(mini_settings, HashEmbedder())
    second = build(mini_settings, HashEmbedder())
    assert not second.changed and second.embedded == 0 and second.version == first.version


def test_only_changed_documents_are_embedded(mini_settings):
    build(mini_settings, HashEmbedder())
    path = mini_settings.corpus_dir / "narrow.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n新增一句：全区新建公园12个。\n", encoding="utf-8")
    report = build(mini_settings, HashEmbedder())
    assert report.added == ["narrow"] and report.removed == []
    assert 0 < report.embedded < report.embedded + report.reused  # unchanged views come from the cache
    snapshot = load_snapshot(mini_settings, HashEmbedder())
    assert any("公园12个" in c.clean for _, c, _ in snapshot.store.all_chunks())


def test_deleted_document_leaves_every_index(mini_settings):
    build(mini_settings, HashEmbedder())
    (mini_settings.corpus_dir / "narrow.md").unlink()
    report = build(mini_settings, HashEmbedder())
    assert report.removed == ["narrow"]
    snapshot = load_snapshot(mini_settings, HashEmbedder())
    assert all(h.chunk.doc_id != "narrow" for h in search(snapshot, "西彭园区铝加工产能", k=10))
    assert snapshot.store.figures(doc_id="narrow") == []


def test_missing_index_is_a_clear_error(mini_settings):
    with pytest.raises(IndexNotBuiltError, match="run `qa build` first"):
        load_snapshot(mini_settings, HashEmbedder())


def test_index_of_another_model_is_refused(mini_settings):
    build(mini_settings, HashEmbedder())
    with pytest.raises(IndexStoreError, match=r"built with model 'hash-256' \(dim 256\)"):
        load_snapshot(mini_settings, HashEmbedder(dim=64))


def test_index_of_another_format_is_refused(mini_settings):
    build(mini_settings, HashEmbedder())
    meta_path = current_version(mini_settings.index_dir) / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["format_version"] = 0
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(IndexStoreError, match="is not the supported format"):
        load_snapshot(mini_settings, HashEmbedder())


SLOW_BUILD = """
import sys, time
from pathlib import Path
from qa.config import Settings
from qa.embed import HashEmbedder
from qa.index import build

class Slow(HashEmbedder):
    def __init__(self):
        super().__init__()
        self.name = "slow-hash"  # a model of its own, so nothing comes from the embedding cache

    def encode_passages(self, texts):
        print("embedding", flush=True)
        time.sleep(30)
        return super().encode_passages(texts)

settings = Settings(corpus_dir=Path(sys.argv[1]), index_dir=Path(sys.argv[2]), model="hash")
build(settings, Slow(), rebuild=True)
"""


def test_kill_9_mid_build_leaves_previous_index_serving(corpus_settings, tmp_path):
    build(corpus_settings, HashEmbedder())
    before = current_version(corpus_settings.index_dir)
    script = tmp_path / "slow_build.py"
    script.write_text(SLOW_BUILD, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script), str(corpus_settings.corpus_dir),
                             str(corpus_settings.index_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "embedding"  # the new version is being written aside
        assert any(p.name.startswith(".build-") for p in corpus_settings.index_dir.iterdir())
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert current_version(corpus_settings.index_dir) == before
    snapshot = load_snapshot(corpus_settings, HashEmbedder())
    hits = search(snapshot, "九龙坡2020年地区生产总值", k=3)
    assert hits and any("1500" in h.chunk.clean for h in hits)
    # the next build cleans up the abandoned folder and still succeeds
    time.sleep(0.1)
    build(corpus_settings, HashEmbedder())
    assert not any(p.name.startswith(".build-") for p in corpus_settings.index_dir.iterdir())


def test_loading_and_quoting_use_the_clean_text_stored_at_build_time(corpus_settings, monkeypatch):
    from qa import citations, index
    from qa.normalize import normalize
    from qa.service import Service

    build(corpus_settings, HashEmbedder())
    snapshot = load_snapshot(corpus_settings, HashEmbedder())
    for doc in snapshot.documents.values():
        expected = normalize(doc.text)
        stored = snapshot.store.normalized(doc.doc_id, doc.text)
        assert stored is not None and (stored.text, stored.offsets) == (expected.text, expected.offsets)
    for doc in snapshot.documents.values():  # the speller's corpus is the stored clean texts
        clean = normalize(doc.text).text
        assert clean[:12] in snapshot.speller.corpus_text and clean[-2:] in snapshot.speller.corpus_text
    answer_before = Service(corpus_settings, HashEmbedder(), snapshot).ask("九龙坡2020年地区生产总值是多少")
    assert any(c.quote_start is not None for c in answer_before.citations)

    def refuse(text: str) -> None:
        raise AssertionError("an indexed document was normalized again")

    monkeypatch.setattr(index, "normalize", refuse)
    monkeypatch.setattr(citations, "normalize", refuse)
    citations._normalized.cache_clear()
    service = Service(corpus_settings, HashEmbedder(), load_snapshot(corpus_settings, HashEmbedder()))
    try:
        answer = service.ask("九龙坡2020年地区生产总值是多少")
        assert (answer.text, answer.citations) == (answer_before.text, answer_before.citations)
    finally:
        service.close()


def test_an_index_without_stored_clean_text_is_refused_and_rebuilt(mini_settings):
    build(mini_settings, HashEmbedder())
    meta_path = current_version(mini_settings.index_dir) / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["format_version"] = 3  # the format before the store kept each document's clean text
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(IndexStoreError, match=r"index format 3\.\d+ is not the supported format 4\.\d+; run `qa build"):
        load_snapshot(mini_settings, HashEmbedder())
    report = build(mini_settings, HashEmbedder())
    assert report.changed and report.embedded == 0  # rebuilt at once, from the embedding cache
    assert load_snapshot(mini_settings, HashEmbedder()).store.normalized("wrapped", "") is not None
