"""Build, update and load the on-disk index.

Layout of the index folder::

    index/
      current -> v-20261123T201500-3f2a   symlink, swapped atomically when a build finishes
      v-…/meta.json                       model, dimension, corpus hash, format version, chunking, vocabulary,
                                          checksums
      v-…/vocab.txt                       the corpus's own words, kept whole by the tokenizer (qa.vocab)
      v-…/store.sqlite                    documents, chunks (with lexical tokens), figures
      v-…/vectors.faiss                   ids and vectors only (QA_BACKEND=milvus: vectors.milvus.json, naming
                                          the version's Milvus collections; see qa.backends.milvus)
      embeddings.sqlite                   cache: a passage is embedded once per model, ever
      build.lock

A build starts from a copy of the current version and applies only what changed in the corpus (new,
edited and deleted documents), so unchanged chunks are never embedded; they are re-tokenized only when the
vocabulary changed (it is discovered from the whole corpus), and other chunk sizes start a fresh index. The
new version is written aside and becomes current by one ``rename``: a crash at any point leaves the previous
index serving.
The version a build started from is kept beside the new one, so that a version found damaged
(see :mod:`qa.integrity`) can be replaced by the previous good one while the index is rebuilt.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from qa.backends import check_backend, get_backend
from qa.chunk import chunk_document, split_sentences
from qa.config import Settings, read_limits
from qa.embed import Embedder
from qa.errors import IndexDamagedError, IndexNotBuiltError, IndexStoreError
from qa.ingest import Problem, corpus_hash, load_corpus
from qa.integrity import check_chunks, check_seal, describe, seal
from qa.lexical import LexicalIndex, Vocabulary, install_vocabulary
from qa.loaders import Loaded
from qa.normalize import normalize
from qa.query import Speller
from qa.spell_index import CorpusText
from qa.store import Store, connect
from qa.types import Document, content_hash
from qa.vectors import VectorIndex
from qa.vocab import corpus_vocabulary, read_terms, write_terms

log = logging.getLogger(__name__)

FORMAT_VERSION = 3  # 3: meta.json seals the files with checksums
# Bumped whenever normalization, chunking, tokenization or figure extraction change what is stored:
# an index built by another pipeline is rebuilt (the embedding cache keeps that cheap).
PIPELINE_VERSION = 4
CURRENT = "current"
# Each chunk is embedded as a whole and as windows of two sentences (a fact phrased differently from its
# surroundings is found by its window); vector id = chunk row * VIEW_SLOTS + view number.
VIEW_SLOTS = 256
VIEW_SENTENCES = 2
VOCAB_FILE = "vocab.txt"
Progress = Callable[[str, int, int], None]


@dataclass
class BuildReport:
    """What a build did and how long it took."""

    version: str
    documents: int = 0
    chunks: int = 0
    figures: int = 0
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    embedded: int = 0
    reused: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    changed: bool = True
    retokenized: int = 0  # unchanged chunks cut again because the vocabulary changed
    reprints: dict[str, str] = field(default_factory=dict)  # reprint id -> the document it reprints
    notes: list[str] = field(default_factory=list)  # damaged versions met and what was done about them


@dataclass
class Snapshot:
    """A loaded, read-only index version: the store, both retrievers and the model that fits them."""

    path: Path
    meta: dict[str, Any]
    store: Store
    vectors: VectorIndex
    lexical: LexicalIndex
    embedder: Embedder
    documents: dict[str, Document]
    # What its chunks were cut with, and so what questions must be cut with.
    vocabulary: Vocabulary = field(default_factory=lambda: Vocabulary.for_mode("curated"))

    _layouts: dict[str, Any] = field(default_factory=dict, repr=False)

    def close(self) -> None:
        """Release the SQLite connection."""
        self.store.conn.close()

    def layout(self, doc_id: str) -> Loaded | None:
        """Pages, lines and tables of a converted document (read once per snapshot), None for text files."""
        if doc_id not in self._layouts:
            doc = self.documents.get(doc_id)
            self._layouts[doc_id] = self.store.layout(doc_id) if doc is not None and doc.format != "text" else None
        layout: Loaded | None = self._layouts[doc_id]
        return layout

    @cached_property
    def speller(self) -> Speller:
        """Homophone repair against this version's vocabulary."""
        corpus = CorpusText(normalize(d.text).text for d in self.documents.values())
        return Speller(self.lexical.document_frequencies(), corpus)


