"""Request and response models of the v1 contract (names are relied on by other systems: keep them)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Request
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, ValidationError

from qa.errors import CorpusError, NotFoundError, QueryError
from qa.ingest import check_date, check_doc_id, check_text, decode
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
# Changes to the index can also meet a full disk (507, nothing changed) or a full queue (503 busy).
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {**ERRORS, 507: {"model": ErrorBody}}
# /healthz and /readyz take no input, but a body over the limit is still refused.
OPS_ERRORS: dict[int | str, dict[str, Any]] = {413: {"model": ErrorBody}}


class Turn(BaseModel):
    question: Text = Field(max_length=MAX_QUESTION_CHARS)
    answer: Text = Field("", max_length=10000)


# What a question must be, for the OpenAPI document only: the route checks it with check_question, whose
# messages are exact, against the app's own max_question_chars (create_app puts that number in the document).
QUESTION_SCHEMA: dict[str, Any] = {"minLength": 1, "maxLength": 500, "pattern": r"[^\s\u001c-\u001f]"}


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
    status: str = Field(description="ready, or degraded: still answering, with issues listing what is wrong")
    index: str
    documents: int
    chunks: int
    model: str
    issues: list[ErrorDetail] = Field(default_factory=list)
    worker: int = Field(description="process id of the worker that answered (`qa serve --workers N` runs N)")


class TrashedOut(BaseModel):
    doc_id: str
    title: str
    deleted_at: str


# What an upload's fields must be, for the OpenAPI document only (read_upload checks them with exact messages):
# text that is not blank and holds no NUL, an id of letters, digits, '_', '-' and single dots, a date
# YYYY[-MM[-DD]].
# Python's str.strip() also strips U+001C-U+001F, which Unicode's White_Space (and so \s in ECMA) leaves out.
_BLANK = r"\s\u001c-\u001f"
DOCUMENT_TEXT_SCHEMA: dict[str, Any] = {"pattern": rf"^[^\u0000]*[^{_BLANK}\u0000][^\u0000]*$"}
DOC_ID_SCHEMA: dict[str, Any] = {"pattern": r"^[A-Za-z0-9](?:[A-Za-z0-9_-]|\.[A-Za-z0-9_-])*\.?$", "maxLength": 64}
_YEAR = "[1-9][0-9]{3}"
_LEAP_YEAR = "(?:[1-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:1[26]|[2468][048]|[3579][26])00)"
_MONTH_DAY = ("(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
              "|02-(?:0[1-9]|1[0-9]|2[0-8]))")
DATE_SCHEMA: dict[str, Any] = {
    "pattern": f"^(?:{_YEAR}(?:-(?:0[1-9]|1[0-2]))?|{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)$"}


class UploadJson(BaseModel):
    title: Text = Field(min_length=1, max_length=200)
    text: Text = Field(min_length=1, json_schema_extra=DOCUMENT_TEXT_SCHEMA)
    doc_id: Text | None = Field(None, max_length=64, json_schema_extra=DOC_ID_SCHEMA)
    date: Text | None = Field(None, max_length=10, json_schema_extra=DATE_SCHEMA)
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
                        # a .txt or .md file of UTF-8 text, or the text itself as a plain form field
                        "file": {"type": "string", "contentMediaType": "text/plain", "minLength": 1,
                                 **DOCUMENT_TEXT_SCHEMA},
                        "title": {"type": "string"},
                        # an empty form field counts as absent
                        "doc_id": {"type": "string", **DOC_ID_SCHEMA, "pattern": "^$|" + DOC_ID_SCHEMA["pattern"]},
                        "date": {"type": "string", "pattern": "^$|" + DATE_SCHEMA["pattern"]},
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
        if upload is None or upload == "":
            raise QueryError("multipart upload needs a 'file' field")
        if isinstance(upload, str):  # the text itself, sent as a plain form field
            text = check_text(upload)
            suffix = ".md" if text.lstrip().startswith("#") else ".txt"
            data: bytes | None = None
            name = ""
        else:
            name = (upload.filename or "upload").replace("\\", "/").rsplit("/", 1)[-1] or "upload"
            name = with_suffix(name, upload.content_type)  # a name without a suffix: the part's MIME type says it
            if "." not in name:
                name += ".txt"
            suffix = "." + name.rsplit(".", 1)[-1].lower()
            data = await upload.read()
            detect_format(name, data)  # unsupported types and lying suffixes are refused before anything else
            text = check_text(decode(data, name)) if suffix in (".txt", ".md") else ""
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
    except RecursionError:
        raise QueryError("body is not valid JSON: nested too deeply") from None
    except ValueError as exc:  # an integer of more than 4300 digits (Python's limit on int conversion)
        if isinstance(exc, ValidationError):
            raise QueryError(describe_validation(exc.errors())) from None
        raise QueryError("body is not valid JSON: a number is too long") from None
    check_text(body.text)
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


SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "an API key: Authorization: Bearer <key>"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "an API key"},
}


def document_security(document: dict[str, Any], reads_need_a_key: bool) -> None:
    """Say in the OpenAPI document which operations need a key (admin ones always) and which take one."""
    document.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    keyed: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}]
    for path, item in document["paths"].items():
        for operation in item.values():
            if not path.startswith("/v1/"):
                continue
            admin = "admin" in operation.get("tags", [])
            operation["security"] = keyed if admin or reads_need_a_key else [{}, *keyed]
