"""``seedtree serve`` against hostile HTTP clients: each attack performed on a real local server.

The server is the real one (``make_server``) on 127.0.0.1 with small limits; the model behind it
is a scripted backend, so that a test can hold the worker busy or make it die.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from seedtree.teacher.base import Completion, TeacherRequest, TeacherResponse
from seedtree.teacher.batching import BatchingEngine, ServedModel
from seedtree.teacher.embedded import Generated
from seedtree.teacher.server import ServeLimits, allowed_hosts, host_allowed, make_server

LIMITS = ServeLimits(max_body_bytes=4096, timeout_s=1.0, max_connections=4, max_queue=1)
CHAT = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 4}


class ScriptedBackend:
    """Answers "echo: <last message>"; can be held (``gate``) or made to kill its thread."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.calls = 0
        self.die = False

    def generate(self, requests: Sequence[TeacherRequest], **options: Any) -> list[Generated]:
        self.calls += 1
        self.gate.wait(timeout=30)
        if self.die:
            raise SystemExit("the worker thread ends here")
        return [self._answer(r) for r in requests]

    @staticmethod
    def _answer(request: TeacherRequest) -> Generated:
        text = f"echo: {request.messages[-1].content}"
        completions = tuple(Completion(text, "stop", 3) for _ in range(request.n))
        return Generated(TeacherResponse(completions, prompt_tokens=5))


@contextlib.contextmanager
def running(
    backend: ScriptedBackend, limits: ServeLimits = LIMITS, api_key: str | None = None
) -> Iterator[tuple[int, BatchingEngine]]:
    """A real server of ``backend`` on a free port of 127.0.0.1: (port, its engine)."""
    engine = BatchingEngine(backend, max_queue=limits.max_queue)  # type: ignore[arg-type]
    served = ServedModel("scripted", Path("scripted"))
    server = make_server("127.0.0.1", 0, served, lambda: engine, limits=limits, api_key=api_key)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port, engine
    finally:
        backend.gate.set()
        server.shutdown()
        server.server_close()
        engine.stop()


def request(
    port: int,
    method: str = "POST",
    path: str = "/v1/chat/completions",
    body: Any = CHAT,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    """One HTTP request with http.client: (status, JSON body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    try:
        conn.request(method, path, body=data if method == "POST" else None, headers=headers or {})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def raw(port: int, data: bytes, *, wait_s: float = 10.0) -> tuple[bytes, float]:
    """Send ``data`` on a new socket, read until the server closes: (reply, seconds taken)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=wait_s) as sock:
        sock.sendall(data)
        reply = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                reply += chunk
    return reply, time.monotonic() - started


def status_of(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.") else 0


def post_head(port: int, length: str) -> bytes:
    return (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def test_a_request_is_answered() -> None:
    with running(ScriptedBackend()) as (port, _engine):
        status, body = request(port, body={**CHAT, "n": 2})
    assert status == 200
    assert [c["message"]["content"] for c in body["choices"]] == ["echo: hello"] * 2


def test_an_oversized_body_is_refused_before_it_is_read() -> None:
    with running(ScriptedBackend()) as (port, _engine):
        reply, took = raw(port, post_head(port, str(50 << 20)) + b"{" * 1000)
        status, body = request(port, body={**CHAT, "pad": "x" * 5000})
    assert status_of(reply) == 413 and took < 5
    assert status == 413 and "larger than 4096 bytes" in body["error"]["message"]


@pytest.mark.parametrize("length", ["abc", "-5", "1e3", "12 34", "99999999999999999999999"])
def test_a_broken_content_length_is_a_400(length: str) -> None:
    with running(ScriptedBackend()) as (port, _engine):
        reply, took = raw(port, post_head(port, length) + b"{}")
    assert status_of(reply) in (400, 413), reply
    assert took < 5 and b"Traceback" not in reply


def test_a_body_without_length_and_malformed_json_are_refused() -> None:
    with running(ScriptedBackend()) as (port, _engine):
        chunked = (
            f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
        ).encode()
        no_length, _ = raw(port, chunked)
        nested = request(port, body=b"[" * 2000 + b"]" * 2000)
        broken = request(port, body=b"{not json")
        not_utf8 = request(port, body=b'{"a": "\xff"}')
    assert status_of(no_length) == 411
    assert nested[0] == 400 and "nested too deeply" in nested[1]["error"]["message"]
    assert broken[0] == 400 and not_utf8[0] == 400


def test_a_slow_client_is_cut_off_in_bounded_time() -> None:
    with running(ScriptedBackend()) as (port, _engine):
        half_body, took_body = raw(port, post_head(port, "100") + b'{"messages": ')
        _, took_head = raw(port, b"POST /v1/chat/completions HTTP/1.1\r\nHost: ")
        status, _ = request(port)  # the server still answers others
    assert status_of(half_body) == 408 and took_body < 4
    assert took_head < 4  # the connection is closed (no status line for half a header)
    assert status == 200


def test_a_full_queue_answers_503_at_once() -> None:
    backend = ScriptedBackend()
    backend.gate.clear()  # the worker holds the first request
    with running(backend) as (port, engine):
        answers: list[int] = []
        held = [threading.Thread(target=lambda: answers.append(request(port)[0])) for _ in "ab"]
        held[0].start()
        while backend.calls == 0:
            time.sleep(0.01)
        held[1].start()
        while engine._queue.qsize() < 1:
            time.sleep(0.01)
        started = time.monotonic()
        status, body = request(port)
        took = time.monotonic() - started
        backend.gate.set()
        for t in held:
            t.join(timeout=10)
    assert status == 503 and body["error"]["code"] == "server_busy" and took < 2
    assert answers == [200, 200]


def test_connections_beyond_the_cap_are_refused() -> None:
    limits = ServeLimits(max_body_bytes=4096, timeout_s=5.0, max_connections=2, max_queue=4)
    with running(ScriptedBackend(), limits) as (port, _engine):
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        try:
            time.sleep(0.2)  # both accepted and holding their threads
            reply, took = raw(port, post_head(port, "2") + b"{}")
        finally:
            for sock in idle:
                sock.close()
        time.sleep(0.2)
        status, _ = request(port)  # slots come back when connections close
    assert status_of(reply) == 503 and took < 2
    assert status == 200


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("evil.example:{port}", 403),
        ("rebind.attacker.test", 403),
        ("127.0.0.1:1", 403),
        ("localhost:{port}", 200),
        ("127.0.0.1:{port}", 200),
        ("[::1]:{port}", 200),
    ],
)
def test_requests_naming_another_host_are_refused(host: str, expected: int) -> None:
    with running(ScriptedBackend()) as (port, _engine):
        reply, _ = raw(port, _with_host(host.format(port=port)))
    assert status_of(reply) == expected, reply


