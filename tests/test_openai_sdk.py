"""The official ``openai`` Python SDK, unchanged, against a running ``qa serve`` (``base_url=…/v1``).

Models, a whole and a streamed completion with their citations, a follow-up carried by the message history
(resolved as ``/v1/ask`` resolves it), and the SDK's own errors for a bad key (401) and too many requests (429).
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import openai
import pytest

from conftest import CLIENT_RATE_LIMIT, Server

QUESTION = "九龙坡2020年地区生产总值是多少？"
MARKER = re.compile(r"\[(\d+)\]")


def sdk(server: Server, key: str) -> openai.OpenAI:
    """The SDK as an integrator would set it up; no retries, so a 429 surfaces at once."""
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0, timeout=30)


@pytest.fixture
def client(clients_server: Server, request: pytest.FixtureRequest) -> openai.OpenAI:
    return sdk(clients_server, clients_server.new_key(request.node.name))


def ask(server: Server, question: str, history: list[dict[str, str]] | None = None) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/v1/ask", json={"question": question, "history": history or []},
                          headers={"Authorization": f"Bearer {server.new_key('ask')}"}, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def without_timing(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "took_ms"}


def annotation_of(item: Any) -> dict[str, Any]:
    """An annotation as plain data, whether the SDK parsed it into a model or left it a dict."""
    return item.model_dump() if hasattr(item, "model_dump") else dict(item)


def check_annotations(content: str, annotations: list[dict[str, Any]], citations: list[dict[str, Any]],
                      server: Server) -> None:
    """Every [n] of the text has an annotation over exactly that marker, linking to citation n's source view."""
    by_id = {c["id"]: c for c in citations}
    assert annotations, content
    assert len(annotations) == len(MARKER.findall(content))
    for item in annotations:
        assert item["type"] == "url_citation"
        cite = item["url_citation"]
        marker = content[cite["start_index"]:cite["end_index"]]
        citation = by_id[int(marker.strip("[]"))]
        assert cite["title"] == citation["title"]
        assert cite["url"].startswith(f"{server.url}/v1/documents/{citation['doc_id']}/view?")
        start, end = (citation["quote_start"], citation["quote_end"]) if citation["quote_start"] is not None \
            else (citation["start"], citation["end"])  # the quoted sentence when there is one
        assert f"start={start}&end={end}" in cite["url"]


def test_models_list(client: openai.OpenAI) -> None:
    models = client.models.list()
    assert [m.id for m in models] == ["qa"]
    assert models.data[0].object == "model" and isinstance(models.data[0].created, int)
    assert client.models.retrieve("qa").id == "qa"
    with pytest.raises(openai.NotFoundError) as missing:
        client.models.retrieve("gpt-4o")
    assert missing.value.code == "model_not_found"


def test_completion_answers_with_citations(client: openai.OpenAI, clients_server: Server) -> None:
    completion = client.chat.completions.create(model="qa", messages=[{"role": "user", "content": QUESTION}],
                                                temperature=0.3, max_tokens=256, user="portal-user-1")
    assert completion.object == "chat.completion" and completion.model == "qa"
    assert isinstance(completion.created, int) and completion.created > 1_600_000_000  # Unix seconds
    choice = completion.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    content = choice.message.content or ""
    structured = (choice.message.model_extra or {})["qa"]
    # layer 3: exactly what /v1/ask says for the same question
    assert without_timing(structured) == without_timing(ask(clients_server, QUESTION))
    assert structured["found"] and "1500亿元" in structured["answer"]
    # layer 1: the answer with its [n] markers, then the 来源 list naming each cited report
    assert content.startswith(structured["answer"])
    sources = content.split("\n\n来源：\n", 1)[1]
    for n in {int(m) for m in MARKER.findall(structured["answer"])}:
        title = next(c["title"] for c in structured["citations"] if c["id"] == n)
        assert f"[{n}] [《{title}》](" in sources
    # layer 2: url_citation annotations over the markers
    annotations = [annotation_of(a) for a in choice.message.annotations or []]
    check_annotations(content, annotations, structured["citations"], clients_server)
    assert completion.usage is not None and completion.usage.total_tokens == 0


