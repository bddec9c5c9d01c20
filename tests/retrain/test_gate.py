"""The release gate's decision from paired item losses before and after training."""

from __future__ import annotations

import re

import numpy as np

from seedtree.config import RetrainConfig
from seedtree.evaluation.evidence import Evaluation, LeafItems, PairedItems
from seedtree.retrain.gate import decide

SETTINGS = RetrainConfig(min_learning=0.05, max_forgetting=0.05)


def _paired(prefix: str, before: np.ndarray, factor: np.ndarray | float) -> PairedItems:
    after = before * factor
    ids = tuple(f"{prefix}{i}" for i in range(len(before)))
    return PairedItems(ids=ids, before=tuple(before), after=tuple(after))


def _leaf(seed: int, factor: float, spread: float = 0.01, n: int = 12) -> LeafItems:
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.5, 3.0, n)
    factors = factor * np.exp(rng.normal(0.0, spread, n))
    return LeafItems(
        heldout=_paired("h", base[:2], factors[:2]), seeds=_paired("s", base[2:], factors[2:])
    )


def _evaluation(**leaves: LeafItems) -> Evaluation:
    return Evaluation(leaves=leaves)


def test_learning_and_no_forgetting_pass_with_intervals() -> None:
    decision = decide(_evaluation(new=_leaf(1, 0.7), old=_leaf(2, 1.01)), ["new"], SETTINGS)
    assert decision.passed and decision.reasons == ()
    assert decision.learning is not None and decision.learning.low > 0.25
    assert set(decision.changes["old"].change) == {"heldout", "seeds", "both"}
    assert decision.changes["old"].items == {"heldout": 2, "seeds": 10, "both": 12}


def test_too_little_learning_is_refused_with_the_figures() -> None:
    decision = decide(_evaluation(new=_leaf(1, 0.99)), ["new"], SETTINGS)
    assert not decision.passed
    assert "did not learn" in decision.reasons[0] and "at least 5.00%" in decision.reasons[0]
    assert re.search(
        r"the loss of the changed leaves fell by (0\.\d)% \(\u2212\1% \[", decision.reasons[0]
    )


def test_a_loss_that_rose_is_said_to_rise_with_the_same_sign_for_the_least_learned() -> None:
    both = _evaluation(new=_leaf(1, 1.02), other=_leaf(3, 0.98))
    (reason,) = decide(both, ["new", "other"], SETTINGS).reasons
    assert "the loss of the changed leaves did not change (" in reason
    assert re.search(r"least learned: new, whose loss rose by (2\.\d)% \(\+\1% \[", reason)
    (alone,) = decide(_evaluation(new=_leaf(1, 1.02)), ["new"], SETTINGS).reasons
    assert re.search(r"the loss of the changed leaves rose by (2\.\d)% \(\+\1% \[", alone)


def test_a_noisy_drop_is_not_learning() -> None:
    decision = decide(_evaluation(new=_leaf(3, 0.9, spread=0.6)), ["new"], SETTINGS)
    assert decision.learning is not None and decision.learning.low <= 0
    assert not decision.passed


def test_forgetting_an_earlier_leaf_is_refused_naming_it() -> None:
    decision = decide(_evaluation(new=_leaf(1, 0.7), old=_leaf(2, 1.2)), ["new"], SETTINGS)
    assert not decision.passed
    (reason,) = decision.reasons
    assert re.match(r"forgot old: its loss rose by (20\.\d)% \(\+\1% \[", reason)
    assert "over 12 items" in reason


def test_a_rise_the_items_cannot_tell_from_noise_does_not_block() -> None:
    noisy = _leaf(4, 1.08, spread=0.5)
    decision = decide(_evaluation(new=_leaf(1, 0.7), old=noisy), ["new"], SETTINGS)
    assert decision.changes["old"].change["both"].low <= SETTINGS.max_forgetting
    assert decision.passed


def test_unmeasurable_learning_is_refused() -> None:
    decision = decide(_evaluation(old=_leaf(2, 1.0)), ["new"], SETTINGS)
    assert not decision.passed and "no held-out samples or seeds" in decision.reasons[0]


def test_a_version_that_trained_nothing_only_checks_forgetting() -> None:
    assert decide(_evaluation(old=_leaf(2, 1.0)), [], SETTINGS).passed
