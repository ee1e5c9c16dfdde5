"""The `qa` command line: every command is a thin call into the library."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from qa.errors import ConfigError, QAError

F = TypeVar("F", bound=Callable[..., Any])
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def _errors_to_exit(func: F) -> F:
    """Print library errors as one clear line and exit with status 1 (2 for usage errors)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except QAError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log progress details.")
def main(verbose: bool) -> None:
    """Answer questions about 九龙坡区 from its published reports, with exact citations."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format=LOG_FORMAT)


def _service() -> Any:
    from qa.service import Service

    return Service.from_settings()


@main.command()
@click.option("--rebuild", is_flag=True, help="Ignore the current index and build from scratch.")
@_errors_to_exit
def build(rebuild: bool) -> None:
    """Index corpus/ (only what changed since the last build)."""
    from qa.config import get_settings
    from qa.embed import load_embedder
    from qa.index import build as build_index

    settings = get_settings()
    embedder = load_embedder(settings.model, settings.model_cache, runtime=settings.embed_runtime)
    bar = _ProgressBar()
    report = build_index(settings, embedder, rebuild=rebuild, progress=bar.update)
    bar.close()
    for problem in report.problems:
        click.echo(f"skipped {problem.path}: {problem.reason}", err=True)
    _echo_report(report)


class _ProgressBar:
    """One tqdm bar that follows the build's stages: pages of each file read, documents indexed."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=0, unit="doc", desc="indexing", disable=None)
        self.stage = ""

    def update(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self.stage = stage
            reading = stage.startswith("reading")
            self.bar.unit = "page" if reading else "doc"
            self.bar.set_description(stage if reading else "indexing", refresh=False)
            self.bar.reset(total=total)
        self.bar.total = total
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def _echo_report(report: Any) -> None:
    for note in report.notes:  # damaged versions passed over, and what the index was rebuilt from
        click.echo(note, err=True)
    rate = report.chunks / report.seconds if report.seconds else 0.0
    state = "rebuilt" if report.changed else "already up to date"
    click.echo(
        f"index {report.version} {state}: {report.documents} documents, {report.chunks} chunks, "
        f"{report.figures} figures; {len(report.added)} added, {len(report.removed)} removed, "
        f"{report.embedded} passages embedded (chunks and their sentence windows), {report.reused} from cache; "
        + (f"{report.retokenized} chunks re-cut with a changed vocabulary; " if report.retokenized else "")
        + f"{report.seconds:.1f} s ({rate:.1f} chunks/s)"
    )
    for reprint, original in sorted(report.reprints.items()):
        if reprint in report.added:
            click.echo(f"{reprint} repeats {original}: kept as its reprint, not indexed again")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--title", help="Title (one file only; else each file's own title or first line).")
@click.option("--date", help="Date YYYY-MM-DD (one file only; else the date the file gives, if any).")
@click.option("--source", help="Publisher, for every file.")
@_errors_to_exit
def add(files: tuple[Path, ...], title: str | None, date: str | None, source: str | None) -> None:
    """Add FILES (PDF, DOCX, HTML, XLSX, CSV, OFD, images, text) to corpus/ and index them.

    A file that cannot be read is reported and skipped; the others are added. Exit status 1 if any was skipped.
    """
    from qa.config import get_settings
    from qa.embed import load_embedder
    from qa.intake import add_files

    if len(files) > 1 and (title or date):
        raise click.UsageError("--title and --date need a single file")
    settings = get_settings()
    bar = _ProgressBar()
    try:
        report = add_files(settings, lambda: load_embedder(settings.model, settings.model_cache), files,
                           title=title, date=date, source=source, progress=bar.update)
    finally:
        bar.close()
    for problem in report.skipped:
        click.echo(f"skipped {problem.path}: {problem.reason}", err=True)
    for doc in report.added:
        paged = f", {doc.pages} pages" if doc.pages else ""
        count = len(doc.layout.tables) if doc.layout is not None else 0
        tables = f", {count} table{'s' if count > 1 else ''}" if count else ""
        click.echo(f"added {doc.doc_id} ({doc.format}{paged}{tables}): {doc.title}")
        for note in doc.layout.notes if doc.layout is not None else ():
            click.echo(f"  {note}")
    if report.build is not None:
        _echo_report(report.build)
    if report.skipped:
        sys.exit(1)


@main.command()
@click.argument("question")
@click.option("-k", "--top-k", "k", default=5, show_default=True, help="How many passages.")
@click.option("--mode", type=click.Choice(["hybrid", "dense", "lexical"]), default="hybrid", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_errors_to_exit
def search(question: str, k: int, mode: str, as_json: bool) -> None:
    """Show the passages that best match QUESTION, with document ids and exact offsets."""
    service = _service()
    citations = service.search(question, k=k, mode=mode)
    if as_json:
        click.echo(json.dumps([c.__dict__ for c in citations], ensure_ascii=False, indent=2))
        return
    from qa.normalize import normalize

    for c in citations:
        click.echo(f"[{c.id}] {c.doc_id} {c.start}-{c.end} score={c.score:.3f}  {c.title} ({c.date or '日期不详'})")
        click.echo("    " + normalize(c.text).text.replace("\n", " "))  # whole passage, wraps repaired


@main.command()
@click.argument("question")
@click.option("-k", "--top-k", "k", default=5, show_default=True, help="How many passages to cite at most.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as the API returns it.")
@_errors_to_exit
def ask(question: str, k: int, as_json: bool) -> None:
    """Answer QUESTION with citations and figures."""
    from qa.response import answer_to_dict

    service = _service()
    result = service.ask(question, top_k=k)
    if as_json:
        click.echo(json.dumps(answer_to_dict(result), ensure_ascii=False, indent=2))
        return
    click.echo(result.text)
    for c in result.citations:
        click.echo(f"  [{c.id}] {c.title} ({c.date or '日期不详'}) {c.doc_id}:{c.start}-{c.end}")


@main.command(name="eval")
@click.argument("questions", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="Write metrics as JSON.")
@click.option("--report", "report_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a Markdown report (with a chart beside it).")
@click.option("--mode", "modes", multiple=True, type=click.Choice(["hybrid", "dense", "lexical"]),
              help="Retrieval modes to compare (default: all three).")
@_errors_to_exit
def evaluate(questions: Path, json_out: Path | None, report_out: Path | None, modes: tuple[str, ...]) -> None:
    """Score retrieval and answers on a JSONL question set."""
    from qa.evaluate import load_questions, render_summary, run_eval, write_report

    service = _service()
    items = load_questions(questions)
    result = run_eval(service, items, modes=modes or ("hybrid", "dense", "lexical"))
    click.echo(render_summary(result))
    if json_out:
        json_out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    if report_out:
        write_report(result, report_out)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-ui", is_flag=True, help="Serve the HTTP API only.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Worker processes sharing the port and the index (default: QA_WORKERS, else 1).")
@_errors_to_exit
def serve(host: str, port: int, no_ui: bool, workers: int | None) -> None:
    """Serve the HTTP API and the chat UI (building the index first if needed)."""
    from qa.api.server import serve as run_server
    from qa.config import get_settings

    settings = get_settings()
    workers = workers or settings.workers
    if workers > 1 and settings.backend == "milvus" and not settings.milvus_address().startswith(("http://",
                                                                                                   "https://")):
        raise ConfigError(f"{workers} workers cannot share Milvus Lite ({settings.milvus_address()}), which serves "
                          "one process at a time: run one worker, or set QA_MILVUS_URI to a Milvus server")
    plural = f" in {workers} worker processes" if workers > 1 else ""
    click.echo(f"qa: serving on http://{host}:{port}/{plural} (API docs at /docs)")
    run_server(host, port, ui=not no_ui, settings=settings, workers=workers)


@main.group()
def keys() -> None:
    """Manage API keys."""


@keys.command("create")
@click.option("--name", required=True, help="Who the key is for, e.g. portal.")
@click.option("--admin", is_flag=True, help="Allow document upload, delete and reindex.")
@_errors_to_exit
def keys_create(name: str, admin: bool) -> None:
    """Create a key; it is shown once and stored only as a hash."""
    from qa.api.keys import KeyStore
    from qa.config import get_settings

    key = KeyStore.open(get_settings().state_dir).create(name, admin=admin)
    click.echo(key)


@keys.command("revoke")
@click.argument("key_id", type=int)
@_errors_to_exit
def keys_revoke(key_id: int) -> None:
    """Revoke the key with id KEY_ID (see `qa keys list`); it stops working at once."""
    from qa.api.keys import KeyStore
    from qa.config import get_settings

    KeyStore.open(get_settings().state_dir).revoke(key_id)
    click.echo(f"key {key_id} revoked")


@keys.command("rotate")
@click.argument("key_id", type=int)
@_errors_to_exit
def keys_rotate(key_id: int) -> None:
    """Replace key KEY_ID by a new one with the same name and role; prints the new key once."""
    from qa.api.keys import KeyStore
    from qa.config import get_settings

    click.echo(KeyStore.open(get_settings().state_dir).rotate(key_id))


@keys.command("list")
@_errors_to_exit
def keys_list() -> None:
    """List keys (names and roles, never the keys)."""
    from qa.api.keys import KeyStore
    from qa.config import get_settings

    for row in KeyStore.open(get_settings().state_dir).list_keys():
        click.echo(f"{row['id']}\t{row['name']}\t{'admin' if row['admin'] else 'read'}\t{row['created_at']}")


if __name__ == "__main__":
    main()
