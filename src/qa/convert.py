"""Converted documents, cached beside the corpus: a file is converted (and OCR'd) once per content.

``corpus/.converted/<file name>.<content hash>.json`` holds what :func:`qa.loaders.load` returned for that
file: the citable text, pages with line boxes, tables and metadata. Builds, ``qa serve`` and staleness
checks read it instead of converting again; a changed file has a new hash and is converted anew. The
original file stays in the corpus, for page images.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

from qa.loaders import Context, Loaded, load

log = logging.getLogger(__name__)

CACHE_DIR = ".converted"
# Bumped whenever a loader's output changes, so cached conversions are redone.
CONVERTER_VERSION = 1


def cache_path(corpus_dir: Path, name: str, data: bytes) -> Path:
    """Where the conversion of ``data``, stored as ``name``, is cached."""
    digest = hashlib.sha256(data).hexdigest()[:20]
    return corpus_dir / CACHE_DIR / f"{name}.{digest}.v{CONVERTER_VERSION}.json"


def convert(corpus_dir: Path, name: str, data: bytes, context: Context | None = None) -> Loaded:
    """The conversion of a corpus file, from the cache or made now (and cached); raises DocumentParseError."""
    cached = cache_path(corpus_dir, name, data)
    if cached.exists():
        try:
            return Loaded.from_json(json.loads(cached.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("converting %s again: its cached conversion is unreadable (%s)", name, exc)
    loaded = load(data, name, context)
    write_cache(cached, loaded)
    return loaded


def write_cache(path: Path, loaded: Loaded) -> None:
    """Store a conversion atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:40]}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(loaded.to_json(), fh, ensure_ascii=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def prune(corpus_dir: Path) -> int:
    """Delete cached conversions of files that are gone or changed; returns how many were deleted."""
    folder = corpus_dir / CACHE_DIR
    if not folder.is_dir():
        return 0
    wanted: set[str] = set()
    for path in corpus_dir.iterdir():
        if path.is_file() and not path.name.startswith("."):
            try:
                wanted.add(cache_path(corpus_dir, path.name, path.read_bytes()).name)
            except OSError:
                continue
    removed = 0
    for cached in folder.glob("*.json"):
        if cached.name not in wanted:
            cached.unlink(missing_ok=True)
            removed += 1
    return removed
