"""The OpenAI chat-completions wire format of ``seedtree serve``: a request body parsed and checked
into a :class:`TeacherRequest` (a :class:`BadRequest` names what is wrong), and the response
body or the server-sent stream chunks built from what the model generated.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from seedtree.teacher.base import Message, TeacherRequest
from seedtree.teacher.embedded import Generated, TokenLogprob

MAX_TOP_LOGPROBS = 20


_ROLES = ("system", "user", "assistant")


class BadRequest(Exception):
    """A request the server refuses (OpenAI-style error body; HTTP 400 unless said otherwise)."""

    def __init__(
        self,
        message: str,
        param: str | None = None,
        code: str | None = None,
        status: HTTPStatus = HTTPStatus.BAD_REQUEST,
    ) -> None:
        super().__init__(message)
        self.message, self.param, self.code, self.status = message, param, code, status


def parse_chat_request(body: Any) -> tuple[TeacherRequest, int]:
    """An OpenAI chat completion body → the teacher request and how many top logprobs to keep."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    request = TeacherRequest(
        messages=_messages(body.get("messages")),
        n=_int(body, "n", 1, low=1, high=128),
        temperature=_float(body, "temperature", 1.0, low=0.0, high=2.0),
        top_p=_float(body, "top_p", 1.0, low=0.0, high=1.0),
        max_tokens=_max_tokens(body),
        stop=_stop(body.get("stop")),
        seed=_int(body, "seed", secrets.randbits(31), low=-(2**63), high=2**63 - 1),
    )
    top = _int(body, "top_logprobs", 0, low=0, high=MAX_TOP_LOGPROBS)
    if body.get("logprobs") is True:
        top = max(top, 1)
    elif top:
        raise BadRequest("top_logprobs needs logprobs: true", param="top_logprobs")
    return request, top


@dataclass(frozen=True)
class Streaming:
    """``stream`` and ``stream_options.include_usage`` of a chat completion body."""

    on: bool = False
    include_usage: bool = False


def parse_streaming(body: dict[str, Any]) -> Streaming:
    stream, options = body.get("stream"), body.get("stream_options")
    if not (stream is None or isinstance(stream, bool)):
        raise BadRequest("stream must be true or false", param="stream")
    usage = options.get("include_usage") if isinstance(options, dict) else None
    if options is not None and not (
        isinstance(options, dict) and (usage is None or isinstance(usage, bool))
    ):
        raise BadRequest("stream_options must be {include_usage: bool}", param="stream_options")
    include = bool(options and options.get("include_usage"))
    return Streaming(on=bool(stream), include_usage=bool(stream) and include)


def _choice_logprobs(done: Generated, index: int, top: int) -> dict[str, Any] | None:
    if not (top and done.logprobs):
        return None
    return {"content": [_token_json(t, top) for t in done.logprobs[index]]}


def _usage(done: Generated) -> dict[str, int]:
    prompt = done.response.prompt_tokens
    completion = sum(c.tokens for c in done.response.completions)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _envelope(model: str, kind: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{secrets.token_hex(12)}",
        "object": kind,
        "created": int(time.time()),
        "model": model,
    }


def chat_completion_body(
    model: str, request: TeacherRequest, done: Generated, top: int
) -> dict[str, Any]:
    """The OpenAI response body for one served request."""
    choices = [
        {
            "index": index,
            "message": {"role": "assistant", "content": completion.text},
            "finish_reason": completion.finish_reason,
            "logprobs": _choice_logprobs(done, index, top),
        }
        for index, completion in enumerate(done.response.completions)
    ]
    return {**_envelope(model, "chat.completion"), "choices": choices, "usage": _usage(done)}


def chat_completion_chunks(
    model: str, done: Generated, top: int, streaming: Streaming
) -> Iterator[dict[str, Any]]:
    """The OpenAI ``chat.completion.chunk`` events of one served request, in order.

    Each choice gets its role, then its text (with its logprobs), then its finish reason; with
    ``include_usage`` a last chunk without choices carries the token counts.
    """
    head = _envelope(model, "chat.completion.chunk")

    def chunk(index: int, delta: dict[str, str], **rest: Any) -> dict[str, Any]:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": None}
        return {**head, "choices": [{**choice, **rest}]}

    for index, completion in enumerate(done.response.completions):
        yield chunk(index, {"role": "assistant", "content": ""})
        yield chunk(
            index, {"content": completion.text}, logprobs=_choice_logprobs(done, index, top)
        )
        yield chunk(index, {}, finish_reason=completion.finish_reason)
    if streaming.include_usage:
        yield {**head, "choices": [], "usage": _usage(done)}


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest("the request body is not valid JSON") from None
    except RecursionError:
        raise BadRequest("the request body is nested too deeply") from None
    except ValueError:  # an integer of thousands of digits: Python refuses to convert it
        raise BadRequest("the request body holds a number too long to read") from None


def _messages(raw: Any) -> tuple[Message, ...]:
    if not isinstance(raw, list) or not raw:
        raise BadRequest("messages must be a non-empty list", param="messages")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or item.get("role") not in _ROLES:
            raise BadRequest(f"messages[{i}]: role must be one of {', '.join(_ROLES)}", "messages")
        out.append(Message(item["role"], _content(item.get("content"), i)))
    return tuple(out)


def _content(raw: Any, index: int) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in raw):
        return "".join(str(p.get("text", "")) for p in raw)
    raise BadRequest(f"messages[{index}]: content must be a string or text parts", "messages")


def _int(body: dict[str, Any], key: str, default: int, *, low: int, high: int) -> int:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(f"{key} must be an integer from {low} to {high}", param=key)
    return value


def _float(body: dict[str, Any], key: str, default: float, *, low: float, high: float) -> float:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise BadRequest(f"{key} must be a number from {low} to {high}", param=key)
    return float(value)


def _max_tokens(body: dict[str, Any]) -> int:
    key = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    return _int(body, key, 256, low=1, high=1 << 20)


def _stop(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (raw,)
    if isinstance(raw, list) and all(isinstance(s, str) for s in raw) and len(raw) <= 16:
        return tuple(raw)
    raise BadRequest("stop must be a string or a list of at most 16 strings", param="stop")


def _token_json(token: TokenLogprob, top: int) -> dict[str, Any]:
    return {
        "token": token.token,
        "logprob": token.logprob,
        "bytes": list(token.token.encode("utf-8")),
        "top_logprobs": [
            {"token": t, "logprob": lp, "bytes": list(t.encode("utf-8"))}
            for t, lp in token.top[:top]
        ],
    }
