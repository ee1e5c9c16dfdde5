"""OCR, offline: RapidOCR (PP-OCRv4 Chinese detection and recognition) on onnxruntime.

The models ship inside the ``rapidocr-onnxruntime`` wheel; nothing is downloaded. The engine (about 700 MB
with onnxruntime's buffers) is loaded when a document needs OCR, shared by the documents being read at the
same time (onnxruntime sessions are thread-safe for inference), and let go when the last of them is done,
so a server that OCR'd one upload does not keep the memory.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from qa.loaders.layout import TextLine, group_lines

_LOCK = threading.Lock()
_ENGINE: Any = None
_USERS = 0
MIN_SCORE = 0.5
# The recogniser reads a Chinese ellipsis (……) as dots and middle dots (·…·, .·); put it back, so sentences end
# where the printed text ends them. A decimal point stands alone between digits and is not touched.
_ELLIPSIS = re.compile(r"[.·…．]{2,}")


@contextmanager
def session() -> Iterator[Any]:
    """The shared RapidOCR engine for the time of one document's OCR."""
    global _ENGINE, _USERS
    with _LOCK:
        if _ENGINE is None:
            from rapidocr_onnxruntime import RapidOCR

            _ENGINE = RapidOCR(print_verbose=False)
        _USERS += 1
        engine = _ENGINE
    try:
        yield engine
    finally:
        with _LOCK:
            _USERS -= 1
            if _USERS == 0:
                _ENGINE = None


def read_image(image: Any, engine: Any) -> list[TextLine]:
    """The text lines of a PIL image, top to bottom, with boxes as fractions of the image."""
    import numpy as np

    rgb = image.convert("RGB")
    width, height = rgb.size
    pixels = np.asarray(rgb)[:, :, ::-1].copy()  # RapidOCR takes OpenCV's BGR order
    # No angle classifier: pages are upright, and it turned whole upright lines of Chinese upside down (then
    # dropped as unreadable) on the test scans.
    result, _ = engine(pixels, use_cls=False)
    pieces = []
    for points, text, score in result or []:
        if float(score) < MIN_SCORE or not str(text).strip():
            continue
        xs = [float(p[0]) for p in points]
        ys = [float(p[1]) for p in points]
        text = _ELLIPSIS.sub("……", str(text).strip())
        pieces.append((min(xs) / width, min(ys) / height, max(xs) / width, max(ys) / height, text))
    return [TextLine(text, box) for text, box in group_lines(pieces)]
