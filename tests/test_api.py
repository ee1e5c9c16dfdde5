"""The HTTP API in-process: the v1 contract, every error with its exact code and message, keys, limits.

Reads share one app over a private copy of the real corpus (module scope). Every test that writes (upload,
delete, reindex), or that only tries to, gets its own copy, so a write that wrongly succeeds cannot leak.
The fake hash embedder keeps all of it fast and deterministic.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import qa.service
from conftest import MINI, make_settings
from qa.api.app import create_app
from qa.api.keys import KeyStore
from qa.config import Settings
from qa.embed import HashEmbedder
from qa.errors import CorpusError
from qa.service import Service

# Starlette's TestClient answers with httpx2 responses and the server tests use httpx; both fit here.
Response = Any

ASK_KEYS = {"question", "found", "answer", "citations", "figures", "took_ms", "resolved_question", "notes"}
# Added beside the first contract's fields: where a passage or figure sits in a PDF's pages or a table's grid.
CITATION_KEYS = {"id", "doc_id", "title", "date", "chunk_id", "start", "end", "text", "score",
                 "quote_start", "quote_end", "page", "page_end", "table", "row", "column"}
FIGURE_KEYS = {"value", "unit", "metric", "year", "qualifier", "text", "citation", "table", "row", "column"}
DOC_KEYS = {"doc_id", "title", "date", "source", "date_note", "chars", "format", "pages", "duplicate_of", "index_no",
            "doc_no"}
FIGURE_LIST_KEYS = {"doc_id", "start", "end", "value", "unit", "metric", "year", "period", "qualifier", "kind",
                    "text", "table", "row", "column"}
QUESTIONS = [
    "九龙坡2020年地区生产总值是多少",
    "九龙坡的市场主体总量有多少户？",
    "九龙坡数字经济增加值占比是多少？",
    "跳磴河综合整治累计投入多少钱？",
    "九龙坡区空气质量优良天数有多少天",
]
WINDMILLS = "测试区2030年新建了987座风车，总装机容量达到12万千瓦。"


@dataclass
class Env:
    """One app with its client, settings, service and two keys."""

    client: TestClient
    settings: Settings
    service: Service
    admin_key: str
    read_key: str

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    @property
    def reader(self) -> dict[str, str]:
        return {"X-API-Key": self.read_key}

    def doc_ids(self) -> list[str]:
        response = self.client.get("/v1/documents")
        assert response.status_code == 200, response.text
        return sorted(d["doc_id"] for d in response.json())

    def corpus_files(self) -> list[str]:
        return sorted(p.name for p in self.settings.corpus_dir.iterdir())


@pytest.fixture
def make_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Env]]:
    """Build an app over a private corpus copy with the given settings overrides; closed after the test."""
    opened: list[tuple[TestClient, Service]] = []

    def build(corpus: Path | None = None, **overrides: Any) -> Env:
        overrides.setdefault("rate_limit_per_minute", 100_000)
        settings = make_settings(tmp_path_factory.mktemp("api"), **({"corpus": corpus} if corpus else {}),
                                 **overrides)
        service = Service.from_settings(settings, HashEmbedder())
        keys = KeyStore.open(settings.state_dir)
        admin_key, read_key = keys.create("ops", admin=True), keys.create("portal")
        client = TestClient(create_app(settings, service=service, ui=False))
        client.__enter__()
        opened.append((client, service))
        return Env(client, settings, service, admin_key, read_key)

    yield build
    for client, service in opened:
        client.__exit__(None, None, None)
        service.close()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """The shared read-only app over the real corpus (do not write through it)."""
    settings = make_settings(tmp_path_factory.mktemp("api-read"), rate_limit_per_minute=100_000)
    service = Service.from_settings(settings, HashEmbedder())
    keys = KeyStore.open(settings.state_dir)
    admin_key, read_key = keys.create("ops", admin=True), keys.create("portal")
    with TestClient(create_app(settings, service=service, ui=False)) as client:
        yield Env(client, settings, service, admin_key, read_key)
    service.close()


@pytest.fixture(scope="module")
def raw_texts(env: Env) -> dict[str, str]:
    """Each document's raw text as GET /v1/documents/{id} returns it."""
    return {doc_id: env.client.get(f"/v1/documents/{doc_id}").json()["text"] for doc_id in env.doc_ids()}


