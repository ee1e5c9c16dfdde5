"""Request and response models of the v1 contract (names are relied on by other systems: keep them)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Request
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, ValidationError

from qa.errors import CorpusError, DocumentParseError, NotFoundError, QueryError
from qa.ingest import check_date, check_doc_id, decode
from qa.loaders import detect_format, with_suffix
from qa.query import MAX_QUESTION_CHARS
from qa.types import Document, Figure


def _unicode(value: str) -> str:
    """Refuse lone surrogates: JSON can carry them (``"\\ud800"``) but no encoder downstream can."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"must be valid Unicode text (lone surrogate at position {exc.start})") from None
    return value


def _json_integer(value: Any) -> Any:
    """JSON Schema's integer: 5 and 5.0 are, true and "5" are not (pydantic's lax mode takes all four)."""
    if isinstance(value, bool | str):
        raise ValueError("Input should be a valid integer")
    return value


# Every free-text field of a request body is Text, every count or rating Integer.
Text = Annotated[str, AfterValidator(_unicode)]
Integer = Annotated[int, BeforeValidator(_json_integer)]


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody} for status in (400, 401, 403, 404, 409, 413, 422, 429, 503)
}


class Turn(BaseModel):
    question: Text = Field(max_length=MAX_QUESTION_CHARS)
    answer: Text = Field("", max_length=10000)


# What a question must be, for the OpenAPI document only: the route checks it with check_question, whose
# messages are exact, against the app's own max_question_chars (create_app puts that number in the document).
QUESTION_SCHEMA: dict[str, Any] = {"minLength": 1, "maxLength": 500, "pattern": r"\S"}


class AskRequest(BaseModel):
    question: Text = Field(description="the question; not blank, at most max_question_chars characters",
                          json_schema_extra=QUESTION_SCHEMA)
    top_k: Integer = Field(5, ge=1, le=20)
    history: list[Turn] = Field(default_factory=list, max_length=20)


class Citation(BaseModel):
    id: int
    doc_id: str
    title: str
    date: str | None
    chunk_id: str
    start: int
    end: int
    text: str
    score: float
    quote_start: int | None = Field(None, description="raw offset where the quoted sentence starts (start <= quote_start)")
    quote_end: int | None = Field(None, description="raw offset where the quoted sentence ends (quote_end <= end)")
    page: int | None = Field(None, description="PDF, OFD, image: the page the passage starts on (1-based)")
    page_end: int | None = Field(None, description="the page it ends on, when that is another page")
    table: int | None = Field(None, description="the table (1-based in its document) the passage is in")
    row: int | None = Field(None, description="the row of the cited cell in that table's grid (1-based)")
    column: int | None = Field(None, description="the column of the cited cell (1-based)")


class FigureRef(BaseModel):
    value: float
    unit: str
    metric: str | None
    year: int | None
    qualifier: str | None
    text: str
    citation: int
    table: int | None = None
    row: int | None = None
    column: int | None = None


class AskResponse(BaseModel):
    question: str
    found: bool
    answer: str
    citations: list[Citation]
    figures: list[FigureRef]
    took_ms: float
    resolved_question: str = ""
    notes: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)


class DocumentMeta(BaseModel):
    doc_id: str
    title: str
    date: str | None
    source: str | None
    date_note: str | None
    chars: int
    format: str = Field("text", description="text, pdf, docx, html, xlsx, csv, ofd or image")
    pages: int = Field(0, description="pages of a PDF, OFD or image document")
    duplicate_of: str | None = Field(None, description="a reprint: the document it repeats (it is not indexed)")
    index_no: str | None = Field(None, description="索引号")
    doc_no: str | None = Field(None, description="发文字号")


class DocumentFull(DocumentMeta):
    text: str


class FigureOut(BaseModel):
    doc_id: str
    start: int
    end: int
    value: float
    unit: str
    metric: str | None
    year: int | None
    period: str | None
    qualifier: str | None
    kind: str
    text: str
    table: int | None = None
    row: int | None = None
    column: int | None = None


class FeedbackIn(BaseModel):
    question: Text = Field(min_length=1, max_length=2000)
    answer: Text = Field("", max_length=20000)
    rating: Integer = Field(ge=-1, le=1, description="1 helpful, -1 not helpful, 0 neutral")
    comment: Text | None = Field(None, max_length=2000)


class FeedbackOut(BaseModel):
    id: int
    status: str


class UploadOut(DocumentMeta):
    chunks_embedded: int
    index: str
    notes: list[str] = Field(default_factory=list, description="what the uploader should know: a reprint, OCR")


class DeleteOut(BaseModel):
    doc_id: str
    status: str
    index: str


class ReindexOut(BaseModel):
    index: str
    documents: int
    chunks: int
    added: list[str]
    removed: list[str]
    seconds: float


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    index: str
    documents: int
    chunks: int
    model: str


