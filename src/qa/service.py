"""The service layer shared by the CLI, the HTTP API and the chat UI.

It owns one loaded index snapshot and replaces it atomically after an upload, delete or reindex: a
request holds the snapshot it started with, so it never sees a half-built index.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from qa.citations import to_citations
from qa.config import Settings, get_settings
from qa.embed import Embedder, load_embedder
from qa.errors import IndexNotBuiltError, IndexStoreError, NotFoundError, QueryError
from qa.index import BuildReport, Snapshot, build, is_stale, load_snapshot
from qa.ingest import add_document, check_doc_id, remove_document
from qa.lexical import pinned_vocabulary
from qa.query import check_question
from qa.query_cache import CachedQueryEmbedder
from qa.retrieve import Fusion, check_k, search
from qa.types import Answer, Citation, Document, Figure
from qa.vectors import set_search_threads

log = logging.getLogger(__name__)


class Service:
    """Search, answers, documents and figures over the current index."""

    def __init__(self, settings: Settings, embedder: Embedder, snapshot: Snapshot) -> None:
        self.settings = settings
        self.embedder = embedder
        self._snapshot = snapshot
        self._write_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings | None = None, embedder: Embedder | None = None,
                      auto_build: bool = True) -> Service:
        """Load the model and the current index, building or refreshing it first when needed."""
        settings = settings or get_settings()
        embedder = embedder or load_embedder(settings.model, settings.model_cache, threads=settings.serve_threads,
                                             runtime=settings.embed_runtime)
        if not isinstance(embedder, CachedQueryEmbedder):  # repeated questions skip the model
            embedder = CachedQueryEmbedder(embedder)
        set_search_threads(settings.serve_threads)
        try:
            snapshot = load_snapshot(settings, embedder)
            if auto_build and is_stale(snapshot, settings):
                log.warning("corpus changed since the index was built; updating the index")
                snapshot.close()
                raise IndexNotBuiltError("stale")
        except IndexStoreError as exc:
            if not auto_build:
                raise
            log.warning("%s; building the index", exc)
            build(settings, embedder)
            snapshot = load_snapshot(settings, embedder)
        return cls(settings, embedder, snapshot)

    @property
    def snapshot(self) -> Snapshot:
        """The index version new requests use."""
        return self._snapshot

    # -- reading -------------------------------------------------------------------------------------
    def search(self, question: str, k: int = 5, mode: str = "hybrid") -> list[Citation]:
        """Cited passages for a question."""
        check_question(question, self.settings.max_question_chars)
        check_k(k, self.settings.max_top_k)
        if mode not in ("hybrid", "dense", "lexical"):
            raise QueryError("mode must be one of hybrid, dense, lexical")
        snapshot = self._snapshot
        hits = search(snapshot, question, k=k, fusion=Fusion.from_settings(self.settings), mode=mode)
        return to_citations(snapshot, hits)

    def ask(self, question: str, top_k: int = 5, history: Sequence[dict[str, Any]] | None = None) -> Answer:
        """An extractive, cited answer."""
        from qa.answer import answer

        check_question(question, self.settings.max_question_chars)
        check_k(top_k, self.settings.max_top_k)
        snapshot = self._snapshot
        with pinned_vocabulary(snapshot.vocabulary):  # questions are cut as this snapshot's chunks were
            return answer(snapshot, question, history=history, top_k=top_k, fusion=Fusion.from_settings(self.settings))

    def documents(self) -> list[Document]:
        """Every indexed document."""
        return list(self._snapshot.documents.values())

    def document(self, doc_id: str) -> Document:
        """One document with its raw text."""
        check_doc_id(doc_id)
        doc = self._snapshot.documents.get(doc_id)
        if doc is None:
            raise NotFoundError(f"unknown document {doc_id!r}")
        return doc

    def figures(self, metric: str | None = None, year: int | None = None, doc_id: str | None = None) -> list[Figure]:
        """Figures across the corpus, filtered by metric substring, year and document."""
        if doc_id is not None:
            self.document(doc_id)
        return self._snapshot.store.figures(doc_id=doc_id, metric=metric, year=year)

    # -- writing -------------------------------------------------------------------------------------
    def add_document(self, text: str, *, title: str, doc_id: str | None = None, date: str | None = None,
                     source: str | None = None, suffix: str = ".txt") -> tuple[Document, BuildReport]:
        """Store a document in the corpus and index it (only it is embedded)."""
        with self._write_lock:
            doc = add_document(self.settings.corpus_dir, text, title=title, doc_id=doc_id, date=date,
                               source=source, suffix=suffix)
            try:
                report = self._rebuild()
            except BaseException:
                remove_document(self.settings.corpus_dir, doc.doc_id)
                raise
            return doc, report

    def delete_document(self, doc_id: str) -> BuildReport:
        """Remove a document from the corpus and from every index."""
        with self._write_lock:
            self.document(doc_id)
            remove_document(self.settings.corpus_dir, doc_id)
            return self._rebuild()

    def reindex(self, rebuild: bool = False) -> BuildReport:
        """Bring the index up to date with the corpus folder."""
        with self._write_lock:
            return self._rebuild(rebuild)

    def _rebuild(self, rebuild: bool = False) -> BuildReport:
        report = build(self.settings, self.embedder, rebuild=rebuild)
        if report.changed or rebuild:
            fresh = load_snapshot(self.settings, self.embedder)
            self._snapshot = fresh  # one reference assignment: requests see old or new, never a mix
        return report
