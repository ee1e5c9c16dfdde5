"""`qa eval`: retrieval and answer quality on a JSONL question set, per question type, with latency.

Question-set format (one JSON object a line; see the README):
``{"id", "type", "question", "answerable", "evidence": [{"doc_id", "start", "end", "text"}],
"answer": {"value", "unit"} | {"text"} | {"keywords": [str | [alternatives]]} | null, "history": [...]}``
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from qa.errors import QueryError
from qa.normalize import fold_query
from qa.types import Answer, Citation

REQUIRED = ("id", "question", "answerable")
RANK_DEPTH = 10


def load_questions(path: Path) -> list[dict[str, Any]]:
    """Read and check a question set; errors name the line."""
    items: list[dict[str, Any]] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QueryError(f"{path}:{n}: not valid JSON ({exc.msg})") from None
        missing = [k for k in REQUIRED if k not in item]
        if missing:
            raise QueryError(f"{path}:{n}: missing field(s) {', '.join(missing)}")
        if item["answerable"] and not item.get("evidence"):
            raise QueryError(f"{path}:{n}: an answerable question needs evidence spans")
        items.append(item)
    if not items:
        raise QueryError(f"{path}: no questions")
    return items


def _overlaps(citation: Citation, evidence: Sequence[dict[str, Any]]) -> bool:
    return any(e["doc_id"] == citation.doc_id and citation.start < e["end"] and e["start"] < citation.end
               for e in evidence)


def first_hit_rank(citations: Sequence[Citation], evidence: Sequence[dict[str, Any]]) -> int | None:
    """1-based rank of the first passage that overlaps a gold span."""
    return next((c.id for c in citations if _overlaps(c, evidence)), None)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", fold_query(text))


def _number_forms(value: float) -> set[str]:
    forms = {f"{value:g}", f"{value:.1f}", f"{value:.2f}"}
    if float(value).is_integer():
        forms.add(str(int(value)))
    return forms


def answer_correct(item: dict[str, Any], result: Answer) -> bool:
    """Whether an answer to an answerable question gives the expected figure or words."""
    expected = item.get("answer") or {}
    if not result.found:
        return False
    text = _squash(result.text)
    if "keywords" in expected:
        for keyword in expected["keywords"]:
            options = keyword if isinstance(keyword, list) else [keyword]
            if not any(_squash(option) in text for option in options):
                return False
        return True
    if "text" in expected and _squash(str(expected["text"])) in text:
        return True
    if "value" in expected:
        value, unit = float(expected["value"]), str(expected.get("unit") or "")
        if any(abs(cf.figure.value - value) <= 1e-6 * max(1.0, abs(value)) and cf.figure.unit == unit
               for cf in result.figures):
            return True
        return any(re.search(rf"(?<![\d.]){re.escape(form)}(?![\d])\s*{re.escape(unit)}", text)
                   for form in _number_forms(value))
    return bool(expected.get("text")) and _squash(str(expected["text"])) in text


def run_eval(service: Any, items: Sequence[dict[str, Any]],
             modes: Sequence[str] = ("hybrid", "dense", "lexical")) -> dict[str, Any]:
    """Score every question; returns overall and per-type metrics plus per-question rows."""
    retrieval: dict[str, dict[str, list[float]]] = {m: defaultdict(list) for m in modes}
    rows = []
    latencies = []
    for item in items:
        history = item.get("history") or []
        query = item["question"]
        if history:  # retrieval is scored on what the answer layer searches: the resolved question
            from qa.answer.intent import resolve_followup
            from qa.query import prepare_query

            query = resolve_followup(prepare_query(query, service.snapshot).text, history)
        if item["answerable"]:
            for mode in modes:
                citations = service.search(query, k=RANK_DEPTH, mode=mode)
                rank = first_hit_rank(citations, item["evidence"])
                for key, qtype in (("all", "all"), ("type", item.get("type", "other"))):
                    bucket = retrieval[mode][qtype if key == "type" else "all"]
                    bucket.append(1.0 / rank if rank else 0.0)
                    retrieval[mode][f"{qtype}@1" if key == "type" else "all@1"].append(float(rank == 1))
                    retrieval[mode][f"{qtype}@5" if key == "type" else "all@5"].append(float(bool(rank and rank <= 5)))
        started = time.perf_counter()
        result = service.ask(item["question"], top_k=5, history=history)
        latencies.append((time.perf_counter() - started) * 1000)
        correct = answer_correct(item, result) if item["answerable"] else not result.found
        rows.append({
            "id": item["id"], "type": item.get("type", "other"), "question": item["question"],
            "answerable": item["answerable"], "found": result.found, "correct": correct,
            "cited_rank": first_hit_rank(result.citations, item.get("evidence") or []),
            "answer": result.text, "resolved": result.resolved_question,
        })
    return _summarize(rows, retrieval, latencies)


def _mean(values: Sequence[float]) -> float:
    return round(statistics.fmean(values), 4) if values else 0.0


def _summarize(rows: list[dict[str, Any]], retrieval: dict[str, dict[str, list[float]]],
               latencies: list[float]) -> dict[str, Any]:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    said_not_found = [r for r in rows if not r["found"]]
    true_not_found = [r for r in said_not_found if not r["answerable"]]
    types = sorted({r["type"] for r in rows})
    per_type = {}
    for qtype in types:
        group = [r for r in rows if r["type"] == qtype]
        entry: dict[str, Any] = {"n": len(group), "accuracy": _mean([float(r["correct"]) for r in group])}
        for mode, buckets in retrieval.items():
            if buckets.get(qtype):
                entry[mode] = {"hit@1": _mean(buckets[f"{qtype}@1"]), "hit@5": _mean(buckets[f"{qtype}@5"]),
                               "mrr": _mean(buckets[qtype])}
        per_type[qtype] = entry
    ordered = sorted(latencies)
    return {
        "questions": len(rows),
        "retrieval": {mode: {"hit@1": _mean(b["all@1"]), "hit@5": _mean(b["all@5"]), "mrr": _mean(b["all"])}
                      for mode, b in retrieval.items()},
        "answer_accuracy": _mean([float(r["correct"]) for r in answerable]),
        "overall_accuracy": _mean([float(r["correct"]) for r in rows]),
        "not_found": {
            "precision": round(len(true_not_found) / len(said_not_found), 4) if said_not_found else 1.0,
            "recall": round(len(true_not_found) / len(unanswerable), 4) if unanswerable else 1.0,
            "false_not_found_rate": round(sum(not r["found"] for r in answerable) / len(answerable), 4)
            if answerable else 0.0,
        },
        "latency_ms": {"p50": round(ordered[len(ordered) // 2], 1) if ordered else 0.0,
                       "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 1) if ordered else 0.0},
        "per_type": per_type,
        "rows": rows,
    }


def render_summary(result: dict[str, Any]) -> str:
    """A plain-text table of the headline numbers."""
    lines = [f"questions: {result['questions']}", "", "retrieval (answerable questions)",
             f"{'mode':<8} {'hit@1':>6} {'hit@5':>6} {'MRR':>6}"]
    for mode, m in result["retrieval"].items():
        lines.append(f"{mode:<8} {m['hit@1']:>6.3f} {m['hit@5']:>6.3f} {m['mrr']:>6.3f}")
    nf = result["not_found"]
    lines += [
        "",
        f"answer accuracy (answerable): {result['answer_accuracy']:.3f}",
        f"not found: precision {nf['precision']:.3f}, recall {nf['recall']:.3f}, "
        f"answerable wrongly not found {nf['false_not_found_rate']:.3f}",
        f"latency ms: p50 {result['latency_ms']['p50']}, p95 {result['latency_ms']['p95']}",
        "",
        f"{'type':<14} {'n':>4} {'accuracy':>9} {'hit@5':>6} {'MRR':>6}",
    ]
    for qtype, entry in result["per_type"].items():
        hybrid = entry.get("hybrid", {})
        hit5 = f"{hybrid['hit@5']:.3f}" if hybrid else "-"
        mrr = f"{hybrid['mrr']:.3f}" if hybrid else "-"
        lines.append(f"{qtype:<14} {entry['n']:>4} {entry['accuracy']:>9.3f} {hit5:>6} {mrr:>6}")
    return "\n".join(lines)


def bar_chart_svg(values: dict[str, float], title: str, width: int = 640) -> str:
    """A small horizontal bar chart (0..1) as standalone SVG: no plotting library needed."""
    bar, gap, label_w = 18, 8, 130
    height = 40 + len(values) * (bar + gap)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
             f'font-size="12"><text x="8" y="20" font-weight="bold">{escape(title)}</text>']
    span = width - label_w - 60
    for i, (name, value) in enumerate(values.items()):
        y = 32 + i * (bar + gap)
        parts.append(f'<text x="8" y="{y + 13}">{escape(name)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{max(0.0, value) * span:.1f}" height="{bar}" fill="#3b7dd8"/>')
        parts.append(f'<text x="{label_w + value * span + 4:.1f}" y="{y + 13}">{value:.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def write_report(result: dict[str, Any], path: Path) -> None:
    """Markdown report with an SVG chart of accuracy per question type beside it."""
    chart = path.with_suffix(".svg")
    chart.write_text(bar_chart_svg({t: e["accuracy"] for t, e in result["per_type"].items()},
                                   "answer accuracy by question type"), encoding="utf-8")
    lines = ["# qa eval report", "", "```", render_summary(result), "```", "", f"![accuracy by type]({chart.name})", "",
             "## Misses", "", "| id | type | question | found | answer |", "|---|---|---|---|---|"]
    for row in result["rows"]:
        if not row["correct"]:
            answer = row["answer"].replace("|", "\\|").replace("\n", " ")[:120]
            lines.append(f"| {row['id']} | {row['type']} | {row['question']} | {row['found']} | {answer} |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
