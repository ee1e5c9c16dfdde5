"""The service layer shared by the CLI, the HTTP API and the chat UI.

It owns one loaded index snapshot and replaces it atomically after an upload, delete or reindex: a
request holds the snapshot it started with, so it never sees a half-built index.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from qa.citations import cite_cells, to_citations
from qa.config import Settings, get_settings, read_limits
from qa.embed import Embedder, load_embedder
from qa.errors import IndexNotBuiltError, IndexStoreError, NotFoundError, QueryError
from qa.index import BuildReport, Snapshot, build, is_stale, load_snapshot
from qa.ingest import add_document, add_file, check_doc_id, remove_document
from qa.lexical import pinned_vocabulary
from qa.loaders import Context
from qa.query import check_question
from qa.retrieve import Fusion, check_k, search
from qa.types import Answer, Citation, Document, Figure

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
        embedder = embedder or load_embedder(settings.model, settings.model_cache, threads=settings.serve_threads)
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
            return cite_cells(answer(snapshot, question, history=history, top_k=top_k,
                                     fusion=Fusion.from_settings(self.settings)))

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

    def page_image(self, doc_id: str, page: int, start: int | None = None, end: int | None = None,
                   width: int | None = None) -> bytes:
        """PNG of a page of a PDF or image document, with the text ``[start, end)`` marked on it."""
        from qa.pages import PAGE_WIDTH, render_page

        doc = self.document(doc_id)
        layout = self._snapshot.layout(doc_id)
        if layout is None or not layout.pages or doc.path is None:
            raise QueryError(f"document {doc_id!r} has no pages ({doc.format})")
        mark = None
        if start is not None or end is not None:
            if start is None or end is None or not 0 <= start < end <= len(doc.text):
                raise QueryError(f"start and end must mark text within 0..{len(doc.text)}, start before end")
            mark = (start, end)
        path = Path(doc.path)
        if path.resolve().parent != self.settings.corpus_dir.resolve():
            raise NotFoundError(f"the original file of {doc_id!r} is not in the corpus")
        return render_page(path, doc.format, layout, page, mark, width or PAGE_WIDTH)

    def figures(self, metric: str | None = None, year: int | None = None, doc_id: str | None = None) -> list[Figure]:
        """Figures across the corpus, filtered by metric substring, year and document."""
        if doc_id is not None:
            self.document(doc_id)
        return self._snapshot.store.figures(doc_id=doc_id, metric=metric, year=year)

    # -- writing -------------------------------------------------------------------------------------
    def add_document(self, text: str, *, title: str, doc_id: str | None = None, date: str | None = None,
                     source: str | None = None, suffix: str = ".txt") -> tuple[Document, BuildReport]:
        """Store a document in the corpus and index it (only it is embedded)."""
        return self._store_and_index(lambda: add_document(
            self.settings.corpus_dir, text, title=title, doc_id=doc_id, date=date, source=source, suffix=suffix))

    def add_file(self, name: str, data: bytes, *, title: str | None = None, doc_id: str | None = None,
                 date: str | None = None, source: str | None = None) -> tuple[Document, BuildReport]:
        """Convert a file (PDF, DOCX, HTML, XLSX, CSV, OFD, image or text), store it and index it.

        A file that cannot be read raises DocumentParseError before anything is written.
        """
        context = Context(limits=read_limits(self.settings))
        return self._store_and_index(lambda: add_file(
            self.settings.corpus_dir, name, data, title=title, doc_id=doc_id, date=date, source=source,
            context=context))

    def _store_and_index(self, store: Callable[[], Document]) -> tuple[Document, BuildReport]:
        """Write a document to the corpus and index it, or take it out again if indexing fails.

        The document comes back as indexed: a reprint of one already there has ``duplicate_of`` set.
        """
        with self._write_lock:
            doc = store()
            try:
                report = self._rebuild()
            except BaseException:
                remove_document(self.settings.corpus_dir, doc.doc_id)
                raise
            indexed = self._snapshot.documents.get(doc.doc_id)
            return replace(doc, duplicate_of=indexed.duplicate_of if indexed else None), report

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
