"""``seedtree serve`` against clients that trickle, crowd, smuggle or overflow: each attack is sent
with a raw socket to a real server on 127.0.0.1 (a scripted model behind it).

Every loop here is bounded by a count of bytes or connections, not by a clock.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket

from seedtree.teacher.server import ServeLimits
from teacher.test_serve_attacks import (
    CHAT,
    ScriptedBackend,
    post_head,
    raw,
    request,
    running,
    status_of,
)

TRICKLE = ServeLimits(
    max_body_bytes=4096, timeout_s=1.0, request_timeout_s=1.0, max_connections=8, max_queue=4
)
STEP_S = 0.05  # one byte this often: every byte well within the idle timeout


def _trickle(port: int, data: bytes) -> tuple[int, bytes]:
    """Send ``data`` one byte every ``STEP_S``; stop when the server answers or closes.

    Returns how many bytes were sent and what the server said.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for sent in range(len(data)):
            readable, _, _ = select.select([sock], [], [], STEP_S)
            if readable:
                return sent, _drain(sock)
            try:
                sock.sendall(data[sent : sent + 1])
            except OSError:
                return sent, b""
        return len(data), _drain(sock)


def _drain(sock: socket.socket) -> bytes:
    reply = b""
    with contextlib.suppress(ConnectionResetError, TimeoutError):
        while chunk := sock.recv(65536):
            reply += chunk
    return reply


def test_a_client_trickling_its_headers_is_cut_off() -> None:
    """Each byte arrives long before the idle timeout; the request as a whole never would."""
    padding = "X-Pad: " + "a" * 300 + "\r\n"
    head = f"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n{padding}\r\n".encode()
    with running(ScriptedBackend(), TRICKLE) as (port, _engine):
        sent, reply = _trickle(port, head)
        status, _ = request(port)
    assert sent < len(head)  # cut off long before the headers were complete
    assert status_of(reply) == 408, reply
    assert b"too slowly" in reply
    assert status == 200  # and the server still answers others


def test_a_client_trickling_its_request_line_is_cut_off() -> None:
    line = b"GET /v1/models?" + b"q" * 400 + b" HTTP/1.1\r\n\r\n"
    with running(ScriptedBackend(), TRICKLE) as (port, _engine):
        sent, reply = _trickle(port, line)
    assert sent < len(line) and status_of(reply) == 408, reply


def test_a_client_trickling_its_body_is_cut_off() -> None:
    body = json.dumps({**CHAT, "pad": "p" * 400}).encode()
    with running(ScriptedBackend(), TRICKLE) as (port, _engine):
        sent, reply = _trickle(port, post_head(port, str(len(body))) + body)
    assert sent < len(body) and status_of(reply) == 408, reply


def test_a_quick_request_after_an_idle_pause_is_answered() -> None:
    """The deadline starts at a request's first byte: a keep-alive pause does not count."""
    data = json.dumps(CHAT).encode()
    with (
        running(ScriptedBackend(), TRICKLE) as (port, _engine),
        socket.create_connection(("127.0.0.1", port), timeout=10) as sock,
    ):
        select.select([sock], [], [], 0.8)  # idle, under the idle timeout
        head = post_head(port, str(len(data))).replace(b"\r\n\r\n", b"\r\n")
        sock.sendall(head + b"Connection: close\r\n\r\n" + data)
        reply = _drain(sock)
    assert status_of(reply) == 200, reply


def test_connections_are_capped_per_client_address() -> None:
    limits = ServeLimits(timeout_s=5.0, max_connections=8, max_per_client=2, max_queue=4)
    with running(ScriptedBackend(), limits) as (port, _engine):
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        try:
            request(port, "GET", "/health")  # the server has accepted both by now
            crowded, _ = raw(port, post_head(port, "2") + b"{}")
            other = _from_address("127.0.0.2", port)
        finally:
            for sock in idle:
                sock.close()
    assert status_of(crowded) == 503 and b"from this address" in crowded, crowded
    assert status_of(other) == 200, other  # another address still gets in


def _from_address(source: str, port: int) -> bytes:
    head = f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as s:
        s.sendall(head.encode())
        return _drain(s)


def _with_lengths(port: int, *lengths: str, body: bytes = b"{}") -> bytes:
    fields = "".join(f"Content-Length: {n}\r\n" for n in lengths)
    head = f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{fields}\r\n"
    return head.encode() + body


def test_duplicate_or_conflicting_content_length_is_a_400() -> None:
    data = json.dumps(CHAT).encode()
    with running(ScriptedBackend()) as (port, _engine):
        same, _ = raw(port, _with_lengths(port, str(len(data)), str(len(data)), body=data))
        conflicting, _ = raw(port, _with_lengths(port, "2", str(len(data)), body=data))
        listed, _ = raw(port, _with_lengths(port, f"{len(data)}, {len(data)}", body=data))
    for reply in (same, conflicting, listed):
        assert status_of(reply) == 400, reply
    assert b"more than once" in same and b"more than once" in conflicting


def test_numbers_of_thousands_of_digits_are_a_400() -> None:
    huge = "9" * 5000  # past the 4,300 digits Python converts
    with running(ScriptedBackend(), ServeLimits(max_body_bytes=65536)) as (port, _engine):
        in_header, _ = raw(port, post_head(port, huge) + b"{}")
        answers = [
            request(port, body=f'{{"messages": [], "{key}": {huge}}}'.encode())
            for key in ("max_tokens", "n", "temperature", "seed")
        ]
        nested = request(port, body=f'{{"messages": [{{"role": {huge}}}]}}'.encode())
        status, _ = request(port)
    assert status_of(in_header) == 400, in_header
    for code, body in [*answers, nested]:
        assert code == 400 and "too long" in body["error"]["message"], body
    assert status == 200
