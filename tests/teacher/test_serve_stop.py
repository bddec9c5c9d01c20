"""Stopping ``seedtree serve`` mid-batch: SIGINT and SIGTERM cancel the generation in progress,
its request gets a 503 and the process ends with one line, without waiting for the batch."""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from seedtree.errors import Interrupted
from seedtree.teacher.embedded import EmbeddedTeacher
from teacher.servers import start_serve
from teacher.support import chat

# 32 samples of up to 2,000 tokens in batches of 4: minutes of decoding for the tiny model
LONG = {
    "messages": [{"role": "user", "content": "Write a very long story."}],
    "max_tokens": 2000,
    "n": 32,
    "temperature": 1.0,
    "seed": 5,
}
HANG_GUARD_S = 60  # only so that a broken stop fails instead of hanging: not a speed bound


class SetAfter(threading.Event):
    """An event that reads as set from its ``checks + 1``-th look on."""

    def __init__(self, checks: int) -> None:
        super().__init__()
        self.looks = 0
        self.checks = checks

    def is_set(self) -> bool:
        self.looks += 1
        return self.looks > self.checks


def test_generation_stops_at_the_next_decoding_step(tiny_teacher: EmbeddedTeacher) -> None:
    requests = [chat(f"question {i}", max_tokens=8, seed=i) for i in range(4)]
    cancel = SetAfter(checks=3)  # the prefill and two steps run; the third step does not
    with pytest.raises(Interrupted, match="stopped before it finished"):
        tiny_teacher.generate(requests, cancel=cancel)
    assert cancel.looks == 4  # it stopped at the first look after the event was set
    assert len(tiny_teacher.generate(requests, cancel=threading.Event())) == 4


def start(
    model: Path, workdir: Path, errors: Path, *extra: str
) -> tuple[subprocess.Popen[str], int, int]:
    """``seedtree serve`` writing its stderr to ``errors``: it, its port, and the size of
    ``errors`` once serving (what loading the model printed comes before)."""
    with errors.open("w", encoding="utf-8") as sink:
        proc, url = start_serve(model, workdir, *extra, stderr=sink)
    port = urlsplit(url).port
    assert port is not None
    return proc, port, errors.stat().st_size


def last_words(errors: Path, offset: int) -> list[str]:
    """The lines written to ``errors`` after ``offset``."""
    with errors.open("rb") as handle:
        handle.seek(offset)
        return handle.read().decode("utf-8").strip().splitlines()


def stop(proc: subprocess.Popen[str], signum: signal.Signals) -> int:
    """Send ``signum``; the exit code (the process is killed if it hangs)."""
    proc.send_signal(signum)
    try:
        return proc.wait(timeout=HANG_GUARD_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def http_call(port: int, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HANG_GUARD_S * 2)
    try:
        data = None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def gauge(port: int, name: str) -> int:
    """One value of the server's ``/metrics``."""
    status, text = http_call(port, "GET", "/metrics")
    assert status == 200, text
    values = dict(line.split() for line in text.decode().splitlines() if not line.startswith("#"))
    return int(values[f"seedtree_{name}"])


def ask_in_background(port: int) -> tuple[threading.Thread, dict[str, Any]]:
    """Send :data:`LONG` from a thread; the dict gets its ``status`` and ``body``, or ``error``."""
    outcome: dict[str, Any] = {}

    def ask() -> None:
        try:
            outcome["status"], outcome["body"] = http_call(
                port, "POST", "/v1/chat/completions", LONG
            )
        except (OSError, http.client.HTTPException) as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    return thread, outcome


def wait_until_generating(port: int, client: threading.Thread) -> None:
    """Poll ``/metrics`` until the request is in the batch being decoded."""
    while gauge(port, "requests_running") < 1:
        assert client.is_alive(), "the request ended before its generation was seen"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("signum", "name"), [(signal.SIGINT, "SIGINT (Ctrl-C)"), (signal.SIGTERM, "SIGTERM")]
)
def test_a_signal_stops_serve_in_the_middle_of_a_batch(
    tiny_model_dir: Path, tmp_path: Path, signum: signal.Signals, name: str
) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    errors = tmp_path / "stderr.txt"
    proc, port, loaded = start(tiny_model_dir, workdir, errors, "--batch-size", "4")
    try:
        before = files_under(workdir)
        client, outcome = ask_in_background(port)
        wait_until_generating(port, client)
    except BaseException:
        proc.kill()
        raise
    code = stop(proc, signum)
    client.join(timeout=HANG_GUARD_S)
    assert code == 0
    assert last_words(errors, loaded) == [
        f"seedtree serve: stopped on {name}; 1 unfinished request answered 503"
    ]
    assert outcome.get("status") == 503, outcome
    error = json.loads(outcome["body"])["error"]
    assert error["message"] == "the server is stopping" and error["type"] == "server_error"
    assert files_under(workdir) == before  # nothing written, nothing left half-written


def test_serve_stops_while_idle(tiny_model_dir: Path, tmp_path: Path) -> None:
    errors = tmp_path / "stderr.txt"
    proc, _port, loaded = start(tiny_model_dir, tmp_path, errors)
    assert stop(proc, signal.SIGINT) == 0
    assert last_words(errors, loaded) == ["seedtree serve: stopped on SIGINT (Ctrl-C)"]
