"""OpenAI-compatible Chat Completions: ``POST /v1/chat/completions`` and ``GET /v1/models``.

Shaped like OpenAI's API, so the official ``openai`` SDK, Open WebUI, LobeChat and the like work with
``base_url=http://host:8000/v1`` and one of the server's API keys. The conversation is stateless: the
last message is the question and the earlier user turns are its follow-up history, as ``/v1/ask`` takes
them. Unknown parameters are ignored; ``stream`` defaults to false. Citations come in three layers:

1. ``[n]`` markers in the text and a short 来源 list at its end (Markdown links to the source view);
2. ``message.annotations``: a ``url_citation`` per marker, pointing at the cited span's source view;
3. ``message.qa``: the answer exactly as ``/v1/ask`` returns it (citations, figures, notes).

A stream sends the same reply sentence by sentence as ``chat.completion.chunk`` events: the role, then
the notes and each sentence, then the 来源 list carrying the annotations and ``qa`` in its delta, then
an empty delta with ``finish_reason: "stop"``, then ``data: [DONE]``.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations (see app.py).

import datetime as dt
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Path, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, field_validator

from qa.api import schemas
from qa.api.app import ApiError
from qa.api.reply import ChatReply, answer_text, chat_reply
from qa.api.source_view import SourceLinks
from qa.errors import QueryError
from qa.query import check_question
from qa.response import answer_to_dict
from qa.service import Service
from qa.types import Answer

MODEL_ID = "qa"
OWNER = "qa"
HISTORY_TURNS = 20  # the most recent turns a follow-up is read against (/v1/ask accepts as many)
STREAM_HEADERS = {
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",  # nginx and the proxies that copy it: pass each event on at once
}
NO_USAGE = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}  # no language model runs


# -- requests ---------------------------------------------------------------------------------------
class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["text"]
    text: schemas.Text


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: schemas.Text | list[ContentPart] | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _text_parts_only(cls, value: Any) -> Any:
        """Refuse images, audio and files by name, rather than with a union's every mismatch."""
        if isinstance(value, list):
            for i, part in enumerate(value):
                kind = part.get("type") if isinstance(part, dict) else None
                if isinstance(kind, str) and kind != "text":
                    raise ValueError(f"part {i} is of type {kind!r}; only text parts are supported")
        return value

    def text(self) -> str:
        """The message's text, its parts joined by line breaks."""
        if isinstance(self.content, list):
            return "\n".join(part.text for part in self.content)
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: StrictBool | None = None


# The bound sits before the validator, or pydantic leaves it out of the JSON schema.
OneChoice = Annotated[int, Field(ge=1, le=1), BeforeValidator(schemas._json_integer)]


class ChatRequest(BaseModel):
    """What ``/v1/chat/completions`` reads; every other OpenAI parameter is accepted and ignored."""

    model_config = ConfigDict(extra="ignore")

    model: schemas.Text = Field(description="an id from GET /v1/models", max_length=200)
    messages: list[ChatMessage] = Field(min_length=1, description="the conversation; the last message is the question")
    stream: StrictBool | None = Field(False, description="send server-sent events (default false)")
    stream_options: StreamOptions | None = None
    n: OneChoice | None = Field(None, description="one choice: answers are extractive")


def conversation(messages: list[ChatMessage], max_question_chars: int) -> tuple[str, list[dict[str, str]]]:
    """The question (the last message, the user's) and the earlier user turns with their replies as history."""
    last = messages[-1]
    if last.role != "user":
        raise QueryError(f"messages: the last message must be the user's question (role 'user'), not {last.role!r}")
    history: list[dict[str, str]] = []
    for message in messages[:-1]:
        text = message.text()
        if message.role == "user":
            # A turn that could never have been asked (blank, too long) has nothing to point back to.
            if text.strip() and len(text) <= max_question_chars:
                history.append({"question": text, "answer": ""})
        elif message.role == "assistant" and history and not history[-1]["answer"]:
            history[-1]["answer"] = answer_text(text)
    return last.text(), history[-HISTORY_TURNS:]


# -- responses --------------------------------------------------------------------------------------
class Model(BaseModel):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"]
    data: list[Model]


class UrlCitation(BaseModel):
    start_index: int
    end_index: int
    title: str
    url: str


class Annotation(BaseModel):
    type: Literal["url_citation"]
    url_citation: UrlCitation


class AssistantMessage(BaseModel):
    role: Literal["assistant"]
    content: str
    refusal: None = None
    annotations: list[Annotation]
    qa: schemas.AskResponse = Field(description="the answer exactly as POST /v1/ask returns it")


class Choice(BaseModel):
    index: int
    message: AssistantMessage
    finish_reason: Literal["stop"]
    logprobs: None = None


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"]
    created: int = Field(description="Unix time in seconds")
    model: str
    system_fingerprint: str = Field(description="the index version that answered")
    choices: list[Choice]
    usage: Usage


