"""FastAPI application: the ``/v1`` routes, error bodies, keys, limits and the chat UI mount."""

# No ``from __future__ import annotations`` here: the routes' dependencies (``Svc``, ``Reader``, ``Admin``)
# are ``Annotated`` aliases local to ``create_app``, and FastAPI resolves string annotations against the
# module globals only, so postponed annotations would turn them into required query parameters.

import asyncio
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.api import schemas
from qa.api.guard import SecurityHeaders, UiGuard
from qa.api.keys import KeyInfo, KeyStore, RateLimiter
from qa.config import Settings, get_settings
from qa.errors import (
    BusyError,
    CorpusError,
    DocumentParseError,
    DocumentTooLargeError,
    IndexStoreError,
    ModelError,
    NotFoundError,
    QAError,
    QueryError,
    StorageFullError,
)
from qa.health import Issues
from qa.query import check_question
from qa.service import Service
from qa.storage import has_room

log = logging.getLogger("qa.api")
T = TypeVar("T")


class ApiError(Exception):
    """An error answered with ``{"error": {"code", "message"}}`` and the given status."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one error body every 4xx and 5xx uses."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


NO_ROUTE = "/v1/{rest:path}"  # the catch-all after the real /v1 routes

_LIBRARY_ERRORS: tuple[tuple[type[QAError], int, str], ...] = (
    (DocumentParseError, 422, "unparseable_document"),
    (DocumentTooLargeError, 413, "document_too_large"),
    (NotFoundError, 404, "not_found"),
    (QueryError, 422, "invalid_request"),
    (CorpusError, 409, "corpus_conflict"),
    (IndexStoreError, 503, "index_unavailable"),
    (StorageFullError, 507, "insufficient_storage"),
    (BusyError, 503, "busy"),
    (ModelError, 503, "model_unavailable"),
)
# How long a client should wait before retrying, by error code.
_RETRY_AFTER = {"index_unavailable": "30", "insufficient_storage": "60", "busy": "5", "model_unavailable": "5"}


def library_status(exc: QAError) -> tuple[int, str]:
    """The HTTP status and error code of a library error."""
    return next(((status, code) for kind, status, code in _LIBRARY_ERRORS if isinstance(exc, kind)),
                (500, "internal_error"))


class BodyLimit:
    """Refuse request bodies over the limit (413) before the application reads them.

    A declared ``Content-Length`` over the limit is refused at once. A body without one (chunked) is read
    here up to the limit and replayed to the application, because an error raised inside ``receive`` would
    reach FastAPI's body parser, which turns every exception into a 400.
    """

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int) -> None:
        self.app, self.limit, self.upload_limit = app, limit, upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_upload = scope["path"] == "/v1/documents" and scope["method"] == "POST"
        limit = self.upload_limit if is_upload else self.limit
        if not scope["path"].startswith(("/v1/", "/healthz", "/readyz", "/mcp")):
            limit = max(limit, self.upload_limit)
        too_big = error_response(413, "payload_too_large", f"request body is larger than {limit} bytes")
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > limit:
                await too_big(scope, receive, send)
                return
            await self.app(scope, receive, send)  # the server holds the body to the declared length
            return
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
                await too_big(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class JsonCors(CORSMiddleware):
    """Starlette's CORS layer, with its refusal of a preflight in the one error body (it sends plain text)."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        reason = bytes(response.body).decode("utf-8", "replace")  # e.g. "Disallowed CORS origin"
        return error_response(response.status_code, "cors_rejected", reason)


def request_id_of(scope: Scope) -> str:
    """The client's ``X-Request-ID`` when it is short and plain ASCII, else a fresh one."""
    incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
    plain = incoming.replace("-", "").replace("_", "")
    if 0 < len(incoming) <= 64 and plain.isascii() and plain.isalnum():
        return incoming
    return uuid.uuid4().hex


