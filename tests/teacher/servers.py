"""Servers the teacher tests talk to: a real ``seedtree serve`` and a scripted misbehaving one."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

from helpers import PROJECT_ROOT

TOOLING = PROJECT_ROOT / "tooling"  # this checkout's code, whatever the server's working folder


def start_serve(
    model: Path, workdir: Path, *extra: str, stderr: IO[str] | None = None
) -> tuple[subprocess.Popen[str], str]:
    """Start ``seedtree serve --port 0 -q`` as a subprocess: it and its base URL (``.../v1``)."""
    env = {**os.environ, "SEEDTREE_HOME": str(workdir / "home"), "PYTHONPATH": str(TOOLING)}
    env["SEEDTREE__TEACHER__DTYPE"] = "float32"  # as the in-process teachers it is compared with
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "seedtree",
            "serve",
            "--port",
            "0",
            "--model",
            str(model),
            "-q",
            *extra,
        ],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    threading.Thread(target=lambda: lines.put(proc.stdout.readline()), daemon=True).start()
    try:
        first = lines.get(timeout=120)
        assert first.startswith("serving "), first
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc, first.split(" on ")[-1].strip()


@contextlib.contextmanager
def seedtree_serve(model: Path, workdir: Path, *extra: str) -> Iterator[str]:
    """Run ``seedtree serve --port 0`` as a subprocess; yield its base URL (``.../v1``)."""
    proc, url = start_serve(model, workdir, *extra)
    try:
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def ok_body(n: int, *, logprobs: bool = True) -> dict[str, Any]:
    choices = []
    for i in range(n):
        lp = {
            "content": [
                {
                    "token": "1",
                    "logprob": -0.1,
                    "top_logprobs": [
                        {"token": "1", "logprob": -0.1},
                        {"token": " 0", "logprob": -2.4},
                    ],
                }
            ]
        }
        choices.append(
            {
                "index": i,
                "message": {"role": "assistant", "content": f"answer {i}"},
                "finish_reason": "stop",
                "logprobs": lp if logprobs else None,
            }
        )
    return {"choices": choices, "usage": {"prompt_tokens": 7, "completion_tokens": n}}


class ScriptedServer:
    """A local HTTP server whose first path segment picks a behaviour (``/flaky/v1``...)."""

    def __init__(self) -> None:
        self.hits: dict[str, list[tuple[float, dict[str, Any], str]]] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                scenario = self.path.strip("/").split("/")[0]
                seen = outer.hits.setdefault(scenario, [])
                seen.append((time.monotonic(), body, self.headers.get("Authorization", "")))
                getattr(outer, f"_{scenario}")(self, body, len(seen))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, scenario: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/{scenario}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def send(
        handler: BaseHTTPRequestHandler,
        status: int,
        payload: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        handler.send_response(status)
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _ok(self, h: BaseHTTPRequestHandler, body: dict[str, Any], count: int) -> None:
        self.send(h, 200, ok_body(body["n"]))

    def _flaky(self, h: BaseHTTPRequestHandler, body: dict[str, Any], count: int) -> None:
        if count <= 2:
            self.send(h, 500, {"error": {"message": "overloaded"}})
        else:
            self.send(h, 200, ok_body(body["n"]))

    def _busy(self, h: BaseHTTPRequestHandler, body: dict[str, Any], count: int) -> None:
        if count == 1:
            self.send(h, 429, {"error": {"message": "slow down"}}, {"Retry-After": "0.4"})
        else:
            self.send(h, 200, ok_body(body["n"]))

    def _garbage(self, h: BaseHTTPRequestHandler, body: dict[str, Any], count: int) -> None:
        self.send(h, 200, b"{not json")

    def _fewer(self, h: BaseHTTPRequestHandler, body: dict[str, Any], count: int) -> None:
        self.send(h, 200, ok_body(1))

    def _slow(self, h: BaseHTTPRequestHandler, body: dict[str, Any], count: int) -> None:
        time.sleep(1.5)
        with contextlib.suppress(OSError):
            self.send(h, 200, ok_body(body["n"]))

    def _drop(self, h: BaseHTTPRequestHandler, body: dict[str, Any], count: int) -> None:
        h.close_connection = True  # no status line, no body: the connection just closes

    def _refuse(self, h: BaseHTTPRequestHandler, body: dict[str, Any], count: int) -> None:
        message = "This model's maximum context length is 2048 tokens"
        self.send(h, 400, {"error": {"message": message, "code": "context_length_exceeded"}})

    def _nologprobs(self, h: BaseHTTPRequestHandler, body: dict[str, Any], count: int) -> None:
        self.send(h, 200, ok_body(1, logprobs=False))
