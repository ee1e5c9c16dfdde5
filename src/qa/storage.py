"""Writes that meet a full disk: recognised in every form the libraries raise, and reported as one error."""

from __future__ import annotations

import errno
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from qa.errors import StorageFullError

_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_FULL_WORDS = ("no space left", "disk is full", "disk quota exceeded", "file too large")


def is_storage_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the disk or quota is full.

    The OS says ENOSPC, SQLite says "database or disk is full", FAISS wraps the OS message in a RuntimeError.
    """
    seen: BaseException | None = exc
    for _ in range(5):  # follow the cause chain a few links, no further
        if seen is None:
            return False
        if isinstance(seen, StorageFullError):
            return True
        if isinstance(seen, OSError) and seen.errno in _FULL_ERRNOS:
            return True
        if isinstance(seen, sqlite3.Error | OSError | RuntimeError) and any(
                word in str(seen).lower() for word in _FULL_WORDS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@contextmanager
def full_disk_is_an_error(what: str) -> Iterator[None]:
    """Turn a full-disk failure inside the block into :class:`StorageFullError` naming ``what`` failed."""
    try:
        yield
    except StorageFullError:
        raise
    except Exception as exc:
        if is_storage_full(exc):
            raise StorageFullError(f"{what} failed: no space left on the server's disk; nothing was changed") from exc
        raise


def has_room(path: Path, needed: int) -> bool:
    """Whether the filesystem holding ``path`` has at least ``needed`` bytes free (a full disk is cleared by it)."""
    try:
        return shutil.disk_usage(path).free >= needed
    except OSError:
        return False
