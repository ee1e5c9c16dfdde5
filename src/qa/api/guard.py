"""The edges of the HTTP server: security headers everywhere, and the chat UI's routes cut down to what it uses.

Gradio serves far more than the chat needs: a file upload route that takes anonymous files into a host-wide
temp folder and serves them back, its own API (``/gradio_api/run/…``, ``call``, ``api``), a proxy, monitoring
and login pages. :class:`UiGuard` lets through only what the page itself requests, puts asking (joining the
queue) under the same per-address rate limit as ``/v1``, and answers everything else, and every error, in the
API's error body.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.api.keys import RateLimiter

# What the chat page requests (checked in headless Chromium by tests/test_browser.py).
_UI_GET = ("/", "/theme.css", "/gradio_api/theme.css", "/favicon.ico", "/robots.txt", "/config", "/config/",
           "/gradio_api/queue/data", "/gradio_api/queue/status")
_UI_GET_PREFIXES = ("/assets/", "/static/", "/svelte/", "/gradio_api/heartbeat/")
_UI_POST = ("/gradio_api/queue/join", "/gradio_api/cancel", "/gradio_api/reset", "/gradio_api/reset/")
_QUEUE = "/gradio_api/queue/"  # the page's own script reads ``detail`` from these errors: it is kept beside ours

_API_CSP = "default-src 'none'; frame-ancestors 'none'"
_DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
             "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
             "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
             "https://cdn.redoc.ly; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'")
# Gradio's page carries its config in inline scripts and runs the source panel's script with new Function.
_UI_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
           "img-src 'self' data: blob:; font-src 'self' data:; media-src 'self' data: blob:; connect-src 'self'; "
           "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'")


def ui_allows(method: str, path: str) -> bool:
    """Whether the chat page uses this method and path."""
    if method in ("GET", "HEAD"):
        return path in _UI_GET or path.startswith(_UI_GET_PREFIXES)
    return method == "POST" and path in _UI_POST


def error_body(status: int, code: str, message: str, path: str) -> bytes:
    """The API's error body (with Gradio's ``detail`` beside it on the queue routes the page reads)."""
    body: dict[str, object] = {"error": {"code": code, "message": message}}
    if path.startswith(_QUEUE):
        body["detail"] = message
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _code_for(status: int) -> str:
    return {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
            413: "payload_too_large", 422: "invalid_request", 429: "rate_limited"}.get(
        status, "internal_error" if status >= 500 else "http_error")


def _message_of(body: bytes, status: int) -> str:
    """Gradio's own error text (``{"detail": …}``), or the status's reason."""
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, str) and detail:
        return detail
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        first = detail[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        return f"{where}: {first.get('msg', 'invalid')}"
    from http import HTTPStatus

    return HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "error"


async def _send_error(send: Send, status: int, code: str, message: str, path: str,
                      headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    body = error_body(status, code, message, path)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


class UiGuard:
    """In front of the Gradio app: only the chat's own routes, asking rate-limited, errors in the API's body."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app, self.limiter = app, limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        if not ui_allows(method, path):
            await _send_error(send, 404, "not_found", "Not Found", path)
            return
        if path == "/gradio_api/queue/join":
            client = scope.get("client")
            wait = self.limiter.take(f"ip:{client[0] if client else 'unknown'}")
            if wait > 0:
                await _send_error(send, 429, "rate_limited", "too many requests; slow down", path,
                                  [(b"retry-after", str(max(1, int(wait + 0.999))).encode())])
                return
        await self.app(scope, receive, _ErrorBodies(send, path))


class _ErrorBodies:
    """A ``send`` that rewrites the UI app's JSON error responses into the API's error body."""

    def __init__(self, send: Send, path: str) -> None:
        self.send, self.path = send, path
        self.start: Message | None = None
        self.chunks: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            kind = dict(message.get("headers", [])).get(b"content-type", b"")
            json_error = message["status"] >= 400 and kind.startswith(b"application/json")
            if json_error:
                self.start = message
                return
        elif message["type"] == "http.response.body" and self.start is not None:
            self.chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            status = self.start["status"]
            text = (_message_of(b"".join(self.chunks), status) if status < 500
                    else "internal error; the request id is in the X-Request-ID header")
            headers = [(k, v) for k, v in self.start.get("headers", [])
                       if k.lower() not in (b"content-length", b"content-type")]
            await _send_error(self.send, status, _code_for(status), text, self.path, headers)
            return
        await self.send(message)


class SecurityHeaders:
    """nosniff, a frame policy and a content security policy that fits each part of the site, on every response."""

    def __init__(self, app: ASGIApp, frame_ancestors: Sequence[str] = ()) -> None:
        self.app = app
        ancestors = " ".join(["'self'", *frame_ancestors])
        self.ui = [(b"content-security-policy", f"{_UI_CSP}; frame-ancestors {ancestors}".encode())]
        if not frame_ancestors:  # X-Frame-Options cannot name other origins; CSP's frame-ancestors does
            self.ui.append((b"x-frame-options", b"SAMEORIGIN"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(("/v1/", "/healthz", "/readyz", "/openapi.json")) or path == "/v1":
            extra = [(b"content-security-policy", _API_CSP.encode()), (b"x-frame-options", b"DENY")]
        elif path.startswith(("/docs", "/redoc")):
            extra = [(b"content-security-policy", _DOCS_CSP.encode()), (b"x-frame-options", b"DENY")]
        else:
            extra = self.ui
        common = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                added = [(k, v) for k, v in [*common, *extra] if k not in names]
                message = {**message, "headers": [*message.get("headers", []), *added]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
