"""Recall and speed of an IVF vector index against the exact (flat) one, with real e5 vectors.

Passages: the texts a build embeds (each chunk and its two-sentence windows) for the seed corpus and for a
synthetic corpus recombined from its sentences (``bench/scale.py``), embedded by the default model under ONNX
Runtime (the same vectors as torch), until ``--passages`` distinct texts. To reach index sizes of a large
archive, each real vector is copied ``--copies`` times with Gaussian noise (``--noise`` per dimension) and
normalized again; the noise is chosen so that a copy's nearest neighbours are about as close as the real
passages' are to theirs (printed). Queries: the bench questions, encoded as queries by the same model.

For each (nlist, nprobe) it reports recall@10 and recall@400 of the IVF top-400 against the flat top-400 (the
retriever asks for 400 views to keep 50 chunks) and the search time of one query on one thread.

    python bench/ivf_recall.py --passages 3000 --copies 60
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SETS = ("questions.jsonl", "questions_fresh.jsonl", "questions_fresh2.jsonl")


def passages(limit: int) -> list[str]:
    """Distinct texts a build embeds: the seed corpus's, then a synthetic corpus's, up to ``limit``."""
    import tempfile

    from scale import write_corpus

    from qa.chunk import chunk_document
    from qa.config import Settings
    from qa.index import chunk_views
    from qa.ingest import load_corpus

    settings = Settings()
    texts: dict[str, None] = {}
    with tempfile.TemporaryDirectory() as tmp:
        write_corpus(Path(tmp), max(1, limit // 6))
        for folder in (HERE.parent / "corpus", Path(tmp)):
            docs, _ = load_corpus(folder)
            for doc in docs:
                for chunk in chunk_document(doc, settings.chunk_target, settings.chunk_limit):
                    texts.update(dict.fromkeys(chunk_views(chunk.clean)))
                if len(texts) >= limit:
                    return list(texts)[:limit]
    return list(texts)


def main() -> None:
    """Command line."""
    import faiss

    from qa.config import Settings
    from qa.embed import load_embedder

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=3000)
    parser.add_argument("--copies", type=int, default=60)
    parser.add_argument("--noise", type=float, default=0.012)
    parser.add_argument("--nlists", default="256,1024")
    parser.add_argument("--nprobes", default="8,16,32,64,128")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/qa-ivf-vectors.npz"))
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)
    questions = [json.loads(line)["question"] for name in SETS
                 for line in (HERE / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    if args.cache.exists():
        saved = np.load(args.cache)
        real, queries = saved["real"], saved["queries"]
    else:
        settings = Settings()
        model = load_embedder(settings.model, settings.model_cache, threads=2, runtime="onnx")
        texts = passages(args.passages)
        started = time.perf_counter()
        real = np.vstack([model.encode_passages(texts[i : i + 32]) for i in range(0, len(texts), 32)])
        print(f"embedded {len(texts)} passages in {time.perf_counter() - started:.0f} s")
        queries = model.encode_queries(questions)
        np.savez(args.cache, real=real, queries=queries)
    real = np.ascontiguousarray(real, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    rng = np.random.default_rng(0)
    copies = [real]
    for _ in range(args.copies - 1):
        noisy = real + rng.normal(0, args.noise, real.shape).astype(np.float32)
        copies.append(noisy / np.linalg.norm(noisy, axis=1, keepdims=True))
    data = np.ascontiguousarray(np.vstack(copies))
    sims = real @ real.T
    np.fill_diagonal(sims, -1)
    copy_sim = (copies[1] * real).sum(axis=1) if len(copies) > 1 else np.ones(1)
    print(f"{len(real)} real passages, {len(data)} vectors; cosine to the nearest other real passage: median "
          f"{np.median(sims.max(axis=1)):.3f}; a copy to its original: median {np.median(copy_sim):.3f}")
    flat = faiss.IndexFlatIP(real.shape[1])
    flat.add(data)
    k = 400
    times = []
    truth = []
    for q in queries:
        started = time.perf_counter()
        _, ids = flat.search(q.reshape(1, -1), k)
        times.append(time.perf_counter() - started)
        truth.append(ids[0])
    print(f"| index | nprobe | recall@10 | recall@400 | search p50 (ms) | load avg {os.getloadavg()[0]:.1f} |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    print(f"| flat | – | 1.000 | 1.000 | {statistics.median(times) * 1000:.2f} | |")
    for nlist in (int(n) for n in args.nlists.split(",")):
        quantizer = faiss.IndexFlatIP(real.shape[1])
        ivf = faiss.IndexIVFFlat(quantizer, real.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
        sample = data[rng.choice(len(data), min(len(data), nlist * 64), replace=False)]
        ivf.train(sample)
        ivf.add(data)
        for nprobe in (int(p) for p in args.nprobes.split(",")):
            ivf.nprobe = nprobe
            r10, r400, times = [], [], []
            for q, want in zip(queries, truth, strict=True):
                started = time.perf_counter()
                _, ids = ivf.search(q.reshape(1, -1), k)
                times.append(time.perf_counter() - started)
                r10.append(len(set(ids[0][:10]) & set(want[:10])) / 10)
                r400.append(len(set(ids[0]) & set(want)) / k)
            print(f"| IVF{nlist} | {nprobe} | {np.mean(r10):.3f} | {np.mean(r400):.3f} | "
                  f"{statistics.median(times) * 1000:.2f} | |")


if __name__ == "__main__":
    main()
