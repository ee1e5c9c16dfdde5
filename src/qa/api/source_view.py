"""The source view: a plain page per document with the cited span highlighted, for links in answers.

``GET /v1/documents/{doc_id}/view?start=…&end=…`` shows the whole raw document, the span ``[start:end]`` in a
``<mark id="cited">`` that the link's ``#cited`` scrolls to, and the figures inside it. The page has no script
and loads nothing. Chat clients open these links in a browser that sends no API key, so when reads require
a key (``QA_API_READ_REQUIRES_KEY``) the links the server hands out carry a signature (``sig``) that opens
exactly that view of that document, and nothing else.
"""

# No ``from __future__ import annotations``: FastAPI reads the route's annotations (see app.py).

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response

from qa.api import schemas
from qa.api.app import ApiError, error_response, library_status
from qa.config import Settings
from qa.errors import QAError, QueryError
from qa.service import Service
from qa.types import Citation, Document, Figure
from qa.ui import render

SECRET_FILE = "links.key"
ANCHOR = "cited"
PAGE_HEADERS = {
    # Document text is escaped; the policy is a second wall: no script, no request of any kind.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # a signed link must not leak to whatever the page links to
}
STYLE = """
body { margin: 0; font: 16px/1.75 -apple-system, BlinkMacSystemFont, "PingFang SC", "Microsoft YaHei",
  "Noto Sans CJK SC", sans-serif; color: #1e293b; background: #f8fafc; }
header { padding: 20px 24px 12px; background: #fff; border-bottom: 1px solid #e2e8f0; }
h1 { font-size: 1.3rem; margin: 0 0 6px; }
.meta, .hint { color: #64748b; font-size: .9rem; margin: 2px 0; }
.hint mark { padding: 0 4px; }
main { max-width: 860px; margin: 0 auto; padding: 16px 24px 48px; }
.qa-doc { white-space: pre-wrap; overflow-wrap: anywhere; }
mark { background: #fde68a; border-radius: 3px; scroll-margin-top: 30vh; }
.qa-fig { color: #1d4ed8; font-weight: 600; }
.error { max-width: 640px; margin: 15vh auto; padding: 24px; background: #fff; border: 1px solid #e2e8f0;
  border-radius: 8px; }
"""


class SourceLinks:
    """Addresses of source views, signed with a secret kept in the state folder."""

    def __init__(self, settings: Settings) -> None:
        self.public_url = settings.public_url
        self.signed = settings.api_read_requires_key
        self._secret = _secret(settings.state_dir / SECRET_FILE)

    def base_url(self, request: Request) -> str:
        """Where clients reach this server: ``QA_PUBLIC_URL``, else the request's own scheme, host and root."""
        return self.public_url or str(request.base_url).rstrip("/")

    def signature(self, doc_id: str, start: int | None, end: int | None) -> str:
        """The signature that opens this one view."""
        message = f"{doc_id}\x1f{start}\x1f{end}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]

    def url(self, base: str, doc_id: str, start: int | None = None, end: int | None = None) -> str:
        """The view of a document, scrolled to the span ``[start:end]`` when one is given."""
        params: dict[str, Any] = {}
        if start is not None and end is not None:
            params = {"start": start, "end": end}
        if self.signed:
            params["sig"] = self.signature(doc_id, params.get("start"), params.get("end"))
        query = f"?{urlencode(params)}" if params else ""
        anchor = f"#{ANCHOR}" if "start" in params else ""
        return f"{base}/v1/documents/{quote(doc_id, safe='')}/view{query}{anchor}"

    def cite(self, base: str, citation: Citation) -> str:
        """The view of a citation: its quoted words when it names them, else its whole passage."""
        start, end = citation.quote_start, citation.quote_end
        if start is None or end is None:
            start, end = citation.start, citation.end
        return self.url(base, citation.doc_id, start, end)

    def opens(self, doc_id: str, start: int | None, end: int | None, sig: str | None) -> bool:
        """Whether ``sig`` is the signature of this view."""
        return bool(sig) and hmac.compare_digest(str(sig), self.signature(doc_id, start, end))


