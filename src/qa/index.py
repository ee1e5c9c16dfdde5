"""Build, update and load the on-disk index.

Layout of the index folder::

    index/
      current -> v-20261123T201500-3f2a   symlink, swapped atomically when a build finishes
      v-…/meta.json                       model, dimension, corpus hash, format version, chunking, vocabulary,
                                          checksums
      v-…/vocab.txt                       the corpus's own words, kept whole by the tokenizer (qa.vocab)
      v-…/store.sqlite                    documents, chunks (with lexical tokens), figures
      v-…/vectors.faiss, bm25-*           ids and vectors only, BM25 postings (QA_BACKEND=milvus: instead
                                          vectors.milvus.json, naming the version's Milvus collections)
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
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, cast

import numpy as np

from qa.backends import IndexBackend, check_backend, get_backend
from qa.backends.local import save_postings
from qa.bm25 import SparseBM25Index
from qa.build_batches import CleanTexts, EmbeddingBatch
from qa.chunk import chunk_document, split_sentences
from qa.config import Settings, read_limits
from qa.embed import Embedder
from qa.errors import CorpusError, IndexDamagedError, IndexNotBuiltError, IndexStoreError, NotFoundError
from qa.ingest import Problem, corpus_hash, load_corpus
from qa.integrity import check_chunks, check_seal, describe, seal, sealed_files
from qa.lexical import DISCOVERY_MODES, LexicalIndex, Vocabulary, install_vocabulary
from qa.loaders import Loaded
from qa.normalize import Normalized, normalize
from qa.query import Speller
from qa.segments import (
    MAX_SEGMENTS,
    Segment,
    SegmentedCorpusText,
    SegmentedLexical,
    SegmentedVectors,
    deleted_documents,
    load_segment,
    open_store,
    segment_names,
)
from qa.spell_index import CorpusText
from qa.store import Store, connect
from qa.types import Document, content_hash
from qa.vectors import FaissIndex, VectorIndex
from qa.vocab import corpus_vocabulary, read_terms, write_terms

log = logging.getLogger(__name__)

FORMAT_VERSION = 4  # 3: meta.json seals the files with checksums; 4: the store keeps each document's clean text
# Bumped whenever normalization, chunking, tokenization or figure extraction change what is stored:
# an index built by another pipeline is rebuilt (the embedding cache keeps that cheap).
PIPELINE_VERSION = 5  # 5: a full-width column wrapped into spaces is joined, not cut
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
    # The segments it is made of (see qa.segments) and the documents deleted from each.
    segments: list[Segment] = field(default_factory=list)
    deleted: dict[str, frozenset[str]] = field(default_factory=dict)

    _layouts: dict[str, Any] = field(default_factory=dict, repr=False)

    def close(self) -> None:
        """Release the SQLite connection, and the segments no other snapshot uses."""
        self.store.conn.close()
        segments, self.segments = self.segments, []
        self.lexical = SparseBM25Index()  # a closed snapshot holds no segment's mapped postings open
        for seg in segments:
            seg.release()

    def layout(self, doc_id: str) -> Loaded | None:
        """Pages, lines and tables of a converted document (read once per snapshot), None for text files."""
        if doc_id not in self._layouts:
            doc = self.documents.get(doc_id)
            self._layouts[doc_id] = self.store.layout(doc_id) if doc is not None and doc.format != "text" else None
        layout: Loaded | None = self._layouts[doc_id]
        return layout

    @cached_property
    def report_years(self) -> tuple[int, int]:
        """The oldest and the newest publication year of its documents; (0, 0) when none is dated."""
        years = [d.year for d in self.documents.values() if d.year]
        return (min(years), max(years)) if years else (0, 0)

    @cached_property
    def speller(self) -> Speller:
        """Homophone repair against this version's vocabulary."""
        if not self.segments:
            return Speller(self.lexical.document_frequencies(), CorpusText(self.store.clean_texts()))
        endings = (tail for seg in self.segments for doc_id, tail in seg.endings.items()
                   if doc_id not in self.deleted.get(seg.name, ()))
        corpus = SegmentedCorpusText(endings, [(seg.trigrams, self.deleted.get(seg.name, frozenset()))
                                               for seg in self.segments])
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
    """The version's meta after checking its format, model and checksums.

    Files already checked by this process and unchanged since (same size, time and inode) are not read again:
    an update checks the segments it builds on without reading the whole index.
    """
    meta = read_meta(version)
    check_meta(meta, embedder)
    try:
        stamp: tuple[Any, ...] | None = (json.dumps(meta.get("checksums"), sort_keys=True), *(
            (s.st_size, s.st_mtime_ns, s.st_ino) for s in (os.stat(version / n)
                                                           for n in sealed_files(version, meta.get("checksums")))))
    except OSError:
        stamp = None  # check_seal says which file is missing
    key = str(version.resolve())
    if stamp is None or _checked.get(key) != stamp:
        check_seal(version, meta)
        if stamp is not None:
            _checked[key] = stamp
    return meta


