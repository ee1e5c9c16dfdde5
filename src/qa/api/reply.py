"""An answer as chat text, for clients that only show text: sentences with ``[n]`` markers, then a 来源 list.

The text is Markdown: the notes a resident should see as a quote, the extractive answer, and one line per
source with a link to its source view. ``url_citation`` annotations point each ``[n]`` of the text at the
same view, for clients that read them. :func:`answer_text` undoes the layout, so a reply sent back as
conversation history reads as the answer it was.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qa.response import answer_sentences
from qa.types import Answer, Citation
from qa.ui.render import cited_ids, resident_notes

SOURCES_HEAD = "来源："
CLOSEST_HEAD = "资料中最接近的段落："
CLOSEST_SHOWN = 3
SNIPPET_CHARS = 60
_MARKER = re.compile(r"\[(\d+)\]")
_MARKDOWN_SPECIAL = re.compile(r"([\\\[\]()*_`<>])")
_SPACE = re.compile(r"\s+")
_TAIL = re.compile(rf"\n\n(?:{SOURCES_HEAD}|{CLOSEST_HEAD})\n(?:\[\d+\] .*(?:\n|$))+$")
_NOTES = re.compile(r"^(?:> [^\n]*\n)+\n")


@dataclass(frozen=True)
class ChatReply:
    """The reply's text in the pieces a stream sends, and its citation annotations."""

    pieces: tuple[str, ...]  # the notes, each sentence of the answer, the source list
    annotations: tuple[dict[str, Any], ...]

    @property
    def content(self) -> str:
        """The whole text."""
        return "".join(self.pieces)


def listed_citations(answer: Answer) -> list[Citation]:
    """The sources the list names: those the answer cites (all when it cites none); the closest few when not found."""
    if not answer.found:
        return list(answer.citations[:CLOSEST_SHOWN])
    cited = cited_ids(answer)
    return [c for c in answer.citations if c.id in cited] or list(answer.citations)


def _markdown(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _snippet(text: str) -> str:
    flat = _SPACE.sub(" ", text).strip()
    return flat if len(flat) <= SNIPPET_CHARS else flat[:SNIPPET_CHARS].rstrip() + "…"


def source_list(answer: Answer, link: Callable[[Citation], str]) -> str:
    """The 来源 block: one line per source, ``[n] [《title》](view)（date）``; a snippet too when not found."""
    listed = listed_citations(answer)
    if not listed:
        return ""
    lines = []
    for c in listed:
        line = f"[{c.id}] [《{_markdown(c.title)}》]({link(c)})（{c.date or '日期不详'}）"
        if not answer.found:
            line += f"：{_markdown(_snippet(c.text))}"
        lines.append(line)
    return f"\n\n{SOURCES_HEAD if answer.found else CLOSEST_HEAD}\n" + "\n".join(lines)


def url_citations(content: str, citations: tuple[Citation, ...], link: Callable[[Citation], str]) -> list[dict[str, Any]]:
    """A ``url_citation`` for every ``[n]`` marker of ``content`` naming one of the citations."""
    by_id = {c.id: c for c in citations}
    out = []
    for match in _MARKER.finditer(content):
        citation = by_id.get(int(match.group(1)))
        if citation is not None:
            out.append({"type": "url_citation",
                        "url_citation": {"start_index": match.start(), "end_index": match.end(),
                                         "title": citation.title, "url": link(citation)}})
    return out


def chat_reply(answer: Answer, link: Callable[[Citation], str]) -> ChatReply:
    """The answer as chat text in pieces, with its annotations; ``link`` gives a citation's source view."""
    notes = "".join(f"> {note}\n" for note in resident_notes(answer))
    pieces = [notes + "\n"] if notes else []
    pieces += answer_sentences(answer.text)
    if sources := source_list(answer, link):
        pieces.append(sources)
    content = "".join(pieces)
    return ChatReply(tuple(pieces), tuple(url_citations(content, answer.citations, link)))


def answer_text(content: str) -> str:
    """The answer in a reply's text, without its notes and source list (for conversation history)."""
    return _TAIL.sub("", _NOTES.sub("", content, count=1), count=1)
