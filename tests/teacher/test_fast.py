"""The embedded teacher's fast paths: the preallocated KV cache and int8 weights on a CPU."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from seedtree.config import TeacherConfig, load_config
from seedtree.errors import ConfigError, UsageError
from seedtree.teacher import create_teacher
from seedtree.teacher.base import Message, ScoreRequest
from seedtree.teacher.embedded import EmbeddedTeacher
from seedtree.teacher.precision import pick_precision
from teacher.judge_reference import decisions, reference_set
from teacher.support import chat

PROMPTS = [
    "Tell me about tides.",
    "Summarise the history of the printing press in a few sentences, please.",
    "Hi",
    "List three prime numbers and explain why each is prime.",
]
AVX2 = "fpu sse avx2 avx512f avx512bw"
NATIVE_BF16 = "fpu sse avx2 avx512f avx512_bf16"


def _requests() -> list:  # type: ignore[type-arg]
    """Sampled and greedy requests whose rows finish at different steps of a batch."""
    sampled = [
        chat(p, n=2, max_tokens=9 - i, temperature=0.9, seed=i) for i, p in enumerate(PROMPTS)
    ]
    greedy = [chat(p, max_tokens=3 + 2 * i, temperature=0.0) for i, p in enumerate(PROMPTS)]
    return [*sampled, *greedy]


def _judged() -> list[ScoreRequest]:
    return [ScoreRequest((Message("user", p),), ("YES", "NO", "maybe not")) for p in PROMPTS]


def test_preallocated_cache_gives_what_the_growing_cache_gives(tiny_model_dir: Path) -> None:
    fast = EmbeddedTeacher(tiny_model_dir, batch_size=3, dtype="float32")
    slow = EmbeddedTeacher(tiny_model_dir, batch_size=3, dtype="float32", preallocate=False)
    assert fast.id == slow.id  # same outputs, same id: the answer cache is shared
    ours = fast.generate(_requests(), top_logprobs=3)
    theirs = slow.generate(_requests(), top_logprobs=3)
    assert ours == theirs  # texts, finish reasons and every token's log-probabilities
    assert len({c.tokens for g in ours for c in g.response.completions}) > 3  # rows dropped
    assert fast.score_labels(_judged()) == slow.score_labels(_judged())


def test_preallocated_cache_grows_past_its_reservation(tiny_model_dir: Path) -> None:
    from transformers import DynamicCache

    from seedtree.teacher.kvcache import preallocated_cache

    teacher = EmbeddedTeacher(tiny_model_dir, dtype="float32")
    ids = torch.tensor([teacher._prompt_ids((Message("user", PROMPTS[3]),), 0, 0)])
    caches = [
        preallocated_cache(teacher.model.config, 2),
        DynamicCache(config=teacher.model.config),
    ]
    with torch.inference_mode():
        for cache in caches:
            teacher.model(input_ids=ids[:, :5], past_key_values=cache, use_cache=True)
            for step in range(5, ids.shape[1]):  # one token at a time, past the 2 reserved
                teacher.model(input_ids=ids[:, step : step + 1], past_key_values=cache)
    ours, theirs = caches
    assert ours.get_seq_length() == theirs.get_seq_length() == ids.shape[1]
    for mine, reference in zip(ours.layers, theirs.layers, strict=True):
        assert torch.equal(mine.keys, reference.keys)
        assert torch.equal(mine.values, reference.values)


def test_int8_teacher_answers_and_judges_under_its_own_id(tiny_model_dir: Path) -> None:
    plain = EmbeddedTeacher(tiny_model_dir, batch_size=3, dtype="float32")
    int8 = EmbeddedTeacher(tiny_model_dir, batch_size=3, dtype="float32", quantize="int8")
    assert int8.precision == "int8" and int8.id == plain.id + "+int8"
    kinds = {type(m).__module__ for m in int8.decoder.modules() if type(m).__name__ == "Linear"}
    assert kinds == {"torch.ao.nn.quantized.dynamic.modules.linear"}  # every Linear is int8
    out = int8.complete(_requests())
    assert all(1 <= c.tokens <= 9 for r in out for c in r.completions)
    assert out != plain.complete(_requests())  # other weights, other answers (hence the id)
    assert out == int8.complete(_requests())  # seeded: the same answers again
    scores = int8.score_labels(_judged())
    assert all(math.isclose(sum(s.probs.values()), 1.0, rel_tol=1e-6) for s in scores)
    assert scores == plain.score_labels(_judged())  # the judges keep the float32 weights


def test_precision_follows_dtype_quantize_and_the_cpu() -> None:
    assert pick_precision("auto", "none", "cpu", AVX2) == "float32"
    assert pick_precision("auto", "auto", "cpu", AVX2) == "int8"
    assert pick_precision("float32", "auto", "cpu", NATIVE_BF16) == "int8"
    assert pick_precision("auto", "auto", "cpu", NATIVE_BF16) == "bfloat16"
    assert pick_precision("auto", "auto", "cuda", AVX2) == "bfloat16"
    assert pick_precision("auto", "int8", "cpu", AVX2) == "int8"
    assert pick_precision("auto", "int8", "cpu", NATIVE_BF16) == "int8"
    with pytest.raises(UsageError, match=r"teacher\.dtype is bfloat16"):
        pick_precision("bfloat16", "int8", "cpu", AVX2)
    with pytest.raises(UsageError, match="CPU only"):
        pick_precision("float32", "int8", "cuda", AVX2)


def test_quantize_is_configured_and_checked(tiny_model_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "seedtree.yaml"
    config.write_text(f"teacher:\n  model: {tiny_model_dir}\n  quantize: int8\n")
    teacher = create_teacher(load_config(tmp_path, config, environ={}).teacher)
    assert teacher.id.endswith("+int8")
    config.write_text("teacher:\n  quantize: int4\n")
    with pytest.raises(ConfigError, match=r"seedtree.yaml:2:\d+"):
        load_config(tmp_path, config, environ={})
    assert TeacherConfig().quantize == "none"


@pytest.mark.slow
def test_real_int8_teacher_judges_the_reference_set_as_float32_does() -> None:
    # int8 weights alone changed 1 decision in 2 of this set, so the judges keep float32
    items = reference_set()
    plain = create_teacher(TeacherConfig(model="default", dtype="float32"))
    expected = decisions(plain, items)
    plain.close()
    int8 = create_teacher(TeacherConfig(model="default", dtype="float32", quantize="int8"))
    (answer,) = int8.complete([chat("What is the capital of France?", temperature=0.0)])
    assert "Paris" in answer.completions[0].text
    got = decisions(int8, items)
    int8.close()
    assert len(set(expected)) == 2  # the set has items each way: agreement means something
    disagree = [i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b]
    assert not disagree, [items[i].template for i in disagree]