def _secret(path: Path) -> bytes:
    """The signing secret, created on first use (readable by the owner only)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(secrets.token_hex(32))
    return path.read_text(encoding="ascii").strip().encode("ascii")


def check_span(doc: Document, start: int | None, end: int | None) -> tuple[int, int] | None:
    """The span to highlight, or None for none; a half-given or out-of-range span is refused."""
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise QueryError("give both start and end, or neither")
    if not 0 <= start < end <= len(doc.text):
        raise QueryError(f"start and end must satisfy 0 <= start < end <= {len(doc.text)} (the document's length)")
    return start, end


def render_page(doc: Document, span: tuple[int, int] | None, figures: list[Figure]) -> str:
    """The whole page: title, date and source, a note on the highlight, and the document."""
    meta = [f"发布日期：{render.esc(doc.date or '日期不详')}"]
    if doc.source:
        meta.append(f"来源：{render.esc(doc.source)}")
    if span is None:
        hint = "以下是报告原文。"
        body = f'<div class="qa-doc">{render.esc(doc.text)}</div>'
    else:
        start, end = span
        hint = f"<mark>黄色</mark>标出的是回答引用的段落（原文第 {start}–{end} 字），其中的数据以蓝色标出。"
        cited = Citation(id=0, doc_id=doc.doc_id, title=doc.title, date=doc.date, chunk_id="", start=start, end=end,
                         text=doc.text[start:end], score=0.0)
        body = render.render_document(doc, cited, figures).replace('id="qa-doc-span"', f'id="{ANCHOR}"', 1)
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{render.esc(doc.title)} · 原文</title><style>{STYLE}</style></head><body>"
            f'<header><h1>{render.esc(doc.title)}</h1><p class="meta">{" · ".join(meta)}</p>'
            f'<p class="hint">{hint}</p></header><main>{body}</main></body></html>')


def render_error_page(status: int, message: str) -> str:
    """An error as a page, for a person who followed a link."""
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>无法显示原文</title>'
            f'<style>{STYLE}</style></head><body><div class="error"><h1>无法显示原文</h1>'
            f'<p>{render.esc(message)}</p><p class="meta">HTTP {status}</p></div></body></html>')


_MESSAGES = {404: "这篇报告不在资料库中（可能已被移除），请重新提问以获得最新的来源链接。",
             422: "这个链接不完整或已过期，请从回答中重新打开来源链接。",
             401: "这个链接需要访问密钥，请从回答中重新打开来源链接。",
             429: "访问太频繁，请稍后再试。",
             503: "资料库正在加载，请稍后刷新本页。"}


def add_source_view(app: FastAPI, *, get_service: Callable[[], Service], caller: Callable[[Request], Any],
                    links: SourceLinks) -> None:
    """Register ``GET /v1/documents/{doc_id}/view``."""

    def failure(request: Request, status: int, code: str, message: str, headers: dict[str, str] | None) -> Response:
        """The one error body for programs; a page for browsers."""
        if "text/html" in request.headers.get("accept", ""):
            page = render_error_page(status, _MESSAGES.get(status, message))
            return HTMLResponse(page, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})
        return error_response(status, code, message, headers)

    page = {"text/html": {"schema": {"type": "string"}}}
    # Errors come as the one error body, or as a page to a browser (Accept: text/html).
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}, **page}
    responses: dict[int | str, dict[str, Any]] = {
        status: {"description": "error", "content": error} for status in schemas.ERRORS}

    @app.get("/v1/documents/{doc_id}/view", response_class=HTMLResponse, tags=["documents"],
             responses={**responses, 200: {"content": page, "description": "the document, the span highlighted"}})
    def view_document(request: Request, doc_id: str,
                      start: Annotated[int | None, Query(ge=0, description="start of the span to highlight")] = None,
                      end: Annotated[int | None, Query(ge=1, description="end of the span (exclusive)")] = None,
                      sig: Annotated[str | None, Query(max_length=64,
                                                       description="signature of a link handed out in an answer")
                                     ] = None) -> Response:
        """The document as a plain page with the cited span highlighted (the links in chat answers open it)."""
        try:
            info = caller(request)
            if links.signed and info is None and not links.opens(doc_id, start, end, sig):
                raise ApiError(401, "missing_key", "an API key or a signed link is required")
            service = get_service()
            doc = service.document(doc_id)
            span = check_span(doc, start, end)
            figures = service.snapshot.store.figures(doc_id=doc_id, start=span[0], end=span[1]) if span else []
        except QAError as exc:
            return failure(request, *library_status(exc), str(exc), None)
        except ApiError as exc:
            return failure(request, exc.status, exc.code, exc.message, exc.headers)
        return HTMLResponse(render_page(doc, span, figures), headers=PAGE_HEADERS)
