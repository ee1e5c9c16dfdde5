"""One loader per document format, behind one function: :func:`load` (file name and bytes → :class:`Loaded`).

The format is read from the file's first bytes (magic numbers, the parts inside a ZIP) and must agree with
its suffix, so a ``.pdf`` that is really a Word file is refused with a message saying so. Each format is one
module with ``load(data, name, context) -> Loaded``; adding a format is adding a module and a line to
``FORMATS``. Heavy libraries (pdfium, the OCR models, lxml) load only when a file of their format does.
"""

from __future__ import annotations

import importlib
import io
import logging
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

from qa.errors import DocumentParseError
from qa.loaders.base import Box, Cell, Line, Loaded, Page, Table, TextBuilder

__all__ = [
    "FORMATS",
    "MIME_SUFFIXES",
    "SUFFIXES",
    "Box",
    "Cell",
    "Context",
    "Limits",
    "Line",
    "Loaded",
    "Page",
    "Table",
    "TextBuilder",
    "detect_format",
    "load",
    "with_suffix",
]

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Format:
    """A document format: its loader (module and function), the package it needs, its name in a message."""

    module: str
    package: str
    label: str
    suffix: str  # the suffix a file of this format is stored under
    function: str = "load"


FORMATS: dict[str, Format] = {
    "text": Format("qa.loaders.text", "", "text", ".txt"),
    "csv": Format("qa.loaders.sheet", "", "CSV table", ".csv", "load_csv"),
    "pdf": Format("qa.loaders.pdf", "pypdfium2", "PDF document", ".pdf"),
    "docx": Format("qa.loaders.docx", "python-docx", "Word document (DOCX)", ".docx"),
    "xlsx": Format("qa.loaders.sheet", "openpyxl", "Excel workbook (XLSX)", ".xlsx"),
    "html": Format("qa.loaders.html", "lxml", "web page (HTML)", ".html"),
    "ofd": Format("qa.loaders.ofd", "lxml", "OFD document", ".ofd"),
    "image": Format("qa.loaders.image", "rapidocr-onnxruntime", "image", ".png"),
}
SUFFIXES: dict[str, str] = {
    ".txt": "text", ".md": "text", ".csv": "csv", ".pdf": "pdf", ".docx": "docx", ".xlsx": "xlsx",
    ".xlsm": "xlsx", ".html": "html", ".htm": "html", ".shtml": "html", ".ofd": "ofd", ".png": "image",
    ".jpg": "image", ".jpeg": "image", ".tif": "image", ".tiff": "image", ".bmp": "image", ".webp": "image",
}
MIME_SUFFIXES: dict[str, str] = {
    "text/plain": ".txt", "text/markdown": ".md", "text/csv": ".csv", "text/html": ".html", "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx", "application/ofd": ".ofd",
    "image/png": ".png", "image/jpeg": ".jpg", "image/tiff": ".tif", "image/bmp": ".bmp", "image/webp": ".webp",
}
_TEXTUAL = {"text", "csv", "html"}  # text files: the suffix says how to read them
_OLD_OFFICE = {".doc": "Word 97-2003 (.doc)", ".xls": "Excel 97-2003 (.xls)", ".ppt": "PowerPoint (.ppt)",
               ".wps": "WPS (.wps)", ".et": "WPS (.et)"}
_ODD_KINDS = {"zip": "a ZIP archive", "ole": "an old Office file (.doc or .xls)"}


@dataclass(frozen=True)
class Limits:
    """Bounds on what one file may cost: pages, OCR work and the inflated size of ZIP-based formats."""

    max_pages: int = 2000
    max_ocr_pages: int = 300
    max_unzipped_bytes: int = 200 * 1024 * 1024
    max_zip_ratio: int = 200
    max_zip_members: int = 5000
    max_cells: int = 500_000


@dataclass(frozen=True)
class Context:
    """What a loader is given besides the bytes: limits, and a progress callback (pages done, pages)."""

    limits: Limits = field(default_factory=Limits)
    progress: Progress | None = None
    ocr_scale: float = 2.0  # render scale (× 72 dpi) for pages read by OCR


def sniff(data: bytes) -> str:
    """What the bytes are, from their first bytes alone: a format name, ``zip``, ``ole`` or ``text``."""
    head = data[:2048]
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if head.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"BM")) or (
            head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered[:1024]:
        return "html"
    return "text"


def _zip_kind(data: bytes) -> str:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return "zip"
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "OFD.xml" in names or "ofd.xml" in names:
        return "ofd"
    return "zip"


def _describe(kind: str) -> str:
    if kind == "text":
        return "plain text"
    if kind in FORMATS:
        label = FORMATS[kind].label
        return ("an " if label[0] in "aeiouAEIOUO" else "a ") + label
    return _ODD_KINDS.get(kind, kind)


def with_suffix(name: str, mime: str | None) -> str:
    """``name`` with the suffix its MIME type implies, when the name has no known suffix of its own."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    implied = MIME_SUFFIXES.get((mime or "").split(";")[0].strip().lower())
    return name + implied if implied and suffix not in SUFFIXES else name


def detect_format(name: str, data: bytes) -> str:
    """The format to read ``name`` as; raises DocumentParseError when the suffix and the content disagree."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix in _OLD_OFFICE:
        raise DocumentParseError(f"{name}: the {_OLD_OFFICE[suffix]} format is not supported; "
                                 "save it as .docx, .xlsx or PDF and add it again")
    expected = SUFFIXES.get(suffix)
    if expected is None:
        known = ", ".join(sorted(SUFFIXES))
        raise DocumentParseError(f"{name}: unsupported file type {suffix or '(no suffix)'}; supported: {known}")
    found = sniff(data)
    if expected in _TEXTUAL and found in _TEXTUAL:
        return expected
    if found == expected:
        return expected
    hint = f"; rename it to {FORMATS[found].suffix}" if found in FORMATS and found not in _TEXTUAL else ""
    raise DocumentParseError(f"{name}: the file is {_describe(found)}, not {_describe(expected)}{hint}")


def load(data: bytes, name: str, context: Context | None = None) -> Loaded:
    """Convert one file to its citable text with pages, tables and metadata; raises DocumentParseError."""
    context = context or Context()
    fmt = detect_format(name, data)
    spec = FORMATS[fmt]
    try:
        module = importlib.import_module(spec.module)
    except ImportError as exc:
        raise DocumentParseError(f"{name}: reading a {spec.label} needs the package {spec.package} "
                                 f"(pip install {spec.package}): {exc}") from exc
    try:
        loaded: Loaded = getattr(module, spec.function)(data, name, context)
    except DocumentParseError:
        raise
    except MemoryError as exc:
        raise DocumentParseError(f"{name}: the {spec.label} is too large to read") from exc
    except Exception as exc:  # a broken file must fail alone, with a message, never take the batch down
        log.warning("could not read %s", name, exc_info=True)
        raise DocumentParseError(f"{name}: not a readable {spec.label} ({type(exc).__name__}: {exc})") from exc
    if not loaded.text.strip():
        raise DocumentParseError(f"{name}: no text found in the {spec.label}")
    return loaded
