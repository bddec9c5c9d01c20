"""Per-item losses: one mean loss per answer token per sample, consistent with the leaf means."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from seedtree.train.data import load_samples
from seedtree.train.evaluate import leaf_losses, load_for_eval, score_items


def test_items_pair_by_id_and_weigh_up_to_the_leaf_loss(
    tiny_model_dir: Path, make_dataset: Callable[..., Path]
) -> None:
    loaded = load_for_eval(tiny_model_dir, template="chat", system_prompt="Be brief.")
    samples = load_samples(make_dataset(n=4))
    seeds = {"skills/a": [("Antonym of hot?", "Cold."), ("Antonym of up?", "Down.")]}
    items = score_items(loaded, samples, seeds, 512)
    assert {leaf: set(v) for leaf, v in items.heldout.items()} == {
        leaf: {s.id for s in rows} for leaf, rows in samples.items()
    }
    assert set(items.seeds["skills/a"]) == {"seed:skills/a:0", "seed:skills/a:1"}
    # the leaf loss is the token-weighted mean of its items' losses
    encoded = loaded.renderer.encode_all(s for rows in samples.values() for s in rows).encoded
    weights = {e.sample_id: e.trained_tokens for e in encoded}
    for leaf, loss in leaf_losses(loaded.model, encoded, 512).items():
        per_item = items.heldout[leaf]
        total = sum(per_item[i] * weights[i] for i in per_item)
        assert total / sum(weights[i] for i in per_item) == pytest.approx(loss, rel=1e-4)
    # scoring is deterministic: the same model gives the same items again (pairing is exact)
    assert score_items(loaded, samples, seeds, 512) == items
