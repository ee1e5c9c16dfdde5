"""Images (scans and photos of pages: PNG, JPEG, TIFF, BMP, WebP): one page, read by OCR."""

from __future__ import annotations

import io

from qa.errors import DocumentParseError
from qa.loaders import Context
from qa.loaders.base import Loaded, TextBuilder
from qa.loaders.layout import add_page_lines, drop_margins

MAX_PIXELS = 60_000_000


def load(data: bytes, name: str, context: Context) -> Loaded:
    """Each frame of the image (a multi-page TIFF has several) as one page."""
    from PIL import Image

    from qa.loaders.ocr import read_image, session

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        image = Image.open(io.BytesIO(data))
        frames = getattr(image, "n_frames", 1)
    except (OSError, Image.DecompressionBombError) as exc:
        raise DocumentParseError(f"{name}: not a readable image ({exc})") from exc
    if frames > context.limits.max_ocr_pages:
        raise DocumentParseError(f"{name}: {frames} pages to read by OCR, more than the limit of "
                                 f"{context.limits.max_ocr_pages}")
    pages = []
    with session() as engine:
        for n in range(frames):
            image.seek(n)
            pages.append(list(read_image(image, engine)))
            if context.progress:
                context.progress(n + 1, frames)
    builder = TextBuilder()
    previous: list = []
    for n, blocks in enumerate(drop_margins(pages), 1):
        previous = add_page_lines(builder, blocks, previous, page=n, ocr=True)
    if not builder.length:
        raise DocumentParseError(f"{name}: no text was recognised in the image")
    return builder.result("image", notes=("全文由OCR识别，个别字词可能有误",))
