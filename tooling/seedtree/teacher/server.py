"""The HTTP server of ``seedtree serve``: ``POST /v1/chat/completions``, ``GET /v1/models``,
``GET /metrics`` and ``GET /health``, over :mod:`seedtree.teacher.wire` and
:mod:`seedtree.teacher.batching`.

HTTP clients are untrusted: bodies are capped, idle sockets time out, a whole request (request
line, headers and body) must arrive within a deadline (408), connections (in all and per client
address) and queued requests are bounded (503 beyond), malformed requests (a duplicate
``Content-Length``, a number too long to convert) get a 400, a ``Host`` other than the address
served is refused (DNS rebinding), and an optional bearer token guards the API.

:meth:`ApiServer.stop` stops mid-batch: generation is cancelled between two decoding steps and
each request in flight gets a 503 before the socket closes.
"""

from __future__ import annotations

import contextlib
import hmac
import io
import ipaddress
import json
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from seedtree.errors import SeedtreeError, TeacherError, UsageError
from seedtree.teacher.base import TeacherRequest
from seedtree.teacher.batching import BatchingEngine, ServedModel, ServerBusy, WorkerGone
from seedtree.teacher.embedded import Generated
from seedtree.teacher.wire import (
    BadRequest,
    chat_completion_body,
    chat_completion_chunks,
    parse_chat_request,
    parse_json,
    parse_streaming,
)


@dataclass(frozen=True)
class ServeLimits:
    """What one HTTP client may cost the server."""

    max_body_bytes: int = 4 << 20  # a request body larger than this is refused (413)
    timeout_s: float = 30.0  # a socket silent this long is closed
    max_connections: int = 64  # open connections (one thread each); more are refused (503)
    max_queue: int = 256  # requests waiting for the model; more are refused (503)
    # request line, headers and body must all arrive within this, from the request's first byte
    request_timeout_s: float = 30.0
    max_per_client: int = 16  # open connections from one client address; more are refused (503)


def make_server(
    host: str,
    port: int,
    served: ServedModel,
    engine: Callable[[], BatchingEngine],
    *,
    limits: ServeLimits | None = None,
    api_key: str | None = None,
) -> ApiServer:
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
        server = ApiServer((host, port), Handler, bounds)
    except OSError as exc:
        raise SeedtreeError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            hint="choose another --port (0 picks a free one)",
        ) from None
    Handler.hosts = allowed_hosts(host)
    Handler.port = server.server_port
    Handler.in_flight = server.in_flight
    try:
        server.batching = Handler.batching = engine()
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


class ClientSlots:
    """Open connections counted per client address, each address up to a cap."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._open: Counter[str] = Counter()
        self._lock = threading.Lock()

    def acquire(self, client: str) -> bool:
        """Take a slot for ``client``; False when it already holds ``cap`` connections."""
        with self._lock:
            if self._open[client] >= self.cap:
                return False
            self._open[client] += 1
            return True

    def release(self, client: str) -> None:
        with self._lock:
            self._open[client] -= 1
            if self._open[client] <= 0:
                del self._open[client]


def client_key(client_address: Any) -> str:
    """The address a connection comes from (its port left out), as the per-client cap counts."""
    host = client_address[0] if isinstance(client_address, tuple) else client_address
    return str(host).lower()


class InFlight:
    """Requests being answered, counted so that a stopping server can let them finish."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    def __enter__(self) -> None:
        with self._changed:
            self._count += 1

    def __exit__(self, *exc: object) -> None:
        with self._changed:
            self._count -= 1
            self._changed.notify_all()

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until no request is being answered (False if some still are after the wait)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._count == 0, timeout_s)


class ApiServer(ThreadingHTTPServer):
    """The server: one thread per connection (capped), one :class:`BatchingEngine` behind."""

    daemon_threads = True
    request_queue_size = 256  # the default backlog of 5 stalls bursts of concurrent clients
    batching: BatchingEngine

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], limits: ServeLimits
    ) -> None:
        self.slots = threading.BoundedSemaphore(limits.max_connections)
        self.clients = ClientSlots(limits.max_per_client)
        self.in_flight = InFlight()
        super().__init__(address, handler)

    def stop(self, wait_s: float = 5.0) -> int:
        """After ``serve_forever`` returned: cancel generation, give each request in flight
        its 503 (waiting up to ``wait_s``), close the socket; how many requests went unanswered.
        """
        self.batching.stop()
        self.in_flight.wait_idle(wait_s)
        self.server_close()
        return self.batching.abandoned

    def process_request(self, request: Any, client_address: Any) -> None:
        """One thread per connection, up to the caps (in all and per client address); beyond
        them a 503 and the door closes."""
        client = client_key(client_address)
        if not self.clients.acquire(client):
            self._refuse(request, "too many connections from this address")
            return
        if not self.slots.acquire(blocking=False):
            self.clients.release(client)
            self._refuse(request, "too many connections")
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            self.clients.release(client)
            raise

    def _refuse(self, request: Any, why: str) -> None:
        _refuse_connection(request, why)
        self.shutdown_request(request)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()
            self.clients.release(client_key(client_address))


