"""``seedtree serve``: a local model on an OpenAI-compatible HTTP API.

Endpoints: ``POST /v1/chat/completions`` (``n``, ``temperature``, ``top_p``, ``max_tokens``,
``stop``, ``seed``, ``logprobs``/``top_logprobs``), ``GET /v1/models`` and ``GET /health``.
HTTP threads parse and validate requests and put them on one queue; a single worker thread drains
everything queued into one call of the embedded backend, so concurrent requests are batched
together, then hands each caller its own response.
"""

from __future__ import annotations

import json
import queue
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from seedtree.errors import SeedtreeError, TeacherError, UsageError
from seedtree.models import resolve_model
from seedtree.teacher.base import Message, TeacherRequest
from seedtree.teacher.embedded import EmbeddedTeacher, Generated, TokenLogprob

MAX_TOP_LOGPROBS = 20
MAX_GATHER_S = 0.25  # longest a request waits for others to join its batch
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


@dataclass
class _Job:
    request: TeacherRequest
    top_logprobs: int
    done: threading.Event = field(default_factory=threading.Event)
    result: Generated | None = None
    error: Exception | None = None


class BatchingEngine:
    """One worker thread that batches every queued job into one backend call."""

    def __init__(self, teacher: EmbeddedTeacher, window_s: float = 0.02) -> None:
        self.teacher = teacher
        self.window_s = window_s  # how long a first request waits for others to join it
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="seedtree-serve", daemon=True)
        self._worker.start()

    def submit(self, request: TeacherRequest, top_logprobs: int) -> Generated:
        """Queue one request and wait for its result (raises what the backend raised)."""
        job = _Job(request, top_logprobs)
        self._queue.put(job)
        job.done.wait()
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result

    def stop(self) -> None:
        self._queue.put(None)
        self._worker.join(timeout=30)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            self._serve(self._gather(first))

    def _gather(self, first: _Job) -> list[_Job]:
        """``first`` and the jobs that follow it closely (each within ``window_s`` of the last).

        A burst of concurrent requests becomes one batch even when its requests trickle in over
        a few hundred milliseconds; ``MAX_GATHER_S`` bounds how long the first one waits.
        """
        jobs = [first]
        started = time.monotonic()
        while True:
            now = time.monotonic()
            wait = min(self.window_s, started + MAX_GATHER_S - now)
            try:
                nxt = self._queue.get(timeout=max(0.0, wait))
            except queue.Empty:
                return jobs
            if nxt is None:
                self._queue.put(None)  # stop after this batch
                return jobs
            jobs.append(nxt)

    def _serve(self, jobs: list[_Job]) -> None:
        try:
            k = max(job.top_logprobs for job in jobs)
            results = self.teacher.generate([job.request for job in jobs], top_logprobs=k)
        except Exception as exc:
            if len(jobs) > 1:  # find the request at fault: the others still get answers
                for job in jobs:
                    self._serve([job])
                return
            jobs[0].error = exc
            jobs[0].done.set()
            return
        for job, result in zip(jobs, results, strict=True):
            job.result = result
            job.done.set()


@dataclass(frozen=True)
class ServedModel:
    name: str
    path: Path

    def accepts(self, requested: object) -> bool:
        return requested in (None, "", self.name, self.path.name, str(self.path))


