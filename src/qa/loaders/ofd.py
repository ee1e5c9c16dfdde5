"""OFD (GB/T 33190), the Chinese e-government layout format: a ZIP of XML pages; text per page, in order.

Each page's ``TextObject`` elements are read with their ``Boundary`` (millimetres); objects on one baseline
make one line, and lines make paragraphs where the layout says so (indent, gap, short line), as for PDF.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from qa.errors import DocumentParseError
from qa.loaders import Context
from qa.loaders.base import Loaded, TextBuilder
from qa.loaders.layout import Block, TextLine, add_page_lines, drop_margins, group_lines
from qa.loaders.zipsafe import open_zip

_BOX = re.compile(r"^\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*$")


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(el: Any, name: str) -> Any:
    return next((c for c in el if _local(c.tag) == name), None)


def load(data: bytes, name: str, context: Context) -> Loaded:
    """The text of every page, with the document's title from its DocInfo."""
    from lxml import etree

    archive = open_zip(data, name, context.limits)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)

    def read(path: str) -> Any:
        try:
            return etree.fromstring(archive.read(path), parser)
        except KeyError as exc:
            raise DocumentParseError(f"{name}: the OFD package has no {path}") from exc

    root = read("OFD.xml" if "OFD.xml" in archive.namelist() else "ofd.xml")
    body = next((el for el in root.iter() if _local(el.tag) == "DocBody"), None)
    if body is None or _child(body, "DocRoot") is None:
        raise DocumentParseError(f"{name}: the OFD package names no document (DocBody/DocRoot)")
    meta: dict[str, str] = {}
    info = _child(body, "DocInfo")
    if info is not None and _child(info, "Title") is not None and (_child(info, "Title").text or "").strip():
        meta["title"] = _child(info, "Title").text.strip()
    doc_path = (_child(body, "DocRoot").text or "").strip().lstrip("/")
    document = read(doc_path)
    base = posixpath.dirname(doc_path)
    box = next((el for el in document.iter() if _local(el.tag) == "PhysicalBox"), None)
    default_size = _size(box.text if box is not None else "0 0 210 297")
    pages = [el for el in document.iter() if _local(el.tag) == "Page" and el.get("BaseLoc")]
    if len(pages) > context.limits.max_pages:
        raise DocumentParseError(f"{name}: {len(pages)} pages, more than the limit of {context.limits.max_pages}")
    read_pages: list[list[Block]] = []
    for n, page in enumerate(pages, 1):
        content = read(posixpath.normpath(posixpath.join(base, page.get("BaseLoc").lstrip("/"))))
        area = next((el for el in content.iter() if _local(el.tag) == "PhysicalBox"), None)
        width, height = _size(area.text) if area is not None else default_size
        read_pages.append(list(_lines(content, width, height)))
        if context.progress:
            context.progress(n, len(pages))
    builder = TextBuilder()
    previous: list[TextLine] = []
    for n, blocks in enumerate(drop_margins(read_pages), 1):
        previous = add_page_lines(builder, blocks, previous, page=n)
    return builder.result("ofd", meta)


def _size(text: str | None) -> tuple[float, float]:
    m = _BOX.match(text or "")
    return (float(m.group(3)), float(m.group(4))) if m else (210.0, 297.0)


def _lines(content: Any, width: float, height: float) -> list[TextLine]:
    """Text objects grouped into lines by their vertical position, read left to right."""
    pieces = []
    for obj in content.iter():
        if _local(obj.tag) != "TextObject":
            continue
        m = _BOX.match(obj.get("Boundary", ""))
        text = "".join(code.text or "" for code in obj if _local(code.tag) == "TextCode")
        if not m or not text.strip():
            continue
        x, y, w, h = (float(g) for g in m.groups())
        pieces.append((x / width, y / height, (x + w) / width, (y + h) / height, text))
    return [TextLine(text, box) for text, box in group_lines(pieces)]