def _refuse_connection(sock: socket.socket, why: str = "too many connections") -> None:
    body = json.dumps(_error_body(HTTPStatus.SERVICE_UNAVAILABLE, why)).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
    )
    try:
        sock.settimeout(1.0)
        sock.sendall(head.encode("ascii") + body)
    except OSError:
        pass


class DeadlineReader(io.RawIOBase):
    """A connection's input, under a deadline for the whole request once :meth:`arm` is called.

    The socket timeout alone bounds each silence, so a client sending one byte a second would
    hold its connection (and a slot) forever. Armed, the reader starts the request's clock at the
    first byte that arrives, waits no later than ``budget_s`` after it, and then raises
    :class:`TimeoutError` (``expired`` says so). Disarmed, each read waits ``idle_s`` at most.
    """

    def __init__(self, sock: socket.socket, idle_s: float, budget_s: float) -> None:
        super().__init__()
        self._sock, self._idle, self._budget = sock, idle_s, budget_s
        self._armed = False
        self._deadline: float | None = None
        self.expired = False

    def readable(self) -> bool:
        return True

    def arm(self) -> None:
        """A new request: its clock starts at its first byte."""
        self._armed, self._deadline, self.expired = True, None, False

    def disarm(self) -> None:
        """The request is in: reads and writes go back to the idle timeout."""
        self._armed, self._deadline = False, None
        self._sock.settimeout(self._idle)

    def readinto(self, buffer: Any) -> int:
        wait = self._idle
        if self._deadline is not None:
            wait = min(wait, self._deadline - time.monotonic())
            if wait <= 0:
                self.expired = True
                raise TimeoutError("the request came too slowly")
        self._sock.settimeout(wait)
        try:
            received = self._sock.recv_into(buffer)
        except TimeoutError:
            self.expired = self._deadline is not None  # silent in the middle of a request
            raise
        if received and self._armed and self._deadline is None:
            self._deadline = time.monotonic() + self._budget
        return received


def _error_body(
    status: HTTPStatus, message: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    model: ServedModel
    batching: BatchingEngine
    in_flight: InFlight
    limits: ServeLimits
    key: str | None
    hosts: frozenset[str]
    port: int
    reader: DeadlineReader
    replied: bool
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per request is noise
        return

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # the socket's own reader, replaced by one that keeps a deadline
        self.reader = DeadlineReader(
            self.connection, self.limits.timeout_s, self.limits.request_timeout_s
        )
        self.rfile = io.BufferedReader(self.reader)
        self.replied = False

    def handle_one_request(self) -> None:
        """One request under the deadline; 408 when its line or headers came too slowly."""
        self.reader.arm()
        self.replied = False
        self.requestline, self.request_version, self.command = "", "HTTP/1.1", ""
        super().handle_one_request()  # closes the connection on a TimeoutError
        if self.reader.expired and not self.replied:
            with contextlib.suppress(OSError):
                self._fail(self._abandon(HTTPStatus.REQUEST_TIMEOUT, "the request came too slowly"))
        self.reader.disarm()

    def send_response(self, code: int, message: str | None = None) -> None:
        self.replied = True
        self.reader.disarm()  # an answer is not written against the request's deadline
        super().send_response(code, message)

    def do_GET(self) -> None:
        self.reader.disarm()  # the request is in: it has no body
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
        elif route == "/metrics":
            self._metrics()
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
            body = self._read_json()
        except BadRequest as exc:
            self._fail(exc)
            return
        with self.in_flight:  # a stopping server waits for its answer, even a 503
            try:
                self._complete(body)
            except BadRequest as exc:
                self._fail(exc)

    def _health(self) -> None:
        if self.batching.alive:
            self._send(HTTPStatus.OK, {"status": "ok"})
        else:
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, {"status": "the model worker has stopped"})

    def _metrics(self) -> None:
        """Requests being generated and waiting, in Prometheus' text format (as vLLM's)."""
        gauges = {
            "requests_running": ("requests in the batch being generated", self.batching.running),
            "requests_waiting": ("requests queued for the next batch", self.batching.waiting),
        }
        lines = []
        for name, (help_text, value) in gauges.items():
            lines += [f"# HELP seedtree_{name} {help_text}", f"# TYPE seedtree_{name} gauge"]
            lines.append(f"seedtree_{name} {value}")
        data = ("\n".join(lines) + "\n").encode()
        self._send_bytes(HTTPStatus.OK, data, "text/plain; version=0.0.4")

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
        self.reader.disarm()
        return parse_json(b"".join(chunks))

    def _content_length(self) -> int:
        if self.headers.get("Transfer-Encoding"):
            raise self._abandon(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length")
        declared = self.headers.get_all("Content-Length") or []
        if len(declared) > 1:  # two lengths let a proxy and this server split requests apart
            raise self._abandon(HTTPStatus.BAD_REQUEST, "Content-Length is given more than once")
        raw = "".join(declared).strip()
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
        self._send_bytes(status, data, "application/json", headers)

    def _send_bytes(
        self, status: HTTPStatus, data: bytes, kind: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
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
