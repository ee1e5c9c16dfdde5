"""Everywhere a document can enter (corpus folder, ``qa add``, the upload API), reprints, and bad input.

Every bad file gets one clear message and changes nothing; the other files of a batch are still indexed.
"""

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import docgen
from conftest import REPORT_ID, make_settings
from qa.cli import main
from qa.embed import HashEmbedder
from qa.errors import DocumentParseError
from qa.index import build
from qa.ingest import load_corpus
from qa.loaders import Context, Limits, load
from qa.service import Service
from test_api import assert_error, make_env  # noqa: F401  (make_env is a fixture)

REPRINT_QUESTION = "民主村社区原来是哪个厂的家属区？"  # answered by the seed report the web page reprints


@pytest.fixture(scope="module")
def bad_files(made, tmp_path_factory) -> dict[str, tuple[Path, str]]:
    """Bad files and the exact message each one gets."""
    folder = tmp_path_factory.mktemp("bad")
    pdf = made.pdf()
    corrupt = folder / "corrupt.pdf"
    corrupt.write_bytes(pdf.read_bytes()[: len(pdf.read_bytes()) // 3])
    lying = folder / "report.pdf"
    shutil.copy(made.docx(), lying)
    return {
        "encrypted": (docgen.encrypted_pdf(pdf, folder / "encrypted.pdf"),
                      "encrypted.pdf: the PDF is encrypted (password protected); remove the password and add it again"),
        "corrupt": (corrupt, "corrupt.pdf: not a readable PDF (Failed to load document (PDFium: Data format error))"),
        "blank": (docgen.blank_pdf(folder / "blank.pdf"),
                  "blank.pdf: no text found in the PDF (no text layer and no scanned image)"),
        "blank scan": (docgen.blank_pdf(folder / "blankscan.pdf", image=True),
                       "blankscan.pdf: no text found in the PDF (no text layer and no text recognised by OCR)"),
        "docx bomb": (docgen.zip_bomb(folder / "bomb.docx", "docx"),
                      "bomb.docx: would inflate to 300 MB, more than the limit of 200 MB; refused as unsafe (zip bomb?)"),
        "xlsx bomb": (docgen.zip_bomb(folder / "bomb.xlsx", "xlsx"),
                      "bomb.xlsx: would inflate to 300 MB, more than the limit of 200 MB; refused as unsafe (zip bomb?)"),
        "formulas": (made.xlsx(formulas=True),
                     "stats1.xlsx: sheet '主要指标' has 3 formula cell(s) without a saved value (B7, C7, D7); open the "
                     "file in Excel or WPS and save it again so the values are stored"),
        "lying suffix": (lying, "report.pdf: the file is a Word document (DOCX), not a PDF document; rename it to .docx"),
    }


@pytest.mark.parametrize("kind", ["encrypted", "corrupt", "blank", "blank scan", "docx bomb", "xlsx bomb", "formulas",
                                  "lying suffix"])
def test_a_bad_file_gets_one_clear_message(bad_files, kind):
    path, message = bad_files[kind]
    with pytest.raises(DocumentParseError) as err:
        load(path.read_bytes(), path.name)
    assert str(err.value) == message


@pytest.mark.parametrize("kind", ["encrypted", "corrupt", "blank", "docx bomb", "formulas", "lying suffix"])
def test_a_bad_upload_changes_nothing(bad_files, kind, make_env):  # noqa: F811
    app = make_env()
    docs, files, index = app.doc_ids(), app.corpus_files(), app.client.get("/readyz").json()["index"]
    path, message = bad_files[kind]
    response = app.client.post("/v1/documents", headers=app.admin, files={"file": (path.name, path.read_bytes())})
    assert_error(response, 422, "unparseable_document", message)
    assert app.doc_ids() == docs and app.corpus_files() == files
    assert app.client.get("/readyz").json()["index"] == index
    assert not any((app.settings.corpus_dir / ".converted").glob(f"*{path.suffix}.*"))


def test_bad_files_in_the_corpus_are_skipped_and_the_rest_is_indexed(bad_files, made, tmp_path):
    settings = make_settings(tmp_path)
    for kind in ("encrypted", "corrupt", "docx bomb", "lying suffix"):
        path = bad_files[kind][0]
        shutil.copy(path, settings.corpus_dir / f"bad-{kind.replace(' ', '-')}{path.suffix}")
    shutil.copy(made.xlsx(), settings.corpus_dir / "stats2023.xlsx")
    report = build(settings, HashEmbedder())
    assert "stats2023" in report.added and len(report.added) == 6
    assert sorted(Path(p.path).name for p in report.problems) == [
        "bad-corrupt.pdf", "bad-docx-bomb.docx", "bad-encrypted.pdf", "bad-lying-suffix.pdf"]
    reasons = {Path(p.path).name: p.reason for p in report.problems}
    assert reasons["bad-encrypted.pdf"] == bad_files["encrypted"][1].replace("encrypted.pdf", "bad-encrypted.pdf")
    assert reasons["bad-lying-suffix.pdf"].startswith("bad-lying-suffix.pdf: the file is a Word document (DOCX)")


def test_a_long_pdf_is_read_page_by_page_and_an_overlong_one_refused(made, tmp_path):
    path = docgen.long_pdf(tmp_path / "yearbook.pdf", made.folder, 500, made.report[:3000])
    pages = []
    loaded = load(path.read_bytes(), path.name, Context(progress=lambda done, total: pages.append((done, total))))
    assert len(loaded.pages) == 500 and pages[-1] == (500, 500)
    assert "- 250 -" not in loaded.text and all(p.end > p.start for p in loaded.pages)
    with pytest.raises(DocumentParseError) as err:
        load(path.read_bytes(), path.name, Context(limits=Limits(max_pages=400)))
    assert str(err.value) == "yearbook.pdf: 500 pages, more than the limit of 400"
    with pytest.raises(DocumentParseError) as err:
        load(made.scan().read_bytes(), "scan.pdf", Context(limits=Limits(max_ocr_pages=2)))
    assert str(err.value) == "scan.pdf: 3 pages need OCR (scanned or garbled text), more than the limit of 2"


def test_html_scripts_are_never_kept(made, make_env):  # noqa: F811
    app = make_env()
    page = made.html("<script>document.write('<b>恶意脚本</b>')</script>").read_bytes().replace(
        b"<p style=\"text-indent:2em\">", b"<p style=\"text-indent:2em\"><script>alert('scriptmark')</script>", 1)
    response = app.client.post("/v1/documents", headers=app.admin, files={"file": ("page.html", page)},
                               data={"doc_id": "page"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["format"] == "html" and body["index_no"] == "11500107009288443U/2024-00015"
    text = app.client.get("/v1/documents/page").json()["text"]
    assert "scriptmark" not in text
    assert "恶意脚本" not in text
    assert "<" not in text


def test_a_reprint_is_recorded_never_cited_twice_and_the_uploader_is_told(made, make_env):  # noqa: F811
    app = make_env()
    before = app.client.post("/v1/ask", json={"question": REPRINT_QUESTION}).json()
    response = app.client.post("/v1/documents", headers=app.admin, data={"doc_id": "reprint"},
                               files={"file": ("zwgk.html", made.html().read_bytes())})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["duplicate_of"] == REPORT_ID
    assert body["notes"][0].startswith(f"this document repeats {REPORT_ID} (a near-duplicate)")
    assert body["chunks_embedded"] == 0
    listed = {d["doc_id"]: d for d in app.client.get("/v1/documents").json()}
    assert listed["reprint"]["duplicate_of"] == REPORT_ID and listed[REPORT_ID]["duplicate_of"] is None
    after = app.client.post("/v1/ask", json={"question": REPRINT_QUESTION}).json()
    assert after["answer"] == before["answer"] and "重庆建设厂" in after["answer"]
    assert all(c["doc_id"] != "reprint" for c in after["citations"])
    for question in ("九龙坡区氢能产业营业收入是多少", "民主村社区", "西部氢谷"):
        hits = app.client.get("/v1/search", params={"q": question, "k": 20}).json()
        assert all(h["doc_id"] != "reprint" for h in hits)
    assert app.client.get("/v1/figures", params={"doc_id": "reprint"}).json() == []


def test_reprints_in_the_corpus_folder_keep_the_first_copy(made, tmp_path):
    settings = make_settings(tmp_path)
    shutil.copy(made.pdf(), settings.corpus_dir / "zz_reprint.pdf")
    report = build(settings, HashEmbedder())
    assert report.reprints == {"zz_reprint": REPORT_ID}
    docs, _ = load_corpus(settings.corpus_dir)
    (settings.corpus_dir / f"{REPORT_ID}.txt").unlink()  # the original goes: the reprint is indexed in its place
    manifest = json.loads((settings.corpus_dir / "manifest.json").read_text(encoding="utf-8"))
    manifest["documents"] = [e for e in manifest["documents"] if e["id"] != REPORT_ID]
    (settings.corpus_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    report = build(settings, HashEmbedder())
    assert report.reprints == {} and "zz_reprint" in report.added and len(docs) == 6


def test_qa_add_indexes_good_files_and_reports_bad_ones(bad_files, made, corpus_settings, monkeypatch):
    for key, value in {"QA_CORPUS_DIR": corpus_settings.corpus_dir, "QA_INDEX_DIR": corpus_settings.index_dir,
                       "QA_STATE_DIR": corpus_settings.state_dir, "QA_MODEL": "hash"}.items():
        monkeypatch.setenv(key, str(value))
    from qa.config import get_settings

    get_settings.cache_clear()
    try:
        encrypted = bad_files["encrypted"][0]
        result = CliRunner().invoke(main, ["add", str(made.xlsx()), str(encrypted), str(made.pdf())])
        service = Service.from_settings(get_settings(), HashEmbedder(), auto_build=False)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert f"skipped {encrypted}: {bad_files['encrypted'][1]}" in result.output
    assert "added stats0 (xlsx, 1 table): 2023年九龙坡区规模以上工业主要指标" in result.output
    assert f"added report (pdf, 3 pages): {made.report.split(chr(10))[2].strip()}" not in result.output
    assert f"report repeats {REPORT_ID}: kept as its reprint, not indexed again" in result.output
    docs = {d.doc_id: d for d in service.documents()}
    assert docs["stats0"].format == "xlsx" and docs["report"].duplicate_of == REPORT_ID
    assert "encrypted" not in docs
    service.snapshot.close()


def test_the_ocr_limit_comes_from_the_settings(made, tmp_path):
    settings = make_settings(tmp_path, max_ocr_pages=1)
    shutil.copy(made.scan(), settings.corpus_dir / "scan.pdf")
    report = build(settings, HashEmbedder())
    assert [(Path(p.path).name, p.reason) for p in report.problems] == [
        ("scan.pdf", "scan.pdf: 3 pages need OCR (scanned or garbled text), more than the limit of 1")]
    assert report.documents == 5


def test_an_upload_named_without_a_suffix_is_read_by_its_mime_type(made, make_env):  # noqa: F811
    app = make_env()
    response = app.client.post("/v1/documents", headers=app.admin, data={"doc_id": "stats"},
                               files={"file": ("blob", made.xlsx().read_bytes(), "application/vnd.openxmlformats-"
                                               "officedocument.spreadsheetml.sheet")})
    assert response.status_code == 201, response.text
    assert response.json()["format"] == "xlsx"
    assert (app.settings.corpus_dir / "stats.xlsx").exists()


def test_the_ocr_engine_is_let_go_after_a_document(bad_files):
    from qa.loaders import ocr

    with pytest.raises(DocumentParseError):
        load(bad_files["blank scan"][0].read_bytes(), "blankscan.pdf")
    assert ocr._ENGINE is None and ocr._USERS == 0
