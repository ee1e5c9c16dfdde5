"""The answer layer's word lists, read from the data files ``district.toml`` and ``question_words.toml``."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any


def _read(name: str) -> dict[str, Any]:
    return tomllib.loads((resources.files("qa") / "data" / name).read_text(encoding="utf-8"))


def _alternation(words: list[str]) -> str:
    """A regex alternation that tries longer words first."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


@dataclass(frozen=True)
class District:
    """The district the reports are about: its names, the places in it, the scopes of its rankings."""

    core_name: str  # 九龙坡: in every name of the district
    names: frozenset[str]
    place_prefix: re.Pattern[str]  # 重庆市九龙坡区 before a place name
    metric_prefix: re.Pattern[str]  # 全区 before a figure's metric
    area_endings: frozenset[str]  # 园区, 社区: areas inside the district, not other districts
    named_place: re.Pattern[str]  # a particular hospital, school, museum …
    named_place_endings: tuple[str, ...]  # the endings of such names (医院, 小学, 码头 …)
    scopes: tuple[tuple[str, re.Pattern[str]], ...]  # where a ranking is made
    wider_areas: tuple[str, ...]  # 全市, 整个重庆: areas wider than the district, named whole (longest first)


@lru_cache(maxsize=1)
def district() -> District:
    """The district description of ``district.toml``."""
    data = _read("district.toml")
    return District(
        core_name=data["core_name"],
        names=frozenset(data["names"]),
        place_prefix=re.compile(f"^(?:{_alternation(data['place_prefixes'])})"),
        metric_prefix=re.compile(f"^(?:{_alternation(data['metric_prefixes'])})"),
        area_endings=frozenset(data["area_endings"]),
        named_place=re.compile(r"[\u4e00-\u9fff]{2,8}?(?:" + "|".join(map(re.escape, data["named_place_endings"])) + ")"),
        named_place_endings=tuple(data["named_place_endings"]),
        scopes=tuple((name, re.compile("|".join(map(re.escape, words))))
                     for name, words in data["ranking_scopes"].items()),
        wider_areas=tuple(sorted(data["wider_areas"], key=len, reverse=True)),
    )


@dataclass(frozen=True)
class QuestionWords:
    """Words that shape a question rather than name its topic."""

    generic: frozenset[str]  # the district's own names and the phrasing words: no evidence either way
    units: frozenset[str]
    light_verbs: frozenset[str]


@lru_cache(maxsize=1)
def question_words() -> QuestionWords:
    """The lists of ``question_words.toml``, with the district's names counted as generic."""
    data = _read("question_words.toml")
    return QuestionWords(generic=district().names | frozenset(data["phrasing"]), units=frozenset(data["units"]),
                         light_verbs=frozenset(data["light_verbs"]))
