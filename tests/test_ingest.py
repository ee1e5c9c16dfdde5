import json

import pytest

from qa.errors import CorpusError, DocumentParseError, NotFoundError
from qa.ingest import add_document, check_doc_id, corpus_hash, load_corpus, read_manifest, remove_document


def test_manifest_gives_titles_dates_and_sources(mini_settings):
    docs, problems = load_corpus(mini_settings.corpus_dir)
    assert problems == []
    by_id = {d.doc_id: d for d in docs}
    assert by_id["wrapped"].title == "创新发展报告"
    assert by_id["wrapped"].date == "2021-05-01"
    assert by_id["narrow"].source == "测试"


def test_real_corpus_has_five_dated_reports():
    from conftest import CORPUS

    docs, problems = load_corpus(CORPUS)
    assert problems == []
    assert len(docs) == 5
    assert all(d.date and d.date_note and d.title for d in docs)


def test_a_file_without_manifest_entry_is_titled_by_its_first_line(mini_settings):
    (mini_settings.corpus_dir / "extra.md").write_text("# 新的报告\n\n正文。", encoding="utf-8")
    docs, _ = load_corpus(mini_settings.corpus_dir)
    extra = next(d for d in docs if d.doc_id == "extra")
    assert extra.title == "新的报告"
    assert extra.date is None and extra.date_note == "not in manifest"


def test_broken_files_are_reported_and_skipped(mini_settings):
    (mini_settings.corpus_dir / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (mini_settings.corpus_dir / "empty.txt").write_text("  \n", encoding="utf-8")
    (mini_settings.corpus_dir / "image.txt").write_bytes(b"\x89PNG\x00\x00")
    docs, problems = load_corpus(mini_settings.corpus_dir)
    assert {d.doc_id for d in docs} == {"wrapped", "narrow"}
    reasons = {p.path.rsplit("/", 1)[-1]: p.reason for p in problems}
    assert reasons["latin1.txt"].startswith("latin1.txt: not valid UTF-8 text")
    assert reasons["empty.txt"] == "empty.txt: empty document"
    assert reasons["image.txt"] == "image.txt: binary file, expected UTF-8 text"


def test_broken_manifest_is_a_clear_error(mini_settings):
    (mini_settings.corpus_dir / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CorpusError, match="broken manifest"):
        load_corpus(mini_settings.corpus_dir)


@pytest.mark.parametrize("bad", ["../etc/passwd", "a/b", "..", "", "x" * 65, "名字"])
def test_unsafe_ids_are_refused(bad):
    with pytest.raises(NotFoundError, match="invalid document id"):
        check_doc_id(bad)


def test_add_and_remove_document_keep_manifest_in_step(mini_settings):
    corpus = mini_settings.corpus_dir
    before = corpus_hash(load_corpus(corpus)[0])
    doc = add_document(corpus, "新文档正文。", title="新文档", date="2024-01-02", source="上传")
    assert doc.doc_id.startswith("doc_")
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    assert any(e["id"] == doc.doc_id and e["date"] == "2024-01-02" for e in manifest["documents"])
    assert corpus_hash(load_corpus(corpus)[0]) != before
    with pytest.raises(CorpusError, match="already exists"):
        add_document(corpus, "新文档正文。", title="新文档")
    remove_document(corpus, doc.doc_id)
    assert corpus_hash(load_corpus(corpus)[0]) == before
    with pytest.raises(NotFoundError, match="unknown document"):
        remove_document(corpus, doc.doc_id)


def test_an_upload_keeps_every_entry_whose_file_is_there_and_drops_the_others(mini_settings):
    corpus = mini_settings.corpus_dir
    before = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))["documents"]
    (corpus / "gone.txt").write_text("将被删掉的文件。", encoding="utf-8")
    (corpus / "dangling.txt").symlink_to(corpus / "nowhere.txt")
    stale = [{"id": "gone", "file": "gone.txt", "title": "已删除"}, {"id": "dangling", "file": "dangling.txt"}]
    (corpus / "manifest.json").write_text(json.dumps({"documents": [*before, *stale]}, ensure_ascii=False),
                                          encoding="utf-8")
    (corpus / "gone.txt").unlink()  # a removal cut short: the entry outlived its file
    doc = add_document(corpus, "新文档正文，含“引号”和\\反斜杠。", title="新文档 “一”", date="2024-01-02")
    after = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))["documents"]
    assert after[:-1] == before and after[-1]["id"] == doc.doc_id and after[-1]["title"] == "新文档 “一”"
    assert read_manifest(corpus)[f"{doc.doc_id}.txt"]["date"] == "2024-01-02"
    remove_document(corpus, doc.doc_id)
    assert json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))["documents"] == before


def test_bad_upload_content_is_refused(mini_settings):
    with pytest.raises(DocumentParseError, match="empty document"):
        add_document(mini_settings.corpus_dir, "   ", title="空")
    with pytest.raises(CorpusError, match="invalid date"):
        add_document(mini_settings.corpus_dir, "正文", title="t", date="2024-13-45")
