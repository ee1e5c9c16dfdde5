"""Query encoding and passage embedding speed of the default model, torch against ONNX Runtime, by thread count.

Encodes each question of the three bench sets alone (as a request does) and every text a cold build embeds
for the seed corpus (each chunk and its two-sentence windows), and checks that the two runtimes agree:

    python bench/embed_speed.py --threads 1,2

Prints one Markdown row per runtime and thread count, with the load average and the CPU seconds the passages
took (the machine is shared: on two idle cores a build embeds at most 2 × passages / CPU seconds a second).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from qa.chunk import chunk_document
from qa.config import Settings
from qa.e5convert import MODEL_NAME
from qa.embed import load_embedder
from qa.index import chunk_views
from qa.ingest import load_corpus

HERE = Path(__file__).resolve().parent
SETS = ("questions.jsonl", "questions_fresh.jsonl", "questions_fresh2.jsonl")


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args()
    settings = Settings()
    questions = [json.loads(line)["question"] for name in SETS
                 for line in (HERE / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    docs, _ = load_corpus(HERE.parent / "corpus")
    chunks = [c.clean for d in docs for c in chunk_document(d, settings.chunk_target, settings.chunk_limit)]
    views = [v for c in chunks for v in chunk_views(c)]
    print("| runtime | threads | query encode p50 (ms) | p95 (ms) | build: chunks/s | passages/s | CPU s | "
          "min cosine to torch | load avg |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for threads in (int(t) for t in args.threads.split(",")):
        reference: dict[str, np.ndarray] = {}
        for runtime in ("torch", "onnx"):
            embedder = load_embedder(MODEL_NAME, settings.model_cache, threads=threads, runtime=runtime)
            embedder.encode_queries(questions[:2])  # load the model
            load = os.getloadavg()[0]
            times, vectors = [], []
            for question in questions:
                started = time.perf_counter()
                vectors.append(embedder.encode_queries([question])[0])
                times.append((time.perf_counter() - started) * 1000)
            started, cpu = time.perf_counter(), time.process_time()
            passages = embedder.encode_passages(views)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            queries = np.vstack(vectors)
            reference.setdefault("q", queries)
            reference.setdefault("p", passages)
            cosine = min(float(np.sum(queries * reference["q"], axis=1).min()),
                         float(np.sum(passages * reference["p"], axis=1).min()))
            print(f"| {runtime} | {threads} | {statistics.median(times):.1f} "
                  f"| {statistics.quantiles(times, n=20)[18]:.1f} | {len(chunks) / seconds:.1f} "
                  f"| {len(views) / seconds:.1f} | {cpu:.1f} | {cosine:.6f} | {load:.1f}–{os.getloadavg()[0]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
