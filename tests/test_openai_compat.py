"""OpenAI-compatible chat and the source view, in-process: the wire format, every refusal, the reply's layout."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import make_settings
from qa.api.app import create_app
from qa.api.keys import KeyStore
from qa.api.openai_compat import ChatMessage, conversation
from qa.api.reply import answer_text, chat_reply
from qa.embed import HashEmbedder
from qa.response import answer_sentences
from qa.service import Service
from qa.types import Answer, Citation

QUESTION = "九龙坡2020年地区生产总值是多少？"
TWO_PARTS = "跳磴河治理累计投入了多少资金？和荣获什么奖？"  # answered in two sentences from two reports
MARKER = re.compile(r"\[(\d+)\]")


@dataclass
class Env:
    client: TestClient
    service: Service
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def chat(self, messages: list[dict[str, Any]] | str, **extra: Any) -> Any:
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        return self.client.post("/v1/chat/completions", json={"model": "qa", "messages": messages, **extra},
                                headers=self.auth)


def open_env(tmp: Any, **overrides: Any) -> Iterator[Env]:
    settings = make_settings(tmp, rate_limit_per_minute=100_000, **overrides)
    service = Service.from_settings(settings, HashEmbedder())
    key = KeyStore.open(settings.state_dir).create("portal")
    with TestClient(create_app(settings, service=service, ui=False)) as client:
        yield Env(client, service, key)
    service.snapshot.close()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    yield from open_env(tmp_path_factory.mktemp("openai"))


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """An app whose reads require a key, so its source links are signed."""
    yield from open_env(tmp_path_factory.mktemp("openai-locked"), api_read_requires_key=True)


def events(response: Any) -> list[Any]:
    """The data of each server-sent event; ``[DONE]`` stays a string."""
    assert response.text.endswith("data: [DONE]\n\n")
    blocks = response.text.split("\n\n")
    assert blocks[-1] == ""
    out = []
    for block in blocks[:-1]:
        assert block.startswith("data: ") and "\n" not in block, block
        data = block[len("data: "):]
        out.append(data if data == "[DONE]" else json.loads(data))
    return out


def error_of(response: Any, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    assert response.headers["x-request-id"]
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    return dict(body["error"])


# -- the answer's sentences -------------------------------------------------------------------------
@pytest.mark.parametrize("text, pieces", [
    ("突破1500亿元大关、居全市第二[1]。", ["突破1500亿元大关、居全市第二[1]。"]),
    ("甲[1]；乙“丙”[2]。丁", ["甲[1]；", "乙“丙”[2]。", "丁"]),
    ("甲。[1][2]乙[3]！", ["甲。[1][2]", "乙[3]！"]),
    ("第一行\n\n第二行", ["第一行\n\n", "第二行"]),
    ("", []),
])
def test_answer_sentences_keep_their_markers(text: str, pieces: list[str]) -> None:
    assert answer_sentences(text) == pieces
    assert "".join(answer_sentences(text)) == text


# -- the conversation -------------------------------------------------------------------------------
def messages(*turns: tuple[str, Any]) -> list[ChatMessage]:
    return [ChatMessage.model_validate({"role": role, "content": content}) for role, content in turns]


def test_earlier_user_turns_become_history_with_their_replies() -> None:
    reply = "> 结合上文理解为：甲\n\n答案[1]。\n\n来源：\n[1] [《报告》](http://h/v1/documents/d/view?start=0&end=9#cited)（2021-05-01）"
    question, history = conversation(messages(
        ("system", "be brief"), ("user", "甲？"), ("assistant", reply), ("user", [{"type": "text", "text": "乙？"}]),
        ("user", "  "), ("user", "x" * 501), ("user", [{"type": "text", "text": "丙"}, {"type": "text", "text": "呢？"}])),
        max_question_chars=500)
    assert question == "丙\n呢？"
    assert history == [{"question": "甲？", "answer": "答案[1]。"}, {"question": "乙？", "answer": ""}]


def test_history_keeps_the_latest_turns() -> None:
    turns = [("user", f"问题{i}？") for i in range(30)]
    _, history = conversation(messages(*turns, ("user", "最后？")), max_question_chars=500)
    assert [h["question"] for h in history] == [f"问题{i}？" for i in range(10, 30)]


def test_reply_layout_round_trips_to_the_answer_text() -> None:
    cite = Citation(id=2, doc_id="d", title="标题[含括号]", date=None, chunk_id="c", start=3, end=9, text="原文", score=1)
    answer = Answer(question="q", found=True, text="甲[2]。乙[2]；", citations=(cite,), notes=("结合上文理解为：q2", "覆盖率"))
    reply = chat_reply(answer, lambda c: f"http://h/{c.doc_id}/{c.start}-{c.end}")
    assert reply.pieces == ("> 结合上文理解为：q2\n\n", "甲[2]。", "乙[2]；",
                            "\n\n来源：\n[2] [《标题\\[含括号\\]》](http://h/d/3-9)（日期不详）")
    assert answer_text(reply.content) == answer.text
    assert [(a["url_citation"]["start_index"], a["url_citation"]["end_index"]) for a in reply.annotations] == [
        (m.start(), m.end()) for m in MARKER.finditer(reply.content)]
    assert answer_text("plain text, no layout") == "plain text, no layout"


# -- whole completions ------------------------------------------------------------------------------
def test_completion_shape(env: Env) -> None:
    response = env.chat(QUESTION, temperature=0, top_p=1, tools=[], presence_penalty=0, unknown={"x": 1})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"id", "object", "created", "model", "system_fingerprint", "choices", "usage"}
    assert body["id"].startswith("chatcmpl-") and body["object"] == "chat.completion" and body["model"] == "qa"
    assert isinstance(body["created"], int)
    assert body["system_fingerprint"] == env.service.snapshot.path.name
    (choice,) = body["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    message = choice["message"]
    assert message["role"] == "assistant" and message["refusal"] is None
    asked = env.client.post("/v1/ask", json={"question": QUESTION}).json()
    assert {k: v for k, v in message["qa"].items() if k != "took_ms"} == \
        {k: v for k, v in asked.items() if k != "took_ms"}
    for item in message["annotations"]:
        cite = item["url_citation"]
        n = int(message["content"][cite["start_index"]:cite["end_index"]].strip("[]"))
        citation = next(c for c in asked["citations"] if c["id"] == n)
        start, end = citation["quote_start"], citation["quote_end"]  # the quoted sentence, inside the passage
        assert start is not None and citation["start"] <= start < end <= citation["end"]
        assert cite["url"] == f"http://testserver/v1/documents/{citation['doc_id']}/view?start={start}&end={end}#cited"


def test_not_found_lists_the_closest_passages(env: Env) -> None:
    message = env.chat("九龙坡区的房价是多少？").json()["choices"][0]["message"]
    assert not message["qa"]["found"]
    text, listed = message["content"].split("\n\n资料中最接近的段落：\n")
    assert text == message["qa"]["answer"]
    lines = listed.split("\n")
    assert len(lines) == min(3, len(message["qa"]["citations"]))
    assert all(line.startswith(f"[{i}] [《") and "）：" in line for i, line in enumerate(lines, 1))
    assert len(message["annotations"]) == len(lines)


@pytest.mark.parametrize("body, status, code, message", [
    ({"model": "gpt-4o", "messages": [{"role": "user", "content": QUESTION}]}, 404, "model_not_found",
     "unknown model 'gpt-4o'; GET /v1/models lists 'qa'"),
    ({"messages": [{"role": "user", "content": QUESTION}]}, 422, "invalid_request", "model: Field required"),
    ({"model": "qa", "messages": []}, 422, "invalid_request",
     "messages: List should have at least 1 item after validation, not 0"),
    ({"model": "qa", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
     422, "invalid_request", "messages.0.content: part 0 is of type 'image_url'; only text parts are supported"),
    ({"model": "qa", "messages": [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": "…"}]},
     422, "invalid_request", "messages: the last message must be the user's question (role 'user'), not 'assistant'"),
    ({"model": "qa", "messages": [{"role": "user", "content": "   "}]}, 422, "invalid_request",
     "question must not be empty"),
    ({"model": "qa", "messages": [{"role": "user", "content": "问" * 501}]}, 422, "invalid_request",
     "question is too long (501 characters; the limit is 500)"),
    ({"model": "qa", "messages": [{"role": "robot", "content": QUESTION}]}, 422, "invalid_request", None),
    ({"model": "qa", "messages": [{"role": "user", "content": QUESTION}], "n": 2}, 422, "invalid_request",
     "n: Input should be less than or equal to 1"),
    ({"model": "qa", "messages": [{"role": "user", "content": QUESTION}], "stream": "yes"}, 422, "invalid_request",
     "stream: Input should be a valid boolean"),
])
def test_refusals_are_clear(env: Env, body: dict[str, Any], status: int, code: str, message: str | None) -> None:
    error = error_of(env.client.post("/v1/chat/completions", json=body, headers=env.auth), status)
    assert error["code"] == code
    if message is not None:
        assert error["message"] == message
    else:
        assert error["message"].startswith("messages.0.role: Input should be 'system', 'developer', 'user'")


def test_a_bad_key_is_refused_before_the_body_is_checked(env: Env) -> None:
    response = env.client.post("/v1/chat/completions", json={"model": "other"},
                               headers={"Authorization": "Bearer nope"})
    assert error_of(response, 401) == {"code": "invalid_key", "message": "the API key is not valid"}


def test_reads_that_require_a_key_require_one_here_too(locked: Env) -> None:
    for response in (locked.client.get("/v1/models"),
                     locked.client.post("/v1/chat/completions",
                                        json={"model": "qa", "messages": [{"role": "user", "content": QUESTION}]})):
        assert error_of(response, 401)["code"] == "missing_key"
    assert locked.client.get("/v1/models", headers=locked.auth).status_code == 200


def test_models(env: Env) -> None:
    listed = env.client.get("/v1/models", headers=env.auth).json()
    assert listed["object"] == "list" and [m["id"] for m in listed["data"]] == ["qa"]
    assert env.client.get("/v1/models/qa").json() == listed["data"][0]
    assert error_of(env.client.get("/v1/models/other"), 404)["code"] == "model_not_found"


# -- streams ----------------------------------------------------------------------------------------
def test_stream_events_and_headers(env: Env) -> None:
    whole = env.chat(TWO_PARTS).json()
    response = env.chat(TWO_PARTS, stream=True)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache, no-transform"
    assert response.headers["x-accel-buffering"] == "no"
    data = events(response)
    assert data[-1] == "[DONE]"
    chunks = data[:-1]
    assert {c["id"] for c in chunks} == {chunks[0]["id"]} and chunks[0]["id"].startswith("chatcmpl-")
    assert all(c["object"] == "chat.completion.chunk" and isinstance(c["created"], int) for c in chunks)
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert deltas[-1] == {} and chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    message = whole["choices"][0]["message"]
    texts = [d["content"] for d in deltas[1:-1]]
    assert texts == [*answer_sentences(message["qa"]["answer"]), texts[-1]] and len(texts) >= 3
    assert texts[-1].startswith("\n\n来源：\n")
    assert "".join(texts) == message["content"]
    with_citations = [d for d in deltas if "annotations" in d]
    assert with_citations == [deltas[-2]]
    assert with_citations[0]["annotations"] == message["annotations"]
    assert with_citations[0]["qa"]["citations"] == message["qa"]["citations"]
    assert "usage" not in chunks[0]


def test_stream_usage_on_request(env: Env) -> None:
    chunks = events(env.chat(QUESTION, stream=True, stream_options={"include_usage": True}))[:-1]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 0
    assert all(c["usage"] is None for c in chunks[:-1])


def test_stream_refusals_are_plain_errors(env: Env) -> None:
    error = error_of(env.chat("  ", stream=True), 422)
    assert error == {"code": "invalid_request", "message": "question must not be empty"}


# -- the source view --------------------------------------------------------------------------------
def cited_url(env: Env) -> tuple[str, dict[str, Any]]:
    message = env.chat(QUESTION).json()["choices"][0]["message"]
    return message["annotations"][0]["url_citation"]["url"], message["qa"]["citations"][0]


def test_source_view_highlights_exactly_the_cited_span(env: Env) -> None:
    url, citation = cited_url(env)
    page = env.client.get(url.removeprefix("http://testserver"))
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src" not in page.headers["content-security-policy"]
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    mark = re.search(r'<mark class="qa-span" id="cited">(.*?)</mark>', page.text, re.S)
    assert mark is not None
    document = env.client.get(f"/v1/documents/{citation['doc_id']}").json()["text"]
    assert html.unescape(re.sub(r"<[^>]+>", "", mark.group(1))) == document[citation["quote_start"]:citation["quote_end"]]
    assert '<span class="qa-fig"' in mark.group(1)  # the 1500亿元 inside it is marked as a figure
    assert f"<h1>{html.escape(citation['title'])}</h1>" in page.text and citation["date"] in page.text
    whole = env.client.get(f"/v1/documents/{citation['doc_id']}/view")
    assert whole.status_code == 200 and "<mark" not in whole.text.split("<main>")[1]


@pytest.mark.parametrize("query, status, message", [
    ("?start=5", 422, "give both start and end, or neither"),
    ("?start=9&end=3", 422, "start and end must satisfy 0 <= start < end <= {n} (the document's length)"),
    ("?start=0&end=99999999", 422, "start and end must satisfy 0 <= start < end <= {n} (the document's length)"),
])
def test_source_view_refuses_bad_spans(env: Env, query: str, status: int, message: str) -> None:
    doc = env.service.documents()[0]
    error = error_of(env.client.get(f"/v1/documents/{doc.doc_id}/view{query}"), status)
    assert error == {"code": "invalid_request", "message": message.format(n=len(doc.text))}


def test_source_view_errors_are_pages_for_browsers(env: Env) -> None:
    assert error_of(env.client.get("/v1/documents/gone/view"), 404) == {
        "code": "not_found", "message": "unknown document 'gone'"}
    page = env.client.get("/v1/documents/gone/view", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "无法显示原文" in page.text and "这篇报告不在资料库中" in page.text


def test_links_are_signed_when_reads_need_a_key(locked: Env) -> None:
    url, citation = cited_url(locked)
    path = url.removeprefix("http://testserver")
    assert "&sig=" in path
    assert locked.client.get(path).status_code == 200  # a browser following the link sends no key
    forged = re.sub(r"start=\d+", "start=1", path)
    assert error_of(locked.client.get(forged), 401)["code"] == "missing_key"
    bare = f"/v1/documents/{citation['doc_id']}/view"
    assert error_of(locked.client.get(bare), 401)["code"] == "missing_key"
    assert locked.client.get(bare, headers=locked.auth).status_code == 200
