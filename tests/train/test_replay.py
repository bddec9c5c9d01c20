from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from seedtree.train.data import load_samples, read_heldout, split_heldout
from seedtree.train.recipe import HeldOut, ReplaySource, Selector
from seedtree.train.replay import ReplayBuffer, draw_replay

TIDES = "knowledge/science/tides"
HAIKU = "compositional_skills/writing/haiku"


def test_reservoir_keeps_a_bounded_deterministic_sample_with_a_manifest(
    make_dataset: Callable[..., Path], tmp_path: Path
) -> None:
    samples = load_samples(make_dataset(n=30))[TIDES]
    buffers = [ReplayBuffer(tmp_path / name, capacity_per_leaf=8) for name in ("a", "b")]
    for buffer in buffers:
        buffer.add(TIDES, "h1", samples[:20])
        buffer.add(TIDES, "h1", samples[10:])  # overlapping ids are not offered twice
    a, b = (buffer.leaves()[TIDES] for buffer in buffers)
    assert a == b and len(a.sample_ids) == 8 and a.seen == 30
    assert set(a.sample_ids) <= {s.id for s in samples}
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["leaves"][TIDES]["leaf_hash"] == "h1"
    assert manifest["leaves"][TIDES]["sample_ids"] == list(a.sample_ids)
    reopened = ReplayBuffer(tmp_path / "a", capacity_per_leaf=8)
    assert [s.id for s in reopened.samples(TIDES)] == list(a.sample_ids)


def test_changed_leaf_hash_replaces_its_data(
    make_dataset: Callable[..., Path], tmp_path: Path
) -> None:
    buffer = ReplayBuffer(tmp_path / "r", capacity_per_leaf=50)
    buffer.add(TIDES, "h1", load_samples(make_dataset(n=5))[TIDES])
    new = load_samples(make_dataset(n=3, version="h2"))[TIDES]
    buffer.add(TIDES, "h2", new)
    assert buffer.leaves()[TIDES].sample_ids == tuple(s.id for s in new)


def test_remove_and_rename_leaf(make_dataset: Callable[..., Path], tmp_path: Path) -> None:
    data = load_samples(make_dataset(n=4))
    split_heldout(data, HeldOut(fraction=0.5, min_per_leaf=1), tmp_path / "r")
    held = read_heldout(tmp_path / "r")
    buffer = ReplayBuffer(tmp_path / "r")
    for leaf, rows in data.items():
        buffer.add(leaf, "h1", rows)
    assert buffer.rename_leaf(TIDES, "knowledge/oceans/tides")
    moved = ReplayBuffer(tmp_path / "r").samples("knowledge/oceans/tides")
    assert [s.id for s in moved] == [s.id for s in data[TIDES]]
    assert {s.leaf for s in moved} == {"knowledge/oceans/tides"}
    assert buffer.remove_leaf(HAIKU) and not buffer.remove_leaf(HAIKU)
    assert sorted(ReplayBuffer(tmp_path / "r").leaves()) == ["knowledge/oceans/tides"]
    assert len(list((tmp_path / "r" / "samples").glob("*.jsonl"))) == 1
    # held-out ids follow the rename and leave with the deleted leaf
    assert read_heldout(tmp_path / "r") == {"knowledge/oceans/tides": held[TIDES]}


def test_draw_replay_is_deterministic_at_the_ratio(make_dataset: Callable[..., Path]) -> None:
    pool = load_samples(make_dataset(n=20))
    source = ReplaySource(select=Selector(kinds=("knowledge",)), ratio=0.5)
    exclude = {pool[TIDES][0].id}
    first = draw_replay(pool, [source], 10, exclude, "s")
    assert len(first) == 5 and {s.leaf for s in first} == {TIDES}
    assert pool[TIDES][0].id not in {s.id for s in first}
    assert first == draw_replay(pool, [source], 10, exclude, "s")
    assert first != draw_replay(pool, [source], 10, exclude, "other seed")


def test_draw_replay_spreads_over_the_earlier_leaves(make_dataset: Callable[..., Path]) -> None:
    leaves = {f"knowledge/topic_{i}": "knowledge" for i in range(5)}
    pool = load_samples(make_dataset(n=10, leaves=leaves))
    source = ReplaySource(select=Selector(kinds=("knowledge",)), ratio=1.0)
    for seed in ("a", "b", "c"):
        drawn = draw_replay(pool, [source], 7, set(), seed)
        per_leaf = sorted(sum(s.leaf == leaf for s in drawn) for leaf in leaves)
        assert per_leaf == [1, 1, 1, 2, 2], seed  # every leaf once before any twice
        assert len({s.id for s in drawn}) == 7
