"""Shared fixtures: settings in temporary folders, the fake embedder, a built index over the real corpus."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa.config import Settings
from qa.embed import HashEmbedder
from qa.service import Service

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
MINI = Path(__file__).parent / "data" / "mini"


def make_settings(tmp: Path, corpus: Path = CORPUS, **overrides: object) -> Settings:
    """Settings whose corpus is a copy of ``corpus`` and whose index and state live under ``tmp``."""
    copy = tmp / "corpus"
    if not copy.exists():
        shutil.copytree(corpus, copy)
    return Settings(corpus_dir=copy, index_dir=tmp / "index", state_dir=tmp / "var", model="hash", **overrides)


@pytest.fixture
def mini_settings(tmp_path: Path) -> Settings:
    """Settings over the two-document test corpus."""
    return make_settings(tmp_path, MINI)


@pytest.fixture
def corpus_settings(tmp_path: Path) -> Settings:
    """Settings over a private copy of the real corpus."""
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def hash_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A service over the real corpus with the fake embedder (fast; shared, do not write to it)."""
    settings = make_settings(tmp_path_factory.mktemp("hash-service"))
    service = Service.from_settings(settings, HashEmbedder())
    yield service
    service.close()
