"""A damaged or edited index is never served: its version is refused, the previous good one served, and rebuilt."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa.config import Settings
from qa.embed import HashEmbedder
from qa.errors import IndexDamagedError
from qa.index import build, current_version, load_good_snapshot, load_snapshot, versions
from qa.integrity import seal
from qa.service import Service

QUESTION = "九龙坡2020年地区生产总值是多少"


def two_versions(settings: Settings) -> tuple[Path, Path]:
    """Build twice with a change between, so a previous good version sits beside the current one."""
    build(settings, HashEmbedder())
    previous = current_version(settings.index_dir)
    (settings.corpus_dir / "extra.txt").write_text("测试区2030年新建了987座风车。\n", encoding="utf-8")
    build(settings, HashEmbedder())
    current = current_version(settings.index_dir)
    assert previous is not None and current is not None and previous != current
    return previous, current


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_a_truncated_vector_file_falls_back_to_the_previous_version(corpus_settings: Settings) -> None:
    previous, current = two_versions(corpus_settings)
    truncate(current / "vectors.faiss")
    with pytest.raises(IndexDamagedError) as err:
        load_snapshot(corpus_settings, HashEmbedder())
    assert str(err.value) == (f"index version {current.name}: vectors.faiss does not match its checksum "
                              "(truncated, damaged or edited after it was written)")
    snapshot, notes = load_good_snapshot(corpus_settings, HashEmbedder())
    assert snapshot.path == previous
    assert notes == [str(err.value)]
    snapshot.close()


def test_the_service_serves_the_previous_version_and_rebuilds(corpus_settings: Settings) -> None:
    previous, current = two_versions(corpus_settings)
    truncate(current / "vectors.faiss")
    service = Service.from_settings(corpus_settings, HashEmbedder(), wait=False)
    try:
        served = service.snapshot.path
        issues = {i["code"]: i["message"] for i in service.issues()}
        if served == previous:  # the rebuild has not swapped yet: the fallback is said plainly
            assert "vectors.faiss does not match its checksum" in issues["index_fallback"]
            assert f"serving {previous.name}" in issues["index_fallback"]
        service.wait_idle(60)
        assert service.issues() == []
        assert service.snapshot.path not in (previous, current)
        assert "extra" in service.snapshot.documents  # caught up with the corpus too
        assert "1500亿元" in service.ask(QUESTION).text
    finally:
        service.close()


def test_qa_build_recovers_from_a_damaged_current_version(corpus_settings: Settings,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    previous, current = two_versions(corpus_settings)
    truncate(current / "store.sqlite")
    for key, value in {"QA_CORPUS_DIR": corpus_settings.corpus_dir, "QA_INDEX_DIR": corpus_settings.index_dir,
                       "QA_STATE_DIR": corpus_settings.state_dir, "QA_MODEL": "hash"}.items():
        monkeypatch.setenv(key, str(value))
    from qa.cli import main
    from qa.config import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["build"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert (f"index version {current.name}: store.sqlite does not match its checksum (truncated, damaged or "
            f"edited after it was written); not used") in result.output
    assert f"rebuilt from the previous good version {previous.name}" in result.output
    snapshot = load_snapshot(corpus_settings, HashEmbedder())
    assert snapshot.path not in (previous, current) and "extra" in snapshot.documents
    snapshot.close()


def test_an_edited_figure_is_refused_not_answered(corpus_settings: Settings) -> None:
    """The red team's edit: 1500 changed in a valid SQLite file became a confident wrong answer."""
    previous, current = two_versions(corpus_settings)
    conn = sqlite3.connect(current / "store.sqlite")
    with conn:
        assert conn.execute("UPDATE figures SET value = 381.0 WHERE value = 1500").rowcount > 0
    conn.close()
    service = Service.from_settings(corpus_settings, HashEmbedder(), auto_build=False)
    try:
        assert service.snapshot.path == previous
        assert [i["code"] for i in service.issues()] == ["index_fallback"]
        answer = service.ask(QUESTION)
        assert "1500亿元" in answer.text and "381" not in answer.text
    finally:
        service.close()


def test_an_edited_chunk_is_refused_even_when_the_checksums_are_redone(corpus_settings: Settings) -> None:
    _, current = two_versions(corpus_settings)
    conn = sqlite3.connect(current / "store.sqlite")
    with conn:
        conn.execute("UPDATE chunks SET text = replace(text, '1500', '1800'), clean = replace(clean, '1500', '1800')")
    conn.close()
    meta = json.loads((current / "meta.json").read_text(encoding="utf-8"))
    meta["checksums"] = seal(current)  # as if the files had been edited and the seal written again
    (current / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(IndexDamagedError, match=r"a chunk of document '000_9adc6f5ad0ebb90b' at \d+-\d+ does not "
                                                r"match the document's text"):
        load_snapshot(corpus_settings, HashEmbedder())


@pytest.mark.parametrize("damage", ["meta", "store", "vectors"])
def test_with_no_good_version_left_the_index_is_rebuilt_from_the_corpus(corpus_settings: Settings,
                                                                         damage: str) -> None:
    build(corpus_settings, HashEmbedder())
    only = current_version(corpus_settings.index_dir)
    assert only is not None and len(versions(corpus_settings.index_dir)) == 1
    if damage == "meta":
        (only / "meta.json").write_text("{not json", encoding="utf-8")
    else:
        (only / f"{'store.sqlite' if damage == 'store' else 'vectors.faiss'}").write_bytes(b"garbage")
    with pytest.raises(IndexDamagedError, match=f"index version {only.name}.*no good version is left"):
        load_good_snapshot(corpus_settings, HashEmbedder())
    report = build(corpus_settings, HashEmbedder())
    assert report.changed and report.notes[-1] == "rebuilt from the corpus"
    assert report.documents == 5
    service = Service.from_settings(corpus_settings, HashEmbedder())
    try:
        assert "1500亿元" in service.ask(QUESTION).text
        assert service.issues() == []
    finally:
        service.close()


def test_a_damaged_embedding_cache_is_set_aside(corpus_settings: Settings) -> None:
    build(corpus_settings, HashEmbedder())
    cache = corpus_settings.index_dir / "embeddings.sqlite"
    cache.write_bytes(b"this is not a database" * 100)
    report = build(corpus_settings, HashEmbedder(), rebuild=True)
    assert report.documents == 5 and report.embedded > 0  # embedded afresh
    assert (corpus_settings.index_dir / "embeddings.sqlite.damaged").read_bytes().startswith(b"this is not")