def test_the_cited_span_opens_highlighted(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="qa", messages=[{"role": "user", "content": QUESTION}])
    message = completion.choices[0].message
    url = annotation_of((message.annotations or [])[0])["url_citation"]["url"]
    citation = (message.model_extra or {})["qa"]["citations"][0]
    page = httpx.get(url, headers={"Accept": "text/html"}, timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<mark class="qa-span" id="cited">' in page.text
    assert url.endswith("#cited")
    assert citation["title"] in page.text


def test_stream_reassembles_to_the_same_reply(client: openai.OpenAI) -> None:
    messages: list[Any] = [{"role": "user", "content": [{"type": "text", "text": QUESTION}]}]
    whole = client.chat.completions.create(model="qa", messages=messages).choices[0].message
    stream = client.chat.completions.create(model="qa", messages=messages, stream=True,
                                            stream_options={"include_usage": True})
    pieces: list[str] = []
    finishes: list[str | None] = []
    extras: list[dict[str, Any]] = []
    ids, usage = set(), None
    for chunk in stream:
        ids.add(chunk.id)
        assert chunk.object == "chat.completion.chunk" and isinstance(chunk.created, int)
        if not chunk.choices:
            usage = chunk.usage
            continue
        delta = chunk.choices[0].delta
        pieces.append(delta.content or "")
        finishes.append(chunk.choices[0].finish_reason)
        if delta.model_extra:
            extras.append(delta.model_extra)
    assert len(ids) == 1
    assert finishes[-1] == "stop" and finishes[:-1] == [None] * (len(finishes) - 1)
    assert sum(1 for p in pieces if p) >= 2  # the answer's sentences, then the source list
    assert "".join(pieces) == whole.content
    assert len(extras) == 1  # the citations travel once, with the last piece of text
    assert extras[0]["annotations"] == [annotation_of(a) for a in whole.annotations or []]
    assert without_timing(extras[0]["qa"]) == without_timing((whole.model_extra or {})["qa"])
    assert usage is not None and usage.total_tokens == 0


def test_follow_up_from_the_message_history(client: openai.OpenAI, clients_server: Server) -> None:
    first = client.chat.completions.create(model="qa", messages=[{"role": "user", "content": QUESTION}])
    earlier = first.choices[0].message.content or ""
    follow = client.chat.completions.create(model="qa", messages=[
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": earlier},
        {"role": "user", "content": "那2025年呢？"},
    ])
    message = follow.choices[0].message
    structured = (message.model_extra or {})["qa"]
    expected = ask(clients_server, "那2025年呢？", [{"question": QUESTION, "answer": ask(clients_server, QUESTION)["answer"]}])
    assert without_timing(structured) == without_timing(expected)
    assert "2025" in structured["resolved_question"] and structured["resolved_question"] != "那2025年呢？"
    assert (message.content or "").startswith(f"> 结合上文理解为：{structured['resolved_question']}\n\n")


def test_bad_key_is_a_clean_401(clients_server: Server) -> None:
    client = sdk(clients_server, "qa_not-a-key")
    with pytest.raises(openai.AuthenticationError) as failed:
        client.chat.completions.create(model="qa", messages=[{"role": "user", "content": QUESTION}])
    error = failed.value
    assert isinstance(error, openai.APIStatusError) and error.status_code == 401
    assert error.body == {"code": "invalid_key", "message": "the API key is not valid"}
    assert error.response.headers["x-request-id"]


def test_too_many_requests_is_a_clean_429(clients_server: Server) -> None:
    client = sdk(clients_server, clients_server.new_key("burst"))
    with pytest.raises(openai.RateLimitError) as limited:
        for _ in range(CLIENT_RATE_LIMIT * 3):  # the bucket holds CLIENT_RATE_LIMIT; a few refill meanwhile
            client.models.list()
    error = limited.value
    assert isinstance(error, openai.APIStatusError) and error.status_code == 429
    assert error.body == {"code": "rate_limited", "message": "too many requests; slow down"}
    assert int(error.response.headers["retry-after"]) >= 1
