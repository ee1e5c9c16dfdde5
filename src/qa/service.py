"""The service layer shared by the CLI, the HTTP API and the chat UI.

It owns the loaded index snapshot and replaces it atomically after an upload, delete or reindex: a
request holds (leases) the snapshot it started with, so it never sees a half-built index, and a replaced
snapshot is closed when its last request ends. Changes run one at a time on a writer thread of their own
(:meth:`Service.submit`), so reads never wait for them. A damaged or out-of-date index is served while it is
brought up to date in the background, and :meth:`Service.issues` says so.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from qa.citations import cite_cells, to_citations
from qa.config import Settings, get_settings, read_limits
from qa.embed import Embedder, load_embedder
from qa.errors import (
    CorpusError,
    DocumentParseError,
    DocumentTooLargeError,
    IndexStoreError,
    NotFoundError,
    QueryError,
    StorageFullError,
)
from qa.health import Issues
from qa.index import (
    BuildReport,
    Snapshot,
    build,
    count_passages,
    current_version,
    is_stale,
    load_good_snapshot,
    load_snapshot,
    read_meta,
    update,
)
from qa.ingest import add_document, add_file, check_doc_id, check_text, remove_document
from qa.lexical import pinned_vocabulary
from qa.loaders import Context
from qa.query import NO_CONTENT, NO_CONTENT_ANSWER, check_question, has_content, strip_format_characters
from qa.query_cache import CachedQueryEmbedder
from qa.retrieve import Fusion, check_k, search
from qa.snapshots import SnapshotSlot
from qa.storage import full_disk_is_an_error, has_room
from qa.trash import Trashed, forget, list_trash, trash_document
from qa.trash import restore_document as restore_from_trash
from qa.types import Answer, Citation, Document, Figure
from qa.vectors import set_search_threads
from qa.warmup import WarmingEmbedder
from qa.workers import FOLLOW_SECONDS, IndexFollower, writer_lock
from qa.writes import WriteQueue

log = logging.getLogger(__name__)
T = TypeVar("T")


class Service:
    """Search, answers, documents and figures over the current index."""

    def __init__(self, settings: Settings, embedder: Embedder, snapshot: Snapshot, issues: Issues | None = None) -> None:
        self.settings = settings
        self.embedder = embedder
        self._slot = SnapshotSlot(snapshot)
        self._write_lock = threading.Lock()
        self._writes = WriteQueue(settings.write_queue)
        self._issues = issues or Issues()
        self._follower: IndexFollower | None = None
        self._unloadable: Path | None = None  # a current version that failed to load: not tried again
        from qa.answer.decision import warm

        warm(snapshot.meta.get("model"))  # jieba's general dictionary and the fitted decision: not on a question

    @classmethod
    def from_settings(cls, settings: Settings | None = None, embedder: Embedder | None = None,
                      auto_build: bool = True, wait: bool = True) -> Service:
        """Load the model and the last good index, building or refreshing it when needed.

        An index that is out of date with the corpus, or whose current version is damaged, is brought up to
        date before this returns (``wait``, for the command line), or served at once while that happens in
        the background (``wait=False``, for the server). With no usable index at all it is built first.
        """
        settings = settings or get_settings()
        embedder = embedder or load_embedder(settings.model, settings.model_cache, threads=settings.serve_threads,
                                             runtime=settings.embed_runtime)
        set_search_threads(settings.serve_threads)
        issues = Issues()
        if not wait:
            embedder = _warm_in_background(embedder, settings, issues)
        if not isinstance(embedder, CachedQueryEmbedder):  # repeated questions skip the model
            embedder = CachedQueryEmbedder(embedder)
        try:
            snapshot, damaged = load_good_snapshot(settings, embedder)
        except IndexStoreError as exc:  # none yet, another model or format, or no good version left
            if not auto_build:
                raise
            log.warning("%s; building the index", exc)
            report = build(settings, embedder)
            for note in report.notes:
                log.warning("%s", note)
            return cls(settings, embedder, load_snapshot(settings, embedder), issues)
        service = cls(settings, embedder, snapshot, issues)
        if damaged:
            service._issues.set("index_fallback", "; ".join(damaged) + f"; serving {snapshot.path.name} until "
                                "the index is rebuilt")
        if auto_build and (damaged or is_stale(snapshot, settings)):
            if wait:
                service.catch_up()
            else:
                service._issues.set("index_catching_up", f"serving {snapshot.path.name} while the index is "
                                    "brought up to date with the corpus")
                service._writes.submit(service.catch_up, force=True)
        return service

    @property
    def snapshot(self) -> Snapshot:
        """The index version new requests use (read its ``meta`` and ``path``; lease it to read its store)."""
        return self._slot.current

    def lease(self) -> Any:
        """A context manager lending the current snapshot, open until the block ends."""
        return self._slot.lease()

    def issues(self) -> list[dict[str, str]]:
        """What is wrong but not fatal (``{"code", "message"}``): an empty list when all is well.

        A full disk stops being an issue at the next successful change, or once there is room again for a
        few text uploads and the index versions they write (a large file upload that then fails marks it again).
        """
        room = 4 * self.settings.max_request_bytes + 2 * _folder_size(self._slot.current.path)
        if "storage_full" in self._issues and all(
                has_room(p, room) for p in (self.settings.index_dir, self.settings.corpus_dir)):
            self._issues.clear("storage_full")
        return self._issues.items()

    def wait_idle(self, timeout: float | None = None) -> None:
        """Wait until every change queued so far (a background catch-up too) has finished."""
        self._writes.submit(lambda: None, force=True).result(timeout)

    def close(self) -> None:
        """Stop taking changes and close every open snapshot."""
        if self._follower is not None:
            self._follower.stop()
        self._writes.shutdown()
        self._slot.close()

    # -- reading -------------------------------------------------------------------------------------
    def search(self, question: str, k: int = 5, mode: str = "hybrid") -> list[Citation]:
        """Cited passages for a question."""
        question = check_question(question, self.settings.max_question_chars)
        check_k(k, self.settings.max_top_k)
        if mode not in ("hybrid", "dense", "lexical"):
            raise QueryError("mode must be one of hybrid, dense, lexical")
        if not has_content(question):
            return []
        with self._slot.lease() as snapshot:
            hits = search(snapshot, question, k=k, fusion=Fusion.from_settings(self.settings), mode=mode)
            return to_citations(snapshot, hits)

    def ask(self, question: str, top_k: int = 5, history: Sequence[dict[str, Any]] | None = None) -> Answer:
        """An extractive, cited answer."""
        from qa.answer import answer

        question = check_question(question, self.settings.max_question_chars)
        check_k(top_k, self.settings.max_top_k)
        if not has_content(question, follow_up=bool(history)):
            # Nothing to search for: retrieval would still rank some passage first, and answer from it.
            return Answer(question=question, found=False, text=NO_CONTENT_ANSWER, resolved_question=question,
                          reasons=(NO_CONTENT,))
        if history:
            history = [{**turn, **{k: strip_format_characters(v) for k, v in turn.items() if isinstance(v, str)}}
                       for turn in history]
        with self._slot.lease() as snapshot, pinned_vocabulary(snapshot.vocabulary):
            # questions are cut as this snapshot's chunks were
            return cite_cells(answer(snapshot, question, history=history, top_k=top_k,
                                     fusion=Fusion.from_settings(self.settings)))

    def documents(self) -> list[Document]:
        """Every indexed document."""
        return list(self._slot.current.documents.values())

    def document(self, doc_id: str) -> Document:
        """One document with its raw text."""
        check_doc_id(doc_id)
        doc = self._slot.current.documents.get(doc_id)
        if doc is None:
            raise NotFoundError(f"unknown document {doc_id!r}")
        return doc

    def page_image(self, doc_id: str, page: int, start: int | None = None, end: int | None = None,
                   width: int | None = None) -> bytes:
        """PNG of a page of a PDF or image document, with the text ``[start, end)`` marked on it."""
        from qa.pages import PAGE_WIDTH, render_page

        doc = self.document(doc_id)
        layout = self._slot.current.layout(doc_id)
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

    def figures(self, metric: str | None = None, year: int | None = None, doc_id: str | None = None,
                start: int | None = None, end: int | None = None) -> list[Figure]:
        """Figures across the corpus, filtered by metric substring, year, document and raw span."""
        if doc_id is not None:
            self.document(doc_id)
        with self._slot.lease() as snapshot:
            return snapshot.store.figures(doc_id=doc_id, metric=metric, year=year, start=start, end=end)

    def trash(self) -> list[Trashed]:
        """Deleted documents that can still be restored, newest first."""
        return list_trash(self.settings.state_dir / "trash", self.settings.trash_days)

    # -- writing -------------------------------------------------------------------------------------
    def submit(self, change: Callable[[], T]) -> Future[T]:
        """Queue a change (e.g. ``lambda: svc.delete_document(doc_id)``) for the writer thread.

        Raises BusyError at once when ``write_queue`` changes are already waiting.
        """
        return self._writes.submit(change)

    def add_document(self, text: str, *, title: str, doc_id: str | None = None, date: str | None = None,
                     source: str | None = None, suffix: str = ".txt") -> tuple[Document, BuildReport]:
        """Store a document in the corpus and index it (only it is embedded)."""
        check_text(text)
        self._check_size(text)
        return self._store_and_index("adding the document", lambda: add_document(
            self.settings.corpus_dir, text, title=title, doc_id=doc_id, date=date, source=source, suffix=suffix))

    def add_file(self, name: str, data: bytes, *, title: str | None = None, doc_id: str | None = None,
                 date: str | None = None, source: str | None = None) -> tuple[Document, BuildReport]:
        """Convert a file (PDF, DOCX, HTML, XLSX, CSV, OFD, image or text), store it and index it.

        A file that cannot be read raises DocumentParseError before anything is written.
        """
        context = Context(limits=read_limits(self.settings))
        return self._store_and_index("adding the file", lambda: add_file(
            self.settings.corpus_dir, name, data, title=title, doc_id=doc_id, date=date, source=source,
            context=context, accept=self._check_size))

    def _check_size(self, text: str) -> None:
        """Refuse a document whose indexing would embed more than ``max_upload_passages`` passages."""
        passages = count_passages(text, self.settings)
        if passages > self.settings.max_upload_passages:
            raise DocumentTooLargeError(
                f"document too large to index: {passages} passages to embed, the limit is "
                f"{self.settings.max_upload_passages}; split it into smaller documents")

    def _store_and_index(self, what: str, store: Callable[[], Document]) -> tuple[Document, BuildReport]:
        """Write a document to the corpus and index it, or take it out again if indexing fails.

        The document comes back as indexed: a reprint of one already there has ``duplicate_of`` set.
        """
        with self._writing(what):
            doc = store()
            try:
                report = self._update(add=[doc.doc_id])
                self._check_indexed(doc.doc_id, report)
            except BaseException:
                remove_document(self.settings.corpus_dir, doc.doc_id)
                raise
            indexed = self._slot.current.documents.get(doc.doc_id)
            return replace(doc, duplicate_of=indexed.duplicate_of if indexed else None), report

    def delete_document(self, doc_id: str) -> BuildReport:
        """Remove a document from the corpus and from every index; it stays restorable for ``trash_days``."""
        with self._writing("deleting the document"):
            self.document(doc_id)
            if len(self._slot.current.documents) <= 1:
                raise CorpusError(f"{doc_id!r} is the last document and cannot be deleted; upload another first")
            trashed = trash_document(self.settings.corpus_dir, self.settings.state_dir / "trash", doc_id)
            try:
                return self._update(remove=[doc_id])
            except BaseException:
                restore_from_trash(self.settings.corpus_dir, trashed.folder.parent, doc_id, self.settings.trash_days)
                forget(trashed)
                raise

    def restore_document(self, doc_id: str) -> tuple[Document, BuildReport]:
        """Put the newest deleted copy of a document back and index it."""
        with self._writing("restoring the document"):
            trash_dir = self.settings.state_dir / "trash"
            trashed = restore_from_trash(self.settings.corpus_dir, trash_dir, doc_id, self.settings.trash_days)
            try:
                report = self._update(add=[doc_id])
                self._check_indexed(doc_id, report)
            except BaseException:
                remove_document(self.settings.corpus_dir, doc_id)
                raise
            forget(trashed)
            return self._slot.current.documents[doc_id], report

    def reindex(self, rebuild: bool = False) -> BuildReport:
        """Bring the index up to date with the corpus folder."""
        with self._writing("updating the index"):
            return self._rebuild(rebuild)

    def catch_up(self) -> None:
        """Bring a stale or damaged index up to date; a failure is reported in :meth:`issues`, not raised."""
        try:
            with self._writing("updating the index"):
                self._rebuild()
        except Exception as exc:
            log.exception("could not bring the index up to date")
            self._issues.set("index_update_failed", f"bringing the index up to date failed ({exc}); serving "
                             f"{self._slot.current.path.name}")
        self._issues.clear("index_catching_up")

    def follow(self, interval: float = FOLLOW_SECONDS) -> None:
        """Serve every version made current by another process (a worker beside this one, ``qa build``)."""
        if self._follower is None:
            self._follower = IndexFollower(self.follow_current, interval)

    def follow_current(self) -> bool:
        """Load the version the ``current`` link points at if it is not the one served; True when it was."""
        with self._write_lock:
            return self._follow_locked()

    def _follow_locked(self) -> bool:
        version = current_version(self.settings.index_dir)
        if version is None or version == self._slot.current.path.resolve():
            self._issues.clear("index_not_followed")
            return False
        if version == self._unloadable:
            return False
        try:
            # the segments both versions share are reused, not loaded again
            fresh = load_snapshot(self.settings, self.embedder, version, previous=self._slot.current)
        except IndexStoreError as exc:  # damaged or of another model: keep serving what is loaded
            self._unloadable = version
            self._issues.set("index_not_followed", f"{exc}; serving {self._slot.current.path.name}")
            return False
        self._slot.replace(fresh)
        self._issues.clear("index_not_followed")
        return True

    @contextmanager
    def _writing(self, what: str) -> Iterator[None]:
        """One change at a time, across every process serving this index; a full disk becomes
        StorageFullError and shows in :meth:`issues`."""
        with self._write_lock, writer_lock(self.settings.index_dir):
            self._follow_locked()  # a change is made against the newest version, whoever made it
            try:
                with full_disk_is_an_error(what):
                    yield
            except StorageFullError as exc:
                self._issues.set("storage_full", str(exc))
                raise
            self._issues.clear("storage_full", "index_update_failed", "index_not_followed")

    def _check_indexed(self, doc_id: str, report: BuildReport) -> None:
        """Refuse a document the build skipped, so nothing is accepted that cannot be found or deleted."""
        if doc_id in self._slot.current.documents:
            return
        reason = next((p.reason for p in report.problems if doc_id in p.path), "it could not be read back")
        raise DocumentParseError(f"document {doc_id!r} could not be indexed: {reason}")

    def _rebuild(self, rebuild: bool = False) -> BuildReport:
        return self._serve(build(self.settings, self.embedder, rebuild=rebuild), reload=rebuild)

    def _update(self, add: Sequence[str] = (), remove: Sequence[str] = ()) -> BuildReport:
        """Index the added documents and drop the removed ones in a new segment; serve it, reusing the rest."""
        report = update(self.settings, self.embedder, add=add, remove=remove)
        return self._serve(report, previous=self._slot.current)

    def _serve(self, report: BuildReport, reload: bool = False, previous: Snapshot | None = None) -> BuildReport:
        """Log what a build noted and serve the version it made (loading the speller with it, not on a question)."""
        for note in report.notes:
            log.warning("%s", note)
        if report.changed or reload or report.version != self._slot.current.path.name:
            # requests see old or new, never a mix
            self._slot.replace(load_snapshot(self.settings, self.embedder, previous=previous))
        self._issues.clear("index_fallback")
        return report


def _folder_size(path: Path) -> int:
    """Bytes in the files directly inside ``path`` (an index version's size)."""
    try:
        return sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    except OSError:
        return 0


def _warm_in_background(embedder: Embedder, settings: Settings, issues: Issues) -> Embedder:
    """The embedder, loading in the background when it has not loaded yet and the index says its width."""
    if getattr(embedder, "loaded", True):
        return embedder
    version = current_version(settings.index_dir)
    try:
        meta = read_meta(version) if version is not None else {}
    except IndexStoreError:
        meta = {}
    if meta.get("model") != embedder.name or not isinstance(meta.get("dim"), int):
        return embedder  # the index must be built (again) first, and that needs the model itself
    issues.set("model_loading", "the embedding model is loading; answers use keyword search alone until it has")

    def loaded(error: str | None) -> None:
        issues.clear("model_loading")
        if error:
            issues.set("model_unavailable", error)

    return WarmingEmbedder(embedder, meta["dim"], on_loaded=loaded)
