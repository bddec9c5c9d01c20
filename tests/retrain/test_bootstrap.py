"""The paired bootstrap on synthetic per-item losses: shifts found, noise not, reproducible."""

from __future__ import annotations

import numpy as np

from seedtree.evaluation.bootstrap import mean_drop, paired_change
from seedtree.versions.lineage import Interval


def _items(n: int, seed: int) -> np.ndarray:
    # items differ far more from each other (0.5 to 3) than a model changes them
    return np.random.default_rng(seed).uniform(0.5, 3.0, n)


def test_a_known_rise_is_found_and_its_interval_covers_it() -> None:
    before = _items(20, 1)
    noise = np.random.default_rng(2).normal(0.0, 0.02, 20)
    after = before * (1.10 + noise)
    change = paired_change(list(before), list(after), key="leaf")
    assert change.low > 0.05  # a 10% rise is detected above a 5% threshold
    assert change.low < 0.10 < change.high
    assert abs(change.value - 0.10) < 0.02


def test_pure_noise_is_not_called_a_change() -> None:
    before = _items(15, 3)
    after = before * np.exp(np.random.default_rng(4).normal(0.0, 0.15, 15))
    change = paired_change(list(before), list(after), key="leaf")
    assert change.low < 0.0 < change.high


def test_pairing_is_what_makes_a_small_shift_visible() -> None:
    before = _items(15, 5)
    after = before * 1.03
    paired = paired_change(list(before), list(after), key="leaf")
    assert paired.low > 0.02  # every item rose by 3%: the paired interval is narrow
    unpaired = paired_change(list(before), list(np.roll(after, 5)), key="leaf")
    assert unpaired.high - unpaired.low > 10 * (paired.high - paired.low)


def test_seeded_and_reproducible() -> None:
    before, after = list(_items(10, 6)), list(_items(10, 7))
    first = paired_change(before, after, key="leaf", seed=3)
    assert paired_change(before, after, key="leaf", seed=3) == first
    assert paired_change(before, after, key="leaf", seed=4) != first


def test_mean_drop_over_leaves() -> None:
    learned = _items(12, 8)
    pairs = {
        "a": (list(learned), list(learned * 0.8)),
        "b": (list(learned), list(learned * 0.9)),
    }
    drop = mean_drop(pairs)
    assert abs(drop.value - 0.15) < 1e-9 and drop.low > 0.1


def test_interval_text_reads_as_a_percentage_with_its_bounds() -> None:
    assert Interval(value=0.031, low=-0.012, high=0.074).text() == "+3.1% [\u22121.2%, +7.4%]"
