"""Refuse ZIP-based files (DOCX, XLSX, OFD) that would inflate beyond the limits before any parser opens them."""

from __future__ import annotations

import io
import zipfile

from qa.errors import DocumentParseError
from qa.loaders import Limits


def open_zip(data: bytes, name: str, limits: Limits) -> zipfile.ZipFile:
    """The archive, after checking member count, total inflated size and compression ratio.

    A member is never inflated beyond the size its header declares (``zipfile`` stops there and checks the
    CRC), so checking the declared sizes bounds the work.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DocumentParseError(f"{name}: damaged ZIP container ({exc})") from exc
    if len(members) > limits.max_zip_members:
        raise DocumentParseError(f"{name}: {len(members)} parts inside the file, more than the limit of "
                                 f"{limits.max_zip_members}; refused as unsafe")
    total = sum(m.file_size for m in members)
    if total > limits.max_unzipped_bytes:
        raise DocumentParseError(f"{name}: would inflate to {total // (1024 * 1024)} MB, more than the limit of "
                                 f"{limits.max_unzipped_bytes // (1024 * 1024)} MB; refused as unsafe (zip bomb?)")
    for m in members:
        if m.compress_size and m.file_size > 1024 * 1024 and m.file_size / m.compress_size > limits.max_zip_ratio:
            raise DocumentParseError(f"{name}: part {m.filename} is compressed {m.file_size // m.compress_size}:1, "
                                     f"more than the limit of {limits.max_zip_ratio}:1; refused as unsafe (zip bomb?)")
    return archive