# -- locking and layout ---------------------------------------------------------------------------------
@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Serialize builds (CLI and server) on one index folder."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / "build.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def current_version(index_dir: Path) -> Path | None:
    """The folder the ``current`` link points at, if any."""
    link = index_dir / CURRENT
    if not link.is_symlink() and not link.exists():
        return None
    target = link.resolve()
    return target if target.is_dir() else None


def versions(index_dir: Path) -> list[Path]:
    """Every finished index version, the current one first, then the others newest first."""
    current = current_version(index_dir)
    found = sorted((p for p in index_dir.glob("v-*") if p.is_dir() and not p.is_symlink()),
                   key=lambda p: p.name, reverse=True) if index_dir.is_dir() else []
    if current is not None:
        found = [current, *(p for p in found if p.resolve() != current)]
    return found


def check_version(version: Path, embedder: Embedder) -> dict[str, Any]:
    """The version's meta after checking its format, model and checksums."""
    meta = read_meta(version)
    check_meta(meta, embedder)
    check_seal(version, meta)
    return meta


def _good_base(index_dir: Path, embedder: Embedder, notes: list[str]) -> Path | None:
    """The newest version that passes its checks (the current one unless it is damaged), to build on."""
    for version in versions(index_dir):
        try:
            check_version(version, embedder)
            return version
        except IndexDamagedError as exc:
            notes.append(f"{exc}; not used")
            log.warning("%s", exc)
        except IndexStoreError as exc:
            log.warning("starting a fresh index: %s", exc)
            return None
    return None


def _swap_current(index_dir: Path, version: Path) -> None:
    tmp = index_dir / f".{CURRENT}.{os.getpid()}"
    tmp.unlink(missing_ok=True)
    os.symlink(version.name, tmp)
    os.replace(tmp, index_dir / CURRENT)  # atomic: readers see the old or the new version, never neither
    _fsync_dir(index_dir)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _cleanup(index_dir: Path, keep: set[Path]) -> None:
    """Remove abandoned build folders and old versions, keeping ``keep``."""
    for path in index_dir.iterdir():
        if path.is_dir() and not path.is_symlink() and (path.name.startswith((".build-", "v-"))) \
                and path.resolve() not in keep:
            shutil.rmtree(path, ignore_errors=True)


