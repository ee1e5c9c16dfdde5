"""The calibrated answer / not-found decision: named features and a logistic model fitted on training questions.

After the named checks pass, the evidence the answer would quote is described by a dozen features (how much of
the question it holds, which question words it lacks and how specific they are, the dense and figure scores, the
kind of question). A logistic model turns them into the probability that the question is answerable from that
evidence; below the model's threshold the answer is "not found".

The model lives in ``qa/data/decision.json`` with its features, coefficients, threshold and how it was fitted
(``bench/fit_decision.py``, on ``bench/train/questions_train.jsonl`` only, never on an evaluation set).

Term specificity comes from statistics, not word lists: a question word the quoted sentence lacks is weighed by
whether the reports use it elsewhere (the corpus knows the distinction the question makes: 城镇 vs 全体) and, if
the reports never use it, by how rare it is in general Chinese (jieba's dictionary frequencies): a rare word
(门票, 退役, 远程会诊) names a topic the reports do not cover, a common one (觉得, 大概, 直接) only phrases the
question.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from qa.answer.evidence import coverage, story_words
from qa.answer.weights import WEIGHTS
from qa.lexical import plain_vocabulary, pos_tag

if TYPE_CHECKING:
    from qa.answer.evidence import Evidence, FigureMatch
    from qa.answer.intent import Intent
    from qa.spell_index import Words
    from qa.types import Hit

FEATURES = (
    "coverage",  # share of the question's idf weight in the quoted sentence (with its continuation)
    "missing_weight",  # idf share of the question words the quoted sentence lacks
    "missing_known",  # idf share of question words the sentence lacks but the reports use elsewhere
    "missing_rare",  # rarity in general Chinese of the rarest question word the reports never use
    "missing_common",  # how many question words the reports never use are common in general Chinese
    "inside_longer",  # share of question words the sentence holds only inside a longer word (出口 in 进出口)
    "clause_missing",  # idf share of question words the reports use that the figure's own clause lacks (城镇 for 全体居民…)
    "measured_missing",  # the thing a how-much question measures (出口额, 利润) is not in the figure's sentence
    "scope_missing",  # the question names a scope (全国, 全市, 全省) the sentence does not
    "dense",  # best e5 cosine among the top passages
    "figure_score",  # the best figure's match score (how-much questions), else 0
    "retrieval",  # the top passage's fused retrieval score
    "is_quantity",
    "is_when",
    "is_list",
    "is_entity",
    "english",
)
_SCOPE = re.compile(r"全国|全市|全省|全球|世界|整个重庆|重庆市|重庆全市")


@lru_cache(maxsize=1)
def general_frequencies() -> tuple[dict[str, int], int]:
    """Word frequencies of general Chinese (jieba's own dictionary) and their total."""
    import jieba

    counts: dict[str, int] = {}
    with jieba.get_dict_file() as fh:
        for raw in fh:
            parts = raw.decode("utf-8").split()
            if len(parts) >= 2 and parts[1].isdigit():
                counts[parts[0]] = int(parts[1])
    return counts, sum(counts.values())


def rarity(word: str) -> float:
    """How rare ``word`` is in general Chinese, from 0 (everyday) to 1 (never seen)."""
    counts, _ = general_frequencies()
    return max(0.0, 1.0 - math.log10(1 + counts.get(word, 0)) / WEIGHTS.common_word_log10)


def lacking(text: str, terms: Mapping[str, float]) -> list[str]:
    """Question terms that ``text`` does not hold (nor a synonym or report term for them)."""
    told = story_words(terms)  # the asker's story: never lacking
    return [t for t in terms if t not in told and coverage(text, {t: 1.0}) < 1.0]


def features(intent: Intent, terms: Mapping[str, float], hits: Sequence[Hit], evidence: Sequence[Evidence],
             matches: Sequence[FigureMatch], corpus_text: Words, dense: float) -> dict[str, float]:
    """The named features of the evidence an answer would quote."""
    quoted = matches[0].evidence if matches else evidence[0]
    text = quoted.reach or quoted.sentence
    total = sum(terms.values()) or 1.0
    missing = lacking(text, terms)
    known = [t for t in missing if t in corpus_text]
    unknown = [t for t in missing if t not in corpus_text]
    rare = [rarity(t) for t in unknown]
    words = {w for w, _ in pos_tag(text)}
    inside = [t for t in terms if t not in missing and t in text and t not in words and len(t) > 1]
    clause = matches[0].clause if matches else ""
    clause_missing = [t for t in lacking(clause, terms) if t in corpus_text] if matches else []
    measured = intent.measured
    scopes = set(_SCOPE.findall(intent.question))
    return {
        "coverage": coverage(text, terms),
        "missing_weight": sum(terms[t] for t in missing) / total,
        "missing_known": sum(terms[t] for t in known) / total,
        "missing_rare": max(rare, default=0.0),
        "missing_common": float(sum(r < WEIGHTS.rare_word for r in rare)),
        "inside_longer": len(inside) / max(1, len(terms)),
        "clause_missing": sum(terms[t] for t in clause_missing) / total,
        "measured_missing": float(bool(matches) and bool(measured) and coverage(text, {measured: 1.0}) < 1.0),
        "scope_missing": float(any(scope not in text for scope in scopes)),
        "dense": dense,
        "figure_score": matches[0].score if matches else 0.0,
        "retrieval": hits[0].score if hits else 0.0,
        "is_quantity": float(intent.kind in ("quantity", "compare")),
        "is_when": float(intent.kind == "when"),
        "is_list": float(intent.kind == "list"),
        "is_entity": float(intent.kind == "entity"),
        "english": float(intent.english),
    }


@dataclass(frozen=True)
class DecisionModel:
    """A logistic model over :data:`FEATURES` with the threshold below which the answer is "not found"."""

    coefficients: dict[str, float]
    intercept: float
    threshold: float
    means: dict[str, float]
    scales: dict[str, float]

    def probability(self, values: Mapping[str, float]) -> float:
        """The probability that the question is answerable from this evidence."""
        z = self.intercept + sum(self.coefficients[name] * (values[name] - self.means[name]) / self.scales[name]
                                 for name in self.coefficients)
        return 1.0 / (1.0 + math.exp(-z))


@cache
def load_model(embedding: str | None) -> DecisionModel | None:
    """The fitted model of ``qa/data/decision.json`` for answers over ``embedding`` vectors, if there is one.

    The dense score is one of the features, so a model fitted with one embedding model does not judge
    answers made with another: then the named checks decide alone.
    """
    path = resources.files("qa") / "data" / "decision.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if list(data["features"]) != list(FEATURES) or data.get("embedding_model") != embedding:
        return None  # fitted for other features or another model: refit with bench/fit_decision.py
    return DecisionModel(coefficients=dict(zip(data["features"], data["coefficients"], strict=True)),
                         intercept=data["intercept"], threshold=data["threshold"],
                         means=dict(zip(data["features"], data["means"], strict=True)),
                         scales=dict(zip(data["features"], data["scales"], strict=True)))


def warm(embedding: str | None) -> None:
    """Load what deciding reads on first use (jieba's general dictionary and its plain word cutter, the fitted
    model), before serving."""
    general_frequencies()
    plain_vocabulary().pos_tag("九龙坡")
    load_model(embedding)
