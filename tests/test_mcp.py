"""The MCP server at ``/mcp`` of a running ``qa serve``, driven by the ``mcp`` client library over streamable HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from conftest import Server

QUESTION = "九龙坡2020年地区生产总值是多少？"
TOOLS = {"ask", "get_document", "list_documents", "list_figures", "search"}


def with_client(server: Server, key: str, work: Callable[[Client], Awaitable[Any]]) -> Any:
    """Run ``work`` with an MCP client connected to the server with ``key``."""

    async def main() -> Any:
        async with (httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30) as http,
                    Client(streamable_http_client(f"{server.url}/mcp", http_client=http)) as client):
            return await work(client)

    return asyncio.run(main())


@pytest.fixture
def key(clients_server: Server, request: pytest.FixtureRequest) -> str:
    return clients_server.new_key(request.node.name)


def test_lists_its_tools(clients_server: Server, key: str) -> None:
    async def work(client: Client) -> Any:
        return (await client.list_tools()).tools

    tools = {t.name: t for t in with_client(clients_server, key, work)}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description and tool.annotations is not None and tool.annotations.read_only_hint
    assert tools["search"].input_schema["required"] == ["query"]
    assert tools["ask"].input_schema["required"] == ["question"]


def test_search_returns_cited_passages(clients_server: Server, key: str) -> None:
    async def work(client: Client) -> Any:
        return await client.call_tool("search", {"query": "跳磴河综合整治", "k": 2})

    result = with_client(clients_server, key, work)
    assert not result.is_error
    passages = result.structured_content["passages"]
    assert 1 <= len(passages) <= 2 and passages[0]["id"] == 1
    for p in passages:
        raw = httpx.get(f"{clients_server.url}/v1/documents/{p['doc_id']}", timeout=30).json()["text"]
        assert p["text"] == raw[p["start"]:p["end"]]
        assert p["url"].startswith(f"{clients_server.url}/v1/documents/{p['doc_id']}/view?start={p['start']}")


def test_ask_answers_as_the_api_does(clients_server: Server, key: str) -> None:
    async def work(client: Client) -> Any:
        first = await client.call_tool("ask", {"question": QUESTION})
        follow = await client.call_tool("ask", {"question": "那2025年呢？", "history": [
            {"question": QUESTION, "answer": first.structured_content["answer"]}]})
        blank = await client.call_tool("ask", {"question": "   "})
        return first, follow, blank

    first, follow, blank = with_client(clients_server, key, work)
    api = httpx.post(f"{clients_server.url}/v1/ask", json={"question": QUESTION}, timeout=30).json()
    assert not first.is_error
    assert {k: v for k, v in first.structured_content.items() if k != "took_ms"} == \
        {k: v for k, v in api.items() if k != "took_ms"}
    text = first.content[0].text
    assert text.startswith(api["answer"]) and "\n\n来源：\n[1] [《" in text and "/view?start=" in text
    assert "2025" in follow.structured_content["resolved_question"]
    assert blank.is_error and "question must not be empty" in blank.content[0].text


def test_documents_and_figures(clients_server: Server, key: str) -> None:
    async def work(client: Client) -> Any:
        docs = await client.call_tool("list_documents", {})
        doc_id = docs.structured_content["documents"][0]["doc_id"]
        part = await client.call_tool("get_document", {"doc_id": doc_id, "start": 10, "end": 50})
        missing = await client.call_tool("get_document", {"doc_id": "no-such-doc"})
        figures = await client.call_tool("list_figures", {"metric": "地区生产总值", "year": 2020, "limit": 3})
        return doc_id, part, missing, figures

    doc_id, part, missing, figures = with_client(clients_server, key, work)
    raw = httpx.get(f"{clients_server.url}/v1/documents/{doc_id}", timeout=30).json()["text"]
    assert part.structured_content["text"] == raw[10:50]
    assert part.structured_content["chars"] == len(raw)
    assert missing.is_error and "unknown document 'no-such-doc'" in missing.content[0].text
    api = httpx.get(f"{clients_server.url}/v1/figures", params={"metric": "地区生产总值", "year": 2020},
                    timeout=30).json()
    assert len(api) > 3  # so the limit shows
    assert figures.structured_content == {"total": len(api), "figures": api[:3]}


def test_the_api_checks_come_first(clients_server: Server) -> None:
    init = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {"Accept": "application/json, text/event-stream"}
    url = f"{clients_server.url}/mcp"
    bad = httpx.post(url, json=init, headers={**headers, "Authorization": "Bearer nope"}, timeout=30)
    assert bad.status_code == 401
    assert bad.json() == {"error": {"code": "invalid_key", "message": "the API key is not valid"}}
    assert bad.headers["x-request-id"]
    foreign = httpx.post(url, json=init, headers={**headers, "Origin": "http://attacker.example"}, timeout=30)
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == "forbidden_origin"
    browsed = httpx.get(url, timeout=30)
    assert browsed.status_code == 405 and browsed.headers["allow"] == "POST"
    assert browsed.json()["error"]["code"] == "method_not_allowed"
    too_big = httpx.post(url, content=b"x" * 70_000, headers={**headers, "Content-Type": "application/json"},
                         timeout=30)
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "payload_too_large"
