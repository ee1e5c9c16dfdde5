"""The MCP server: retrieval and answers as tools for agents, over streamable HTTP at ``/mcp`` in the same process.

Tools: ``search`` (cited passages), ``ask`` (the cited answer, structured exactly as ``/v1/ask`` returns it,
with the 来源 text a model can quote), ``get_document`` (metadata and raw text, or a slice of it),
``list_documents`` and ``list_figures``. They only call the service layer, like every other front end.

The endpoint is stateless (each HTTP request stands alone, so any replica can answer it) and answers in
JSON. Every request passes the API's own checks first: the same keys (``Authorization: Bearer``), rate
limits and error body; a browser ``Origin`` must be one of ``QA_CORS_ORIGINS`` (which also stops DNS
rebinding). The SDK's ``mcp`` package is required at run time; gradio's own MCP server is not used, so its
extra's pins (``mcp<2``) do not apply.
"""

# No ``from __future__ import annotations``: the SDK reads the tools' annotations to build their schemas.

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any

from fastapi import FastAPI, Request
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from qa import __version__
from qa.api import schemas
from qa.api.app import ApiError, error_response, library_status
from qa.api.reply import chat_reply
from qa.api.source_view import SourceLinks
from qa.errors import QAError
from qa.response import answer_to_dict
from qa.service import Service

PATH = "/mcp"
BASE_HEADER = "x-qa-base-url"  # set by the guard from the request; a client's own is dropped
FIGURES_SHOWN = 50
SLICE_CHARS = 20_000  # get_document returns at most this much text at once
INSTRUCTIONS = (
    "Answers questions about Chongqing's 九龙坡区 (Jiulongpo District) from its published reports, in Chinese. "
    "Use `ask` for a cited, extractive answer (it says 资料中未找到 when the reports do not hold one), "
    "`search` for the passages themselves, `get_document` to read around a citation, and `list_figures` "
    "for numbers across the reports. Quote figures exactly as given; cite with the [n] markers and links."
)


def build_mcp(get_service: Callable[[], Service], links: SourceLinks) -> MCPServer:
    """The MCP server with its tools."""
    server = MCPServer("qa", title="九龙坡区资料问答", instructions=INSTRUCTIONS, version=__version__,
                       log_level="WARNING")
    read_only = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                                open_world_hint=False)

    def service() -> Service:
        try:
            return get_service()
        except ApiError as exc:  # not loaded yet
            raise ToolError(exc.message) from None

    def base(ctx: Context) -> str:
        headers = ctx.headers or {}
        return links.public_url or headers.get(BASE_HEADER, "")

    @contextlib.contextmanager
    def library_errors() -> Iterator[None]:
        try:
            yield
        except QAError as exc:
            raise ToolError(str(exc)) from None

    @server.tool(annotations=read_only)
    def search(query: Annotated[str, Field(description="the question or keywords, in Chinese")], ctx: Context,
               k: Annotated[int, Field(ge=1, le=20, description="how many passages")] = 5) -> dict[str, Any]:
        """Passages of the reports that best match the query, each with its document, exact offsets and a link."""
        with library_errors():
            citations = service().search(query, k=k)
        root = base(ctx)
        return {"passages": [{**c.__dict__, "url": links.cite(root, c) if root else None} for c in citations]}

    @server.tool(annotations=read_only)
    def ask(question: Annotated[str, Field(description="the question, in Chinese")], ctx: Context,
            history: Annotated[list[schemas.Turn] | None,
                               Field(description="earlier turns, oldest first, for follow-ups such as 那2025年呢",
                                     max_length=20)] = None) -> CallToolResult:
        """A cited, extractive answer; the text ends with its sources, the structured result is /v1/ask's."""
        with library_errors():
            answer = service().ask(question, history=[t.model_dump() for t in history or []])
        root = base(ctx)
        reply = chat_reply(answer, lambda c: links.cite(root, c) if root else f"{c.doc_id}:{c.start}-{c.end}")
        return CallToolResult(content=[TextContent(type="text", text=reply.content)],
                              structured_content=answer_to_dict(answer))

    @server.tool(annotations=read_only)
    def get_document(doc_id: Annotated[str, Field(description="a doc_id from a citation or list_documents")],
                     ctx: Context,
                     start: Annotated[int | None, Field(ge=0, description="first character to return")] = None,
                     end: Annotated[int | None, Field(ge=0, description="character after the last")] = None,
                     ) -> dict[str, Any]:
        """A report's metadata and raw text (or the slice start:end of it); citation offsets index this text."""
        with library_errors():
            doc = service().document(doc_id)
        lo = 0 if start is None else min(start, len(doc.text))
        hi = min(len(doc.text), lo + SLICE_CHARS if end is None else end)
        if hi < lo:
            raise ToolError(f"end ({end}) must not be before start ({start})")
        root = base(ctx)
        return {**schemas.document_meta(doc), "start": lo, "end": hi, "text": doc.text[lo:hi],
                "truncated": end is None and hi < len(doc.text),
                "url": links.url(root, doc.doc_id, lo, hi) if root and hi > lo else None}

    @server.tool(annotations=read_only)
    def list_documents() -> dict[str, Any]:
        """Every report: id, title, date, source and length."""
        return {"documents": [schemas.document_meta(d) for d in service().documents()]}

    @server.tool(annotations=read_only)
    def list_figures(metric: Annotated[str | None, Field(max_length=100, description="part of a metric name, "
                                                         "e.g. 地区生产总值")] = None,
                     year: Annotated[int | None, Field(ge=1900, le=2100)] = None,
                     doc_id: Annotated[str | None, Field(max_length=64)] = None,
                     limit: Annotated[int, Field(ge=1, le=500)] = FIGURES_SHOWN) -> dict[str, Any]:
        """Figures (数据) extracted from the reports, filtered by metric, year and document."""
        with library_errors():
            figures = service().figures(metric=metric, year=year, doc_id=doc_id)
        return {"total": len(figures), "figures": [schemas.figure_out(f) for f in figures[:limit]]}

    return server