def read_meta(version: Path) -> dict[str, Any]:
    """The version's meta.json."""
    try:
        meta = json.loads((version / "meta.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexDamagedError(f"index version {version.name} has no readable meta.json ({exc})") from exc
    if not isinstance(meta, dict):
        raise IndexDamagedError(f"index version {version.name} has no readable meta.json (not an object)")
    return meta


def check_meta(meta: dict[str, Any], embedder: Embedder) -> None:
    """Refuse an index written in another format or with another model."""
    if meta.get("format_version") != FORMAT_VERSION or meta.get("pipeline_version") != PIPELINE_VERSION:
        raise IndexStoreError(
            f"index format {meta.get('format_version')}.{meta.get('pipeline_version')} is not the supported "
            f"format {FORMAT_VERSION}.{PIPELINE_VERSION}; "
            "run `qa build --rebuild`"
        )
    if meta.get("model") != embedder.name or meta.get("dim") != embedder.dim:
        raise IndexStoreError(
            f"index was built with model {meta.get('model')!r} (dim {meta.get('dim')}), but the configured "
            f"model is {embedder.name!r} (dim {embedder.dim}); run `qa build --rebuild`"
        )


def check_chunking(meta: dict[str, Any], settings: Settings) -> None:
    """Refuse an index cut into chunks of other sizes than the settings ask for."""
    built = (meta.get("chunk_target"), meta.get("chunk_limit"))
    if built != (settings.chunk_target, settings.chunk_limit):
        raise IndexStoreError(
            f"index was chunked with QA_CHUNK_TARGET={built[0]}, QA_CHUNK_LIMIT={built[1]}, but the settings say "
            f"{settings.chunk_target}, {settings.chunk_limit}; run `qa build`"
        )


def load_vocabulary(version: Path, meta: dict[str, Any], settings: Settings) -> Vocabulary:
    """The vocabulary a version was cut with, refused when the settings or the dictionary files changed since."""
    if meta.get("vocabulary") != settings.vocabulary:
        raise IndexStoreError(
            f"index was built with QA_VOCABULARY={meta.get('vocabulary')}, but the setting is "
            f"{settings.vocabulary}; run `qa build`"
        )
    path = version / VOCAB_FILE
    words = read_terms(path.read_text(encoding="utf-8")) if path.exists() else []
    vocabulary = Vocabulary.for_mode(settings.vocabulary, words)
    if vocabulary.fingerprint != meta.get("vocabulary_hash"):
        raise IndexStoreError(f"the vocabulary changed since index {version.name} was built; run `qa build`")
    return vocabulary


# -- embedding cache ------------------------------------------------------------------------------------
class EmbeddingCache:
    """Passage vectors by (model, text) hash, kept across builds so no text is embedded twice."""

    def __init__(self, path: Path, embedder: Embedder) -> None:
        self.conn = sqlite3.connect(path)
        try:
            self.conn.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")
            self.conn.execute("SELECT COUNT(*) FROM vectors").fetchone()
        except sqlite3.DatabaseError:
            self.conn.close()
            raise
        self.embedder = embedder

    @classmethod
    def open(cls, path: Path, embedder: Embedder) -> EmbeddingCache:
        """The cache at ``path``; a damaged one is set aside and started afresh (it only saves time)."""
        try:
            return cls(path, embedder)
        except sqlite3.DatabaseError as exc:
            if "full" in str(exc):
                raise
            aside = path.with_name(f"{path.name}.damaged")
            log.warning("embedding cache %s cannot be read (%s); set aside as %s", path, exc, aside.name)
            os.replace(path, aside)
            return cls(path, embedder)

    def key(self, text: str) -> str:
        """Cache key of a passage for this model."""
        return content_hash(self.embedder.name, str(self.embedder.dim), "passage", text, length=32)

    def vectors(self, texts: Sequence[str], progress: Progress | None = None) -> tuple[np.ndarray, int]:
        """Vectors for ``texts`` (embedding only the missing ones); returns them and how many were new."""
        keys = [self.key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(keys), 500):
            batch = keys[i : i + 500]
            marks = ",".join("?" * len(batch))
            for key, blob in self.conn.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", batch):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
        step = 16
        for i in range(0, len(missing), step):
            part = missing[i : i + step]
            vecs = self.embedder.encode_passages([t for _, t in part])
            with self.conn:
                self.conn.executemany(
                    "INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)",
                    [(k, v.astype(np.float32).tobytes()) for (k, _), v in zip(part, vecs, strict=True)],
                )
            found.update({k: v for (k, _), v in zip(part, vecs, strict=True)})
            if progress:
                progress("embed", min(i + step, len(missing)), len(missing))
        out = np.vstack([found[k] for k in keys]) if keys else np.zeros((0, self.embedder.dim), np.float32)
        return out.astype(np.float32), len(missing)

    def close(self) -> None:
        """Close the cache database."""
        self.conn.close()


# -- building -------------------------------------------------------------------------------------------
def index_document(doc: Document, settings: Settings, vocabulary: Vocabulary | None = None) -> tuple[
        list[Any], list[list[str]], list[Any]]:
    """Chunks, lexical tokens (cut with ``vocabulary``) and figures (raw offsets) of one document."""
    from qa.figures import extract_figures

    vocabulary = vocabulary or Vocabulary.for_mode(settings.vocabulary)
    norm = normalize(doc.text)
    chunks = chunk_document(doc, settings.chunk_target, settings.chunk_limit, normalized=norm)
    tokens = [vocabulary.tokenize(c.clean) for c in chunks]
    figures = []
    tables = doc.layout.tables if doc.layout is not None else ()
    for fig in extract_figures(norm.text, doc_date=doc.date):
        start, end = norm.raw_span(fig.start, fig.end)
        if any(t.start <= start < t.end for t in tables):
            continue  # a table's cells are read as cells, with their headers (qa.tables)
        figures.append(replace(fig, doc_id=doc.doc_id, start=start, end=end))
    if tables and doc.layout is not None:
        from qa.tables import table_figures

        figures.extend(table_figures(doc.layout, doc.doc_id, doc.date))
        figures.sort(key=lambda f: f.start)
    return chunks, tokens, figures


def count_passages(text: str, settings: Settings) -> int:
    """How many passages indexing ``text`` would embed (chunks and their sentence windows): its cost."""
    doc = Document(doc_id="count", title="", text=text)
    return sum(len(chunk_views(c.clean)) for c in chunk_document(doc, settings.chunk_target, settings.chunk_limit))


def chunk_views(clean: str) -> list[str]:
    """The texts a chunk is embedded as: itself, then each window of two consecutive sentences."""
    sentences = [clean[x.start : x.end] for x in split_sentences(clean)]
    windows = ["".join(sentences[i : i + VIEW_SENTENCES]) for i in range(len(sentences))] if len(sentences) > 1 else []
    return [clean, *windows][:VIEW_SLOTS]


def view_ids(rows: Sequence[int], counts: Sequence[int]) -> np.ndarray:
    """Vector ids of every view of the given chunk rows."""
    ids = [row * VIEW_SLOTS + j for row, n in zip(rows, counts, strict=True) for j in range(n)]
    return np.asarray(ids, dtype=np.int64)


def build(
    settings: Settings,
    embedder: Embedder,
    *,
    rebuild: bool = False,
    docs: list[Document] | None = None,
    progress: Progress | None = None,
) -> BuildReport:
    """Bring the index up to date with the corpus (or ``docs``) and make it current."""
    started = time.perf_counter()
    index_dir = settings.index_dir
    problems: list[Problem] = []
    if docs is None:
        from qa.convert import prune

        docs, problems = load_corpus(settings.corpus_dir, progress=progress, limits=read_limits(settings))
        prune(settings.corpus_dir)
    from qa.dedup import mark_reprints

    docs = mark_reprints(docs)
    with build_lock(index_dir):
        for stale_build in index_dir.glob(".build-*"):  # left by a build that was killed: we hold the lock
            shutil.rmtree(stale_build, ignore_errors=True)
        notes: list[str] = []
        current = current_version(index_dir)
        base = None if rebuild else _good_base(index_dir, embedder, notes)
        if base is not None and base != current:
            notes.append(f"rebuilt from the previous good version {base.name}")
        elif notes and base is None:
            notes.append("rebuilt from the corpus")
        if base is not None:
            try:
                check_chunking(read_meta(base), settings)
                check_backend(read_meta(base), get_backend(settings))
            except IndexStoreError as exc:
                log.warning("starting a fresh index: %s", exc)
                base = None
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        version = f"v-{stamp}-{content_hash(corpus_hash(docs), embedder.name, length=6)}"
        work = index_dir / f".build-{version}"
        work.mkdir(parents=True)
        try:
            report = _build_into(work, base, docs, settings, embedder, progress)
            report.version, report.problems, report.notes = version, problems, notes
            report.changed = report.changed or base != current  # a damaged current is replaced even so
            if base is not None and not report.changed:
                shutil.rmtree(work)
                get_backend(settings).discard(version)
                report.version = base.name
            else:
                final = index_dir / version
                os.replace(work, final)
                _swap_current(index_dir, final)
                _cleanup(index_dir, keep={final.resolve(), *([base.resolve()] if base else [])})
                get_backend(settings).cleanup([version, *([base.name] if base else [])])
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            get_backend(settings).discard(version)
            raise
    report.seconds = time.perf_counter() - started
    return report


def _build_into(work: Path, base: Path | None, docs: list[Document], settings: Settings,
                embedder: Embedder, progress: Progress | None) -> BuildReport:
    if base is not None:
        shutil.copy2(base / "store.sqlite", work / "store.sqlite")
    backend = get_backend(settings)
    vectors = backend.vectors_for_build(embedder.dim, base, work)
    conn = connect(work / "store.sqlite")
    store = Store(conn)
    report = BuildReport(version=work.name)
    have = store.doc_hashes()
    wanted = {d.doc_id: d for d in docs}
    stale = [doc_id for doc_id, fp in have.items() if doc_id not in wanted or wanted[doc_id].fingerprint != fp]
    fresh = [d for d in docs if d.doc_id not in have or d.doc_id in stale]
    vocabulary, terms = corpus_vocabulary(docs, settings.vocabulary)
    recut = base is not None and read_meta(base).get("vocabulary_hash") != vocabulary.fingerprint
    report.changed = bool(stale or fresh or recut)
    cache = EmbeddingCache.open(settings.index_dir / "embeddings.sqlite", embedder)
    try:
        with conn:
            for doc_id in stale:
                rows = store.remove_document(doc_id)
                vectors.remove(view_ids(rows, [VIEW_SLOTS] * len(rows)))
                if doc_id not in wanted:
                    report.removed.append(doc_id)
            if recut:
                kept = store.all_chunks()
                store.set_tokens((row, vocabulary.tokenize(chunk.clean)) for row, chunk, _ in kept)
                report.retokenized = len(kept)
            for n, doc in enumerate(fresh, 1):
                if doc.duplicate_of:  # a reprint: kept as a document, never indexed (so never cited twice)
                    store.add_document(doc, [], [], [], [])
                    report.reprints[doc.doc_id] = doc.duplicate_of
                    report.added.append(doc.doc_id)
                    continue
                chunks, tokens, figures = index_document(doc, settings, vocabulary)
                views = [chunk_views(c.clean) for c in chunks]
                rows = store.add_document(doc, chunks, tokens, figures, [len(v) for v in views])
                vecs, new = cache.vectors([t for v in views for t in v], progress=None)
                vectors.add(view_ids(rows, [len(v) for v in views]), vecs)
                report.embedded += new
                report.reused += len(vecs) - new
                report.added.append(doc.doc_id)
                if progress:
                    progress("documents", n, len(fresh))
    finally:
        cache.close()
    report.reprints.update({d.doc_id: d.duplicate_of for d in docs if d.duplicate_of})
    report.documents = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    report.chunks = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    report.figures = conn.execute("SELECT COUNT(*) FROM figures").fetchone()[0]
    expected = conn.execute("SELECT COALESCE(SUM(views), 0) FROM chunks").fetchone()[0]
    try:
        check_chunks(conn, docs, "the new index")
        if len(vectors) != expected:
            raise IndexStoreError(f"vector count {len(vectors)} does not match the {expected} chunk views")
        backend.save(work, vectors, store)
    finally:
        conn.close()
    (work / VOCAB_FILE).write_text(write_terms(terms), encoding="utf-8")
    with open(work / "store.sqlite", "rb") as fh:
        os.fsync(fh.fileno())
    meta = {
        "format_version": FORMAT_VERSION,
        "pipeline_version": PIPELINE_VERSION,
        "model": embedder.name,
        "dim": embedder.dim,
        "corpus_hash": corpus_hash(docs),
        "documents": report.documents,
        "chunks": report.chunks,
        "figures": report.figures,
        "chunk_target": settings.chunk_target,
        "chunk_limit": settings.chunk_limit,
        "vocabulary": settings.vocabulary,
        "vocabulary_hash": vocabulary.fingerprint,
        "discovered_words": len(terms),
        "backend": backend.describe(),
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "checksums": seal(work),
    }
    (work / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    for name in (backend.vector_file, VOCAB_FILE, "meta.json"):
        with open(work / name, "rb") as fh:
            os.fsync(fh.fileno())
    return report


# -- loading --------------------------------------------------------------------------------------------
def load_snapshot(settings: Settings, embedder: Embedder, version: Path | None = None) -> Snapshot:
    """Open the current index version (or ``version``), refusing one that does not fit or fails its checks.

    Its vocabulary becomes the process default for cutting text (a :class:`~qa.service.Service` pins each
    request to its own snapshot's).
    """
    version = version or current_version(settings.index_dir)
    if version is None:
        raise IndexNotBuiltError(f"no index in {settings.index_dir}; run `qa build` first")
    meta = check_version(version, embedder)
    check_chunking(meta, settings)
    backend = get_backend(settings)
    check_backend(meta, backend)
    vocabulary = load_vocabulary(version, meta, settings)
    conn: sqlite3.Connection | None = None
    try:
        conn = connect(version / "store.sqlite", readonly=True)
        store = Store(conn)
        documents = {d.doc_id: d for d in store.documents(with_text=True)}
        check_chunks(conn, documents.values(), f"index version {version.name}")
        if corpus_hash(list(documents.values())) != meta.get("corpus_hash"):
            raise IndexDamagedError(f"index version {version.name}: the stored documents differ from meta.json")
        rows = store.all_chunks()
        lexical = backend.load_lexical(version, [r for r, _, _ in rows], [t for _, _, t in rows])
        vectors = backend.load_vectors(version)
        expected = store.conn.execute("SELECT COALESCE(SUM(views), 0) FROM chunks").fetchone()[0]
    except IndexDamagedError:
        if conn is not None:
            conn.close()
        raise
    except (sqlite3.DatabaseError, IndexStoreError, OSError, RuntimeError, ValueError) as exc:
        if conn is not None:
            conn.close()
        raise IndexDamagedError(f"index version {version.name}: {describe(exc)}") from exc
    if len(vectors) != expected:
        conn.close()
        raise IndexDamagedError(f"index version {version.name} is inconsistent ({len(vectors)} vectors, "
                                f"{expected} views)")
    install_vocabulary(vocabulary)
    snapshot = Snapshot(version, meta, store, vectors, lexical, embedder, documents, vocabulary)
    _ = snapshot.speller  # built now, not on the first question (seconds on a large corpus)
    return snapshot


def load_good_snapshot(settings: Settings, embedder: Embedder) -> tuple[Snapshot, list[str]]:
    """The current version, or when it is damaged the newest older one that passes its checks.

    Returns the snapshot and a note for every damaged version passed over. A version of another format or
    model is refused at once (its neighbours are no better); with no good version left the last
    :class:`IndexDamagedError` is raised, naming them all.
    """
    notes: list[str] = []
    for version in versions(settings.index_dir):
        try:
            return load_snapshot(settings, embedder, version), notes
        except IndexDamagedError as exc:
            log.warning("%s", exc)
            notes.append(str(exc))
    if not notes:
        raise IndexNotBuiltError(f"no index in {settings.index_dir}; run `qa build` first")
    raise IndexDamagedError("; ".join(notes) + "; no good version is left, rebuild with `qa build`")


def is_stale(snapshot: Snapshot, settings: Settings) -> bool:
    """Whether the corpus on disk differs from what the snapshot indexed."""
    from qa.dedup import mark_reprints

    docs, _ = load_corpus(settings.corpus_dir, limits=read_limits(settings))
    return bool(snapshot.meta.get("corpus_hash") != corpus_hash(mark_reprints(docs)))
