"""``seedtree serve``: a local model on an OpenAI-compatible HTTP API.

Endpoints: ``POST /v1/chat/completions`` (``n``, ``temperature``, ``top_p``, ``max_tokens``,
``stop``, ``seed``, ``logprobs``/``top_logprobs``, ``stream``), ``GET /v1/models`` and
``GET /health``. HTTP threads parse and validate requests and put them on one bounded queue; a
single worker thread drains everything queued into one call of the embedded backend, so concurrent
requests are batched together, then hands each caller its own response (as one JSON body, or as
server-sent events with ``stream: true``).

HTTP clients are untrusted: bodies are capped, idle sockets time out, connections and queued
requests are bounded (503 beyond), malformed requests get a 400, a ``Host`` other than the
address served is refused (DNS rebinding), and an optional bearer token guards the API.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import os
import queue
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
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


@dataclass(frozen=True)
class ServeLimits:
    """What one HTTP client may cost the server."""

    max_body_bytes: int = 4 << 20  # a request body larger than this is refused (413)
    timeout_s: float = 30.0  # a socket silent this long is closed; a body must arrive in it
    max_connections: int = 64  # open connections (one thread each); more are refused (503)
    max_queue: int = 256  # requests waiting for the model; more are refused (503)


class ServerBusy(Exception):
    """The queue of requests waiting for the model is full."""


class WorkerGone(Exception):
    """The thread that runs the model has stopped: nothing queued will be answered."""


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

    def __init__(
        self, teacher: EmbeddedTeacher, window_s: float = 0.02, max_queue: int = 256
    ) -> None:
        self.teacher = teacher
        self.window_s = window_s  # how long a first request waits for others to join it
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=max_queue)
        self._stopping = False
        self._worker = threading.Thread(target=self._run, name="seedtree-serve", daemon=True)
        self._worker.start()

    @property
    def alive(self) -> bool:
        """Whether the worker thread still answers queued requests."""
        return self._worker.is_alive() and not self._stopping

    def submit(self, request: TeacherRequest, top_logprobs: int) -> Generated:
        """Queue one request and wait for its result (raises what the backend raised).

        Raises :class:`ServerBusy` when the queue is full and :class:`WorkerGone` when the
        worker has stopped (before or while the request waits).
        """
        if not self.alive:
            raise WorkerGone("the model worker has stopped")
        job = _Job(request, top_logprobs)
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise ServerBusy(f"{self._queue.maxsize} requests are already waiting") from None
        while not job.done.wait(timeout=0.5):
            if not self._worker.is_alive():
                raise WorkerGone("the model worker stopped before answering")
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result

    def stop(self) -> None:
        self._stopping = True
        with contextlib.suppress(queue.Full):  # full: the worker is gone, nothing drains it
            self._queue.put(None, timeout=1)
        self._worker.join(timeout=30)

    def _run(self) -> None:
        try:
            while not self._stopping:
                first = self._queue.get()
                if first is None:
                    return
                self._serve(self._gather(first))
        finally:
            self._fail_waiting()

    def _fail_waiting(self) -> None:
        """Answer every job still queued with :class:`WorkerGone` (the worker is ending)."""
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not None:
                job.error = WorkerGone("the model worker stopped before answering")
                job.done.set()

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
                self._stopping = True  # stop after this batch
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


def make_server(
    host: str,
    port: int,
    served: ServedModel,
    engine: Callable[[], BatchingEngine],
    *,
    limits: ServeLimits | None = None,
    api_key: str | None = None,
) -> ThreadingHTTPServer:
    """An HTTP server bound to ``host:port`` (port 0 picks a free one) answering for ``served``.

    The port is bound before ``engine()`` loads the model, so a busy port fails at once. With
    ``api_key``, every route but ``/health`` wants ``Authorization: Bearer <api_key>``.
    """
    bounds = limits or ServeLimits()

    class Handler(_Handler):
        model = served
        limits = bounds
        key = api_key
        timeout = bounds.timeout_s  # socket timeout of each connection (StreamRequestHandler)

    try:
        server = _Server((host, port), Handler, bounds.max_connections)
    except OSError as exc:
        raise SeedtreeError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            hint="choose another --port (0 picks a free one)",
        ) from None
    Handler.hosts = allowed_hosts(host)
    Handler.port = server.server_port
    try:
        Handler.batching = engine()
    except BaseException:
        server.server_close()
        raise
    return server


def api_key_from_env(name: str | None) -> str | None:
    """The API key held by environment variable ``name`` (``None`` when no name is given)."""
    if name is None:
        return None
    key = os.environ.get(name, "").strip()
    if not key:
        raise UsageError(
            f"--api-key-env {name}: the environment variable {name} is not set or empty",
            hint=f"export {name}=<a long random key> (clients send it as their API key)",
        )
    return key


def serve_command(
    host: str,
    port: int,
    model: str,
    *,
    batch_size: int,
    device: str,
    dtype: str = "auto",
    quantize: str = "none",
    quiet: bool = False,
    api_key_env: str | None = None,
    limits: ServeLimits | None = None,
) -> int:
    """``seedtree serve``: load the model, serve until interrupted; returns the exit code."""

    api_key = api_key_from_env(api_key_env)
    path = resolve_model(model)
    bounds = limits or ServeLimits()

    def engine() -> BatchingEngine:
        teacher = EmbeddedTeacher(
            path, batch_size=batch_size, device=device, dtype=dtype, quantize=quantize
        )
        return BatchingEngine(teacher, max_queue=bounds.max_queue)

    server = make_server(
        host, port, ServedModel(model, path), engine, limits=bounds, api_key=api_key
    )
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


# --- HTTP ------------------------------------------------------------------------------------

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})


def allowed_hosts(bound: str) -> frozenset[str]:
    """Host names (besides IP literals) that a request may name for a server bound to ``bound``.

    A browser tricked by DNS rebinding sends the attacker's host name; IP literals never go
    through DNS, so they are always accepted, and so is ``localhost`` for a loopback or
    all-interfaces address.
    """
    names = {bound.lower().strip("[]")}
    try:
        address = ipaddress.ip_address(bound.strip("[]"))
    except ValueError:
        return frozenset(names)
    if address.is_loopback or address.is_unspecified:
        names |= _LOOPBACK_NAMES
    return frozenset(names)


def host_allowed(header: str | None, names: frozenset[str], port: int) -> bool:
    """Whether a ``Host`` header names this server (one of ``names`` or an IP, and ``port``)."""
    if not header:
        return False
    name, given_port = _split_host(header.strip().lower())
    if given_port and given_port != str(port):
        return False
    if name in names:
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _split_host(value: str) -> tuple[str, str]:
    """``host[:port]`` or ``[v6]:port`` → (host, port or "")."""
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        return name, rest.removeprefix(":")
    if value.count(":") == 1:
        name, _, port = value.partition(":")
        return name, port
    return value, ""  # no port (or a bare IPv6 address)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default backlog of 5 stalls bursts of concurrent clients

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        max_connections: int,
    ) -> None:
        self.slots = threading.BoundedSemaphore(max_connections)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """One thread per connection, up to the cap; beyond it a 503 and the door closes."""
        if not self.slots.acquire(blocking=False):
            _refuse_connection(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


def _refuse_connection(sock: socket.socket) -> None:
    body = json.dumps(_error_body(HTTPStatus.SERVICE_UNAVAILABLE, "too many connections")).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
    )
    try:
        sock.settimeout(1.0)
        sock.sendall(head.encode("ascii") + body)
    except OSError:
        pass


def _error_body(
    status: HTTPStatus, message: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    model: ServedModel
    batching: BatchingEngine
    limits: ServeLimits
    key: str | None
    hosts: frozenset[str]
    port: int
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per request is noise
        return

    def do_GET(self) -> None:
        route = self.path.rstrip("/")
        try:
            self._admit(guarded=route != "/health")
        except BadRequest as exc:
            self._fail(exc)
            return
        if route in ("/v1/models", "/models"):
            entry = {"id": self.model.name, "object": "model", "created": 0, "owned_by": "seedtree"}
            self._send(HTTPStatus.OK, {"object": "list", "data": [entry]})
        elif route == "/health":
            self._health()
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no route {self.path}", code="not_found")

    def do_POST(self) -> None:
        try:
            self._admit(guarded=True)
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                self.close_connection = True  # its body is left unread
                raise BadRequest(
                    f"no route {self.path}", code="not_found", status=HTTPStatus.NOT_FOUND
                )
            self._complete(self._read_json())
        except BadRequest as exc:
            self._fail(exc)

    def _health(self) -> None:
        if self.batching.alive:
            self._send(HTTPStatus.OK, {"status": "ok"})
        else:
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, {"status": "the model worker has stopped"})

    def _admit(self, *, guarded: bool) -> None:
        """Refuse a request naming another host (DNS rebinding) or lacking the API key."""
        if not host_allowed(self.headers.get("Host"), self.hosts, self.port):
            self.close_connection = True
            raise BadRequest(
                f"Host {self.headers.get('Host')!r} is not this server",
                code="invalid_host",
                status=HTTPStatus.FORBIDDEN,
            )
        if guarded and self.key is not None and not self._authorized():
            self.close_connection = True
            raise BadRequest(
                "a valid API key is required (Authorization: Bearer <key>)",
                code="invalid_api_key",
                status=HTTPStatus.UNAUTHORIZED,
            )

    def _authorized(self) -> bool:
        assert self.key is not None
        scheme, _, given = (self.headers.get("Authorization") or "").partition(" ")
        expected = self.key.encode("utf-8")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode("utf-8", "replace"), expected
        )

    def _complete(self, body: Any) -> None:
        requested = body.get("model") if isinstance(body, dict) else None
        if not self.model.accepts(requested):
            raise BadRequest(
                f"model {requested!r} is not served here (this server serves {self.model.name!r})",
                code="model_not_found",
                status=HTTPStatus.NOT_FOUND,
            )
        request, top = parse_chat_request(body)
        streaming = parse_streaming(body)
        done = self._generate(request, top)
        if streaming.on:
            self._send_events(chat_completion_chunks(self.model.name, done, top, streaming))
        else:
            self._send(HTTPStatus.OK, chat_completion_body(self.model.name, request, done, top))

    def _generate(self, request: TeacherRequest, top: int) -> Generated:
        try:
            return self.batching.submit(request, top)
        except ServerBusy as exc:
            raise BadRequest(
                f"the server is busy ({exc}); retry later",
                code="server_busy",
                status=HTTPStatus.SERVICE_UNAVAILABLE,
            ) from None
        except WorkerGone as exc:
            raise BadRequest(
                str(exc), code="server_error", status=HTTPStatus.SERVICE_UNAVAILABLE
            ) from None
        except (TeacherError, UsageError) as exc:
            code = "context_length_exceeded" if "context" in exc.message else "invalid_request"
            raise BadRequest(str(exc), code=code) from None
        except Exception as exc:  # the model failed: the client may retry
            raise BadRequest(
                f"generation failed: {exc}",
                code="server_error",
                status=HTTPStatus.INTERNAL_SERVER_ERROR,
            ) from None

    def _read_json(self) -> Any:
        """The request body as JSON: its size declared, bounded and received in time."""
        length = self._content_length()
        deadline = time.monotonic() + self.limits.timeout_s
        chunks, received = [], 0
        while received < length:
            if time.monotonic() > deadline:
                raise self._abandon(HTTPStatus.REQUEST_TIMEOUT, "the request body came too slowly")
            try:
                chunk = self.rfile.read1(min(65536, length - received))
            except TimeoutError:
                raise self._abandon(
                    HTTPStatus.REQUEST_TIMEOUT, "the request body stopped"
                ) from None
            if not chunk:
                raise self._abandon(HTTPStatus.BAD_REQUEST, "the request body ended early")
            chunks.append(chunk)
            received += len(chunk)
        return _parse_json(b"".join(chunks))

    def _content_length(self) -> int:
        if self.headers.get("Transfer-Encoding"):
            raise self._abandon(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length")
        raw = (self.headers.get("Content-Length") or "").strip()
        if not raw:
            raise self._abandon(HTTPStatus.LENGTH_REQUIRED, "Content-Length is required")
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
            raise self._abandon(HTTPStatus.BAD_REQUEST, "Content-Length must be a byte count")
        length = int(raw)
        if length > self.limits.max_body_bytes:
            raise self._abandon(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the request body is larger than {self.limits.max_body_bytes} bytes",
            )
        return length

    def _abandon(self, status: HTTPStatus, message: str) -> BadRequest:
        """An error after which the connection closes (the rest of the body is not read)."""
        self.close_connection = True
        return BadRequest(message, status=status)

    def _send(
        self, status: HTTPStatus, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _send_events(self, chunks: Iterator[dict[str, Any]]) -> None:
        """Server-sent events, as the OpenAI API streams: ``data: {chunk}`` ... ``data: [DONE]``."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        events = (json.dumps(c, ensure_ascii=False) for c in chunks)
        for event in (*events, "[DONE]"):
            data = f"data: {event}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.write(b"0\r\n\r\n")

    def _fail(self, exc: BadRequest) -> None:
        headers = {}
        if exc.status == HTTPStatus.SERVICE_UNAVAILABLE:
            headers["Retry-After"] = "1"
        if exc.status == HTTPStatus.UNAUTHORIZED:
            headers["WWW-Authenticate"] = "Bearer"
        self._send(exc.status, _error_body(exc.status, exc.message, exc.param, exc.code), headers)

    def _error(
        self, status: HTTPStatus, message: str, *, param: str | None = None, code: str | None = None
    ) -> None:
        self._send(status, _error_body(status, message, param, code))


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest("the request body is not valid JSON") from None
    except RecursionError:
        raise BadRequest("the request body is nested too deeply") from None


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