class McpGuard:
    """The API's checks in front of the MCP endpoint: method, browser origin, key and rate limit, errors."""

    def __init__(self, check: Callable[[Request], Any], origins: list[str]) -> None:
        self.check, self.origins = check, set(origins)
        self.manager: StreamableHTTPSessionManager | None = None  # set while the application runs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        origin = request.headers.get("origin")
        try:
            if request.method != "POST":
                # Stateless: no session to delete and no server-initiated messages for a GET stream to carry.
                raise ApiError(405, "method_not_allowed",
                               f"{PATH} is an MCP endpoint (streamable HTTP): send JSON-RPC messages with POST",
                               {"Allow": "POST"})
            if origin is not None and origin not in self.origins:
                raise ApiError(403, "forbidden_origin", f"origin {origin!r} may not use this endpoint")
            self.check(request)
            if self.manager is None:
                raise ApiError(503, "not_ready", "the MCP server is not running", {"Retry-After": "5"})
        except ApiError as exc:
            await error_response(exc.status, exc.code, exc.message, exc.headers)(scope, receive, send)
            return
        except QAError as exc:
            await error_response(*library_status(exc), str(exc))(scope, receive, send)
            return
        base = str(request.base_url).rstrip("/").encode("latin-1")
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != BASE_HEADER.encode()]
        await self.manager.handle_request({**scope, "headers": [*headers, (BASE_HEADER.encode(), base)]},
                                          receive, send)


def mount_mcp(app: FastAPI, *, get_service: Callable[[], Service], check: Callable[[Request], Any],
              links: SourceLinks, origins: list[str], max_bytes: int) -> None:
    """Serve the MCP server at ``/mcp`` of ``app``, with a session manager for each run of the application."""
    server = build_mcp(get_service, links)
    guard = McpGuard(check, origins)
    app.router.routes.append(Route(PATH, endpoint=guard, include_in_schema=False))
    outer = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        # A session manager runs once; an application may be started again (tests do).
        # Host names are the deployment's business; the guard checks the browser origin instead.
        server.streamable_http_app(streamable_http_path=PATH, stateless_http=True, json_response=True,
                                   max_request_body_size=max_bytes,
                                   transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))
        manager = server.session_manager
        async with outer(a) as state, manager.run():
            guard.manager = manager
            try:
                yield state
            finally:
                guard.manager = None

    app.router.lifespan_context = lifespan
