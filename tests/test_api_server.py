"""The real server: ``qa serve --no-ui`` in a subprocess on a free loopback port, spoken to over HTTP.

What the in-process tests cannot show: the CLI wiring, settings from ``QA_*`` variables, the background
index load behind /readyz, uvicorn's handling of real sockets (chunked bodies, Content-Length), and a clean
shutdown on SIGINT.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import Server, start_server, stop


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("server"), QA_RATE_LIMIT_PER_MINUTE="100000")
    try:
        yield running
    finally:
        if running.process.poll() is None:
            stop(running.process)


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


def test_ready_over_http(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready"
    assert ready["documents"] == 5
    assert ready["model"].startswith("hash")


def test_ask_over_http(client: httpx.Client) -> None:
    response = client.post("/v1/ask", json={"question": "九龙坡2020年地区生产总值是多少"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["found"] is True
    assert "1500亿元" in body["answer"]
    for cite in body["citations"]:
        raw = client.get(f"/v1/documents/{cite['doc_id']}").json()["text"]
        assert cite["text"] == raw[cite["start"]:cite["end"]]
    cited = {c["id"] for c in body["citations"]}
    assert all(f["citation"] in cited for f in body["figures"])


def test_search_over_http(client: httpx.Client) -> None:
    response = client.get("/v1/search", params={"q": "跳磴河综合整治", "k": 2})
    assert response.status_code == 200, response.text
    hits = response.json()
    assert 1 <= len(hits) <= 2
    assert {"id", "doc_id", "start", "end", "text", "score"} <= set(hits[0])


def test_errors_over_http(client: httpx.Client) -> None:
    empty = client.post("/v1/ask", json={"question": "  "}, headers={"X-Request-ID": "over-http-1"})
    assert empty.status_code == 422
    assert empty.json() == {"error": {"code": "invalid_request", "message": "question must not be empty"}}
    assert empty.headers["x-request-id"] == "over-http-1"
    missing = client.get("/v1/documents/no-such-doc")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "message": "unknown document 'no-such-doc'"}}
    unauthorised = client.post("/v1/reindex")
    assert unauthorised.status_code == 401
    assert unauthorised.json()["error"]["code"] == "missing_key"


def test_body_limits_over_real_sockets(client: httpx.Client) -> None:
    declared = client.post("/v1/ask", content=b"x" * 70_000, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413
    assert declared.json() == {"error": {"code": "payload_too_large",
                                         "message": "request body is larger than 65536 bytes"}}

    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(80):
            yield b"x" * 1024
        yield b'"}'

    streamed = client.post("/v1/ask", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.request.headers["transfer-encoding"] == "chunked"
    assert streamed.status_code == 413
    assert streamed.json()["error"]["code"] == "payload_too_large"
    # the connection is still good for the next request
    assert client.get("/healthz").status_code == 200


def test_upload_and_ask_over_http(server: Server, client: httpx.Client) -> None:
    admin = {"Authorization": f"Bearer {server.admin_key}"}
    text = "测试区2030年新建了987座风车。"
    created = client.post("/v1/documents", headers=admin,
                          files={"file": ("windmills.txt", text.encode("utf-8"), "text/plain")},
                          data={"title": "测试区风车", "doc_id": "windmills"})
    assert created.status_code == 201, created.text
    answer = client.post("/v1/ask", json={"question": "测试区2030年新建了多少座风车？"}).json()
    assert answer["citations"][0]["doc_id"] == "windmills"
    assert client.delete("/v1/documents/windmills", headers=admin).status_code == 200


def test_an_unparseable_request_gets_the_error_body(server: Server) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GARBAGE \x01 nonsense\r\n\r\n")
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    head, body = reply.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"x-request-id: " in head.lower() and b"content-type: application/json" in head.lower()
    assert json.loads(body) == {"error": {"code": "bad_request", "message": "invalid HTTP request"}}


def test_the_log_never_holds_keys_or_questions_from_urls(server: Server, client: httpx.Client) -> None:
    secret, question = "qa_SECRET-in-the-url", "跳磴河秘密问题"
    response = client.get("/v1/search", params={"q": question, "api_key": secret},
                          headers={"X-Request-ID": "logged-search-1"})
    assert response.status_code == 200
    time.sleep(0.3)
    log = server.log_text()
    assert "logged-search-1 GET /v1/search 200" in log  # one line per request, path only
    assert secret not in log and question not in log and "api_key" not in log and "%E8%B7%B3" not in log


def test_shuts_down_cleanly(server: Server) -> None:
    code = stop(server.process)
    assert code == 0, server.log_text()
    log = server.log_text()
    assert "Application shutdown complete" in log
    assert "Traceback" not in log
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.url}/healthz", timeout=2)


def test_x_forwarded_for_opens_no_fresh_rate_limit_bucket(tmp_path: Path) -> None:
    """uvicorn believed X-Forwarded-For from loopback: every request could name a new address."""
    limited = start_server(tmp_path, QA_RATE_LIMIT_PER_MINUTE="3")
    try:
        statuses = [httpx.get(f"{limited.url}/v1/documents", headers={"X-Forwarded-For": f"203.0.113.{n}"},
                              timeout=10).status_code for n in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
    finally:
        stop(limited.process)
