"""The server's edges: security headers, the chat UI cut down to its own routes and limits, bidi controls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import MINI, make_settings
from qa.api.app import create_app
from qa.embed import HashEmbedder
from qa.service import Service
from qa.types import Citation, Document
from qa.ui import render
from test_api import assert_error


@pytest.fixture(scope="module")
def ui_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("edges"), MINI, rate_limit_per_minute=100_000)
    service = Service.from_settings(settings, HashEmbedder())
    with TestClient(create_app(settings, service=service, ui=True)) as client:
        yield client
    service.close()


@pytest.mark.parametrize(("path", "frame"), [("/healthz", "DENY"), ("/v1/documents", "DENY"),
                                             ("/v1/no-such-route", "DENY"), ("/docs", "DENY"), ("/", "SAMEORIGIN")])
def test_every_response_has_security_headers(ui_app: TestClient, path: str, frame: str) -> None:
    response = ui_app.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == frame
    assert response.headers["referrer-policy"] == "no-referrer"
    policy = response.headers["content-security-policy"]
    assert policy.endswith("frame-ancestors 'none'" if frame == "DENY" else "frame-ancestors 'self'")
    assert response.headers["x-request-id"]


def ui_client(tmp: Path, **overrides: Any) -> tuple[TestClient, Service]:
    settings = make_settings(tmp, MINI, **overrides)
    service = Service.from_settings(settings, HashEmbedder())
    return TestClient(create_app(settings, service=service, ui=True)), service


def test_the_chat_may_be_framed_by_configured_origins(tmp_path: Path) -> None:
    client, service = ui_client(tmp_path, frame_ancestors=["https://portal.example.gov.cn"])
    try:
        with client:
            page = client.get("/")
            assert page.headers["content-security-policy"].endswith(
                "frame-ancestors 'self' https://portal.example.gov.cn")
            assert "x-frame-options" not in page.headers
            assert client.get("/v1/documents").headers["x-frame-options"] == "DENY"
    finally:
        service.close()


@pytest.mark.parametrize(("method", "path", "kwargs"), [
    ("POST", "/gradio_api/upload", {"files": {"files": ("a.txt", b"anonymous file")}}),
    ("GET", "/gradio_api/file=/etc/hostname", {}),
    ("POST", "/gradio_api/run/predict", {"json": {"data": ["九龙坡"]}}),
    ("POST", "/gradio_api/call/ask", {"json": {"data": ["九龙坡"]}}),
    ("GET", "/gradio_api/proxy=http://127.0.0.1/", {}),
    ("GET", "/gradio_api/info", {}),
    ("GET", "/monitoring", {}),
    ("POST", "/login", {"data": {"username": "a", "password": "b"}}),
])
def test_ui_routes_the_chat_does_not_use_are_gone(ui_app: TestClient, method: str, path: str,
                                                  kwargs: dict[str, Any]) -> None:
    response = ui_app.request(method, path, headers={"Origin": "https://evil.example"}, **kwargs)
    assert_error(response, 404, "not_found", "Not Found")


def test_ui_errors_use_the_api_error_body(ui_app: TestClient) -> None:
    response = ui_app.post("/gradio_api/queue/join", json={})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == {"code": "invalid_request", "message": "data: Field required"}
    assert body["detail"] == "data: Field required"  # the page's own script reads this one
    assert response.headers["x-request-id"]


def test_asking_through_the_chat_is_rate_limited_like_the_api(tmp_path: Path) -> None:
    """The chat's ask route skipped the API's rate limit; it shares the per-address bucket now."""
    client, service = ui_client(tmp_path, rate_limit_per_minute=3)
    try:
        with client:
            assert client.get("/v1/documents").status_code == 200  # one of the address's three
            statuses = [client.post("/gradio_api/queue/join", json={}).status_code for _ in range(3)]
            assert statuses == [422, 422, 429]
            limited = client.post("/gradio_api/queue/join", json={})
            assert limited.json()["error"] == {"code": "rate_limited", "message": "too many requests; slow down"}
            assert int(limited.headers["retry-after"]) >= 1
    finally:
        service.close()


def test_bidi_controls_in_a_document_are_not_shown() -> None:
    text = "付款账号：\u202e0987654321\u202c，金额\u2067100\u2069元。"
    doc = Document(doc_id="d", title="标\u202e题", text=text)
    cite = Citation(1, "d", doc.title, None, "c", 0, len(text), text, 1.0)
    for html in (render.render_passage(doc, cite, []), render.render_source(doc, cite, [], "cite-0-1", full=True)):
        assert not any(ch in html for ch in "\u202e\u202c\u2067\u2069")
        assert "0987654321" in html
