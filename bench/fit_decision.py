#!/usr/bin/env python3
"""Fit the answer / not-found decision (qa.answer.decision) on the training questions, and plot its reliability.

Usage:  python bench/fit_decision.py [bench/train/questions_train.jsonl] [--out src/qa/data/decision.json]
                                     [--plot bench/calibration.svg]

Runs every training question through the answer pipeline with the fitted model switched off, takes the
features of each question part that passes the named checks, and fits an L2-regularised logistic regression
(Newton's method on standardised features) to whether the question is answerable. The threshold is the highest
that still answers --keep (0.99) of the answerable training questions that pass the checks: the model only adds
refusals to the named checks. Never run on an evaluation set: the model must not see them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
L2 = 1.0  # ridge penalty on the standardised coefficients
BINS = 10


def collect(path: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """Features and labels of every training question part that passes the named checks, and the embedding model."""
    from qa.answer import checks, decision
    from qa.answer.compose import plan
    from qa.service import Service

    checks.load_model = lambda embedding: None  # type: ignore[assignment]  # collect with the model switched off
    service = Service.from_settings()
    rows, labels = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        _, _, parts = plan(service.snapshot, item["question"], item.get("history"))
        for part in parts[:1]:  # the question's label speaks for its first part
            if part.support.features:
                rows.append([part.support.features[name] for name in decision.FEATURES])
                labels.append(1.0 if item["answerable"] else 0.0)
    return np.array(rows), np.array(labels), service.snapshot.meta["model"]


def fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Coefficients, intercept, means and scales of an L2 logistic regression on standardised features."""
    means = x.mean(axis=0)
    scales = x.std(axis=0)
    scales[scales == 0] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - means) / scales])
    w = np.zeros(z.shape[1])
    penalty = np.eye(z.shape[1]) * L2
    penalty[0, 0] = 0.0  # the intercept is not shrunk
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-z @ w))
        gradient = z.T @ (p - y) + penalty @ w
        hessian = z.T @ (z * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[1:], float(w[0]), means, scales


def best_threshold(p: np.ndarray, y: np.ndarray, keep: float) -> float:
    """The highest threshold that still answers ``keep`` of the answerable training questions.

    The named checks already refuse what they can; the model only adds refusals, and may cost at most
    ``1 - keep`` of the answerable questions that pass the checks.
    """
    return float(np.quantile(p[y == 1], 1.0 - keep, method="lower"))


def reliability_svg(p: np.ndarray, y: np.ndarray) -> str:
    """A reliability plot: mean predicted probability against the observed share answerable, per bin."""
    size, pad = 320, 40
    inner = size - 2 * pad
    points, bars = [], []
    for b in range(BINS):
        lo, hi = b / BINS, (b + 1) / BINS
        mask = (p >= lo) & ((p < hi) if b < BINS - 1 else (p <= hi))
        if mask.sum():
            px, py = p[mask].mean(), y[mask].mean()
            points.append(f'<circle cx="{pad + px * inner:.1f}" cy="{size - pad - py * inner:.1f}" r="4" fill="#1f77b4">'
                          f"<title>{mask.sum()} parts: predicted {px:.2f}, observed {py:.2f}</title></circle>")
            bars.append(f'<rect x="{pad + lo * inner:.1f}" y="{size - pad - mask.mean() * inner:.1f}" '
                        f'width="{inner / BINS - 1:.1f}" height="{mask.mean() * inner:.1f}" fill="#ddd"/>')
    axis = (f'<line x1="{pad}" y1="{size - pad}" x2="{size - pad}" y2="{size - pad}" stroke="#333"/>'
            f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{size - pad}" stroke="#333"/>'
            f'<line x1="{pad}" y1="{size - pad}" x2="{size - pad}" y2="{pad}" stroke="#999" stroke-dasharray="4"/>'
            f'<text x="{size / 2}" y="{size - 8}" text-anchor="middle" font-size="11">predicted probability answerable</text>'
            f'<text x="12" y="{size / 2}" text-anchor="middle" font-size="11" transform="rotate(-90 12 {size / 2})">'
            f"observed share answerable</text>")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" font-family="sans-serif">'
            f'{"".join(bars)}{axis}{"".join(points)}</svg>\n')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", nargs="?", default=ROOT / "bench" / "train" / "questions_train.jsonl", type=Path)
    parser.add_argument("--out", default=ROOT / "src" / "qa" / "data" / "decision.json", type=Path)
    parser.add_argument("--plot", default=ROOT / "bench" / "calibration.svg", type=Path)
    parser.add_argument("--keep", default=0.99, type=float,
                        help="share of the answerable training questions passing the checks that stay answered")
    args = parser.parse_args()
    from qa.answer.decision import FEATURES

    x, y, embedding = collect(args.questions)
    coefficients, intercept, means, scales = fit(x, y)
    p = 1.0 / (1.0 + np.exp(-(intercept + ((x - means) / scales) @ coefficients)))
    threshold = best_threshold(p, y, args.keep)
    model = {
        "features": list(FEATURES),
        "coefficients": [round(float(c), 6) for c in coefficients],
        "intercept": round(intercept, 6),
        "threshold": threshold,
        "means": [round(float(m), 6) for m in means],
        "scales": [round(float(s), 6) for s in scales],
        "embedding_model": embedding,
        "fitted_on": str(args.questions.relative_to(ROOT)) if args.questions.is_relative_to(ROOT) else str(args.questions),
        "parts": len(y),
        "answerable": int(y.sum()),
        "how": "bench/fit_decision.py: L2 logistic regression (penalty 1.0) on standardised features; threshold "
               f"keeps {args.keep} of the answerable training questions that pass the named checks answered",
    }
    args.out.write_text(json.dumps(model, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    args.plot.write_text(reliability_svg(p, y), encoding="utf-8")
    print(f"{len(y)} parts ({int(y.sum())} answerable) from {args.questions}")
    for name, c in sorted(zip(FEATURES, coefficients, strict=True), key=lambda t: -abs(t[1])):
        print(f"  {name:16s} {c:+.3f}")
    print(f"  intercept        {intercept:+.3f}   threshold {threshold:.3f}")
    answered = p >= threshold
    print(f"training: answerable answered {answered[y == 1].mean():.3f}, unanswerable refused "
          f"{(~answered)[y == 0].mean():.3f}")
    print(f"wrote {args.out} and {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
