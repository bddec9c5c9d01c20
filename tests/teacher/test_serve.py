from __future__ import annotations

import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from seedtree.cli import run
from seedtree.errors import TeacherError
from seedtree.teacher.base import TeacherRequest
from seedtree.teacher.batching import BatchingEngine
from seedtree.teacher.embedded import EmbeddedTeacher, Generated
from seedtree.teacher.wire import BadRequest, Streaming, parse_chat_request, parse_streaming
from teacher.servers import seedtree_serve
from teacher.support import chat


class RecordingTeacher:
    """The tiny embedded teacher, remembering how many requests each backend call carried."""

    def __init__(self, inner: EmbeddedTeacher) -> None:
        self.inner = inner
        self.calls: list[int] = []
        self.gate = threading.Event()

    def generate(self, requests: Sequence[TeacherRequest], **options: Any) -> list[Generated]:
        self.calls.append(len(requests))
        self.gate.wait(timeout=30)  # hold the first call so that the others queue up
        return self.inner.generate(requests, **options)


def test_concurrent_requests_are_batched_and_faults_isolated(
    tiny_teacher: EmbeddedTeacher,
) -> None:
    recorder = RecordingTeacher(tiny_teacher)
    engine = BatchingEngine(recorder)  # type: ignore[arg-type]
    requests = [chat(f"question {i}", max_tokens=3, seed=i) for i in range(6)]
    requests[4] = chat(" ".join(["word"] * 2500), max_tokens=3)
    results: dict[int, Any] = {}

    def ask(i: int) -> None:
        try:
            results[i] = engine.submit(requests[i], 0)
        except TeacherError as exc:
            results[i] = exc

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
    threads[0].start()
    while not recorder.calls:
        threading.Event().wait(0.01)
    for t in threads[1:]:
        t.start()
    while engine._queue.qsize() < 5:
        threading.Event().wait(0.01)
    recorder.gate.set()
    for t in threads:
        t.join(timeout=60)
    engine.stop()
    assert recorder.calls[:2] == [1, 5]  # the five queued requests went in one call
    assert isinstance(results[4], TeacherError) and "context" in str(results[4])
    direct = tiny_teacher.complete([r for i, r in enumerate(requests) if i != 4])
    served = [results[i].response for i in range(6) if i != 4]
    assert served == direct


def test_parse_chat_request_validates_fields() -> None:
    request, top = parse_chat_request(
        {
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
            "n": 2,
            "max_completion_tokens": 9,
            "stop": "\n",
            "seed": 4,
            "logprobs": True,
        }
    )
    assert (request.n, request.max_tokens, request.stop, request.seed, top) == (
        2,
        9,
        ("\n",),
        4,
        1,
    )
    assert request.messages[0].content == "hi"
    bad_bodies = [
        ({"messages": [{"role": "robot", "content": "x"}]}, "role"),
        ({"messages": [{"role": "user", "content": "x"}], "n": 0}, "n must"),
        ({"messages": [{"role": "user", "content": "x"}], "temperature": "hot"}, "temperature"),
        ({"messages": [{"role": "user", "content": "x"}], "top_logprobs": 3}, "logprobs: true"),
        ([1, 2], "JSON object"),
    ]
    for body, words in bad_bodies:
        with pytest.raises(BadRequest, match=words):
            parse_chat_request(body)
    assert parse_streaming({"stream": True}) == Streaming(on=True)
    options = {"stream": True, "stream_options": {"include_usage": True}}
    assert parse_streaming(options) == Streaming(on=True, include_usage=True)
    for body in ({"stream": "yes"}, {"stream": True, "stream_options": {"include_usage": 1}}):
        with pytest.raises(BadRequest, match="stream"):
            parse_streaming(body)


def test_serve_reports_a_busy_port(
    tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = run(["serve", "--port", str(port), "--model", str(tiny_model_dir)])
    assert code == 3
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_official_openai_client_streams_with_an_api_key(
    tiny_model_dir: Path,
    tiny_teacher: EmbeddedTeacher,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``seedtree serve --api-key-env``: the openai client streams what the backend generates."""
    import openai

    monkeypatch.setenv("TEACHER_KEY", "k-" + "7" * 30)
    key_option = ("--api-key-env", "TEACHER_KEY")
    with seedtree_serve(tiny_model_dir, tmp_path, "--batch-size", "4", *key_option) as url:
        client = openai.OpenAI(base_url=url, api_key="k-" + "7" * 30, max_retries=0)
        ask: dict[str, Any] = {
            "model": str(tiny_model_dir),
            "messages": [{"role": "user", "content": "Tell me about tides."}],
            "max_tokens": 8,
            "temperature": 0.9,
            "seed": 3,
            "n": 2,
        }
        whole = client.chat.completions.create(**ask)
        events = list(
            client.chat.completions.create(
                **ask, stream=True, stream_options={"include_usage": True}
            )
        )
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=url, api_key="wrong", max_retries=0).models.list()
    streamed = ["", ""]
    for event in events:
        for choice in event.choices:
            streamed[choice.index] += choice.delta.content or ""
    direct = tiny_teacher.complete(
        [chat("Tell me about tides.", max_tokens=8, temperature=0.9, seed=3, n=2)]
    )
    assert streamed == [c.message.content for c in whole.choices]
    assert streamed == [c.text for c in direct[0].completions]
    assert events[-1].usage is not None and events[-1].usage == whole.usage
    finishes = [c.finish_reason for e in events for c in e.choices if c.finish_reason]
    assert finishes == [c.finish_reason for c in whole.choices]


def test_serve_refuses_an_unset_api_key_variable(
    tiny_model_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_SUCH_KEY", raising=False)
    started = time.monotonic()
    code = run(
        ["serve", "--port", "0", "--model", str(tiny_model_dir), "--api-key-env", "NO_SUCH_KEY"]
    )
    assert code == 2 and time.monotonic() - started < 30
    assert "NO_SUCH_KEY is not set or empty" in " ".join(capsys.readouterr().err.split())
