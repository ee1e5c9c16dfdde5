"""Adding files to the corpus and indexing them in one step (``qa add``).

Each file is converted before it is written; a file that cannot be read is reported and the others go on.
The build that follows indexes them all at once; if it fails, the files it was given are taken out again,
so nothing is left half-indexed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qa.config import Settings, read_limits
from qa.embed import Embedder
from qa.errors import QAError
from qa.index import BuildReport, Progress, build
from qa.ingest import DOC_ID, Problem, add_file, remove_document
from qa.loaders import Context
from qa.types import Document


@dataclass
class AddReport:
    """What ``add_files`` did: documents added, files skipped and why, and the build."""

    added: list[Document] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    build: BuildReport | None = None


def doc_id_for(path: Path) -> str | None:
    """The file's stem when it is a safe document id (``report_2024.pdf``), else None (a content hash is used)."""
    return path.stem if DOC_ID.fullmatch(path.stem) and ".." not in path.stem else None


def add_files(settings: Settings, embedder: Callable[[], Embedder], files: Sequence[Path], *,
              title: str | None = None, date: str | None = None, source: str | None = None,
              progress: Progress | None = None) -> AddReport:
    """Convert and store each file, then index them; ``embedder`` is called only if something was added."""
    report = AddReport()
    for path in files:
        def pages(done: int, total: int, name: str = path.name) -> None:
            if progress:
                progress(f"reading {name}", done, total)

        try:
            doc = add_file(settings.corpus_dir, path.name, path.read_bytes(), title=title, date=date,
                           source=source, doc_id=doc_id_for(path),
                           context=Context(limits=read_limits(settings), progress=pages))
        except (QAError, OSError) as exc:
            report.skipped.append(Problem(str(path), str(exc)))
            continue
        report.added.append(doc)
    if report.added:
        try:
            report.build = build(settings, embedder(), progress=progress)
        except BaseException:
            for doc in report.added:
                remove_document(settings.corpus_dir, doc.doc_id)
            raise
    return report
