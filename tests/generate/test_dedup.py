from __future__ import annotations

import random

import pytest

from seedtree.generate.dedup import DUPLICATE, SEED_COPY, Deduper, rouge_l, tokens

VOCAB = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p"]


def lcs(a: list[str], b: list[str]) -> int:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            table[i + 1][j + 1] = (
                table[i][j] + 1 if x == y else max(table[i][j + 1], table[i + 1][j])
            )
    return table[-1][-1]


def test_rouge_l_is_lcs_f1() -> None:
    rng = random.Random(3)
    for _ in range(200):
        a = [rng.choice(VOCAB) for _ in range(rng.randint(1, 12))]
        b = [rng.choice(VOCAB) for _ in range(rng.randint(1, 12))]
        assert rouge_l(a, b) == pytest.approx(2 * lcs(a, b) / (len(a) + len(b)))


def brute_force(threshold: float, seeds: list[str], texts: list[str]) -> list[str | None]:
    kept = [(tokens(s), SEED_COPY) for s in seeds]
    out: list[str | None] = []
    for text in texts:
        words = tokens(text)
        reason = next((why for k, why in kept if rouge_l(words, k) >= threshold), None)
        if reason is None:
            kept.append((words, DUPLICATE))
        out.append(reason)
    return out


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.9])
def test_prefix_filter_gives_the_same_answer_as_comparing_every_pair(threshold: float) -> None:
    rng = random.Random(threshold)
    base = [" ".join(rng.choice(VOCAB) for _ in range(rng.randint(3, 10))) for _ in range(60)]
    texts = []
    for _ in range(600):  # mutations of a few bases: many near-duplicates at every distance
        words = rng.choice(base).split()
        for _ in range(rng.randint(0, 4)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(VOCAB))
        texts.append(" ".join(words))
    seeds = base[:5]
    deduper = Deduper(threshold)
    deduper.add_seeds(seeds)
    got = deduper.filter(texts[:300]) + deduper.filter(texts[300:])  # two rounds
    assert got == brute_force(threshold, seeds, texts)
    assert got.count(None) > 10 and got.count(DUPLICATE) > 10 and got.count(SEED_COPY) > 0


def test_exact_copies_case_and_punctuation_insensitive() -> None:
    deduper = Deduper(0.7)
    deduper.add_seeds(["Write a haiku about autumn leaves."])
    assert deduper.filter(
        [
            "write a HAIKU about autumn leaves",
            "Write a limerick about a cat in a hat",
            "write a limerick about a cat in a hat!",
        ]
    ) == [SEED_COPY, None, DUPLICATE]


def test_threshold_must_be_a_fraction() -> None:
    with pytest.raises(ValueError):
        Deduper(0.0)
