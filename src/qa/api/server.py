"""Running the app under uvicorn with the settings that abuse calls for.

- No access log: uvicorn's writes every query string, and with it any key or question passed in a URL. The
  app's own log line (:class:`qa.api.app.RequestId`) names the path only.
- ``X-Forwarded-For`` is believed only from the addresses in ``trusted_proxies`` (uvicorn trusts it from
  loopback by default, so any local client could open itself a fresh rate-limit bucket per request).
- A request uvicorn cannot parse is answered with the API's error body and an ``X-Request-ID``, like every
  other error, instead of uvicorn's plain-text 400.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol  # uvicorn[standard] brings httptools

from qa.config import Settings


def bad_request_bytes(message: str = "invalid HTTP request") -> bytes:
    """A complete HTTP/1.1 400 response carrying the API's error body."""
    body = json.dumps({"error": {"code": "bad_request", "message": message}}).encode("ascii")
    head = (b"HTTP/1.1 400 Bad Request\r\n"
            b"content-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n"
            b"x-request-id: " + uuid.uuid4().hex.encode("ascii") + b"\r\n"
            b"x-content-type-options: nosniff\r\n"
            b"connection: close\r\n\r\n")
    return head + body


class JsonErrorProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol, answering unparseable requests in the API's error body."""

    def send_400_response(self, msg: str) -> None:
        """The 400 for a request that cannot be parsed, in the API's error body."""
        self.transport.write(bad_request_bytes())
        self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` that follow the settings."""
    return {
        "access_log": False,
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": ",".join(settings.trusted_proxies) or "",
        "server_header": False,
        "http": JsonErrorProtocol,
    }