def assert_error(response: Response, status: int, code: str, message: str | None = None) -> dict[str, str]:
    """The response is the one error body, with this status and code (and message, when given)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert body["error"]["code"] == code, body
    if message is not None:
        assert body["error"]["message"] == message
    assert response.headers.get("x-request-id"), "every response carries X-Request-ID"
    return body["error"]


# -- ops ---------------------------------------------------------------------------------------------------


def test_healthz(env: Env) -> None:
    response = env.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_describes_the_loaded_index(env: Env) -> None:
    response = env.client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "index", "documents", "chunks", "model", "issues", "worker"}
    assert body["worker"] == os.getpid()  # the process that answered (`qa serve --workers N` has N)
    assert body["status"] == "ready"
    assert body["issues"] == []
    assert body["documents"] == 5
    assert body["chunks"] > 5
    assert body["model"].startswith("hash")
    assert body["index"] == env.service.snapshot.path.name


def test_openapi_lists_the_contract_and_docs_are_served(env: Env) -> None:
    spec = env.client.get("/openapi.json").json()
    operations = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    assert operations >= {
        ("POST", "/v1/ask"), ("GET", "/v1/search"), ("GET", "/v1/documents"), ("POST", "/v1/documents"),
        ("GET", "/v1/documents/{doc_id}"), ("DELETE", "/v1/documents/{doc_id}"), ("GET", "/v1/figures"),
        ("POST", "/v1/feedback"), ("POST", "/v1/reindex"), ("GET", "/healthz"), ("GET", "/readyz"),
    }
    ask = spec["components"]["schemas"]["AskRequest"]["properties"]
    assert ask["question"]["maxLength"] == env.settings.max_question_chars
    assert set(spec["components"]["schemas"]["AskResponse"]["properties"]) >= ASK_KEYS
    docs = env.client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


# -- ask -----------------------------------------------------------------------------------------------------


def test_ask_answers_with_the_contract_shape(env: Env) -> None:
    response = env.client.post("/v1/ask", json={"question": " 九龙坡2020年地区生产总值是多少 "})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= ASK_KEYS  # the contract's fields; later additions (e.g. reasons) are allowed
    assert body["question"] == "九龙坡2020年地区生产总值是多少"  # stripped
    assert body["found"] is True
    assert "1500亿元" in body["answer"]
    assert isinstance(body["took_ms"], float) and body["took_ms"] >= 0
    assert isinstance(body["notes"], list)
    assert body["citations"], "a found answer cites"
    for cite in body["citations"]:
        assert set(cite) == CITATION_KEYS
        if cite["quote_start"] is not None:  # the quoted sentence lies inside the cited passage
            assert cite["start"] <= cite["quote_start"] < cite["quote_end"] <= cite["end"]
    assert any(c["quote_start"] is not None for c in body["citations"])
    assert [c["id"] for c in body["citations"]] == list(range(1, len(body["citations"]) + 1))
    for fig in body["figures"]:
        assert set(fig) == FIGURE_KEYS


@pytest.mark.parametrize("question", QUESTIONS)
def test_citation_text_is_the_raw_document_slice(env: Env, raw_texts: dict[str, str], question: str) -> None:
    body = env.client.post("/v1/ask", json={"question": question, "top_k": 8}).json()
    assert body["citations"]
    for cite in body["citations"]:
        assert 0 <= cite["start"] < cite["end"] <= len(raw_texts[cite["doc_id"]])
        assert cite["text"] == raw_texts[cite["doc_id"]][cite["start"]:cite["end"]]


def test_figures_refer_to_citations_of_the_same_response(env: Env, raw_texts: dict[str, str]) -> None:
    with_figures = 0
    for question in QUESTIONS:
        body = env.client.post("/v1/ask", json={"question": question}).json()
        cited = {c["id"]: c for c in body["citations"]}
        for fig in body["figures"]:
            assert fig["citation"] in cited, (question, fig)
            # the figure's mention lies in the raw text of the passage it cites
            cite = cited[fig["citation"]]
            assert fig["text"] in raw_texts[cite["doc_id"]]
            with_figures += 1
    assert with_figures >= 3, "the quantity questions above should yield figures"


@pytest.mark.parametrize("top_k", [1, 3, 10])
def test_top_k_bounds_the_citations(env: Env, top_k: int) -> None:
    body = env.client.post("/v1/ask", json={"question": "九龙坡的市场主体总量有多少户？", "top_k": top_k}).json()
    assert 1 <= len(body["citations"]) <= top_k


def test_follow_up_uses_the_history(env: Env) -> None:
    first = "九龙坡2020年地区生产总值是多少"
    body = env.client.post("/v1/ask", json={
        "question": "那2019年呢", "history": [{"question": first, "answer": "突破1500亿元"}]}).json()
    assert body["question"] == "那2019年呢"
    assert body["resolved_question"] != "那2019年呢"
    assert "2019" in body["resolved_question"]


def test_ask_refuses_a_question_after_folding_to_nothing(env: Env) -> None:
    assert_error(env.client.post("/v1/ask", json={"question": "\u3000\n\t "}), 422, "invalid_request",
                 "question must not be empty")


ASK_ERRORS = [
    pytest.param({"question": ""}, "question must not be empty", id="empty"),
    pytest.param({"question": "   \n\t"}, "question must not be empty", id="whitespace"),
    pytest.param({"question": "风" * 10_000}, "question is too long (10000 characters; the limit is 500)",
                 id="too-long"),
    pytest.param({"question": "x" * 501}, "question is too long (501 characters; the limit is 500)",
                 id="one-over"),
    pytest.param({"question": 123}, "question: Input should be a valid string", id="question-int"),
    pytest.param({"question": None}, "question: Input should be a valid string", id="question-null"),
    pytest.param({}, "question: Field required", id="no-question"),
    pytest.param({"question": "九龙坡", "top_k": "five"}, "top_k: Input should be a valid integer",
                 id="top_k-text"),
    pytest.param({"question": "九龙坡", "top_k": "5"}, "top_k: Input should be a valid integer", id="top_k-numeric-text"),
    pytest.param({"question": "九龙坡", "top_k": True}, "top_k: Input should be a valid integer", id="top_k-bool"),
    pytest.param({"question": "九龙坡", "top_k": 2.5},
                 "top_k: Input should be a valid integer, got a number with a fractional part", id="top_k-float"),
    pytest.param({"question": "九龙坡", "top_k": 0}, "top_k: Input should be greater than or equal to 1",
                 id="top_k-0"),
    pytest.param({"question": "九龙坡", "top_k": 100}, "top_k: Input should be less than or equal to 20",
                 id="top_k-100"),
    pytest.param({"question": "九龙坡", "history": "abc"}, "history: Input should be a valid list",
                 id="history-text"),
    pytest.param({"question": "九龙坡", "history": {"question": "a"}}, "history: Input should be a valid list",
                 id="history-object"),
    pytest.param({"question": "九龙坡", "history": [{"answer": "a"}]}, "history.0.question: Field required",
                 id="history-turn-without-question"),
    pytest.param({"question": "九龙坡", "history": [{"question": "q"}] * 21},
                 "history: List should have at most 20 items after validation, not 21", id="history-too-long"),
    pytest.param([1, 2], "body: Input should be a valid dictionary or object to extract fields from",
                 id="body-list"),
]


@pytest.mark.parametrize(("body", "message"), ASK_ERRORS)
def test_ask_rejects_bad_input(env: Env, body: Any, message: str) -> None:
    assert_error(env.client.post("/v1/ask", json=body), 422, "invalid_request", message)


@pytest.mark.parametrize(("raw", "message"), [
    (b'{"question": ', "body is not valid JSON: Expecting value at position 13"),
    (b'{"question": "a",}', "body is not valid JSON: Expecting property name enclosed in double quotes at position 17"),
    (b'{"question": "\\ud800 lone surrogate"}', "question: must be valid Unicode text (lone surrogate at position 0)"),
    (b"", "body: Field required"),
])
def test_ask_rejects_broken_json(env: Env, raw: bytes, message: str) -> None:
    response = env.client.post("/v1/ask", content=raw, headers={"Content-Type": "application/json"})
    assert_error(response, 422, "invalid_request", message)


# -- search, documents, figures ------------------------------------------------------------------------------


def test_search_returns_citations_only(env: Env, raw_texts: dict[str, str]) -> None:
    response = env.client.get("/v1/search", params={"q": "跳磴河综合整治", "k": 3})
    assert response.status_code == 200, response.text
    hits = response.json()
    assert isinstance(hits, list) and 1 <= len(hits) <= 3
    for hit in hits:
        assert set(hit) == CITATION_KEYS
        assert hit["text"] == raw_texts[hit["doc_id"]][hit["start"]:hit["end"]]
    assert any("跳磴河" in hit["text"] for hit in hits)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


@pytest.mark.parametrize(("query", "message"), [
    ("", "query.q: Field required"),
    ("?q=", "question must not be empty"),
    ("?q=%20%20", "question must not be empty"),
    ("?q=" + "x" * 600, "question is too long (600 characters; the limit is 500)"),
    ("?q=a&k=0", "query.k: Input should be greater than or equal to 1"),
    ("?q=a&k=51", "query.k: Input should be less than or equal to 50"),
    ("?q=a&k=five", "query.k: Input should be a valid integer, unable to parse string as an integer"),
])
def test_search_rejects_bad_input(env: Env, query: str, message: str) -> None:
    assert_error(env.client.get("/v1/search" + query), 422, "invalid_request", message)


def test_documents_list_and_one_document(env: Env) -> None:
    docs = env.client.get("/v1/documents").json()
    assert len(docs) == 5
    for doc in docs:
        assert set(doc) == DOC_KEYS
        full = env.client.get(f"/v1/documents/{doc['doc_id']}")
        assert full.status_code == 200
        body = full.json()
        assert set(body) == DOC_KEYS | {"text"}
        assert {k: body[k] for k in DOC_KEYS} == doc
        assert len(body["text"]) == doc["chars"]
        on_disk = next(p for p in env.settings.corpus_dir.iterdir() if p.stem == doc["doc_id"])
        assert body["text"] == on_disk.read_text(encoding="utf-8-sig")


def test_unknown_document_is_404(env: Env) -> None:
    assert_error(env.client.get("/v1/documents/no-such-doc"), 404, "not_found", "unknown document 'no-such-doc'")


@pytest.mark.parametrize("path", [
    "/v1/documents/..%2F..%2Fetc%2Fpasswd",
    "/v1/documents/../x",
    "/v1/documents/..%2Fsecret",
    "/v1/documents/..%252F..%252Fsecret.txt",
    "/v1/documents/%2e%2e",
    "/v1/documents/..",
    "/v1/documents/.secret",
    "/v1/figures?doc_id=../secret",
    "/v1/figures?doc_id=..%2F..%2Fetc%2Fpasswd",
])
def test_path_traversal_never_reads_a_file(env: Env, path: str) -> None:
    secret = env.settings.corpus_dir.parent / "secret.txt"
    secret.write_text("TOP-SECRET-9f3a", encoding="utf-8")
    (env.settings.corpus_dir.parent / ".secret.txt").write_text("TOP-SECRET-9f3a", encoding="utf-8")
    response = env.client.get(path)
    assert response.status_code in (404, 422), response.text
    assert_error(response, response.status_code, "not_found" if response.status_code == 404 else "invalid_request")
    assert "TOP-SECRET" not in response.text
    assert "root:" not in response.text


def test_figures_list_and_filters(env: Env) -> None:
    everything = env.client.get("/v1/figures").json()
    assert len(everything) > 20
    for fig in everything:
        assert set(fig) == FIGURE_LIST_KEYS
    by_metric = env.client.get("/v1/figures", params={"metric": "地区生产总值"}).json()
    # the filter matches the metric or the sentence around the figure, which the listing does not show
    assert any("地区生产总值" in (f["metric"] or "") for f in by_metric)
    assert len(by_metric) < len(everything)
    by_year = env.client.get("/v1/figures", params={"year": 2020}).json()
    assert by_year and all(f["year"] == 2020 for f in by_year)
    doc_id = everything[0]["doc_id"]
    by_doc = env.client.get("/v1/figures", params={"doc_id": doc_id}).json()
    assert by_doc and all(f["doc_id"] == doc_id for f in by_doc)
    assert len(by_doc) < len(everything)


@pytest.mark.parametrize(("query", "status", "message"), [
    ("?doc_id=nope", 404, "unknown document 'nope'"),
    ("?year=1800", 422, "query.year: Input should be greater than or equal to 1900"),
    ("?year=abc", 422, "query.year: Input should be a valid integer, unable to parse string as an integer"),
    ("?metric=" + "m" * 101, 422, "query.metric: String should have at most 100 characters"),
])
def test_figures_reject_bad_filters(env: Env, query: str, status: int, message: str) -> None:
    assert_error(env.client.get("/v1/figures" + query), status, "not_found" if status == 404 else "invalid_request",
                 message)


# -- feedback ------------------------------------------------------------------------------------------------


def test_feedback_is_stored(env: Env) -> None:
    store = KeyStore.open(env.settings.state_dir)
    before = len(store.feedback())
    response = env.client.post("/v1/feedback", json={"question": "九龙坡GDP？", "answer": "1500亿元", "rating": -1,
                                                     "comment": "没说年份"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body == {"id": body["id"], "status": "stored"}
    rows = store.feedback()
    assert len(rows) == before + 1
    row = rows[-1]
    assert row["id"] == body["id"]
    assert (row["question"], row["answer"], row["rating"], row["comment"], row["source"], row["key_name"]) == (
        "九龙坡GDP？", "1500亿元", -1, "没说年份", "api", None)
    with_key = env.client.post("/v1/feedback", json={"question": "q", "rating": 1}, headers=env.reader)
    assert with_key.status_code == 201
    assert store.feedback()[-1]["key_name"] == "portal"


@pytest.mark.parametrize(("body", "message"), [
    ({"question": "q", "rating": 5}, "rating: Input should be less than or equal to 1"),
    ({"question": "q", "rating": -2}, "rating: Input should be greater than or equal to -1"),
    ({"question": "q", "rating": True}, "rating: Input should be a valid integer"),
    ({"question": "q"}, "rating: Field required"),
    ({"question": "", "rating": 1}, "question: String should have at least 1 character"),
])
def test_bad_feedback_is_refused_and_not_stored(env: Env, body: dict[str, Any], message: str) -> None:
    store = KeyStore.open(env.settings.state_dir)
    before = len(store.feedback())
    assert_error(env.client.post("/v1/feedback", json=body), 422, "invalid_request", message)
    assert len(store.feedback()) == before


# -- keys, rate limit ----------------------------------------------------------------------------------------


MISSING_ADMIN = "an admin API key is required (Authorization: Bearer <key>)"


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/v1/documents", {"title": "t", "text": "x"}),
    ("DELETE", "/v1/documents/000_9adc6f5ad0ebb90b", None),
    ("POST", "/v1/reindex", None),
])
def test_admin_routes_need_an_admin_key(env: Env, method: str, path: str, body: Any) -> None:
    docs = env.doc_ids()
    call = env.client.request
    assert_error(call(method, path, json=body), 401, "missing_key", MISSING_ADMIN)
    assert_error(call(method, path, json=body, headers={"Authorization": "Bearer qa_not-a-key"}), 401,
                 "invalid_key", "the API key is not valid")
    assert_error(call(method, path, json=body, headers={"X-API-Key": "wrong"}), 401, "invalid_key",
                 "the API key is not valid")
    for headers in (env.reader, {"Authorization": f"Bearer {env.read_key}"}):
        assert_error(call(method, path, json=body, headers=headers), 403, "forbidden",
                     "this key may not change documents; an admin key is required")
    assert env.doc_ids() == docs


def test_a_wrong_key_is_refused_even_on_open_reads(env: Env) -> None:
    assert_error(env.client.get("/v1/documents", headers={"X-API-Key": "nope"}), 401, "invalid_key",
                 "the API key is not valid")


def test_reads_need_a_key_when_configured(make_env: Callable[..., Env]) -> None:
    locked = make_env(MINI, api_read_requires_key=True)
    message = "an API key is required (Authorization: Bearer <key>)"
    assert_error(locked.client.get("/v1/documents"), 401, "missing_key", message)
    assert_error(locked.client.post("/v1/ask", json={"question": "九龙坡"}), 401, "missing_key", message)
    assert_error(locked.client.get("/v1/search", params={"q": "九龙坡"}), 401, "missing_key", message)
    assert_error(locked.client.post("/v1/feedback", json={"question": "q", "rating": 1}), 401, "missing_key", message)
    assert locked.client.get("/v1/documents", headers=locked.reader).status_code == 200
    assert locked.client.post("/v1/ask", json={"question": "九龙坡"}, headers=locked.admin).status_code == 200
    assert locked.client.get("/healthz").status_code == 200
    assert locked.client.get("/readyz").status_code == 200


def test_rate_limit_answers_429_with_retry_after(make_env: Callable[..., Env]) -> None:
    limited = make_env(MINI, rate_limit_per_minute=2)
    for _ in range(2):
        assert limited.client.get("/v1/documents").status_code == 200
    response = limited.client.get("/v1/documents")
    assert_error(response, 429, "rate_limited", "too many requests; slow down")
    assert 1 <= int(response.headers["retry-after"]) <= 30
    # the bucket is per key: a key holder is not throttled by anonymous traffic from the same address
    assert limited.client.get("/v1/documents", headers=limited.reader).status_code == 200
    assert limited.client.get("/healthz").status_code == 200  # ops routes are not limited


# -- limits, request ids, odd requests -----------------------------------------------------------------------


def test_oversized_body_with_content_length_is_413(env: Env) -> None:
    body = json.dumps({"question": "x" * 70_000}).encode()
    response = env.client.post("/v1/ask", content=body, headers={"Content-Type": "application/json"})
    assert_error(response, 413, "payload_too_large", "request body is larger than 65536 bytes")


def test_oversized_streamed_body_is_413(env: Env) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(80):
            yield b"x" * 1024
        yield b'"}'

    response = env.client.post("/v1/ask", content=chunks(), headers={"Content-Type": "application/json"})
    assert "content-length" not in response.request.headers  # really sent chunked
    assert_error(response, 413, "payload_too_large", "request body is larger than 65536 bytes")


def test_streamed_body_under_the_limit_is_read(env: Env) -> None:
    def chunks() -> Iterator[bytes]:
        yield '{"question": "九龙坡的市场主体'.encode()
        yield '总量有多少户？"}'.encode()

    response = env.client.post("/v1/ask", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["question"] == "九龙坡的市场主体总量有多少户？"


def test_request_id_is_echoed_when_sane_and_replaced_otherwise(env: Env) -> None:
    assert env.client.get("/healthz", headers={"X-Request-ID": "req-42_abc"}).headers["x-request-id"] == "req-42_abc"
    for bad in ("has spaces", "x" * 65, "semi;colon", "ünïcode"):
        rid = env.client.get("/healthz", headers={b"x-request-id": bad.encode("utf-8")}).headers["x-request-id"]
        assert rid != bad and len(rid) == 32 and int(rid, 16) >= 0
    first, second = (env.client.get("/healthz").headers["x-request-id"] for _ in range(2))
    assert first != second
    # also on errors raised before any route runs
    assert env.client.get("/nope", headers={"X-Request-ID": "r1"}).headers["x-request-id"] == "r1"
    big = env.client.post("/v1/ask", content=b"x" * 70_000, headers={"X-Request-ID": "r2"})
    assert big.status_code == 413 and big.headers["x-request-id"] == "r2"


def test_unknown_route_and_wrong_method(env: Env) -> None:
    assert_error(env.client.get("/v2/ask"), 404, "not_found", "Not Found")
    wrong = env.client.put("/v1/ask", json={"question": "x"})
    assert_error(wrong, 405, "method_not_allowed", "Method Not Allowed")
    assert wrong.headers["allow"] == "POST"
    both = env.client.request("PATCH", "/v1/documents")
    assert_error(both, 405, "method_not_allowed", "Method Not Allowed")
    assert both.headers["allow"] == "GET, POST"


def test_v1_errors_stay_json_with_the_chat_ui_mounted(env: Env) -> None:
    """The UI is mounted at ``/``: unknown /v1 paths must not fall through to it."""
    with TestClient(create_app(env.settings, service=env.service, ui=True)) as client:
        assert client.get("/v1/documents").status_code == 200
        assert_error(client.get("/v1/nope"), 404, "not_found", "Not Found")
        assert_error(client.get("/v1/documents/..%2F..%2Fetc%2Fpasswd"), 404, "not_found", "Not Found")
        wrong = client.delete("/v1/ask")
        assert_error(wrong, 405, "method_not_allowed", "Method Not Allowed")
        assert wrong.headers["allow"] == "POST"
        assert client.get("/").status_code == 200  # the UI itself still answers


def test_unhandled_error_is_a_json_500_with_request_id(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("kaboom /secret/path")

    monkeypatch.setattr(env.service, "ask", boom)
    response = env.client.post("/v1/ask", json={"question": "九龙坡"}, headers={"X-Request-ID": "crash-1"})
    assert_error(response, 500, "internal_error", "internal error; the request id is in the X-Request-ID header")
    assert response.headers["x-request-id"] == "crash-1"
    assert "kaboom" not in response.text


def test_cors_follows_the_configured_origins(make_env: Callable[..., Env]) -> None:
    app = make_env(MINI, cors_origins=["https://portal.example"])
    preflight = {"Origin": "https://portal.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "Authorization, Content-Type"}
    allowed = app.client.options("/v1/ask", headers=preflight)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://portal.example"
    simple = app.client.get("/v1/documents", headers={"Origin": "https://portal.example"})
    assert simple.headers["access-control-allow-origin"] == "https://portal.example"
    assert "X-Request-ID" in simple.headers["access-control-expose-headers"]
    refused = app.client.options("/v1/ask", headers={**preflight, "Origin": "https://evil.example"})
    assert_error(refused, 400, "cors_rejected")
    assert "access-control-allow-origin" not in refused.headers
    other = app.client.get("/v1/documents", headers={"Origin": "https://evil.example"})
    assert other.status_code == 200 and "access-control-allow-origin" not in other.headers


def test_no_cors_headers_without_configured_origins(env: Env) -> None:
    response = env.client.get("/v1/documents", headers={"Origin": "https://portal.example"})
    assert "access-control-allow-origin" not in response.headers


# -- readiness -----------------------------------------------------------------------------------------------


def test_readyz_is_503_while_loading_then_200(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(tmp_path, MINI)
    release = threading.Event()
    original = Service.from_settings

    def slow(config: Settings | None = None, embedder: Any = None, auto_build: bool = True,
             wait: bool = True) -> Service:
        assert release.wait(30), "the test never released the loader"
        return original(config, HashEmbedder())

    monkeypatch.setattr(Service, "from_settings", staticmethod(slow))
    with TestClient(create_app(settings, ui=False)) as client:
        loading = client.get("/readyz")
        assert_error(loading, 503, "not_ready", "the index is still loading")
        assert loading.headers["retry-after"] == "5"
        early = client.post("/v1/ask", json={"question": "九龙坡"})
        assert_error(early, 503, "not_ready", "the index is still loading; retry shortly")
        assert early.headers["retry-after"] == "5"
        assert client.get("/healthz").status_code == 200  # alive while not ready
        release.set()
        deadline = time.monotonic() + 30
        while (ready := client.get("/readyz")).status_code == 503 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ready.status_code == 200, ready.text
        assert ready.json()["documents"] == 2
        assert client.post("/v1/ask", json={"question": "九龙坡"}).status_code == 200
        client.app.state.qa["service"].snapshot.close()  # type: ignore[attr-defined]


def test_a_failed_load_is_reported_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Service:
        raise CorpusError("corpus folder /nowhere does not exist")

    monkeypatch.setattr(Service, "from_settings", staticmethod(broken))
    with TestClient(create_app(make_settings(tmp_path, MINI), ui=False)) as client:
        deadline = time.monotonic() + 10
        while client.app.state.qa["error"] is None and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.01)
        message = "corpus folder /nowhere does not exist"
        assert_error(client.get("/readyz"), 503, "not_ready", message)
        assert_error(client.get("/v1/documents"), 503, "not_ready", message)
        assert client.get("/healthz").status_code == 200


# -- writes --------------------------------------------------------------------------------------------------


def test_upload_then_ask_finds_the_new_document(make_env: Callable[..., Env]) -> None:
    app = make_env()
    before = app.client.get("/readyz").json()
    response = app.client.post("/v1/documents", headers=app.admin, json={
        "title": "测试区风车", "text": WINDMILLS, "doc_id": "windmills", "date": "2030-01-02", "source": "测试"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == DOC_KEYS | {"chunks_embedded", "index", "notes"}
    assert (body["doc_id"], body["title"], body["date"], body["source"], body["chars"]) == (
        "windmills", "测试区风车", "2030-01-02", "测试", len(WINDMILLS))
    assert body["chunks_embedded"] >= 1
    assert body["index"] != before["index"]
    assert app.client.get("/readyz").json()["index"] == body["index"]
    assert app.client.get("/readyz").json()["documents"] == before["documents"] + 1

    answer = app.client.post("/v1/ask", json={"question": "测试区2030年新建了多少座风车？"}).json()
    assert answer["found"] is True
    assert "987座" in answer["answer"]
    assert answer["citations"][0]["doc_id"] == "windmills"
    assert answer["citations"][0]["text"] == WINDMILLS[answer["citations"][0]["start"]:answer["citations"][0]["end"]]
    assert any(f["value"] == 987 and f["unit"] == "座" for f in answer["figures"])
    stored = app.client.get("/v1/documents/windmills").json()
    assert stored["text"] == WINDMILLS
    assert any(f["value"] == 987 for f in app.client.get("/v1/figures", params={"doc_id": "windmills"}).json())


def test_multipart_upload_of_a_markdown_file(make_env: Callable[..., Env]) -> None:
    app = make_env(MINI)
    text = "# 风车报告\n\n测试区2030年新建了987座风车。\n"
    response = app.client.post("/v1/documents", headers=app.admin, data={"title": "风车", "date": "2030"},
                               files={"file": ("windmills.md", text.encode("utf-8"), "text/markdown")})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["title"] == "风车" and body["date"] == "2030-01-01"
    assert body["doc_id"].startswith("doc_")
    assert f"{body['doc_id']}.md" in app.corpus_files()
    assert app.client.get(f"/v1/documents/{body['doc_id']}").json()["text"] == text
    again = app.client.post("/v1/documents", headers=app.admin, json={"title": "风车", "text": text})
    assert_error(again, 409, "corpus_conflict", f"document {body['doc_id']!r} already exists")


def test_delete_then_ask_never_cites_it(make_env: Callable[..., Env]) -> None:
    app = make_env()
    created = app.client.post("/v1/documents", headers=app.admin,
                              json={"title": "测试区风车", "text": WINDMILLS, "doc_id": "windmills"})
    assert created.status_code == 201, created.text
    question = {"question": "测试区2030年新建了多少座风车？", "top_k": 20}
    assert any(c["doc_id"] == "windmills" for c in app.client.post("/v1/ask", json=question).json()["citations"])

    deleted = app.client.delete("/v1/documents/windmills", headers=app.admin)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"doc_id": "windmills", "status": "deleted", "index": deleted.json()["index"]}
    assert app.client.get("/readyz").json()["index"] == deleted.json()["index"]

    after = app.client.post("/v1/ask", json=question).json()
    assert all(c["doc_id"] != "windmills" for c in after["citations"])
    assert "987" not in after["answer"]
    hits = app.client.get("/v1/search", params={"q": "测试区 风车 987座", "k": 50}).json()
    assert all(h["doc_id"] != "windmills" for h in hits)
    assert_error(app.client.get("/v1/documents/windmills"), 404, "not_found", "unknown document 'windmills'")
    assert_error(app.client.get("/v1/figures", params={"doc_id": "windmills"}), 404, "not_found",
                 "unknown document 'windmills'")
    assert "windmills" not in app.doc_ids()
    assert not any(name.startswith("windmills") for name in app.corpus_files())
    assert "windmills" not in (app.settings.corpus_dir / "manifest.json").read_text(encoding="utf-8")
    assert_error(app.client.delete("/v1/documents/windmills", headers=app.admin), 404, "not_found",
                 "unknown document 'windmills'")


def test_reindex_returns_counts(make_env: Callable[..., Env]) -> None:
    app = make_env()
    ready = app.client.get("/readyz").json()
    same = app.client.post("/v1/reindex", headers=app.admin)
    assert same.status_code == 200, same.text
    body = same.json()
    assert set(body) == {"index", "documents", "chunks", "added", "removed", "seconds"}
    assert (body["documents"], body["chunks"], body["added"], body["removed"]) == (5, ready["chunks"], [], [])
    assert body["index"] == ready["index"]  # nothing changed, nothing rebuilt
    assert body["seconds"] >= 0

    (app.settings.corpus_dir / "dropped.txt").write_text("测试区2030年新建了987座风车。\n", encoding="utf-8")
    grown = app.client.post("/v1/reindex", headers=app.admin).json()
    assert (grown["documents"], grown["added"], grown["removed"]) == (6, ["dropped"], [])
    assert grown["index"] != ready["index"]
    assert "dropped" in app.doc_ids()

    full = app.client.post("/v1/reindex", params={"full": "true"}, headers=app.admin).json()
    assert full["documents"] == 6 and len(full["added"]) == 6


BAD_UPLOADS = [
    pytest.param({"files": {"file": ("scan.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")}}, 422,
                 "unparseable_document", "scan.txt: the file is an image, not plain text; rename it to .png",
                 id="binary"),
    pytest.param({"files": {"file": ("gbk.txt", "九龙坡区".encode("gbk"))}}, 422, "unparseable_document",
                 "gbk.txt: not valid UTF-8 text (invalid start byte at byte 0)", id="not-utf8"),
    pytest.param({"files": {"file": ("blank.txt", b" \n\t ")}}, 422, "unparseable_document",
                 "blank.txt: empty document", id="blank-file"),
    pytest.param({"files": {"file": ("report.pdf", b"%PDF-1.7\n")}}, 422, "unparseable_document",
                 "report.pdf: not a readable PDF (Failed to load document (PDFium: Data format error))", id="pdf"),
    pytest.param({"files": {"file": ("report.exe", b"MZ\x90")}}, 422, "unparseable_document",
                 "report.exe: unsupported file type .exe; supported: .bmp, .csv, .docx, .htm, .html, .jpeg, .jpg, .md, "
                 ".ofd, .pdf, .png, .shtml, .tif, .tiff, .txt, .webp, .xlsm, .xlsx", id="unsupported"),
    pytest.param({"files": {"attachment": ("a.txt", b"abc")}, "data": {"title": "t"}}, 422, "invalid_request",
                 "multipart upload needs a 'file' field", id="no-file-field"),
    pytest.param({"files": {"file": ("a.txt", b"abc")}, "data": {"date": "yesterday"}}, 422, "invalid_request",
                 "invalid date 'yesterday': expected YYYY-MM-DD", id="multipart-bad-date"),
    pytest.param({"json": {"title": "t", "text": " \n "}}, 422, "unparseable_document", "empty document",
                 id="json-blank"),
    pytest.param({"json": {"title": "t", "text": ""}}, 422, "invalid_request",
                 "text: String should have at least 1 character", id="json-empty"),
    pytest.param({"json": {"text": "abc"}}, 422, "invalid_request", "title: Field required", id="json-no-title"),
    pytest.param({"json": {"title": "t", "text": "abc", "date": "2020-13-45"}}, 422, "invalid_request",
                 "invalid date '2020-13-45': expected YYYY-MM-DD", id="json-bad-date"),
    pytest.param({"json": {"title": "t", "text": "abc", "doc_id": "../x"}}, 422, "invalid_request",
                 "invalid document id '../x': use 1-64 letters, digits, '_', '.', '-'", id="json-traversal-id"),
    pytest.param({"json": {"title": "t", "text": "abc", "doc_id": "narrow"}}, 409, "corpus_conflict",
                 "document 'narrow' already exists", id="json-duplicate-id"),
    pytest.param({"content": b'{"title": "t", "text": ', "headers": {"Content-Type": "application/json"}}, 422,
                 "invalid_request", "body is not valid JSON: Expecting value at position 23", id="json-broken"),
    pytest.param({"content": b'{"title": "t", "text": "\xff"}', "headers": {"Content-Type": "application/json"}},
                 422, "invalid_request", "body is not valid JSON: not UTF-8 (invalid start byte at byte 24)",
                 id="json-not-utf8"),
    pytest.param({"content": b"garbage", "headers": {"Content-Type": "multipart/form-data; boundary=x"}},
                 400, "bad_request", "Invalid multipart data.", id="multipart-broken"),
]


@pytest.mark.parametrize(("request_kwargs", "status", "code", "message"), BAD_UPLOADS)
def test_bad_upload_changes_nothing(make_env: Callable[..., Env], request_kwargs: dict[str, Any], status: int,
                                    code: str, message: str | None) -> None:
    app = make_env(MINI)
    docs, files = app.doc_ids(), app.corpus_files()
    manifest = (app.settings.corpus_dir / "manifest.json").read_bytes()
    index = app.client.get("/readyz").json()["index"]
    kwargs = dict(request_kwargs)
    headers = {**app.admin, **kwargs.pop("headers", {})}
    response = app.client.post("/v1/documents", headers=headers, **kwargs)
    assert_error(response, status, code, message)
    assert app.doc_ids() == docs
    assert app.corpus_files() == files
    assert (app.settings.corpus_dir / "manifest.json").read_bytes() == manifest
    assert app.client.get("/readyz").json()["index"] == index


def test_upload_over_the_upload_limit_is_413(make_env: Callable[..., Env]) -> None:
    app = make_env(MINI, max_upload_bytes=4096)
    docs = app.doc_ids()
    response = app.client.post("/v1/documents", headers=app.admin,
                               files={"file": ("big.txt", ("风" * 3000).encode("utf-8"))})
    assert_error(response, 413, "payload_too_large", "request body is larger than 4096 bytes")
    small = app.client.post("/v1/documents", headers=app.admin, json={"title": "小", "text": "风" * 1000})
    assert small.status_code == 201, "uploads may exceed max_request_bytes up to max_upload_bytes"
    assert len(app.doc_ids()) == len(docs) + 1


def test_failed_indexing_rolls_the_upload_back(make_env: Callable[..., Env], monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_env(MINI)
    docs, files = app.doc_ids(), app.corpus_files()

    def broken_build(*args: Any, **kwargs: Any) -> Any:
        raise CorpusError("disk full")

    monkeypatch.setattr(qa.service, "build", broken_build)
    monkeypatch.setattr(qa.service, "update", broken_build)  # an upload writes a segment, or builds in full
    response = app.client.post("/v1/documents", headers=app.admin, json={"title": "t", "text": WINDMILLS})
    assert_error(response, 409, "corpus_conflict", "disk full")
    assert app.doc_ids() == docs
    assert app.corpus_files() == files


def test_asks_during_an_upload_all_succeed(make_env: Callable[..., Env], monkeypatch: pytest.MonkeyPatch) -> None:
    """The index swap is atomic: requests racing an upload see the old index or the new, never an error."""
    app = make_env()
    original_build = qa.service.build
    building = threading.Event()

    def slow_build(*args: Any, **kwargs: Any) -> Any:
        building.set()
        report = original_build(*args, **kwargs)
        time.sleep(0.5)  # widen the window between the new index on disk and the swap
        return report

    original_update = qa.service.update

    def slow_update(*args: Any, **kwargs: Any) -> Any:
        building.set()
        report = original_update(*args, **kwargs)
        time.sleep(0.5)
        return report

    monkeypatch.setattr(qa.service, "build", slow_build)
    monkeypatch.setattr(qa.service, "update", slow_update)  # an upload writes a segment
    results: list[tuple[int, set[str]]] = []
    lock = threading.Lock()
    upload_done = threading.Event()

    def ask_until_done() -> None:
        count = 0
        while (not upload_done.is_set() or count < 5) and count < 500:
            response = app.client.post("/v1/ask", json={"question": "测试区2030年新建了多少座风车？"})
            docs = {c["doc_id"] for c in response.json().get("citations", [])} if response.status_code == 200 else set()
            with lock:
                results.append((response.status_code, docs))
            count += 1

    askers = [threading.Thread(target=ask_until_done) for _ in range(4)]
    for thread in askers:
        thread.start()
    upload: dict[str, Response] = {}

    def do_upload() -> None:
        upload["response"] = app.client.post("/v1/documents", headers=app.admin,
                                             json={"title": "测试区风车", "text": WINDMILLS, "doc_id": "windmills"})
        upload_done.set()

    uploader = threading.Thread(target=do_upload)
    uploader.start()
    uploader.join(60)
    for thread in askers:
        thread.join(60)
    assert upload["response"].status_code == 201, upload["response"].text
    assert building.is_set()
    statuses = [status for status, _ in results]
    assert statuses and all(status == 200 for status in statuses), sorted(set(statuses))
    assert any("windmills" not in docs for _, docs in results), "some asks ran before the swap"
    after = app.client.post("/v1/ask", json={"question": "测试区2030年新建了多少座风车？"}).json()
    assert after["citations"][0]["doc_id"] == "windmills"