class RequestId:
    """Outermost layer: an ``X-Request-ID`` on every response, an access log line, and a JSON 500.

    It sits outside every other layer so that the 413 of :class:`BodyLimit` and the 500 of an unhandled
    error carry the id too (Starlette answers unhandled errors outside all user middleware otherwise).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_of(scope)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", rid.encode("latin-1"))]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("%s unhandled error on %s %s", rid, scope["method"], scope["path"])
            if status:  # the response had started; nothing sane can be sent any more
                raise
            crash = error_response(500, "internal_error",
                                   "internal error; the request id is in the X-Request-ID header")
            await crash(scope, receive, send_with_id)
        log.info("%s %s %s %d %.1fms", rid, scope["method"], scope["path"], status,
                 (time.perf_counter() - started) * 1000)


def presented_key(request: Request) -> str:
    """The API key a request carries: ``Authorization: Bearer <key>``, else ``X-API-Key`` (empty if none)."""
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else request.headers.get("x-api-key", "")


def create_app(settings: Settings | None = None, service: Service | None = None, ui: bool = True) -> FastAPI:
    """Build the application; the service (model and index) loads in the background unless given."""
    settings = settings or get_settings()
    keystore = KeyStore.open(settings.state_dir)
    limiter = RateLimiter(settings.rate_limit_per_minute)
    failures = RateLimiter(settings.auth_failures_per_minute)  # wrong keys, per client address
    issues = Issues()  # the API's own (feedback storage); the service keeps the index's
    state: dict[str, Any] = {"service": service, "error": None}

    def load() -> None:
        try:
            # The last good index is served at once; a stale or damaged one is updated in the background.
            state["service"] = Service.from_settings(settings, wait=False)
            state["service"].follow()  # versions made current elsewhere (another worker, `qa build`) are served
        except Exception as exc:  # reported by /readyz and every route instead of killing the server
            log.exception("could not load the index")
            state["error"] = str(exc)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if state["service"] is None:
            threading.Thread(target=load, name="qa-load", daemon=True).start()
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="九龙坡区资料问答 API",
        version="1.0.0",
        description="Answers about 九龙坡区 from its published reports, with exact citations and figures.",
    )
    app.state.keystore = keystore
    app.state.qa = state

    def get_service() -> Service:
        svc: Service | None = state["service"]
        if svc is None:
            raise ApiError(503, "not_ready", state["error"] or "the index is still loading; retry shortly",
                           {"Retry-After": "5"})
        return svc

    def caller(request: Request) -> KeyInfo | None:
        key = presented_key(request)
        address = f"ip:{request.client.host if request.client else 'unknown'}"
        info = None
        if key:
            # Guessing keys: after auth_failures_per_minute wrong ones an address may try none for a while.
            if (wait := failures.peek(address)) > 0:
                raise ApiError(429, "rate_limited", "too many wrong API keys from this address; slow down",
                               {"Retry-After": str(max(1, int(wait + 0.999)))})
            info = keystore.check(key)
            if info is None:
                failures.take(address)
                raise ApiError(401, "invalid_key", "the API key is not valid")
        client = f"key:{info.id}" if info else address
        wait = limiter.take(client)
        if wait > 0:
            raise ApiError(429, "rate_limited", "too many requests; slow down",
                           {"Retry-After": str(max(1, int(wait + 0.999)))})
        return info

    def reader(info: KeyInfo | None) -> KeyInfo | None:
        if settings.api_read_requires_key and info is None:
            raise ApiError(401, "missing_key", "an API key is required (Authorization: Bearer <key>)")
        return info

    # The routes' dependencies are coroutines: FastAPI runs a plain function in its thread pool, one hop per
    # dependency and request. Only a key's lookup, which reads SQLite, goes there.
    async def service_dep() -> Service:
        return get_service()

    async def caller_dep(request: Request) -> KeyInfo | None:
        if presented_key(request):
            return await run_in_threadpool(caller, request)
        return caller(request)

    async def reader_dep(info: Annotated[KeyInfo | None, Depends(caller_dep)]) -> KeyInfo | None:
        return reader(info)

    async def admin_dep(info: Annotated[KeyInfo | None, Depends(caller_dep)]) -> KeyInfo:
        if info is None:
            raise ApiError(401, "missing_key", "an admin API key is required (Authorization: Bearer <key>)")
        if not info.admin:
            raise ApiError(403, "forbidden", "this key may not change documents; an admin key is required")
        return info

    def allowed_methods(path: str) -> list[str]:
        """Every method some API route serves at ``path``."""
        return sorted({m for r in app.router.routes
                       if isinstance(r, Route) and r.path != NO_ROUTE and r.path_regex.match(path)
                       for m in r.methods or ()})

    Svc = Annotated[Service, Depends(service_dep)]
    Reader = Annotated[KeyInfo | None, Depends(reader_dep)]
    Admin = Annotated[KeyInfo, Depends(admin_dep)]

    # -- errors ------------------------------------------------------------------------------------------
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(QAError)
    async def _library_error(request: Request, exc: QAError) -> JSONResponse:
        status, code = library_status(exc)
        retry = _RETRY_AFTER.get(code)
        return error_response(status, code, str(exc), {"Retry-After": retry} if retry else None)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", schemas.describe_validation(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette lists the methods of the first route whose path matches; a path served by several
            # routes (GET and POST /v1/documents) must list them all.
            headers["Allow"] = ", ".join(allowed_methods(request.url.path))
        return error_response(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail), headers)

    # Unhandled errors become a JSON 500 in RequestId, the outermost layer, so they carry the request id.
    # -- routes ------------------------------------------------------------------------------------------
    # Both are async: they run on the event loop and never wait for a worker thread, however busy those are.
    @app.get("/healthz", response_model=schemas.Health, tags=["ops"], responses=schemas.OPS_ERRORS)
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", response_model=schemas.Ready, tags=["ops"],
             responses={**schemas.OPS_ERRORS, 503: {"model": schemas.ErrorBody}})
    async def readyz() -> Any:
        """Ready once an index is loaded; ``degraded`` (still 200) lists what is wrong but not fatal."""
        svc: Service | None = state["service"]
        if svc is None:
            return error_response(503, "not_ready", state["error"] or "the index is still loading",
                                  {"Retry-After": "5"})
        snapshot = svc.snapshot
        meta = snapshot.meta
        if "feedback_storage_full" in issues and has_room(settings.state_dir, 4 * settings.max_request_bytes):
            issues.clear("feedback_storage_full")
        problems = svc.issues() + issues.items()
        return {"status": "degraded" if problems else "ready", "index": snapshot.path.name,
                "documents": meta.get("documents", 0), "chunks": meta.get("chunks", 0),
                "model": meta.get("model", ""), "issues": problems, "worker": os.getpid()}

    @app.post("/v1/ask", response_model=schemas.AskResponse, tags=["answers"], responses=schemas.ERRORS)
    def ask(body: schemas.AskRequest, svc: Svc, _: Reader) -> dict[str, Any]:
        """Answer a question with citations and figures."""
        from qa.response import answer_to_dict

        # Checked here against the service's settings, not in the schema: a validator there can only see the
        # process-wide settings, which need not be the ones this app was built with.
        question = check_question(body.question, svc.settings.max_question_chars)
        history = [turn.model_dump() for turn in body.history]
        return answer_to_dict(svc.ask(question, top_k=body.top_k, history=history))

    @app.get("/v1/search", response_model=list[schemas.Citation], tags=["answers"], responses=schemas.ERRORS)
    def search(svc: Svc, _: Reader,
               q: Annotated[str, Query(description="the question", json_schema_extra=schemas.QUESTION_SCHEMA)],
               k: Annotated[int, Query(ge=1, le=50)] = 5) -> list[dict[str, Any]]:
        """Cited passages only."""
        return [c.__dict__ for c in svc.search(q, k=min(k, settings.max_top_k))]

    @app.get("/v1/documents", response_model=list[schemas.DocumentMeta], tags=["documents"], responses=schemas.ERRORS)
    def documents(svc: Svc, _: Reader) -> list[dict[str, Any]]:
        """Metadata of every document."""
        return [schemas.document_meta(d) for d in svc.documents()]

    @app.get("/v1/documents/{doc_id}", response_model=schemas.DocumentFull, tags=["documents"],
             responses=schemas.ERRORS)
    def document(doc_id: str, svc: Svc, _: Reader) -> dict[str, Any]:
        """One document's metadata and raw text."""
        doc = svc.document(doc_id)
        return {**schemas.document_meta(doc), "text": doc.text}

    @app.get("/v1/documents/{doc_id}/pages/{page}", tags=["documents"], response_class=Response,
             responses={**schemas.ERRORS, 200: {"content": {"image/png": {}},
                                                "description": "the page as PNG, the text start..end marked"}})
    def page_image(doc_id: str, page: int, svc: Svc, _: Reader,
                   start: Annotated[int | None, Query(ge=0)] = None,
                   end: Annotated[int | None, Query(ge=1)] = None,
                   width: Annotated[int, Query(ge=100, le=2000)] = 900) -> Response:
        """A page of a PDF or image document as PNG, with a cited passage (``start``..``end``) marked."""
        png = svc.page_image(doc_id, page, start, end, width)
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})

    @app.get("/v1/figures", response_model=list[schemas.FigureOut], tags=["figures"], responses=schemas.ERRORS)
    def figures(svc: Svc, _: Reader, metric: Annotated[str | None, Query(max_length=100)] = None,
                year: Annotated[int | None, Query(ge=1900, le=2100)] = None,
                doc_id: Annotated[str | None, Query(max_length=64)] = None) -> list[dict[str, Any]]:
        """Figures across the corpus, for dashboards."""
        return [schemas.figure_out(f) for f in svc.figures(metric=metric, year=year, doc_id=doc_id)]

    @app.post("/v1/feedback", response_model=schemas.FeedbackOut, status_code=201, tags=["feedback"],
              responses=schemas.ERRORS)
    def feedback(body: schemas.FeedbackIn, info: Reader) -> dict[str, Any]:
        """Store a rating of an answer."""
        try:
            fid = keystore.add_feedback(body.question, body.answer, body.rating, body.comment, "api",
                                        info.name if info else None)
        except StorageFullError as exc:
            issues.set("feedback_storage_full", str(exc))
            raise
        issues.clear("feedback_storage_full")
        return {"id": fid, "status": "stored"}

    async def change(svc: Service, run: Callable[[], T]) -> T:
        """Run a change on the service's writer thread; this request waits without holding a worker thread."""
        return await asyncio.wrap_future(svc.submit(run))

    @app.post("/v1/documents", response_model=schemas.UploadOut, status_code=201, tags=["admin"],
              responses=schemas.WRITE_ERRORS,
              openapi_extra=schemas.UPLOAD_OPENAPI)
    async def upload(request: Request, _: Admin) -> Any:
        """Add a document (JSON or multipart form with a file); indexed incrementally."""
        svc = get_service()
        fields = await schemas.read_upload(request)
        if fields.data is not None and fields.suffix not in (".txt", ".md"):
            data = fields.data
            doc, report = await change(svc, lambda: svc.add_file(
                fields.name, data, title=fields.title or None, doc_id=fields.doc_id, date=fields.date,
                source=fields.source))
        else:
            doc, report = await change(svc, lambda: svc.add_document(
                fields.text, title=fields.title, doc_id=fields.doc_id, date=fields.date, source=fields.source,
                suffix=fields.suffix))
        return {**schemas.document_meta(doc), "chunks_embedded": report.embedded, "index": report.version,
                "notes": schemas.upload_notes(doc)}

    @app.delete("/v1/documents/{doc_id}", response_model=schemas.DeleteOut, tags=["admin"],
                responses=schemas.WRITE_ERRORS)
    async def delete(doc_id: str, svc: Svc, _: Admin) -> dict[str, Any]:
        """Remove a document from the corpus and every index; it stays restorable from the trash for a while."""
        report = await change(svc, lambda: svc.delete_document(doc_id))
        return {"doc_id": doc_id, "status": "deleted", "index": report.version}

    @app.post("/v1/reindex", response_model=schemas.ReindexOut, tags=["admin"], responses=schemas.WRITE_ERRORS)
    async def reindex(svc: Svc, _: Admin, full: bool = False) -> dict[str, Any]:
        """Bring the index up to date with the corpus folder (``full=true`` rebuilds from scratch)."""
        report = await change(svc, lambda: svc.reindex(rebuild=full))
        return {"index": report.version, "documents": report.documents, "chunks": report.chunks,
                "added": report.added, "removed": report.removed, "seconds": round(report.seconds, 3)}

    # OpenAI-compatible chat, the source view its citations link to, and the MCP server.
    from qa.api.mcp_server import mount_mcp
    from qa.api.openai_compat import add_openai_routes
    from qa.api.source_view import SourceLinks, add_source_view

    links = SourceLinks(settings)
    add_source_view(app, get_service=get_service, caller=caller, links=links)
    add_openai_routes(app, get_service=get_service, reader=reader_dep, links=links)
    mount_mcp(app, get_service=get_service, check=lambda request: reader(caller(request)), links=links,
              origins=settings.cors_origins, max_bytes=settings.max_request_bytes)

    @app.get("/v1/trash", response_model=list[schemas.TrashedOut], tags=["admin"], responses=schemas.ERRORS)
    def trash(svc: Svc, _: Admin) -> list[dict[str, Any]]:
        """Deleted documents that can still be restored, newest first."""
        return [{"doc_id": t.doc_id, "title": t.title, "deleted_at": t.deleted_at} for t in svc.trash()]

    @app.post("/v1/trash/{doc_id}/restore", response_model=schemas.UploadOut, tags=["admin"],
              responses=schemas.WRITE_ERRORS)
    async def restore(doc_id: str, svc: Svc, _: Admin) -> dict[str, Any]:
        """Put a deleted document back (its newest deleted copy) and index it again."""
        doc, report = await change(svc, lambda: svc.restore_document(doc_id))
        return {**schemas.document_meta(doc), "chunks_embedded": report.embedded, "index": report.version}

    # The last added is the outermost: security headers, RequestId, then CORS (so a 413 still carries CORS headers),
    # then BodyLimit.
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes, upload_limit=settings.max_upload_bytes)
    app.add_middleware(JsonCors, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "DELETE"],
                       allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-Request-ID",
                                      "Mcp-Protocol-Version", "Mcp-Session-Id", "Last-Event-ID"],
                       expose_headers=["X-Request-ID", "Retry-After", "Mcp-Session-Id"])
    app.add_middleware(RequestId)
    app.add_middleware(SecurityHeaders, frame_ancestors=settings.frame_ancestors)

    @app.api_route(NO_ROUTE, methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                   include_in_schema=False)
    def no_such_route(request: Request) -> JSONResponse:
        """Any other /v1 request: 405 on a known path, else 404, in the error body.

        Without it such requests fall through to the chat UI mounted at ``/``, which answers in its own format.
        """
        allowed = allowed_methods(request.url.path)
        if allowed:
            return error_response(405, "method_not_allowed", "Method Not Allowed", {"Allow": ", ".join(allowed)})
        return error_response(404, "not_found", "Not Found")

    def openapi() -> dict[str, Any]:
        """The generated document, with this app's question length limit in it."""
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes)
            limit = settings.max_question_chars
            document["components"]["schemas"]["AskRequest"]["properties"]["question"]["maxLength"] = limit
            for param in document["paths"]["/v1/search"]["get"]["parameters"]:
                if param["name"] == "q":
                    param["schema"]["maxLength"] = limit
            schemas.document_security(document, reads_need_a_key=settings.api_read_requires_key)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    if ui:
        from qa.ui.chat import mount_ui

        app = mount_ui(app, get_service, keystore)
        for route in app.router.routes:
            if isinstance(route, Mount) and route.path == "":  # the chat at /: only its own routes, rate-limited
                route.app = UiGuard(route.app, limiter)
    return app


def dumps(data: Any) -> str:
    """JSON as the API writes it (UTF-8, not escaped)."""
    return json.dumps(data, ensure_ascii=False)
