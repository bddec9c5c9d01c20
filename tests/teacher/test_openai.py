from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from seedtree.config import TeacherConfig
from seedtree.errors import ConfigError, TeacherError
from seedtree.teacher import create_teacher
from seedtree.teacher.base import Message, ScoreRequest
from seedtree.teacher.embedded import EmbeddedTeacher
from seedtree.teacher.labels import label_logprobs
from seedtree.teacher.openai import OpenAITeacher
from teacher.servers import ScriptedServer
from teacher.support import chat

PROMPTS = ["Tell me about tides.", "Hi", "Name a colour and say why you like it."]


@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.close()


def client(*urls: str, model: str = "default", **options: object) -> OpenAITeacher:
    settings: dict[str, object] = {"max_retries": 2, "backoff_s": 0.01, "timeout_s": 30.0}
    return OpenAITeacher(urls, model, **{**settings, **options})  # type: ignore[arg-type]


def test_served_answers_equal_the_embedded_backend(
    served: str, tiny_model_dir: Path, tiny_teacher: EmbeddedTeacher
) -> None:
    requests = [
        chat(p, n=1 + i % 2, max_tokens=5 + i, temperature=0.9, seed=i)
        for i, p in enumerate(PROMPTS * 2)
    ]
    remote = OpenAITeacher([served], str(tiny_model_dir), max_in_flight=8).complete(requests)
    local = tiny_teacher.complete(requests)
    for r, loc in zip(remote, local, strict=True):
        assert [c.text for c in r.completions] == [c.text for c in loc.completions]
        assert [c.finish_reason for c in r.completions] == [
            c.finish_reason for c in loc.completions
        ]
        assert r.prompt_tokens == loc.prompt_tokens
    assert remote[0].completions[0].tokens == local[0].completions[0].tokens


def test_label_scores_through_logprobs(
    served: str, tiny_model_dir: Path, tiny_teacher: EmbeddedTeacher
) -> None:
    messages = (Message("user", "Is water wet?"),)
    probe = chat("Is water wet?", max_tokens=1, temperature=0.0)
    (first,) = tiny_teacher.generate([probe], top_logprobs=20)[0].logprobs[0]
    texts = [t.strip().lower() for t, _ in first.top]
    weight: dict[str, float] = {}
    for text, (_, logprob) in zip(texts, first.top, strict=True):
        weight[text] = weight.get(text, 0.0) + math.exp(logprob)
    # labels that no other alternative is a proper prefix of, so each token counts once
    plain = [w for w in weight if w and not any(o and o != w and w.startswith(o) for o in texts)]
    labels = (plain[0], plain[1])
    teacher = client(served, model=str(tiny_model_dir))
    (scores,) = teacher.score_labels([ScoreRequest(messages, labels)])
    expected = weight[labels[0]] / (weight[labels[0]] + weight[labels[1]])
    assert math.isclose(scores.probs[labels[0]], expected, rel_tol=1e-3)
    assert math.isclose(sum(scores.probs.values()), 1.0)


def test_server_lists_its_model_and_rejects_bad_requests(served: str) -> None:
    assert httpx.get(f"{served}/models").json()["data"][0]["id"].endswith("tiny-model0")
    bad = httpx.post(f"{served}/chat/completions", json={"messages": [], "n": 1})
    assert bad.status_code == 400
    assert "messages" in bad.json()["error"]["message"]
    wrong = httpx.post(f"{served}/chat/completions", content=b"{oops")
    assert wrong.status_code == 400
    other = {"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]}
    unknown = httpx.post(f"{served}/chat/completions", json=other)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "model_not_found"


def test_prompt_longer_than_context_is_refused_once_and_named(
    served: str, tiny_model_dir: Path
) -> None:
    teacher = client(served, model=tiny_model_dir.name)
    long = " ".join(["word"] * 2500)
    with pytest.raises(TeacherError) as info:
        teacher.complete([chat("short", max_tokens=2), chat(long, max_tokens=2)])
    message = str(info.value)
    assert "request 1" in message
    assert "context" in message and "2048" in message


def test_retries_server_errors_then_succeeds(scripted: ScriptedServer) -> None:
    (response,) = client(scripted.url("flaky")).complete([chat("x", n=2)])
    assert [c.text for c in response.completions] == ["answer 0", "answer 1"]
    assert len(scripted.hits["flaky"]) == 3


def test_honours_retry_after(scripted: ScriptedServer) -> None:
    client(scripted.url("busy")).complete([chat("x")])
    (first, _, _), (second, _, _) = scripted.hits["busy"]
    assert second - first >= 0.4


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("scenario", "problem"),
    [
        ("garbage", "malformed JSON"),
        ("fewer", "1 of 3 choices"),
        ("slow", "no answer within 0.3 s"),
        ("drop", "connection failed"),
    ],
)
def test_bounded_retries_then_a_clear_error(
    scripted: ScriptedServer, scenario: str, problem: str
) -> None:
    teacher = client(scripted.url(scenario), max_retries=1, timeout_s=0.3)
    with pytest.raises(TeacherError) as info:
        teacher.complete([chat("x", n=3)])
    message = str(info.value)
    assert problem in message
    assert "request 0" in message and "after 2 attempts" in message
    assert len(scripted.hits[scenario]) == 2


def test_client_error_fails_at_once(scripted: ScriptedServer) -> None:
    with pytest.raises(TeacherError, match="maximum context length"):
        client(scripted.url("refuse")).complete([chat("x")])
    assert len(scripted.hits["refuse"]) == 1


def test_missing_logprobs_is_a_clear_error(scripted: ScriptedServer) -> None:
    request = ScoreRequest((Message("user", "ok?"),), ("1", "0"))
    with pytest.raises(TeacherError, match="no logprobs"):
        client(scripted.url("nologprobs")).score_labels([request])


def test_load_balances_and_sends_the_api_key(
    scripted: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripted.hits.clear()
    monkeypatch.setenv("MY_TEACHER_KEY", "sekrit")
    config = TeacherConfig(
        backend="openai",
        base_urls=(scripted.url("ok"), scripted.url("ok").replace("/ok/", "/flaky/")),
        api_key_env="MY_TEACHER_KEY",
        retry_backoff_s=0.01,
    )
    teacher = create_teacher(config)
    out = teacher.complete([chat(p) for p in PROMPTS * 2])
    assert all(r.completions[0].text == "answer 0" for r in out)
    assert len(scripted.hits["ok"]) >= 3 and len(scripted.hits["flaky"]) >= 2
    assert {auth for _, _, auth in scripted.hits["ok"]} == {"Bearer sekrit"}


def test_label_scores_from_first_token_alternatives(scripted: ScriptedServer) -> None:
    request = ScoreRequest((Message("user", "ok?"),), ("1", "0", "2"))
    (scores,) = client(scripted.url("ok")).score_labels([request])
    assert scores.best == "1"
    assert math.isclose(scores.probs["1"], 1 / (1 + math.exp(-2.3)), rel_tol=1e-6)
    assert scores.probs["2"] == 0.0


def test_label_matching_rules() -> None:
    top = [("Y", -0.5), (" yes", -1.0), ("NO", -2.0), ("\n", -0.1)]
    got = label_logprobs(top, ("YES", "NO", "MAYBE"))
    assert math.isclose(got["YES"], math.log(math.exp(-0.5) + math.exp(-1.0)))
    assert got["NO"] == -2.0
    assert got["MAYBE"] == -math.inf


def test_no_base_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="base_urls"):
        create_teacher(TeacherConfig(backend="openai"))
