"""The index version being served, lent to each request, and closed once the last request using it ends.

A write replaces the current snapshot with one reference assignment, so a request sees the old version or the
new, never a mix. The old one is not closed at once (a request may still be reading it) but when its last
lease is returned; without that every replaced version kept its SQLite file open after a later build deleted
it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from qa.index import Snapshot


class SnapshotSlot:
    """Holds the current snapshot and counts the requests reading each snapshot still open."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._current = snapshot
        self._leases: dict[int, int] = {}
        self._retired: dict[int, Snapshot] = {}
        self._lock = threading.Lock()

    @property
    def current(self) -> Snapshot:
        """The snapshot new requests get (its ``meta`` and ``path`` may be read without a lease)."""
        return self._current

    @contextmanager
    def lease(self) -> Iterator[Snapshot]:
        """The current snapshot, kept open until the block ends."""
        with self._lock:
            snapshot = self._current
            self._leases[id(snapshot)] = self._leases.get(id(snapshot), 0) + 1
        try:
            yield snapshot
        finally:
            self._release(snapshot)

    def replace(self, fresh: Snapshot) -> None:
        """Serve ``fresh`` from now on; close the old snapshot when no request reads it any more."""
        with self._lock:
            old, self._current = self._current, fresh
            if old is fresh:
                return
            if self._leases.get(id(old)):
                self._retired[id(old)] = old
                return
        old.close()

    def open_count(self) -> int:
        """How many snapshots are open: the current one and those replaced but still read."""
        with self._lock:
            return 1 + len(self._retired)

    def close(self) -> None:
        """Close every snapshot (at shutdown)."""
        with self._lock:
            snapshots = [self._current, *self._retired.values()]
            self._retired.clear()
        for snapshot in snapshots:
            snapshot.close()

    def _release(self, snapshot: Snapshot) -> None:
        with self._lock:
            key = id(snapshot)
            self._leases[key] -= 1
            if self._leases[key]:
                return
            del self._leases[key]
            retired = self._retired.pop(key, None)
        if retired is not None:
            retired.close()