def parse_chat_request(body: Any) -> tuple[TeacherRequest, int]:
    """An OpenAI chat completion body → the teacher request and how many top logprobs to keep."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    if body.get("stream"):
        raise BadRequest("streaming is not supported", param="stream")
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


def chat_completion_body(
    model: str, request: TeacherRequest, done: Generated, top: int
) -> dict[str, Any]:
    """The OpenAI response body for one served request."""
    response = done.response
    choices = []
    for index, completion in enumerate(response.completions):
        logprobs = None
        if top and done.logprobs:
            logprobs = {"content": [_token_json(t, top) for t in done.logprobs[index]]}
        choices.append(
            {
                "index": index,
                "message": {"role": "assistant", "content": completion.text},
                "finish_reason": completion.finish_reason,
                "logprobs": logprobs,
            }
        )
    completion_tokens = sum(c.tokens for c in response.completions)
    return {
        "id": f"chatcmpl-{secrets.token_hex(12)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        "usage": {
            "prompt_tokens": response.prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": response.prompt_tokens + completion_tokens,
        },
    }


def make_server(
    host: str, port: int, served: ServedModel, engine: Callable[[], BatchingEngine]
) -> ThreadingHTTPServer:
    """An HTTP server bound to ``host:port`` (port 0 picks a free one) answering for ``served``.

    The port is bound before ``engine()`` loads the model, so a busy port fails at once.
    """

    class Handler(_Handler):
        model = served

    try:
        server = _Server((host, port), Handler)
    except OSError as exc:
        raise SeedtreeError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            hint="choose another --port (0 picks a free one)",
        ) from None
    try:
        Handler.batching = engine()
    except BaseException:
        server.server_close()
        raise
    return server


def serve_command(
    host: str, port: int, model: str, *, batch_size: int, device: str, quiet: bool = False
) -> int:
    """``seedtree serve``: load the model, serve until interrupted; returns the exit code."""

    path = resolve_model(model)

    def engine() -> BatchingEngine:
        return BatchingEngine(EmbeddedTeacher(path, batch_size=batch_size, device=device))

    server = make_server(host, port, ServedModel(model, path), engine)
    print(f"serving {model} on http://{host}:{server.server_port}/v1", flush=True)
    if not quiet:
        print("press Ctrl-C to stop", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.RequestHandlerClass.batching.stop()  # type: ignore[attr-defined]
    return 0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default backlog of 5 stalls bursts of concurrent clients


class _Handler(BaseHTTPRequestHandler):
    model: ServedModel
    batching: BatchingEngine
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per request is noise
        return

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            entry = {"id": self.model.name, "object": "model", "created": 0, "owned_by": "seedtree"}
            self._send(HTTPStatus.OK, {"object": "list", "data": [entry]})
        elif self.path.rstrip("/") == "/health":
            self._send(HTTPStatus.OK, {"status": "ok"})
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no route {self.path}", code="not_found")

    def do_POST(self) -> None:
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._error(HTTPStatus.NOT_FOUND, f"no route {self.path}", code="not_found")
            return
        try:
            payload = self._complete(self._read_json())
        except BadRequest as exc:
            self._error(exc.status, exc.message, param=exc.param, code=exc.code)
            return
        self._send(HTTPStatus.OK, payload)

    def _complete(self, body: Any) -> dict[str, Any]:
        requested = body.get("model") if isinstance(body, dict) else None
        if not self.model.accepts(requested):
            raise BadRequest(
                f"model {requested!r} is not served here (this server serves {self.model.name!r})",
                code="model_not_found",
                status=HTTPStatus.NOT_FOUND,
            )
        request, top = parse_chat_request(body)
        try:
            done = self.batching.submit(request, top)
        except (TeacherError, UsageError) as exc:
            code = "context_length_exceeded" if "context" in exc.message else "invalid_request"
            raise BadRequest(str(exc), code=code) from None
        except Exception as exc:  # the model failed: the client may retry
            raise BadRequest(
                f"generation failed: {exc}",
                code="server_error",
                status=HTTPStatus.INTERNAL_SERVER_ERROR,
            ) from None
        return chat_completion_body(self.model.name, request, done, top)

    def _read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BadRequest("the request body is not valid JSON") from None

    def _send(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(
        self, status: HTTPStatus, message: str, *, param: str | None = None, code: str | None = None
    ) -> None:
        kind = "invalid_request_error" if status < 500 else "server_error"
        self._send(
            status, {"error": {"message": message, "type": kind, "param": param, "code": code}}
        )


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