_checked: dict[str, tuple[Any, ...]] = {}  # version folder -> what its sealed files looked like when checked


def _good_base(index_dir: Path, embedder: Embedder, notes: list[str]) -> Path | None:
    """The newest version that passes its checks (the current one unless it is damaged), to build on."""
    for version in versions(index_dir):
        try:
            meta = check_version(version, embedder)
            for name in segment_names(meta, version)[:-1]:  # the earlier segments it is made of
                check_version(version.parent / name, embedder)
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
            # Reads the header and schema: a file that is no database raises (a count of every row took 2 s at 1M).
            self.conn.execute("SELECT key FROM vectors LIMIT 1").fetchone()
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
        # Shortest first, so each batch holds texts of about one length (padding is computed for nothing).
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items(),
                         key=lambda item: (len(item[1]), item[0]))
        step = 256  # the model runs its batches side by side within a step: fewer steps, less idle tail
        with self.conn:  # one commit (one fsync) a call: a build asks for a few thousand passages at a time
            for i in range(0, len(missing), step):
                part = missing[i : i + step]
                vecs = self.embedder.encode_passages([t for _, t in part])
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
    chunks, tokens, figures, _ = _index_document(doc, settings, vocabulary)
    return chunks, tokens, figures


def _index_document(doc: Document, settings: Settings, vocabulary: Vocabulary | None = None,
                    norm: Normalized | None = None) -> tuple[list[Any], list[list[str]], list[Any], Normalized]:
    """:func:`index_document`, and the document's clean text (stored, so loading never normalizes it again)."""
    from qa.figures import extract_figures

    vocabulary = vocabulary or Vocabulary.for_mode(settings.vocabulary)
    norm = norm or normalize(doc.text)
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
    return chunks, tokens, figures, norm


def count_passages(text: str, settings: Settings) -> int:
    """How many passages indexing ``text`` would embed (chunks and their sentence windows): its cost."""
    doc = Document(doc_id="count", title="", text=text)
    return sum(len(chunk_views(c.clean)) for c in chunk_document(doc, settings.chunk_target, settings.chunk_limit))


@lru_cache(maxsize=4096)  # the answer layer asks again for the views of the chunks each question retrieves
def chunk_views(clean: str) -> tuple[str, ...]:
    """The texts a chunk is embedded as: itself, then each window of two consecutive sentences."""
    sentences = [clean[x.start : x.end] for x in split_sentences(clean)]
    windows = ["".join(sentences[i : i + VIEW_SENTENCES]) for i in range(len(sentences))] if len(sentences) > 1 else []
    return (clean, *windows)[:VIEW_SLOTS]


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
    from qa.dedup import mark_reprints, signature

    signatures = [signature(d.text) for d in docs]  # stored, so an update finds reprints without reading the rest
    docs = mark_reprints(docs, signatures)
    by_id = {d.doc_id: sig for d, sig in zip(docs, signatures, strict=True)}
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
            report = _build_into(work, base, docs, settings, embedder, progress, by_id)
            report.version, report.problems, report.notes = version, problems, notes
            report.changed = report.changed or base != current  # a damaged current is replaced even so
            if base is not None and len(segment_names(read_meta(base), base)) > 1:
                report.changed = True  # a version of several segments is compacted into one
            if base is not None and not report.changed:
                shutil.rmtree(work)
                get_backend(settings).discard(version)
                report.version = base.name
            else:
                final = index_dir / version
                os.replace(work, final)
                _swap_current(index_dir, final)
                keep = _referenced([final, *([base] if base else [])])
                _cleanup(index_dir, keep=keep)
                get_backend(settings).cleanup([path.name for path in keep])
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            get_backend(settings).discard(version)
            raise
    report.seconds = time.perf_counter() - started
    return report


