"""The same report answers the same questions, with the same figures, whatever format it arrives in.

Only the shortest seed report is in the corpus, as .txt or as a PDF (text layer, scanned, or with fonts that
have no Unicode map), a DOCX, a web page or an OFD; every question of bench/questions.jsonl about it is asked.
The fake embedder is used: these answers rest on BM25 and the answer layer (the dense half only reorders
passages of one short report), which keeps the test fast. OCR'd text is also scored for character accuracy.
"""

import json
import shutil
from pathlib import Path

import pytest

from conftest import CORPUS, REPORT_ID, ROOT
from qa.config import Settings
from qa.dedup import comparable
from qa.embed import HashEmbedder
from qa.evaluate import answer_correct
from qa.service import Service

QUESTIONS = [json.loads(line) for line in (ROOT / "bench" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
             if REPORT_ID in line]
OCR_ACCURACY = 0.97


def _entry() -> dict:
    manifest = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
    return next(e for e in manifest["documents"] if e["id"] == REPORT_ID)


def only_report(tmp: Path, path: Path) -> Service:
    """A service whose corpus is ``path`` alone, with the seed report's manifest entry (title, date, source)."""
    corpus = tmp / "corpus"
    corpus.mkdir(parents=True)
    name = "report" + path.suffix
    shutil.copy(path, corpus / name)
    (corpus / "manifest.json").write_text(json.dumps({"documents": [dict(_entry(), file=name)]}, ensure_ascii=False),
                                          encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=tmp / "index", state_dir=tmp / "var", model="hash")
    return Service.from_settings(settings, HashEmbedder())


def answers(service: Service) -> dict[str, tuple]:
    """Per question: found, correct, and the figures (value, unit) the answer reports."""
    out = {}
    for item in QUESTIONS:
        result = service.ask(item["question"], history=item.get("history"))
        correct = answer_correct(item, result) if item["answerable"] else not result.found
        out[item["id"]] = (result.found, correct, sorted((f.figure.value, f.figure.unit) for f in result.figures))
    return out


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def char_accuracy(read: str, truth: str) -> float:
    """1 - edit distance / length, over the words of the text (layout and punctuation aside)."""
    a, b = comparable(read), comparable(truth)
    return 1 - levenshtein(a, b) / max(1, len(b))


@pytest.fixture(scope="module")
def from_text(tmp_path_factory):
    service = only_report(tmp_path_factory.mktemp("txt"), CORPUS / f"{REPORT_ID}.txt")
    yield answers(service)
    service.snapshot.close()


def test_the_report_has_questions_and_answers_most_of_them(from_text):
    assert len(QUESTIONS) >= 20
    assert sum(correct for _, correct, _ in from_text.values()) >= 0.6 * len(QUESTIONS)


@pytest.mark.parametrize("kind", ["pdf", "docx", "html", "ofd", "scan", "unmapped"])
def test_every_format_gives_the_same_answers(kind, made, from_text, tmp_path):
    service = only_report(tmp_path, getattr(made, kind)())
    try:
        got = answers(service)
        doc = service.document(REPORT_ID)
        assert doc.format == ("pdf" if kind in ("scan", "unmapped") else kind)
        if kind in ("scan", "unmapped"):
            read = doc.text  # the OCR'd text, against the text layer it was printed from
            accuracy = char_accuracy(read, only_layer_text(made.pdf()))
            print(f"{kind}: OCR character accuracy {accuracy:.4f}")
            assert accuracy >= OCR_ACCURACY
            assert all(page.ocr for page in service.snapshot.layout(REPORT_ID).pages)
    finally:
        service.snapshot.close()
    differ = {k: (from_text[k], got[k]) for k in from_text if from_text[k] != got[k]}
    assert differ == {}


def only_layer_text(path: Path) -> str:
    """The text layer of a PDF, as the loader reads it."""
    from qa.loaders import load

    return load(path.read_bytes(), path.name).text
