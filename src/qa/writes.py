"""Changes to the index run on one thread of their own, one at a time, with a bounded queue in front.

Reads never wait for them: a request thread is never held while a change waits its turn (the API awaits the
change's future), and when too many changes are already waiting the next one is refused at once with
:class:`~qa.errors.BusyError` instead of piling up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from qa.errors import BusyError

T = TypeVar("T")


class WriteQueue:
    """A single writer thread with at most ``limit`` changes waiting behind the running one."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qa-write")
        self._pending = 0
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        """Changes running or waiting."""
        with self._lock:
            return self._pending

    def submit(self, change: Callable[[], T], *, force: bool = False) -> Future[T]:
        """Queue ``change``; raise BusyError when the queue is full (``force`` queues it regardless)."""
        with self._lock:
            if not force and self._pending > self.limit:
                raise BusyError(f"{self._pending} changes to the index are already running or waiting; "
                                "retry in a little while")
            self._pending += 1
        try:
            future = self._executor.submit(change)
        except BaseException:
            self._done()
            raise
        future.add_done_callback(lambda _: self._done())
        return future

    def shutdown(self) -> None:
        """Let the running change finish; drop the waiting ones."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _done(self) -> None:
        with self._lock:
            self._pending -= 1
