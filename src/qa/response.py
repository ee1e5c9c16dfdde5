"""The wire shape of an answer, shared by the HTTP API and ``qa ask --json``."""

from __future__ import annotations

import re
from typing import Any

from qa.types import Answer


def answer_to_dict(result: Answer) -> dict[str, Any]:
    """The answer in the shape of the HTTP API's ``/v1/ask`` response."""
    return {
        "question": result.question,
        "found": result.found,
        "answer": result.text,
        "citations": [c.__dict__ for c in result.citations],
        "figures": [
            {"value": cf.figure.value, "unit": cf.figure.unit, "metric": cf.figure.metric, "year": cf.figure.year,
             "qualifier": cf.figure.qualifier, "text": cf.figure.text, "citation": cf.citation,
             "table": cf.figure.table, "row": cf.figure.row, "column": cf.figure.column}
            for cf in result.figures
        ],
        "took_ms": result.took_ms,
        "resolved_question": result.resolved_question,
        "notes": list(result.notes),
        "reasons": list(result.reasons),
    }


# A sentence ends at 。！？； (or …), with any closing quotes and the [n] markers right after it; a line break also ends one.
_SENTENCE_END = re.compile(r"(?:[。！？；!?;]|…{1,2})[”’」』）)\"']*(?:\[\d+\])*|\n+")


def answer_sentences(text: str) -> list[str]:
    """The answer text cut after each sentence, each keeping its ``[n]`` markers; the pieces join back to ``text``."""
    pieces, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if match.end() > start:
            pieces.append(text[start:match.end()])
            start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces
