"""How build, memory, start-up, updates and answers grow with the corpus: synthetic corpora of N chunks.

Each corpus is made of the seed reports' sentences, shuffled (seeded) and recombined into documents of about
ten chunks, so the vocabulary and the sentence lengths are the reports' own. The fake ``hash`` embedder stands
in for the model, so the timings are the index's and the answer layer's, not the model's.

Each size runs in two fresh processes, so the memory figures are that size's alone:

- ``build``: a cold ``qa build`` of the corpus (time, peak RSS, size of the index folder);
- ``serve``: load the index (start-up time, RSS once loaded), ask the answerable questions of
  ``bench/questions.jsonl`` through ``Service.ask`` (p50/p95, after one warm-up question, which is timed
  apart as the first answer), then add one document through ``Service.add_document`` (a new segment + reload)
  and delete it again, so the corpus ends as it began.

``--keep DIR`` works in DIR and keeps it; an index already built there is reused (no build phase), so one
large build can serve several runs, e.g. of two versions of the code.

    python bench/scale.py                       # 1k and 10k chunks
    python bench/scale.py --sizes 1000,10000,100000 --questions 60
    python bench/scale.py --sizes 20000 --backend milvus   # the same on Milvus (Lite, in the work folder)

``--backend`` sets ``QA_BACKEND`` for both phases; with ``milvus`` and no ``QA_MILVUS_URI`` the index is in a Milvus
Lite folder inside the work folder (counted in the index size); set ``QA_MILVUS_URI`` to measure a server.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SEED = ROOT / "corpus"
QUESTIONS = HERE / "questions.jsonl"
CHUNKS_PER_DOC = 10
_SENTENCE = re.compile(r"[^。！？\n]+[。！？]?")


def seed_sentences(corpus: Path = SEED) -> list[str]:
    """The seed reports' sentences (raw text, split at 。！？ and line ends)."""
    out: list[str] = []
    for path in sorted(corpus.glob("*.txt")):
        out += [s.strip() for s in _SENTENCE.findall(path.read_text(encoding="utf-8")) if len(s.strip()) >= 8]
    return out


def write_corpus(folder: Path, chunks: int, seed: int = 0) -> int:
    """Write a corpus of about ``chunks`` chunks into ``folder``; returns the number of documents."""
    from qa.config import Settings

    settings = Settings()
    sentences = seed_sentences()
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    docs = max(1, round(chunks / CHUNKS_PER_DOC))
    chars = settings.chunk_target * CHUNKS_PER_DOC
    entries = []
    for n in range(docs):
        parts: list[str] = []
        size = 0
        while size < chars:
            sentence = rng.choice(sentences)
            parts.append(sentence)
            size += len(sentence)
            if rng.random() < 0.2:
                parts.append("\n\n")
        name = f"s{n:07d}"
        (folder / f"{name}.txt").write_text("".join(parts), encoding="utf-8")
        entries.append({"id": name, "file": f"{name}.txt", "title": f"合成报道 {n}", "date": "2021-06-01"})
    (folder / "manifest.json").write_text(json.dumps({"documents": entries}, ensure_ascii=False), encoding="utf-8")
    return docs


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _settings(work: Path) -> Any:
    from qa.config import Settings

    return Settings(corpus_dir=work / "corpus", index_dir=work / "index", state_dir=work / "var", model="hash")


def phase_build(work: Path) -> dict[str, Any]:
    """Cold build of the corpus in ``work``."""
    from qa.embed import HashEmbedder
    from qa.index import build

    started = time.perf_counter()
    report = build(_settings(work), HashEmbedder())
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in (work / "index").rglob("*") if p.is_file() and "embeddings" not in p.name)
    return {"chunks": report.chunks, "documents": report.documents, "build_s": seconds,
            "build_peak_mb": _peak_mb(), "index_mb": size / 2**20}


