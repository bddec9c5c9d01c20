from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field

import pytest

from seedtree.config import TeacherConfig
from seedtree.errors import TeacherError
from seedtree.teacher import create_teacher
from seedtree.teacher.base import Completion
from seedtree.teacher.vllm import (
    first_token_alternatives,
    sampling_kwargs,
    score_kwargs,
    to_response,
)
from teacher.support import chat


@dataclass
class Sample:  # the fields of vllm.CompletionOutput this backend reads
    text: str
    token_ids: list[int]
    finish_reason: str | None
    logprobs: list[dict[int, Logprob]] | None = None


@dataclass
class Logprob:  # vllm.sequence.Logprob
    logprob: float
    decoded_token: str | None


@dataclass
class Output:  # vllm.RequestOutput
    prompt_token_ids: list[int]
    outputs: list[Sample] = field(default_factory=list)


def test_request_maps_to_sampling_params() -> None:
    request = chat("hi", n=3, temperature=0.2, top_p=0.8, max_tokens=40, stop=("\n\n",), seed=9)
    assert sampling_kwargs(request) == {
        "n": 3,
        "temperature": 0.2,
        "top_p": 0.8,
        "max_tokens": 40,
        "seed": 9,
        "stop": ["\n\n"],
    }
    assert sampling_kwargs(chat("hi"))["stop"] is None
    truncating = sampling_kwargs(request, context=2048, truncate=True)
    assert truncating["truncate_prompt_tokens"] == 2048 - 40
    assert "truncate_prompt_tokens" not in sampling_kwargs(request, context=2048)
    assert score_kwargs(5) == {
        "n": 1,
        "temperature": 0.0,
        "max_tokens": 1,
        "logprobs": 5,
        "seed": 0,
    }


def test_outputs_map_to_responses_and_label_alternatives() -> None:
    output = Output(
        [1, 2, 3, 4],
        [Sample("Paris.", [10, 11], "stop"), Sample("It is", [12, 13, 14], None)],
    )
    response = to_response(output)  # type: ignore[arg-type]
    assert response.prompt_tokens == 4
    assert response.completions == (
        Completion("Paris.", "stop", 2),
        Completion("It is", "stop", 3),
    )
    step = {7: Logprob(-0.2, "YES"), 8: Logprob(-1.9, " NO")}
    scored = Output([1], [Sample("YES", [7], "length", logprobs=[step])])
    assert first_token_alternatives(scored) == [("YES", -0.2), (" NO", -1.9)]
    assert first_token_alternatives(Output([1], [Sample("", [], "stop")])) == []


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed")
def test_missing_vllm_is_a_clear_error() -> None:
    with pytest.raises(TeacherError) as info:
        create_teacher(TeacherConfig(backend="vllm", model="default"))
    assert "seedtree[gpu]" in str(info.value)
    assert "embedded or openai" in str(info.value)
