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
import logging
import os
import uuid
from typing import TYPE_CHECKING, Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol  # uvicorn[standard] brings httptools

from qa.config import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

NO_UI_ENV = "QA_SERVE_NO_UI"  # set by `qa serve --no-ui` for the worker processes it starts


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


def worker_app() -> FastAPI:
    """The app of one worker process of ``qa serve --workers N`` (uvicorn imports it in each one)."""
    from qa.api.app import create_app
    from qa.cli import LOG_FORMAT

    # As `qa` sets it up in a single process: else the first library to call basicConfig (mcp: rich's
    # handler, which costs a millisecond a line) would choose how every request is logged.
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT)
    logging.getLogger("qa.api").setLevel(logging.INFO)  # one line per request: id, method, path, status, time
    return create_app(ui=os.environ.get(NO_UI_ENV) != "1")


def serve(host: str, port: int, ui: bool, settings: Settings, workers: int = 1) -> None:
    """Serve the app on ``host:port``: in this process, or in ``workers`` processes sharing the socket."""
    import uvicorn

    # FAISS's OpenMP thread count is per thread: set in one thread, the request threads would still search
    # with a team of one thread a core, which spins after each search (10 ms of CPU a question on two cores).
    # Read when FAISS loads, in this process and in the workers, it holds for every thread.
    os.environ.setdefault("OMP_NUM_THREADS", str(settings.serve_threads))

    options = {"host": host, "port": port, "log_level": "info", **uvicorn_options(settings)}
    if workers == 1:
        from qa.api.app import create_app

        app = create_app(ui=ui)
        logging.getLogger("qa.api").setLevel(logging.INFO)
        uvicorn.run(app, **options)
        return
    os.environ[NO_UI_ENV] = "0" if ui else "1"  # the workers are new processes: they read it from the environment
    uvicorn.run("qa.api.server:worker_app", factory=True, workers=workers, **options)