def _with_host(host: str) -> bytes:
    data = json.dumps(CHAT).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


def test_host_rules() -> None:
    loopback = allowed_hosts("127.0.0.1")
    assert host_allowed("LOCALHOST:8000", loopback, 8000)
    assert host_allowed("10.1.2.3:8000", loopback, 8000)  # an IP literal never went through DNS
    assert not host_allowed(None, loopback, 8000)
    assert not host_allowed("localhost:8001", loopback, 8000)
    assert not host_allowed("localhost", allowed_hosts("10.0.0.5"), 8000)
    assert host_allowed("teacher.lan:80", allowed_hosts("teacher.lan"), 80)


def test_the_api_key_is_required_when_set() -> None:
    key = "s3cret-key"
    with running(ScriptedBackend(), api_key=key) as (port, _engine):
        missing = request(port)
        wrong = request(port, headers={"Authorization": "Bearer nope"})
        basic = request(port, headers={"Authorization": f"Basic {key}"})
        models = request(port, "GET", "/v1/models")
        right = request(port, headers={"Authorization": f"Bearer {key}"})
        health = request(port, "GET", "/health")
    assert [missing[0], wrong[0], basic[0], models[0]] == [401, 401, 401, 401]
    assert missing[1]["error"]["code"] == "invalid_api_key"
    assert right[0] == 200 and health == (200, {"status": "ok"})


def metrics(port: int, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """``GET /metrics``: (status, text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/metrics", headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def test_metrics_count_the_requests_and_want_the_api_key() -> None:
    backend = ScriptedBackend()
    backend.gate.clear()  # the worker holds the first request; the second waits behind it
    auth = {"Authorization": "Bearer s3cret-key"}
    with running(backend, api_key="s3cret-key") as (port, engine):
        held = [
            threading.Thread(target=request, args=(port,), kwargs={"headers": auth}) for _ in "ab"
        ]
        held[0].start()
        while engine.running == 0:
            time.sleep(0.01)
        held[1].start()
        while engine.waiting == 0:
            time.sleep(0.01)
        refused, busy = metrics(port), metrics(port, auth)
        backend.gate.set()
        for t in held:
            t.join(timeout=10)
        idle = metrics(port, auth)
    assert refused[0] == 401
    assert busy[0] == 200
    assert "seedtree_requests_running 1\n" in busy[1]
    assert "seedtree_requests_waiting 1\n" in busy[1]
    assert "seedtree_requests_running 0\n" in idle[1]
    assert "seedtree_requests_waiting 0\n" in idle[1]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_health_fails_and_requests_end_when_the_worker_dies() -> None:
    backend = ScriptedBackend()
    with running(backend) as (port, engine):
        assert request(port, "GET", "/health")[0] == 200
        backend.die = True
        started = time.monotonic()
        dying = request(port)
        after = request(port)
        took = time.monotonic() - started
        health = request(port, "GET", "/health")
        assert not engine.alive
    assert dying[0] == 503 and after[0] == 503 and took < 5
    assert health[0] == 503 and "stopped" in health[1]["status"]
