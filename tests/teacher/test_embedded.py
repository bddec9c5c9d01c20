from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import torch

from seedtree.config import TeacherConfig
from seedtree.errors import ConfigError, TeacherError
from seedtree.teacher import Teacher, create_teacher
from seedtree.teacher.base import Message, ScoreRequest, TeacherResponse
from seedtree.teacher.embedded import EmbeddedTeacher
from teacher.support import chat

PROMPTS = [
    "Tell me about tides.",
    "Summarise the history of the printing press in a few sentences, please.",
    "Hi",
    "List three prime numbers and explain why each is prime.",
]


def test_samples_tokens_and_finish_reasons(tiny_teacher: EmbeddedTeacher) -> None:
    out = tiny_teacher.complete([chat(PROMPTS[0], n=3, max_tokens=6, temperature=1.0)])
    (response,) = out
    assert len(response.completions) == 3
    assert response.prompt_tokens > 5
    for c in response.completions:
        assert 1 <= c.tokens <= 6
        assert c.finish_reason in {"stop", "length"}
        assert c.finish_reason == "stop" or c.tokens == 6
    assert len({c.text for c in response.completions}) > 1  # samples differ


def test_same_request_same_completions_in_any_batch(tiny_model_dir: Path) -> None:
    target = chat(PROMPTS[1], n=2, max_tokens=8, temperature=1.0, top_p=0.9, seed=11)
    others = [chat(p, n=2, max_tokens=5, temperature=1.0, seed=i) for i, p in enumerate(PROMPTS)]
    teacher = EmbeddedTeacher(tiny_model_dir, batch_size=1, dtype="float32")
    alone = teacher.complete([target])[0]
    teacher.batch_size = 3
    mixed = teacher.complete([*others, target])[-1]
    assert mixed == alone
    reseeded = teacher.complete([dataclasses.replace(target, seed=12)])[0]
    assert reseeded != alone


def test_greedy_matches_transformers_generate(
    tiny_teacher: EmbeddedTeacher, tiny_model_dir: Path
) -> None:
    from transformers import AutoModelForCausalLM

    requests = [chat(p, temperature=0.0, max_tokens=7) for p in PROMPTS]
    batched = tiny_teacher.complete(requests)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    for request, response in zip(requests, batched, strict=True):
        ids = torch.tensor([tiny_teacher._prompt_ids(request.messages, 0, 7)])
        ref = model.generate(ids, max_new_tokens=7, do_sample=False, pad_token_id=2)
        text = tiny_teacher.tokenizer.decode(ref[0, ids.shape[1] :], skip_special_tokens=True)
        assert response.completions[0].text == text


