"""Samples sharing a prompt are scored with the prompt once, and get the losses they get alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from seedtree.samples import Sample
from seedtree.train.evaluate import item_losses, load_for_eval
from seedtree.train.packing import collate, token_losses
from seedtree.train.sharing import MIN_SHARED, groups


def _sample(n: int, question: str, answer: str) -> Sample:
    return Sample(
        id=f"s{n}", leaf="leaf", leaf_hash="", kind="choice", length=None,
        system="Be brief.", user=question, assistant=answer,
    )  # fmt: skip


def test_options_of_one_question_share_its_prompt_and_score_as_alone(tiny_model_dir: Path) -> None:
    import torch

    loaded = load_for_eval(tiny_model_dir, template="chat", system_prompt="Be brief.")
    long_q = "Which force of the sky, of all those we know, pulls the sea twice a day?"
    samples = [
        _sample(0, long_q, "The moon."),
        _sample(1, long_q, "The sun, mostly, and the wind as well."),
        _sample(2, long_q, "Nothing."),
        _sample(3, "Antonym of hot?", "Cold."),  # another prompt: a group of its own
        _sample(4, "Antonym of hot?", "Freezing cold."),
    ]
    encoded = loaded.renderer.encode_all(samples).encoded
    found = groups(encoded, budget=4096)
    assert [g.members for g in found] == [(0, 1, 2), (3, 4)]
    assert all(g.shared >= MIN_SHARED for g in found)
    # the shared prefix stops before the first trained target: each rest predicts its own answer
    assert found[0].size(encoded) < sum(len(encoded[i]) for i in (0, 1, 2))

    shared = item_losses(loaded.model, encoded, budget=4096)["leaf"]
    with torch.no_grad():
        for n, enc in enumerate(encoded):
            alone = token_losses(loaded.model, collate(encoded, [n])).sum().item()
            assert shared[enc.sample_id] == pytest.approx(alone / enc.trained_tokens, rel=1e-4)
    # a budget that holds one sample a row: every group is split, the losses stay the same
    tight = max(len(e) for e in encoded)
    assert item_losses(loaded.model, encoded, budget=tight)["leaf"] == pytest.approx(
        shared, rel=1e-4
    )
