"""Page images: a page of a PDF or image document, rendered offline, with a cited passage marked on it.

The passage is found on the page through the line boxes its loader kept (:class:`qa.loaders.Line`): each
line that holds part of the passage is marked, a partly cited line only along the part cited (in
proportion to its characters). PDF pages are rendered by pdfium; nothing is fetched.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from qa.errors import NotFoundError, QueryError
from qa.loaders import Box, Loaded

PAGE_WIDTH = 900  # pixels: enough to read a 公文 at phone and side-panel sizes
MAX_WIDTH = 2000
MARK = (250, 204, 21, 96)  # translucent yellow, the colour of a cited span in the text
EDGE = (202, 138, 4, 255)


def marked_boxes(layout: Loaded, page: int, start: int, end: int) -> list[Box]:
    """Boxes (fractions of the page) covering text ``[start, end)`` on ``page``."""
    boxes: list[Box] = []
    for line in layout.pages[page - 1].lines:
        a, b = max(start, line.start), min(end, line.end)
        if a >= b:
            continue
        x0, y0, x1, y1 = line.box
        size = max(1, line.end - line.start)
        left = x0 + (x1 - x0) * (a - line.start) / size
        right = x0 + (x1 - x0) * (b - line.start) / size
        boxes.append((left, y0, right, y1))
    return boxes


def render_page(path: Path, fmt: str, layout: Loaded, page: int, mark: tuple[int, int] | None = None,
                width: int = PAGE_WIDTH) -> bytes:
    """PNG of page ``page`` (1-based) of a PDF or image document, with text ``mark`` = (start, end) marked."""
    from PIL import Image, ImageDraw

    if fmt not in ("pdf", "image"):
        raise QueryError(f"page images are made for PDF and image documents, not for {fmt}")
    if not 1 <= page <= len(layout.pages):
        raise NotFoundError(f"no page {page}: the document has {len(layout.pages)} pages")
    if not 100 <= width <= MAX_WIDTH:
        raise QueryError(f"width must be between 100 and {MAX_WIDTH} pixels")
    if not path.is_file():
        raise NotFoundError(f"the original file {path.name} is no longer in the corpus")
    image = _render_pdf(path, page, width) if fmt == "pdf" else _render_image(path, page, width)
    if mark is not None:
        overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        w, h = image.size
        for x0, y0, x1, y1 in marked_boxes(layout, page, *mark):
            box = (x0 * w - 2, y0 * h - 2, x1 * w + 2, y1 * h + 2)
            draw.rectangle(box, fill=MARK)
            draw.line([(box[0], box[3]), (box[2], box[3])], fill=EDGE, width=2)
        image = Image.alpha_composite(image.convert("RGBA"), overlay)
    out = io.BytesIO()
    image.convert("RGB").save(out, "PNG", optimize=True)
    return out.getvalue()


def _render_pdf(path: Path, page: int, width: int) -> Any:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        sheet = pdf[page - 1]
        try:
            bitmap = sheet.render(scale=width / sheet.get_width())
            image = bitmap.to_pil()
            bitmap.close()
        finally:
            sheet.close()
    finally:
        pdf.close()
    return image


def _render_image(path: Path, page: int, width: int) -> Any:
    from PIL import Image

    with Image.open(path) as source:
        source.seek(page - 1)
        frame = source.convert("RGB")
    height = round(frame.height * width / frame.width)
    return frame.resize((width, height))
