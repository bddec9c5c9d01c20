from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from seedtree.samples import Sample
from seedtree.train.data import load_samples
from seedtree.train.loop import load_model, load_tokenizer
from seedtree.train.packing import collate, plan_phase
from seedtree.train.recipe import Phase, Selector
from seedtree.train.render import IGNORE, Renderer


def _sample(answer: str = "Paris is the capital.", unmask: bool = False) -> Sample:
    return Sample(
        id="s1",
        leaf="knowledge/geo",
        leaf_hash="h",
        kind="knowledge",
        length="short",
        system="own system",
        user="Capital?",
        assistant=answer,
        unmask=unmask,
    )


def _trained_text(renderer: Renderer, sample: Sample) -> str:
    enc = renderer.encode(sample)
    ids = [t for t in enc.targets if t != IGNORE]
    return str(renderer.tokenizer.decode(ids))


def test_chat_template_trains_on_the_answer_only(tiny_model_dir: Path) -> None:
    tok = load_tokenizer(tiny_model_dir, "chat")
    renderer = Renderer(tok, "chat", "Recipe system.", 512)
    sample = _sample()
    text = tok.decode(list(renderer.encode(sample).input_ids))
    assert "Recipe system." in text and "own system" not in text
    assert _trained_text(renderer, sample) == "Paris is the capital.<|im_end|>\n"
    unmasked = _trained_text(renderer, _sample(unmask=True))
    assert "Capital?" in unmasked and "Recipe system." not in unmasked
    assert unmasked.endswith("Paris is the capital.<|im_end|>\n")


def test_lab_template_adds_its_tokens_and_renders_exactly(tiny_model_dir: Path) -> None:
    tok = load_tokenizer(tiny_model_dir, "lab")
    for special in ("<|system|>", "<|user|>", "<|assistant|>"):
        assert len(tok(special, add_special_tokens=False)["input_ids"]) == 1
    renderer = Renderer(tok, "lab", None, 512)
    enc = renderer.encode(_sample())
    assert tok.decode(list(enc.input_ids)) == (
        "<|system|>\nown system\n<|user|>\nCapital?\n<|assistant|>\n"
        "Paris is the capital.<|endoftext|>"
    )
    assert _trained_text(renderer, _sample()) == "Paris is the capital.<|endoftext|>"
    # the model grows its embeddings to the new vocabulary
    assert load_model(tiny_model_dir, len(tok)).get_input_embeddings().weight.shape[0] == len(tok)


def test_over_length_samples_are_dropped_and_counted(tiny_model_dir: Path) -> None:
    tok = load_tokenizer(tiny_model_dir, "chat")
    renderer = Renderer(tok, "chat", None, 48)
    long = Sample(
        id="s2",
        leaf="knowledge/geo",
        leaf_hash="h",
        kind="knowledge",
        length="long",
        system="s",
        user="q",
        assistant="word " * 100,
    )
    rendered = renderer.encode_all([_sample(), long])
    assert [e.sample_id for e in rendered.encoded] == ["s1"]
    assert rendered.dropped == Counter({"knowledge/geo": 1})


def test_packed_logits_equal_logits_alone(
    tiny_model_dir: Path, make_dataset: Callable[..., Path]
) -> None:
    import torch

    tok = load_tokenizer(tiny_model_dir, "chat")
    model = load_model(tiny_model_dir, len(tok)).eval()
    renderer = Renderer(tok, "chat", None, 256)
    samples = load_samples(make_dataset(n=3))["knowledge/science/tides"]
    encoded = renderer.encode_all(samples).encoded
    with torch.no_grad():
        packed = model(**_model_inputs(collate(encoded, [0, 1, 2])), use_cache=False).logits[0]
        offset = 0
        for i in range(3):
            alone = model(**_model_inputs(collate(encoded, [i])), use_cache=False).logits[0]
            n = len(encoded[i])
            torch.testing.assert_close(packed[offset : offset + n], alone, atol=1e-4, rtol=1e-4)
            offset += n


def _model_inputs(batch: dict[str, object]) -> dict[str, object]:
    return {"input_ids": batch["input_ids"], "position_ids": batch["position_ids"]}


@pytest.mark.parametrize("world", [1, 2])
def test_plan_sees_every_sample_once_per_epoch_within_budget(
    tiny_model_dir: Path, make_dataset: Callable[..., Path], world: int
) -> None:
    tok = load_tokenizer(tiny_model_dir, "chat")
    samples = [s for rows in load_samples(make_dataset(n=20)).values() for s in rows]
    encoded = Renderer(tok, "chat", None, 128).encode_all(samples).encoded
    phase = Phase(name="p", select=Selector(), lr=1e-3, effective_batch=6, epochs=2)
    plan = plan_phase(encoded, phase, 256, world, seed=3)
    assert plan == plan_phase(encoded, phase, 256, world, seed=3)
    seen = Counter(encoded[i].sample_id for s in plan.steps for i in s.sample_indices())
    assert set(seen.values()) == {2} and len(seen) == len(encoded)
    for step in plan.steps:
        assert len(step.micro_batches) == world * plan.accum
        for mb in step.micro_batches:
            assert sum(len(encoded[i]) for i in mb) <= 256
        assert [len(step.for_rank(r, world)) for r in range(world)] == [plan.accum] * world
    longer = Phase(name="p", select=Selector(), lr=1e-3, effective_batch=6, min_steps=40)
    assert len(plan_phase(encoded, longer, 256, world, seed=3).steps) >= 40


def test_small_effective_batch_caps_samples_per_step(
    tiny_model_dir: Path, make_dataset: Callable[..., Path]
) -> None:
    tok = load_tokenizer(tiny_model_dir, "chat")
    samples = [s for rows in load_samples(make_dataset(n=10)).values() for s in rows]
    encoded = Renderer(tok, "chat", None, 128).encode_all(samples).encoded
    phase = Phase(name="p", select=Selector(), lr=1e-3, effective_batch=2)
    for world in (1, 2):
        plan = plan_phase(encoded, phase, 1024, world, seed=1)
        assert max(len(s.sample_indices()) for s in plan.steps) == 2
        assert len(plan.steps) == len(encoded) // 2