def test_stop_strings_cut_the_text(tiny_teacher: EmbeddedTeacher) -> None:
    request = chat(PROMPTS[3], temperature=1.0, max_tokens=12, seed=5)
    text = tiny_teacher.complete([request])[0].completions[0].text
    stop = text[len(text) // 2 : len(text) // 2 + 3]
    assert stop.strip(), text
    cut = tiny_teacher.complete([dataclasses.replace(request, stop=("unseen", stop))])
    completion = cut[0].completions[0]
    assert completion.finish_reason == "stop"
    assert completion.text == text[: text.find(stop)]
    assert completion.tokens < 12


def test_on_result_reports_each_request_once(tiny_teacher: EmbeddedTeacher) -> None:
    seen: dict[int, TeacherResponse] = {}

    def record(index: int, response: TeacherResponse) -> None:
        assert index not in seen
        seen[index] = response

    requests = [chat(p, n=1 + i % 2, max_tokens=3) for i, p in enumerate(PROMPTS)]
    out = tiny_teacher.complete(requests, on_result=record)
    assert [seen[i] for i in range(len(PROMPTS))] == out


def test_label_scores_are_normalised_log_likelihoods(tiny_teacher: EmbeddedTeacher) -> None:
    messages = (Message("user", "Is water wet? Answer YES or NO."),)
    labels = ("YES", "NO", "1")
    (scores,) = tiny_teacher.score_labels([ScoreRequest(messages, labels)])
    assert set(scores.probs) == set(labels)
    assert math.isclose(sum(scores.probs.values()), 1.0, rel_tol=1e-9)
    # reference: one unbatched forward per label
    prompt = tiny_teacher._prompt_ids(messages, 0, 0)
    reference = {}
    for label in labels:
        answer = tiny_teacher._label_ids(label, 0)
        ids = torch.tensor([prompt + answer])
        with torch.no_grad():
            logp = torch.log_softmax(tiny_teacher.model(ids).logits[0].float(), dim=-1)
        steps = range(len(prompt) - 1, len(prompt) + len(answer) - 1)
        reference[label] = sum(float(logp[s, t]) for s, t in zip(steps, answer, strict=True))
    top = max(reference.values())
    total = sum(math.exp(v - top) for v in reference.values())
    for label in labels:
        assert math.isclose(
            scores.probs[label], math.exp(reference[label] - top) / total, rel_tol=1e-3
        )


def test_label_scores_same_alone_and_in_a_mixed_batch(tiny_model_dir: Path) -> None:
    # prompts of different lengths share one left-padded prefill; labels of several tokens
    requests = [
        ScoreRequest((Message("user", p),), ("YES", "NO", "maybe not", "1")) for p in PROMPTS
    ]
    alone = EmbeddedTeacher(tiny_model_dir, batch_size=1, dtype="float32").score_labels(requests)
    mixed = EmbeddedTeacher(tiny_model_dir, batch_size=3, dtype="float32").score_labels(requests)
    for one, other in zip(alone, mixed, strict=True):
        for label, prob in one.probs.items():
            assert math.isclose(prob, other.probs[label], rel_tol=1e-4, abs_tol=1e-7)
    assert len({round(s.probs["YES"], 6) for s in alone}) > 1  # the prompts matter


def test_prompt_longer_than_context(tiny_model_dir: Path) -> None:
    long = " ".join(["word"] * 2500)
    teacher = EmbeddedTeacher(tiny_model_dir, batch_size=2)
    with pytest.raises(TeacherError) as info:
        teacher.complete([chat("short", max_tokens=2), chat(long, max_tokens=2)])
    assert "request 1" in str(info.value)
    assert "2048" in str(info.value)
    truncating = EmbeddedTeacher(tiny_model_dir, batch_size=2, truncate_prompts=True)
    (response,) = truncating.complete([chat(long, max_tokens=2)])
    assert response.prompt_tokens < 2048
    assert response.completions[0].tokens >= 1
    judge = ScoreRequest((Message("user", long),), ("YES", "NO"))
    with pytest.raises(TeacherError, match="request 0"):
        teacher.score_labels([judge])
    (scores,) = truncating.score_labels([judge])
    assert math.isclose(sum(scores.probs.values()), 1.0)


def test_create_teacher_from_config(tiny_model_dir: Path) -> None:
    teacher = create_teacher(TeacherConfig(model=str(tiny_model_dir), batch_size=2))
    assert isinstance(teacher, Teacher)
    assert teacher.id.startswith(f"embedded:{tiny_model_dir.name}@")
    bogus = TeacherConfig.model_construct(backend="nonsense")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="nonsense"):
        create_teacher(bogus)


@pytest.mark.slow
def test_real_default_model_answers_and_judges() -> None:
    teacher = create_teacher(TeacherConfig(model="default"))
    (answer,) = teacher.complete(
        [chat("What is the capital of France?", temperature=0.0, max_tokens=16)]
    )
    assert "Paris" in answer.completions[0].text
    assert answer.completions[0].finish_reason == "stop"
    question = (Message("user", "Is Paris the capital of France? Answer YES or NO."),)
    (scores,) = teacher.score_labels([ScoreRequest(question, ("YES", "NO"))])
    assert scores.best == "YES"
    teacher.close()


def test_auto_dtype_takes_bfloat16_only_where_the_hardware_computes_it(
    tiny_model_dir: Path,
) -> None:
    from seedtree.teacher.precision import pick_dtype

    assert pick_dtype("auto", "cuda") == "bfloat16"
    assert pick_dtype("auto", "cpu", cpu_flags="fpu sse avx2 avx512f avx512_bf16") == "bfloat16"
    assert pick_dtype("auto", "cpu", cpu_flags="fpu sse avx2 amx_bf16 amx_tile") == "bfloat16"
    assert pick_dtype("auto", "cpu", cpu_flags="fpu sse avx2 avx512f avx512bw") == "float32"
    assert pick_dtype("float32", "cuda") == "float32"
    # a bfloat16 teacher answers and judges, and says so in its id (its outputs differ)
    teacher = EmbeddedTeacher(tiny_model_dir, batch_size=2, dtype="bfloat16")
    assert teacher.model.dtype == torch.bfloat16 and teacher.id.endswith("+bf16")
    (response,) = teacher.complete([chat(PROMPTS[0], max_tokens=4, temperature=1.0)])
    assert 1 <= response.completions[0].tokens <= 4
    (scores,) = teacher.score_labels([ScoreRequest((Message("user", PROMPTS[2]),), ("YES", "NO"))])
    assert math.isclose(sum(scores.probs.values()), 1.0, rel_tol=1e-6)
