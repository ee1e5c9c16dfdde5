"""Exceptions raised by `qa`.

Every error the library raises on purpose derives from :class:`QAError`, so callers can catch one type.
HTTP status codes and CLI exit codes are chosen at the edges (``qa.api`` and ``qa.cli``), never here::

    QAError
    ├── ConfigError            settings that cannot work (bad path, unknown model)
    ├── CorpusError            a corpus file or manifest that cannot be read
    │   ├── DocumentParseError a document whose bytes are not text we can index
    │   └── DocumentTooLargeError  a document that would take too much work to index
    ├── ModelError             the embedding model cannot be built or loaded
    ├── IndexStoreError        the on-disk index is missing, stale, mismatched or broken
    │   ├── IndexNotBuiltError no index has been built yet
    │   └── IndexDamagedError  an index version whose files or store fail their checks
    ├── StorageFullError       a write failed because the disk (or quota) is full; nothing was changed
    ├── BusyError              too many changes are already waiting; retry later
    ├── QueryError             a question or search request that cannot be answered as asked
    └── NotFoundError          an id (document, key) that does not exist
"""

from __future__ import annotations


class QAError(Exception):
    """Root of every error raised by `qa`."""


class ConfigError(QAError):
    """Settings that cannot work."""


class CorpusError(QAError):
    """A corpus file or manifest that cannot be read."""


class DocumentParseError(CorpusError):
    """A document whose content cannot be indexed."""


class DocumentTooLargeError(CorpusError):
    """A document that would take more work to index than one upload may cause."""


class ModelError(QAError):
    """The embedding model cannot be built or loaded."""


class IndexStoreError(QAError):
    """The on-disk index is missing, stale, mismatched or broken."""


class IndexNotBuiltError(IndexStoreError):
    """No index has been built yet."""


class IndexDamagedError(IndexStoreError):
    """An index version whose files or store fail their checks."""


class StorageFullError(QAError):
    """A write failed because the disk or quota is full; what it would have changed was rolled back."""


class BusyError(QAError):
    """Too many changes to the index are already waiting."""


class QueryError(QAError):
    """A question or search request that cannot be answered as asked."""


class NotFoundError(QAError):
    """An id that does not exist."""
