"""Updates write one small segment; what is served is exactly what a full build of the same corpus serves."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from qa.config import Settings
from qa.embed import HashEmbedder
from qa.index import build, current_version, load_snapshot, read_meta, update
from qa.retrieve import search
from qa.segments import MAX_SEGMENTS
from qa.service import Service

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [json.loads(line)["question"] for line in
             (ROOT / "bench" / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()][:80]
# Sentences of two reports, interleaved: competes with both for their terms, reprints neither.
NEW_DOC = ("2021年，九龙坡区地区生产总值增长8.5%，西彭园区铝加工产能扩大到200万吨。\n\n"
           "全区新建5G基站1200个，城市更新项目完成投资86亿元。\n\n"
           "九龙坡区棚户区改造完成3200户，新增城镇就业2.6万人。\n")


def served(service: Service) -> dict[str, Any]:
    """Everything a question gets, by mode and by answer, with chunks named by id (rows differ by build)."""
    out: dict[str, Any] = {}
    with service.lease() as snapshot:
        for question in QUESTIONS:
            for mode in ("lexical", "dense", "hybrid"):
                hits = search(snapshot, question, k=10, mode=mode)
                out[f"{mode}:{question}"] = [(h.chunk.chunk_id, h.score, h.view) for h in hits]
            out[f"idf:{question}"] = [snapshot.lexical.idf(t) for t in question]
    for question in QUESTIONS[:40]:
        answer = service.ask(question)
        out[f"ask:{question}"] = (answer.text, [(c.chunk_id, c.quote_start, c.quote_end) for c in answer.citations])
    return out


def test_an_update_is_served_exactly_as_a_full_build_of_the_same_corpus(tmp_path: Path) -> None:
    """With the same vocabulary: an update keeps the current one, a full build discovers the corpus's words anew
    (so with QA_VOCABULARY=both it may cut a few words differently until the next full build)."""
    from conftest import make_settings

    settings = make_settings(tmp_path / "updated", vocabulary="curated")
    build(settings, HashEmbedder())
    service = Service.from_settings(settings, HashEmbedder())
    try:
        full_version = service.snapshot.path
        _, report = service.add_document(NEW_DOC, title="新增报道", doc_id="added", date="2021-12-31")
        assert report.added == ["added"] and report.embedded > 0
        service.delete_document("003_c74baaf9e274de20")
        meta = read_meta(service.snapshot.path)
        assert meta["segments"][0] == full_version.name and len(meta["segments"]) == 3
        assert meta["deleted"] == {full_version.name: ["003_c74baaf9e274de20"]}
        assert service.snapshot.store.document("003_c74baaf9e274de20") is None
        assert "added" in service.snapshot.documents and "003_c74baaf9e274de20" not in service.snapshot.documents
        updated = served(service)
    finally:
        service.close()

    fresh = make_settings(tmp_path / "full", vocabulary="curated")
    shutil.rmtree(fresh.corpus_dir)
    shutil.copytree(settings.corpus_dir, fresh.corpus_dir)
    build(fresh, HashEmbedder())
    assert len(read_meta(current_version(fresh.index_dir))["segments"]) == 1
    whole = Service.from_settings(fresh, HashEmbedder(), auto_build=False)
    try:
        assert whole.snapshot.meta["corpus_hash"] == meta["corpus_hash"]
        # counted file by file, less the deleted documents: what the full build counted
        assert (meta["chunks"], meta["figures"]) == (whole.snapshot.meta["chunks"], whole.snapshot.meta["figures"])
        assert served(whole) == updated
    finally:
        whole.close()


def test_an_update_reuses_the_loaded_segments_and_a_full_build_compacts_them(mini_settings: Settings) -> None:
    service = Service.from_settings(mini_settings, HashEmbedder())
    try:
        first = service.snapshot.segments[0]
        service.add_document("测试区2030年新建了987座风车。", title="风车", doc_id="w0")
        assert service.snapshot.segments[0] is first  # not read again
        assert [s.name for s in service.snapshot.segments][1:] == [service.snapshot.path.name]
        assert "987座风车" in service.snapshot.speller.corpus_text
        service.delete_document("w0")
        assert "w0" not in service.snapshot.documents and "风车" not in service.snapshot.speller.corpus_text
        assert not search(service.snapshot, "风车", k=5, mode="lexical")
        report = service.reindex()
        assert report.changed  # nothing new in the corpus, but three segments are merged into one
        meta = read_meta(service.snapshot.path)
        assert meta["segments"] == [service.snapshot.path.name] and meta["deleted"] == {}
        assert sorted(service.snapshot.documents) == ["narrow", "wrapped"]
        versions = sorted(p.name for p in mini_settings.index_dir.glob("v-*"))
        assert service.snapshot.path.name in versions and len(versions) <= 2 + 3
    finally:
        service.close()


def test_too_many_segments_are_merged_without_the_full_build_s(mini_settings: Settings) -> None:
    build(mini_settings, HashEmbedder())
    from qa.ingest import add_document

    counts = []
    for n in range(MAX_SEGMENTS + 1):
        doc = add_document(mini_settings.corpus_dir, f"测试区{2030 + n}年新建了{n + 2}座风车。", title=f"风车{n}",
                           doc_id=f"w{n}")
        update(mini_settings, HashEmbedder(), add=[doc.doc_id])
        counts.append(len(read_meta(current_version(mini_settings.index_dir))["segments"]))
    assert counts == [*range(2, MAX_SEGMENTS + 1), 2, 3]  # the updates' segments merge into one
    first = read_meta(current_version(mini_settings.index_dir))["segments"][0]
    assert read_meta(mini_settings.index_dir / first).get("segments") == [first]  # the full build's, untouched
    snapshot = load_snapshot(mini_settings, HashEmbedder())
    assert sorted(snapshot.documents) == sorted(["narrow", "wrapped", *(f"w{n}" for n in range(MAX_SEGMENTS + 1))])
    hits = search(snapshot, f"测试区{2030 + MAX_SEGMENTS}年新建了多少座风车", k=3, mode="lexical")
    assert hits[0].chunk.doc_id == f"w{MAX_SEGMENTS}"
    snapshot.close()


def test_a_damaged_earlier_segment_is_refused_and_the_index_rebuilt(mini_settings: Settings) -> None:
    build(mini_settings, HashEmbedder())
    base = current_version(mini_settings.index_dir)
    from qa.ingest import add_document

    doc = add_document(mini_settings.corpus_dir, "测试区2030年新建了987座风车。", title="风车", doc_id="w0")
    update(mini_settings, HashEmbedder(), add=[doc.doc_id])
    assert base is not None
    data = (base / "vectors.faiss").read_bytes()
    (base / "vectors.faiss").write_bytes(data[: len(data) // 2])
    from qa.errors import IndexDamagedError

    with pytest.raises(IndexDamagedError, match=f"index version {base.name}: vectors.faiss does not match"):
        load_snapshot(mini_settings, HashEmbedder())
    report = build(mini_settings, HashEmbedder())
    assert report.changed and report.documents == 3
    snapshot = load_snapshot(mini_settings, HashEmbedder())
    assert "w0" in snapshot.documents
    snapshot.close()


def test_a_reprint_uploaded_is_found_without_reading_the_corpus(mini_settings: Settings) -> None:
    service = Service.from_settings(mini_settings, HashEmbedder())
    try:
        original = service.document("narrow").text
        doc, _ = service.add_document(original, title="转载", doc_id="copy")
        assert doc.duplicate_of == "narrow"
        assert read_meta(service.snapshot.path)["corpus_hash"] == service.snapshot.meta["corpus_hash"]
        from qa.index import is_stale

        assert not is_stale(service.snapshot, mini_settings)  # the same corpus a full build would index
        service.delete_document("narrow")  # its reprint becomes the original: indexed by a full build
        assert len(read_meta(service.snapshot.path)["segments"]) == 1
        assert any(h.chunk.doc_id == "copy" for h in search(service.snapshot, original[:30], k=3))
    finally:
        service.close()


def test_a_large_index_is_an_inverted_file_that_still_deletes_and_merges(corpus_settings: Settings,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import qa.vectors

    monkeypatch.setattr(qa.vectors, "IVF_MIN_VECTORS", 100)  # the seed corpus has ~600 vectors
    monkeypatch.setattr(qa.vectors, "PROBE_SHARE", 1)  # every list: exact, so the hits are checkable
    service = Service.from_settings(corpus_settings, HashEmbedder())
    try:
        assert service.snapshot.vectors.is_ivf
        question = "九龙坡2020年地区生产总值是多少"
        dense = search(service.snapshot, question, k=5, mode="dense")
        assert dense and dense[0].dense is not None
        service.add_document("测试区2030年新建了987座风车。", title="风车", doc_id="w0")
        service.delete_document("003_c74baaf9e274de20")
        assert all(h.chunk.doc_id != "003_c74baaf9e274de20"
                   for h in search(service.snapshot, question, k=50, mode="dense"))
        report = service.reindex()  # merges the inverted file, the new segment and the tombstone
        assert report.changed and service.snapshot.vectors.is_ivf
        assert len(service.snapshot.vectors) == service.snapshot.store.conn.execute(
            "SELECT SUM(views) FROM chunks").fetchone()[0]
        hits = search(service.snapshot, "测试区2030年新建了多少座风车", k=3, mode="dense")
        assert any(h.chunk.doc_id == "w0" for h in hits)
    finally:
        service.close()