STREAM_DOC: dict[str, Any] = {
    "text/event-stream": {
        "schema": {"type": "string"},
        "example": 'data: {"id": "chatcmpl-…", "object": "chat.completion.chunk", "choices": [{"index": 0, '
                   '"delta": {"content": "…"}, "finish_reason": null}]}\n\n… data: [DONE]\n\n',
    }
}


class Completion:
    """One reply, as a whole completion or as the chunks of a stream."""

    def __init__(self, answer: Answer, reply: ChatReply, model: str, fingerprint: str) -> None:
        self.answer, self.reply, self.model, self.fingerprint = answer, reply, model, fingerprint
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())

    def _head(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model,
                "system_fingerprint": self.fingerprint}

    def whole(self) -> dict[str, Any]:
        """The ``chat.completion`` object."""
        message = {"role": "assistant", "content": self.reply.content, "refusal": None,
                   "annotations": list(self.reply.annotations), "qa": answer_to_dict(self.answer)}
        return {**self._head("chat.completion"),
                "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
                "usage": NO_USAGE}

    def chunks(self, include_usage: bool = False) -> Iterator[dict[str, Any]]:
        """The ``chat.completion.chunk`` objects of a stream, in order."""
        head = self._head("chat.completion.chunk")

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            out = {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}
            return {**out, "usage": None} if include_usage else out

        yield chunk({"role": "assistant", "content": ""})
        pieces = self.reply.pieces or ("",)
        for i, piece in enumerate(pieces, 1):
            delta: dict[str, Any] = {"content": piece}
            if i == len(pieces):  # the citations travel with the last piece of text
                delta |= {"annotations": list(self.reply.annotations), "qa": answer_to_dict(self.answer)}
            yield chunk(delta)
        yield chunk({}, "stop")
        if include_usage:
            yield {**head, "choices": [], "usage": NO_USAGE}

    def events(self, include_usage: bool = False) -> Iterator[str]:
        """The stream as server-sent events, ending with ``data: [DONE]``."""
        for chunk in self.chunks(include_usage):
            yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
        yield "data: [DONE]\n\n"


async def sent_one_by_one(events: list[str]) -> AsyncIterator[str]:
    """Events already made, each written on its own (a plain iterator would cost a thread hop per event)."""
    for event in events:
        yield event


def _unix(iso: str | None, fallback: int) -> int:
    try:
        return int(dt.datetime.fromisoformat(iso).timestamp()) if iso else fallback
    except ValueError:
        return fallback


# -- routes -----------------------------------------------------------------------------------------
def add_openai_routes(app: FastAPI, *, get_service: Callable[[], Service], reader: Callable[..., Any],
                      links: SourceLinks) -> None:
    """Register ``GET /v1/models``, ``GET /v1/models/{model}`` and ``POST /v1/chat/completions``."""
    started = int(time.time())
    auth = [Depends(reader)]

    def model_card(svc: Service) -> dict[str, Any]:
        return {"id": MODEL_ID, "object": "model", "created": _unix(svc.snapshot.meta.get("built_at"), started),
                "owned_by": OWNER}

    def known(model: str) -> None:
        if model != MODEL_ID:
            raise ApiError(404, "model_not_found", f"unknown model {model!r}; GET /v1/models lists {MODEL_ID!r}")

    @app.get("/v1/models", response_model=ModelList, tags=["openai"], responses=schemas.ERRORS, dependencies=auth)
    def list_models() -> dict[str, Any]:
        """The models chat clients may name: one, answering from every report."""
        return {"object": "list", "data": [model_card(get_service())]}

    @app.get("/v1/models/{model}", response_model=Model, tags=["openai"], responses=schemas.ERRORS,
             dependencies=auth)
    def get_model(model: Annotated[str, Path(max_length=200)]) -> dict[str, Any]:
        """One model."""
        svc = get_service()
        known(model)
        return model_card(svc)

    @app.post("/v1/chat/completions", response_model=ChatCompletion, tags=["openai"], dependencies=auth,
              responses={**schemas.ERRORS, 200: {"content": STREAM_DOC,
                                                 "description": "a chat.completion, or with stream=true its chunks"}})
    def chat_completions(body: ChatRequest, request: Request) -> Any:
        """An OpenAI-style chat completion: the cited, extractive answer to the last user message."""
        svc = get_service()
        known(body.model)
        question, history = conversation(body.messages, svc.settings.max_question_chars)
        question = check_question(question, svc.settings.max_question_chars)
        answer = svc.ask(question, history=history)
        base = links.base_url(request)
        reply = chat_reply(answer, lambda citation: links.cite(base, citation))
        completion = Completion(answer, reply, body.model, svc.snapshot.path.name)
        if not body.stream:
            return completion.whole()
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(sent_one_by_one(list(completion.events(include_usage))),
                                 media_type="text/event-stream", headers=STREAM_HEADERS)
