"""Plain text and Markdown: the file's text, exactly as stored (UTF-8)."""

from __future__ import annotations

from qa.errors import DocumentParseError
from qa.loaders.base import Loaded


def decode(data: bytes, name: str) -> str:
    """Decode document bytes as UTF-8 text, or raise DocumentParseError."""
    if b"\x00" in data[:4096]:
        raise DocumentParseError(f"{name}: binary file, expected UTF-8 text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentParseError(f"{name}: not valid UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if not text.strip():
        raise DocumentParseError(f"{name}: empty document")
    return text


def decode_any(data: bytes, name: str) -> str:
    """UTF-8, else GB18030 (Chinese spreadsheets and old web pages are often saved in it)."""
    try:
        return decode(data, name)
    except DocumentParseError as exc:
        if "UTF-8" not in str(exc) or "binary" in str(exc):
            raise
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise exc from None


def load(data: bytes, name: str, context: object = None) -> Loaded:
    """The text itself; nothing to map."""
    return Loaded(decode(data, name), "text")