def phase_serve(work: Path, questions: int) -> dict[str, Any]:
    """Load, ask, then add one document."""
    from qa.embed import HashEmbedder
    from qa.service import Service

    items = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    asks = [i["question"] for i in items if i.get("answerable") and i.get("type") != "follow-up"][:questions]
    base_rss = _rss_mb()
    started = time.perf_counter()
    service = Service.from_settings(_settings(work), HashEmbedder(), auto_build=False)
    load_s = time.perf_counter() - started
    loaded_rss = _rss_mb()
    started = time.perf_counter()
    service.ask(asks[0])
    first_s = time.perf_counter() - started
    times = []
    for question in asks:
        started = time.perf_counter()
        service.ask(question)
        times.append(time.perf_counter() - started)
    asked_rss = _rss_mb()  # what lazily built tables cost shows here, not in the RSS once loaded
    for question in asks:  # the same questions again: memory must not grow per request
        service.ask(question + "？")
    again_rss = _rss_mb()
    text = "".join(random.Random(1).sample(seed_sentences(), 40))
    before_add = _rss_mb()
    started = time.perf_counter()
    service.add_document(text, title="新增的一篇报道", doc_id="added_one", date="2021-07-01")
    add_s = time.perf_counter() - started
    added_rss = _rss_mb()
    started = time.perf_counter()
    service.delete_document("added_one")
    delete_s = time.perf_counter() - started
    started = time.perf_counter()
    service.ask(asks[1])  # the version after the delete answers at once
    after_ms = (time.perf_counter() - started) * 1000
    cuts = statistics.quantiles(times, n=20)
    return {"chunks": service.snapshot.meta["chunks"], "load_s": load_s, "rss_loaded_mb": loaded_rss, "rss_asked_mb": asked_rss, "rss_before_load_mb": base_rss,
            "first_ask_ms": first_s * 1000, "ask_p50_ms": statistics.median(times) * 1000,
            "ask_p95_ms": cuts[18] * 1000, "asked": len(times), "add_one_s": add_s, "delete_one_s": delete_s,
            "add_rss_mb": added_rss - before_add, "rss_asked_again_mb": again_rss, "ask_after_update_ms": after_ms,
            "segments": len(service.snapshot.meta.get("segments", [])),
            "serve_peak_mb": _peak_mb()}


def run_size(chunks: int, questions: int, keep: Path | None) -> dict[str, Any]:
    """Measure one corpus size in fresh processes."""
    work = keep or Path(tempfile.mkdtemp(prefix=f"qa-scale-{chunks}-"))
    try:
        if not (work / "corpus").exists():
            write_corpus(work / "corpus", chunks)
        result: dict[str, Any] = {"target": chunks, "backend": os.environ.get("QA_BACKEND", "faiss"),
                                  "load_avg_start": os.getloadavg()[0]}
        built = (work / "index" / "current").exists()
        for phase in ("serve",) if built else ("build", "serve"):
            out = subprocess.run([sys.executable, __file__, "--phase", phase, "--work", str(work),
                                  "--questions", str(questions)], check=True, capture_output=True, text=True)
            result.update(json.loads(out.stdout.strip().splitlines()[-1]))
        result["load_avg_end"] = os.getloadavg()[0]
        return result
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)


COLUMNS = (("backend", "backend", "{}"), ("chunks", "chunks", "{}"), ("build_s", "build (s)", "{:.1f}"), ("build_peak_mb", "build peak RSS (MB)", "{:.0f}"),
           ("index_mb", "index (MB)", "{:.1f}"), ("load_s", "load (s)", "{:.2f}"), ("rss_loaded_mb", "RSS loaded (MB)", "{:.0f}"),
           ("rss_asked_mb", "RSS after asks (MB)", "{:.0f}"), ("rss_asked_again_mb", "… after asking again", "{:.0f}"),
           ("first_ask_ms", "first ask (ms)", "{:.0f}"), ("ask_p50_ms", "ask p50 (ms)", "{:.1f}"),
           ("ask_p95_ms", "ask p95 (ms)", "{:.1f}"), ("add_one_s", "add one doc (s)", "{:.2f}"),
           ("delete_one_s", "delete it (s)", "{:.2f}"), ("add_rss_mb", "RSS growth by the add (MB)", "{:.0f}"))


def table(results: list[dict[str, Any]]) -> str:
    """The results as a Markdown table (– where a phase was not run)."""
    head = "| " + " | ".join(title for _, title, _ in COLUMNS) + " | load avg |\n" + "| ---: " * (len(COLUMNS) + 1) + "|"
    rows = ["| " + " | ".join(fmt.format(r[key]) if r.get(key) is not None else "–" for key, _, fmt in COLUMNS)
            + f" | {r['load_avg_start']:.1f}–{r['load_avg_end']:.1f} |" for r in results]
    return "\n".join([head, *rows])


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated chunk counts (100000 and up: long)")
    parser.add_argument("--questions", type=int, default=60, help="answerable questions asked per size")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (one size only)")
    parser.add_argument("--backend", choices=("faiss", "milvus"), help="QA_BACKEND for the build and serve phases")
    parser.add_argument("--phase", choices=("build", "serve"), help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        result = phase_build(args.work) if args.phase == "build" else phase_serve(args.work, args.questions)
        print(json.dumps(result))
        return
    if args.backend:
        os.environ["QA_BACKEND"] = args.backend  # read by Settings in both phase processes
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if args.keep and len(sizes) != 1:
        parser.error("--keep takes one size")
    results = []
    for size in sizes:
        result = run_size(size, args.questions, args.keep)
        print(json.dumps(result), file=sys.stderr)
        results.append(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(table(results))


if __name__ == "__main__":
    main()
