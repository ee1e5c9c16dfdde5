"""qa: answers about 九龙坡区 from its published reports, with exact citations and extracted figures.

The public surface is what ``__all__`` lists; heavy dependencies (torch, FAISS, jieba) load only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "Chunk",
    "Citation",
    "CitedFigure",
    "Document",
    "Figure",
    "Hit",
    "QAError",
    "Service",
    "Settings",
    "__version__",
    "answer",
    "build",
    "chunk_document",
    "extract_figures",
    "get_settings",
    "load_corpus",
    "normalize",
    "search",
]

_LAZY = {
    "Answer": "qa.types",
    "Chunk": "qa.types",
    "Citation": "qa.types",
    "CitedFigure": "qa.types",
    "Document": "qa.types",
    "Figure": "qa.types",
    "Hit": "qa.types",
    "QAError": "qa.errors",
    "Service": "qa.service",
    "Settings": "qa.config",
    "answer": "qa.answer",
    "build": "qa.index",
    "chunk_document": "qa.chunk",
    "extract_figures": "qa.figures",
    "get_settings": "qa.config",
    "load_corpus": "qa.ingest",
    "normalize": "qa.normalize",
    "search": "qa.retrieve",
}

if TYPE_CHECKING:
    from qa.answer import answer
    from qa.chunk import chunk_document
    from qa.config import Settings, get_settings
    from qa.errors import QAError
    from qa.figures import extract_figures
    from qa.index import build
    from qa.ingest import load_corpus
    from qa.normalize import normalize
    from qa.retrieve import search
    from qa.service import Service
    from qa.types import Answer, Chunk, Citation, CitedFigure, Document, Figure, Hit


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'qa' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