class UploadJson(BaseModel):
    title: Text = Field(min_length=1, max_length=200)
    text: Text = Field(min_length=1)
    doc_id: Text | None = Field(None, max_length=64)
    date: Text | None = Field(None, max_length=10)
    source: Text | None = Field(None, max_length=500)


UPLOAD_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": UploadJson.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "title": {"type": "string"},
                        "doc_id": {"type": "string"},
                        "date": {"type": "string"},
                        "source": {"type": "string"},
                    },
                }
            },
        },
    }
}


@dataclass(frozen=True)
class UploadFields:
    text: str
    title: str
    doc_id: str | None
    date: str | None
    source: str | None
    suffix: str
    data: bytes | None = None  # a file upload: its bytes and name, converted by its format's loader
    name: str = ""


async def read_upload(request: Request) -> UploadFields:
    """Read an upload sent as JSON or as a multipart form with a ``file``."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise QueryError("multipart upload needs a 'file' field")
        name = (upload.filename or "upload").replace("\\", "/").rsplit("/", 1)[-1] or "upload"
        name = with_suffix(name, upload.content_type)  # a name without a suffix: the part's MIME type says it
        if "." not in name:
            name += ".txt"
        suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ".txt"
        data = await upload.read()
        detect_format(name, data)  # unsupported types and lying suffixes are refused before anything else
        text = decode(data, name) if suffix in (".txt", ".md") else ""
        title = _opt(form.get("title")) or ""
        return _checked(UploadFields(text, title, _opt(form.get("doc_id")), _opt(form.get("date")),
                                     _opt(form.get("source")), suffix, data, name))
    try:
        payload = json.loads(await request.body())
        body = UploadJson.model_validate(payload)
    except json.JSONDecodeError as exc:
        raise QueryError(f"body is not valid JSON: {exc.msg} at position {exc.pos}") from None
    except UnicodeDecodeError as exc:  # json.loads decodes bytes itself, and that is not a JSONDecodeError
        raise QueryError(f"body is not valid JSON: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except ValidationError as exc:
        raise QueryError(describe_validation(exc.errors())) from None
    if not body.text.strip():
        raise DocumentParseError("empty document")
    return _checked(UploadFields(body.text, body.title, body.doc_id, body.date, body.source,
                                 ".md" if body.text.lstrip().startswith("#") else ".txt"))


def _checked(fields: UploadFields) -> UploadFields:
    """Refuse a bad id or date as a bad request (422) before anything is written.

    The library reports them as NotFoundError and CorpusError, which mean 404 and 409 on a lookup or a
    clash; for an upload they are invalid input.
    """
    try:
        if fields.doc_id is not None:
            check_doc_id(fields.doc_id)
        check_date(fields.date)
    except (NotFoundError, CorpusError) as exc:
        raise QueryError(str(exc)) from None
    return fields


def _opt(value: Any) -> str | None:
    """A form field as text; files and empty strings count as absent."""
    return value if isinstance(value, str) and value != "" else None


def describe_validation(errors: Sequence[Any]) -> str:
    """One readable line for pydantic validation errors, e.g. ``body.top_k: must be at least 1``."""
    parts = []
    for err in errors:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if err.get("type") == "json_invalid":
            # loc is ("body", <character position>); say it the way read_upload does
            reason = (err.get("ctx") or {}).get("error", "invalid JSON")
            where = next((p for p in err.get("loc", ()) if isinstance(p, int)), None)
            parts.append(f"body is not valid JSON: {reason}" + (f" at position {where}" if where is not None else ""))
            continue
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts) or "invalid request"


def upload_notes(doc: Document) -> list[str]:
    """What the uploader is told about the stored document."""
    notes = []
    if doc.duplicate_of:
        notes.append(f"this document repeats {doc.duplicate_of} (a near-duplicate): it is kept as a reprint of it "
                     "and not indexed again, so answers cite the first copy only")
    if doc.layout is not None:
        notes.extend(doc.layout.notes)
    return notes


def document_meta(doc: Document) -> dict[str, Any]:
    """The public metadata of a document."""
    return {"doc_id": doc.doc_id, "title": doc.title, "date": doc.date, "source": doc.source,
            "date_note": doc.date_note, "chars": len(doc.text), "format": doc.format, "pages": doc.pages,
            "duplicate_of": doc.duplicate_of, "index_no": doc.index_no, "doc_no": doc.doc_no}


def figure_out(fig: Figure) -> dict[str, Any]:
    """A figure as ``/v1/figures`` lists it."""
    return {"doc_id": fig.doc_id, "start": fig.start, "end": fig.end, "value": fig.value, "unit": fig.unit,
            "metric": fig.metric, "year": fig.year, "period": fig.period, "qualifier": fig.qualifier,
            "kind": fig.kind, "text": fig.text, "table": fig.table, "row": fig.row, "column": fig.column}
