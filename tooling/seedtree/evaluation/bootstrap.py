"""Paired bootstrap intervals for the relative change of a mean loss between two models.

Both models are scored on the same items (one mean loss per answer token per item). Resampling
the items with replacement, the same indices for both models, keeps each item's pairing: the
spread of ``mean(after) / mean(before) - 1`` over the resamples is the spread of the change
itself, not of two independent means (items differ far more from each other than a model
changes them). Percentile intervals; all resamples at once as numpy arrays (milliseconds).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import numpy as np

from seedtree.versions.lineage import Interval

RESAMPLES = 4000
CONFIDENCE = 0.9


def _generator(seed: int, key: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def _resampled(
    before: Sequence[float], after: Sequence[float], resamples: int, seed: int, key: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both score arrays and ``resamples`` rows of item indices drawn with replacement."""
    b, a = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    if b.shape != a.shape or b.ndim != 1 or not len(b):
        raise ValueError(f"{key}: paired scores need the same non-zero number of items")
    return b, a, _generator(seed, key).integers(0, len(b), size=(resamples, len(b)))


def relative_changes(
    before: Sequence[float], after: Sequence[float], *, resamples: int, seed: int, key: str
) -> np.ndarray:
    """``mean(after) / mean(before) - 1`` of ``resamples`` paired resamples of the items."""
    b, a, picks = _resampled(before, after, resamples, seed, key)
    before_means = b[picks].mean(axis=1)
    safe = np.where(before_means > 0, before_means, 1.0)
    changes: np.ndarray = np.where(before_means > 0, a[picks].mean(axis=1) / safe - 1.0, 0.0)
    return changes


def interval(point: float, draws: np.ndarray, confidence: float = CONFIDENCE) -> Interval:
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return Interval(value=round(point, 6), low=round(float(low), 6), high=round(float(high), 6))


def point_change(before: Sequence[float], after: Sequence[float]) -> float:
    mean_before = float(np.mean(before))
    return float(np.mean(after)) / mean_before - 1.0 if mean_before > 0 else 0.0


def paired_change(
    before: Sequence[float],
    after: Sequence[float],
    *,
    key: str,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> Interval:
    """The relative change of the mean loss, ``after`` against ``before``, with its interval."""
    draws = relative_changes(before, after, resamples=resamples, seed=seed, key=key)
    return interval(point_change(before, after), draws, confidence)


def mean_drop(
    pairs: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> Interval:
    """The mean over leaves of each leaf's relative drop (``1 - after/before``), with its
    interval: every leaf resampled on its own items, the mean taken per resample."""
    if not pairs:
        raise ValueError("no leaves to average")
    draws = [
        relative_changes(b, a, resamples=resamples, seed=seed, key=leaf)
        for leaf, (b, a) in sorted(pairs.items())
    ]
    point = -float(np.mean([point_change(b, a) for b, a in pairs.values()]))
    return interval(point, -np.mean(draws, axis=0), confidence)


def paired_difference(
    before: Sequence[float],
    after: Sequence[float],
    *,
    key: str,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> Interval:
    """``mean(after) - mean(before)`` with its paired interval: for scores that are already
    fractions (an accuracy, a grade from 0 to 1), where a change is in points, not relative."""
    b, a, picks = _resampled(before, after, resamples, seed, key)
    draws: np.ndarray = (a - b)[picks].mean(axis=1)
    return interval(float(np.mean(a - b)), draws, confidence)
