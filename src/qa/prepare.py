"""Documents cut into chunks, tokens and figures in worker processes while the build stores and embeds.

Cutting a document (chunking, jieba tokens, figures) is pure Python and holds the GIL; a large build hands it to
worker processes, a window of documents at a time, and gets the results back in corpus order, so the index is
the one a single process writes. Workers are forked, with the build's tokenizer already made, and only from a
main thread that no other running thread waits on (never from a server reindexing in one of its threads: a fork
copies the locks other threads hold); anywhere else the build cuts its documents itself.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Generator, Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any

from qa.lexical import Vocabulary
from qa.normalize import Normalized

if TYPE_CHECKING:
    from qa.config import Settings
    from qa.types import Document

Prepared = tuple[list[Any], list[list[str]], list[Any], Normalized]
# Below this many documents one process is about as fast (each document and its cuts are pickled both ways).
MIN_DOCUMENTS = 400
WINDOW = 64  # documents handed out at a time; two windows are in flight, so memory stays bounded

_worker: tuple[Settings, Vocabulary] | None = None


def _start(settings: Settings, vocabulary: Vocabulary) -> None:
    global _worker
    _worker = (settings, vocabulary)


def _prepare(item: tuple[Document, Normalized]) -> Prepared:
    from qa.index import _index_document

    assert _worker is not None
    settings, vocabulary = _worker
    return _index_document(item[0], settings, vocabulary, item[1])


def workers_for(settings: Settings, documents: int) -> int:
    """How many worker processes a build of ``documents`` documents uses (0: it cuts them itself)."""
    if documents < MIN_DOCUMENTS or not _may_fork():
        return 0
    wanted = settings.build_workers or (os.cpu_count() or 1)
    return wanted if wanted > 1 else 0


def _may_fork() -> bool:
    """Whether this is the main thread and every other thread a daemon (a progress bar's, not a server's)."""
    here = threading.current_thread()
    return here is threading.main_thread() and all(t.daemon for t in threading.enumerate() if t is not here)


def prepared(items: Iterable[tuple[Document, Normalized]], settings: Settings, vocabulary: Vocabulary,
             workers: int) -> Generator[Prepared, None, None]:
    """Each document cut (chunks, tokens, figures, its normalized text), in order; by ``workers`` processes.

    ``items`` is read a window at a time, as the results are taken.
    """
    from qa.index import _index_document

    if workers <= 0:
        for doc, norm in items:
            yield _index_document(doc, settings, vocabulary, norm)
        return
    items = iter(items)
    vocabulary.tokenizer  # noqa: B018 - made before the fork, so every worker has it
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, _start, (settings, vocabulary)) as pool:
        window = list(islice(items, WINDOW))
        pending = pool.map_async(_prepare, window, chunksize=4)
        while window:
            window = list(islice(items, WINDOW))
            following = pool.map_async(_prepare, window, chunksize=4)  # cut while this window is stored
            yield from pending.get()
            pending = following


Cleaned = tuple[str, bytes, bytes]  # clean text, packed offset map, packed word-bound bits


def _clean(text: str) -> Cleaned:
    import numpy as np

    from qa.normalize import normalize
    from qa.store import pack_offsets
    from qa.vocab import dictionary_bounds

    norm = normalize(text)
    bits = np.zeros(len(norm.text) + 1, dtype=bool)
    bits[sorted(dictionary_bounds(norm.text))] = True  # what discovery checks words against
    return norm.text, pack_offsets(norm.offsets), np.packbits(bits).tobytes()


def cleaned(texts: Iterable[str], workers: int) -> Iterator[Cleaned]:
    """Each raw text normalized, with the bounds of jieba's default-dictionary words in it, in order."""
    if workers <= 0:
        yield from map(_clean, texts)
        return
    Vocabulary.for_mode("none").tokenizer  # noqa: B018 - made before the fork, so every worker has it
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield from pool.imap(_clean, texts, chunksize=16)