def _build_into(work: Path, base: Path | None, docs: list[Document], settings: Settings,
                embedder: Embedder, progress: Progress | None,
                signatures: dict[str, np.ndarray] | None = None) -> BuildReport:
    backend = get_backend(settings)
    vectors: VectorIndex
    if base is not None and len(names := segment_names(meta := read_meta(base), base)) > 1:
        # Only the FAISS backend writes versions of several segments (a Milvus version is always one).
        vectors = _merge_segments(work, [base.parent / n for n in names], deleted_documents(meta))
    else:
        if base is not None:
            shutil.copy2(base / "store.sqlite", work / "store.sqlite")
        vectors = backend.vectors_for_build(embedder.dim, base, work)
    conn = connect(work / "store.sqlite")
    store = Store(conn)
    report = BuildReport(version=work.name)
    have = store.doc_hashes()
    wanted = {d.doc_id: d for d in docs}
    stale = [doc_id for doc_id, fp in have.items() if doc_id not in wanted or wanted[doc_id].fingerprint != fp]
    fresh = [d for d in docs if d.doc_id not in have or d.doc_id in stale]
    cleaned = CleanTexts()
    if settings.vocabulary in DISCOVERY_MODES:  # every text is normalized and its words bounded, in workers
        from qa.prepare import workers_for

        cleaned.prepare(docs, workers_for(settings, len(docs)))
    vocabulary, terms = corpus_vocabulary(docs, settings.vocabulary, clean=cleaned.text, bounds=cleaned.bounds)
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
            _index_documents(store, vectors, cache, fresh, settings, vocabulary, report, progress, signatures or {},
                             cleaned)
    finally:
        cache.close()
    report.reprints.update({d.doc_id: d.duplicate_of for d in docs if d.duplicate_of})
    with conn:
        store.seal_trigrams()
    report.documents = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    report.chunks = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    report.figures = conn.execute("SELECT COUNT(*) FROM figures").fetchone()[0]
    expected = conn.execute("SELECT COALESCE(SUM(views), 0) FROM chunks").fetchone()[0]
    try:
        check_chunks(conn, docs, "the new index")
        if len(vectors) != expected:
            raise IndexStoreError(f"vector count {len(vectors)} does not match the {expected} chunk views")
        backend.save(work, vectors, store)  # FAISS: vectors and BM25 postings files; Milvus: its collections
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
        "segments": [work.name.removeprefix(".build-")],  # one: a full build merges every segment
        "deleted": {},
        "backend": backend.describe(),
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "checksums": seal(work),
    }
    (work / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    for name in (backend.vector_file, VOCAB_FILE, "meta.json"):
        with open(work / name, "rb") as fh:
            os.fsync(fh.fileno())
    return report


def update(settings: Settings, embedder: Embedder, *, add: Sequence[str] = (), remove: Sequence[str] = ()
           ) -> BuildReport:
    """Index the corpus documents ``add`` and drop ``remove`` by writing one small segment (see qa.segments).

    The cost is that of those documents, whatever the size of the index: nothing else is read, copied or
    embedded, and the vocabulary is the current version's. A full :func:`build` is made instead when there
    is no good current version to extend, or when a deleted document had a reprint (which must now be indexed
    in its place).
    """
    started = time.perf_counter()
    index_dir = settings.index_dir
    with build_lock(index_dir):
        for stale_build in index_dir.glob(".build-*"):
            shutil.rmtree(stale_build, ignore_errors=True)
        plan = _plan_update(settings, embedder, add, remove)
        if plan is not None:
            base, meta, vocabulary = plan
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
            version = f"v-{stamp}-{content_hash(meta.get('corpus_hash', ''), *add, *remove, length=6)}"
            work = index_dir / f".build-{version}"
            work.mkdir(parents=True)
            try:
                report = _write_segment(work, version, base, meta, vocabulary, settings, embedder, add, remove)
                if report.changed:
                    final = index_dir / version
                    os.replace(work, final)
                    _swap_current(index_dir, final)
                    _cleanup(index_dir, keep=_referenced([final, base]))
                else:
                    shutil.rmtree(work)
                    report.version = base.name
            except BaseException:
                shutil.rmtree(work, ignore_errors=True)
                raise
            report.seconds = time.perf_counter() - started
            return report
    return build(settings, embedder)


def _plan_update(settings: Settings, embedder: Embedder, add: Sequence[str], remove: Sequence[str]
                 ) -> tuple[Path, dict[str, Any], Vocabulary] | None:
    """The current version, its meta and vocabulary, when an update can extend it; None for a full build."""
    base = current_version(settings.index_dir)
    if base is None or settings.backend != "faiss":
        return None  # segments are the FAISS backend's; on Milvus an update is a full build (docs/scaling.md)
    try:
        meta = check_version(base, embedder)
        check_chunking(meta, settings)
        vocabulary = load_vocabulary(base, meta, settings)
        names = segment_names(meta, base)
        for name in names[:-1]:
            check_version(base.parent / name, embedder)
        if remove:
            store = open_store([base.parent / n for n in names], deleted_documents(meta))
            try:
                marks = ",".join("?" * len(remove))
                if store.conn.execute(f"SELECT 1 FROM details WHERE duplicate_of IN ({marks}) LIMIT 1",
                                      list(remove)).fetchone():
                    return None  # its reprint becomes the original, to be indexed: the corpus decides
            finally:
                store.conn.close()
    except (IndexStoreError, sqlite3.DatabaseError, OSError) as exc:
        log.warning("updating by a full build: %s", exc)
        return None
    return base, meta, vocabulary


def _write_segment(work: Path, version: str, base: Path, meta: dict[str, Any], vocabulary: Vocabulary,
                   settings: Settings, embedder: Embedder, add: Sequence[str], remove: Sequence[str]
                   ) -> BuildReport:
    """Write into ``work`` the segment of the documents ``add`` and a meta.json that drops ``remove``.

    When the version already has ``MAX_SEGMENTS`` segments, the new one also takes in the live rows of every
    segment but the first (the full build's): a merge that costs what the updates since it cost, not the corpus.
    """
    from qa.dedup import reprint_of, signature

    names = segment_names(meta, base)
    paths = [base.parent / n for n in names]
    deleted = {k: set(v) for k, v in deleted_documents(meta).items()}
    report = BuildReport(version=version)
    current = open_store(paths, deleted_documents(meta))
    conn: sqlite3.Connection | None = None
    try:
        docs, report.problems = _read_documents(settings, add)
        gone = set(remove) | {d.doc_id for d in docs}  # a document indexed again leaves its old segment
        next_row = 0  # row ids are never reused: the new segment numbers its chunks after every other's
        for path in paths:
            seg = connect(path / "store.sqlite", readonly=True)
            try:
                marks = ",".join("?" * len(gone))
                held = [d for (d,) in seg.execute(f"SELECT doc_id FROM documents WHERE doc_id IN ({marks})",
                                                  sorted(gone))]
                top = seg.execute("SELECT seq FROM sqlite_sequence WHERE name = 'chunks'").fetchone()
                next_row = max(next_row, int(top[0]) if top else 0)
            finally:
                seg.close()
            deleted.setdefault(path.name, set()).update(held)
            report.removed += [d for d in held if d in remove and d not in report.removed]
        originals = [(d, sig) for d, sig in current.original_signatures() if d not in gone]
        signatures: dict[str, np.ndarray] = {}
        for n, doc in enumerate(docs):
            sig = signature(doc.text)
            docs[n] = replace(doc, duplicate_of=reprint_of(sig, originals))
            signatures[doc.doc_id] = sig
            if docs[n].duplicate_of is None:
                originals.append((doc.doc_id, sig))
        merge_tail = len(names) >= MAX_SEGMENTS
        if merge_tail:
            vectors = _merge_segments(work, paths[1:], {n: frozenset(deleted.get(n, ())) for n in names[1:]})
            names, paths = names[:1], paths[:1]
            deleted = {names[0]: deleted.get(names[0], set())}
        else:
            vectors = FaissIndex(embedder.dim)
        conn = connect(work / "store.sqlite")
        store = Store(conn)
        with conn:
            conn.execute("DELETE FROM sqlite_sequence WHERE name = 'chunks'")
            conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('chunks', ?)", (next_row,))
        cache = EmbeddingCache.open(settings.index_dir / "embeddings.sqlite", embedder)
        try:
            with conn:
                _index_documents(store, vectors, cache, docs, settings, vocabulary, report, None, signatures)
        finally:
            cache.close()
        report.changed = bool(docs or report.removed or merge_tail)
        _seal_lexical(work, store)
        merged = [current.document(d) for (d,) in conn.execute("SELECT doc_id FROM documents")
                  if d not in {doc.doc_id for doc in docs}]  # checked against the text they were read from
        check_chunks(conn, [*docs, *(d for d in merged if d is not None)], "the new index")
        live = [d for d in current.documents() if d.doc_id not in gone]
        sha256 = dict(current.conn.execute("SELECT doc_id, sha256 FROM documents"))
        report.documents = len(live) + len(docs)
        report.reprints = {d.doc_id: d.duplicate_of for d in [*live, *docs] if d.duplicate_of}
    finally:
        if conn is not None:
            conn.close()
        current.conn.close()
    vectors.save(work / "vectors.faiss")
    shutil.copy2(base / VOCAB_FILE, work / VOCAB_FILE)
    final_deleted = {k: sorted(v) for k, v in deleted.items() if v}
    report.chunks, report.figures = _live_counts([*paths, work], final_deleted)
    with open(work / "store.sqlite", "rb") as fh:
        os.fsync(fh.fileno())
    fresh = {**meta, "corpus_hash": corpus_hash([*live, *docs], sha256), "documents": report.documents,
             "chunks": report.chunks, "figures": report.figures, "segments": [*names, version],
             "deleted": final_deleted, "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
             "checksums": seal(work)}
    (work / "meta.json").write_text(json.dumps(fresh, ensure_ascii=False, indent=2), encoding="utf-8")
    for name in ("vectors.faiss", VOCAB_FILE, "meta.json"):
        with open(work / name, "rb") as fh:
            os.fsync(fh.fileno())
    return report


def _live_counts(paths: Sequence[Path], deleted: dict[str, list[str]]) -> tuple[int, int]:
    """Chunks and figures of the segments' live documents: each file's count less its deleted documents'.

    Counted file by file, not through the union view of :func:`open_store`, whose per-row test of the
    deleted documents took 2 s at 1M chunks.
    """
    totals = [0, 0]
    for path in paths:
        conn = connect(path / "store.sqlite", readonly=True)
        try:
            dead = deleted.get(path.name, [])
            for n, table in enumerate(("chunks", "figures")):
                totals[n] += conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for at in range(0, len(dead), 500):
                    part = dead[at : at + 500]
                    marks = ",".join("?" * len(part))
                    totals[n] -= conn.execute(f"SELECT COUNT(*) FROM {table} WHERE doc_id IN ({marks})",
                                              part).fetchone()[0]
        finally:
            conn.close()
    return totals[0], totals[1]


def _read_documents(settings: Settings, doc_ids: Sequence[str]) -> tuple[list[Document], list[Problem]]:
    """The corpus documents of the given ids, read as a full build reads them (unreadable ones as problems)."""
    from qa.ingest import SUFFIXES, read_document, read_manifest

    if not doc_ids:
        return [], []
    manifest = read_manifest(settings.corpus_dir)
    files = {entry.get("id") or Path(name).stem: name for name, entry in manifest.items()}
    docs, problems = [], []
    for doc_id in doc_ids:
        name = files.get(doc_id) or next((p.name for p in sorted(settings.corpus_dir.glob(f"{doc_id}.*"))
                                          if p.suffix.lower() in SUFFIXES), None)
        path = settings.corpus_dir / (name or doc_id)
        try:
            if name is None or not path.is_file():
                raise CorpusError(f"{path}: no such document in the corpus")
            docs.append(read_document(settings.corpus_dir, path, manifest.get(path.name, {}),
                                      limits=read_limits(settings)))
        except (CorpusError, NotFoundError) as exc:
            problems.append(Problem(str(path), str(exc)))
    return docs, problems


def _index_documents(store: Store, vectors: VectorIndex, cache: EmbeddingCache, docs: Sequence[Document],
                     settings: Settings, vocabulary: Vocabulary, report: BuildReport, progress: Progress | None,
                     signatures: dict[str, np.ndarray], cleaned: CleanTexts | None = None) -> None:
    """Chunk, embed and store ``docs`` (a reprint is stored as a document only), recording them in ``report``."""
    from qa.dedup import signature
    from qa.prepare import prepared, workers_for

    cleaned = cleaned or CleanTexts()
    batch = EmbeddingBatch(cache, vectors, report)
    indexed = [d for d in docs if not d.duplicate_of]
    cut = prepared(((d, cleaned.normalized(d)) for d in indexed), settings, vocabulary,
                   workers_for(settings, len(indexed)))
    for n, doc in enumerate(docs, 1):
        sig = signatures.get(doc.doc_id)
        sig = signature(doc.text) if sig is None else sig
        if doc.duplicate_of:  # a reprint: kept as a document, never indexed (so never cited twice)
            store.add_document(doc, [], [], [], [], norm=cleaned.normalized(doc))
            store.add_signature(doc.doc_id, sig)
            report.reprints[doc.doc_id] = doc.duplicate_of
            report.added.append(doc.doc_id)
            continue
        chunks, tokens, figures, norm = next(cut)
        views = [chunk_views(c.clean) for c in chunks]
        rows = store.add_document(doc, chunks, tokens, figures, [len(v) for v in views], norm=norm)
        store.add_signature(doc.doc_id, sig)
        batch.add(view_ids(rows, [len(v) for v in views]), [t for v in views for t in v])
        report.added.append(doc.doc_id)
        if progress:
            progress("documents", n, len(docs))
    cut.close()  # stops the workers now rather than when the generator is collected
    batch.flush()


def _merge_segments(work: Path, paths: Sequence[Path], deleted: dict[str, frozenset[str]]) -> FaissIndex:
    """Write the live rows of several segments into one store in ``work``; returns their vectors, merged."""
    conn = connect(work / "store.sqlite")
    try:
        for n, path in enumerate(paths):  # attached before the transaction (SQLite cannot attach inside one)
            conn.execute(f"ATTACH DATABASE ? AS s{n}", (f"file:{path / 'store.sqlite'}?mode=ro",))
        with conn:
            for n, path in enumerate(paths):
                dead = sorted(deleted.get(path.name, ()))
                marks = ",".join("?" * len(dead))
                live = f"doc_id NOT IN ({marks})"
                for table in ("documents", "details", "normalized", "signatures", "chunks"):
                    conn.execute(f"INSERT INTO main.{table} SELECT * FROM s{n}.{table} WHERE {live}", dead)
                conn.execute(f"INSERT INTO main.trigrams (body, doc_id) SELECT body, doc_id FROM s{n}.trigrams "
                             f"WHERE {live}", dead)
                columns = ", ".join(f'"{c[1]}"' for c in conn.execute("PRAGMA main.table_info(figures)")
                                    if c[1] != "id")
                conn.execute(f"INSERT INTO main.figures ({columns}) SELECT {columns} FROM s{n}.figures "
                             f"WHERE {live}", dead)
                # Row ids are never reused: the merged store goes on numbering after the highest of them all.
                conn.execute("UPDATE main.sqlite_sequence SET seq = MAX(seq, COALESCE((SELECT seq FROM "
                             f"s{n}.sqlite_sequence WHERE name = 'chunks'), 0)) WHERE name = 'chunks'")
        for n in range(len(paths)):
            conn.execute(f"DETACH DATABASE s{n}")
        rows_views = conn.execute("SELECT row, views FROM chunks").fetchall()
    finally:
        conn.close()
    live_ids = view_ids([r for r, _ in rows_views], [v for _, v in rows_views])
    parts = [FaissIndex.load(path / "vectors.faiss") for path in paths]
    merged = FaissIndex(parts[0].dim)
    for part in parts:
        ids, vecs = part.contents()
        keep = np.isin(ids, live_ids)
        merged.add(ids[keep], vecs[keep])
    return merged


def _seal_lexical(work: Path, store: Store) -> None:
    """Write a segment's BM25 postings beside its store and compact its trigram index (both read at load)."""
    with store.conn:
        store.seal_trigrams()
    save_postings(work, store)


def _referenced(versions: Sequence[Path]) -> set[Path]:
    """The given versions' folders and those of every segment they are made of."""
    keep = set()
    for version in versions:
        keep.add(version.resolve())
        try:
            keep.update((version.parent / name).resolve() for name in segment_names(read_meta(version), version))
        except IndexStoreError:
            continue
    return keep


# -- loading --------------------------------------------------------------------------------------------
def load_snapshot(settings: Settings, embedder: Embedder, version: Path | None = None,
                  previous: Snapshot | None = None) -> Snapshot:
    """Open the current index version (or ``version``), refusing one that does not fit or fails its checks.

    Segments ``previous`` (the snapshot being replaced) already loaded are reused, not read again.

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
    store: Store | None = None
    try:
        names = segment_names(meta, version)
        deleted = deleted_documents(meta)
        loaded = {seg.name: seg for seg in previous.segments} if previous is not None else {}
        segments = [loaded.get(name) or _load_segment(version.parent / name, version, embedder, backend)
                    for name in names]
        store = open_store([version.parent / name for name in names], deleted)
        documents: dict[str, Document] = {}
        sha256: dict[str, str] = {}
        for seg in segments:
            dead = deleted.get(seg.name, frozenset())
            documents.update((d, doc) for d, doc in seg.documents.items() if d not in dead)
            sha256.update(seg.sha256)
        documents = dict(sorted(documents.items()))
        if corpus_hash(list(documents.values()), sha256) != meta.get("corpus_hash"):
            raise IndexDamagedError(f"index version {version.name}: the stored documents differ from meta.json")
        lexical: Any
        vectors: Any
        if len(segments) == 1 and not deleted.get(segments[0].name):
            lexical, vectors = segments[0].lexical, segments[0].vectors
        else:  # only the FAISS backend writes versions of several segments, or with deletions
            dead_rows = [seg.dead_rows(deleted.get(seg.name, ())) for seg in segments]
            lexical = SegmentedLexical([cast(SparseBM25Index, seg.lexical) for seg in segments],
                                       [r for rows in dead_rows for r, _ in rows])
            vectors = SegmentedVectors([cast(FaissIndex, seg.vectors) for seg in segments],
                                       [view_ids([r for r, _ in rows], [v for _, v in rows]) for rows in dead_rows])
    except IndexDamagedError:
        if store is not None:
            store.conn.close()
        raise
    except (sqlite3.DatabaseError, IndexStoreError, OSError, RuntimeError, ValueError) as exc:
        if store is not None:
            store.conn.close()
        raise IndexDamagedError(f"index version {version.name}: {describe(exc)}") from exc
    for seg in segments:
        seg.acquire()
        seg.source.add(store)  # its documents' clean texts can be read through this snapshot's store
    install_vocabulary(vocabulary)
    snapshot = Snapshot(version, meta, store, vectors, lexical, embedder, documents, vocabulary, segments=segments,
                        deleted=deleted)
    _ = snapshot.speller  # built now, not on the first question (seconds on a large corpus)
    return snapshot


def _load_segment(path: Path, version: Path, embedder: Embedder, backend: IndexBackend) -> Segment:
    """A segment read from disk and checked (its seal too, when it is an earlier version's)."""
    if path != version:
        check_version(path, embedder)
    return load_segment(path, lambda conn, docs: check_chunks(conn, docs, f"index version {path.name}"), backend)


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
    """Whether the corpus on disk differs from what the snapshot indexed.

    Each document keeps the reprint mark the index gave it: when every document is the one indexed, the marks
    are the index's; when one is not, the hash differs whatever they are. So no document's signature is computed.
    """
    docs, _ = load_corpus(settings.corpus_dir, limits=read_limits(settings))
    indexed = snapshot.documents
    marked = [replace(d, duplicate_of=indexed[d.doc_id].duplicate_of) if d.doc_id in indexed else d for d in docs]
    return bool(snapshot.meta.get("corpus_hash") != corpus_hash(marked))
