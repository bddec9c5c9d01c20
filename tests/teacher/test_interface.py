"""What every backend promises through the one Teacher interface (vllm only where installed)."""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from seedtree.teacher import BACKENDS, Teacher
from seedtree.teacher.base import Message, ScoreRequest, TeacherResponse
from seedtree.teacher.embedded import EmbeddedTeacher
from teacher.support import chat


@pytest.fixture(params=sorted(BACKENDS))
def teacher(
    request: pytest.FixtureRequest, tiny_model_dir: Path, tiny_teacher: EmbeddedTeacher
) -> Iterator[Teacher]:
    name = request.param
    if name == "embedded":
        yield tiny_teacher
    elif name == "openai":
        from seedtree.teacher.openai import OpenAITeacher

        yield OpenAITeacher([request.getfixturevalue("served")], str(tiny_model_dir))
    else:
        if importlib.util.find_spec("vllm") is None:
            pytest.skip("vLLM is not installed (the gpu extra)")
        from seedtree.teacher.vllm import VLLMTeacher

        built = VLLMTeacher(str(tiny_model_dir))
        yield built
        built.close()


def test_completes_every_request_in_order(teacher: Teacher) -> None:
    assert isinstance(teacher, Teacher)
    assert teacher.id.split(":")[0] in BACKENDS
    requests = [chat(f"Question number {i}?", n=1 + i % 3, max_tokens=4, seed=i) for i in range(5)]
    seen: list[int] = []

    def record(index: int, response: TeacherResponse) -> None:
        seen.append(index)

    out = teacher.complete(requests, on_result=record)
    assert sorted(seen) == list(range(5))
    for request, response in zip(requests, out, strict=True):
        assert len(response.completions) == request.n
        assert response.prompt_tokens > 0
        for completion in response.completions:
            assert completion.finish_reason in {"stop", "length"}
            assert 0 <= completion.tokens <= request.max_tokens


def test_seeded_requests_repeat(teacher: Teacher) -> None:
    request = chat("Say something.", n=2, max_tokens=5, temperature=1.0, seed=42)
    first, second = teacher.complete([request, request])
    assert first.completions == second.completions


def test_label_scores_cover_the_labels_and_sum_to_one(teacher: Teacher) -> None:
    requests = [
        ScoreRequest((Message("user", "Rate this from 1 to 3."),), ("1", "2", "3")),
        ScoreRequest((Message("user", "Is it safe? YES or NO."),), ("YES", "NO")),
    ]
    for request, scores in zip(requests, teacher.score_labels(requests), strict=True):
        assert set(scores.probs) == set(request.labels)
        assert math.isclose(sum(scores.probs.values()), 1.0)
        assert scores.best in request.labels
