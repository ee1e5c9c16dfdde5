"""Several server processes over one index folder: each follows the ``current`` link, and changes go one at a time.

``qa serve --workers N`` runs N processes that each load the index read-only. A change (an upload, a delete, a
reindex) may arrive at any of them: it is made under one lock shared by every process on this index folder
(``write.lock``), after the process has caught up with the version on disk, so two changes never overlap and
none is made against an old version. Every process also watches the ``current`` link (:class:`IndexFollower`)
and loads the version another process (or ``qa build``) made current, so an upload through one worker is
answered by all of them within ``follow_seconds``.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

WRITE_LOCK = "write.lock"
FOLLOW_SECONDS = 1.0  # how often a worker looks at the ``current`` link (a readlink: costs nothing)


@contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    """Held while one process changes the corpus and the index: the others wait their turn."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / WRITE_LOCK, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class IndexFollower:
    """A daemon thread that calls ``follow`` every ``interval`` seconds until stopped."""

    def __init__(self, follow: Callable[[], object], interval: float = FOLLOW_SECONDS) -> None:
        if interval <= 0:
            raise ValueError("interval must be greater than 0")
        self._follow = follow
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="qa-follow-index", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (the running check, if any, finishes first)."""
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._follow()
            except Exception:  # a bad version is reported by the service; the watch goes on
                log.exception("could not follow the index's current version")
