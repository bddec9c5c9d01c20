from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from seedtree.errors import UsageError
from seedtree.train.data import heldout_ids, load_samples, split_heldout
from seedtree.train.recipe import HeldOut


def test_load_samples_groups_by_leaf_from_files_and_mappings(
    make_dataset: Callable[..., Path],
) -> None:
    folder = make_dataset(n=5)
    by_leaf = load_samples(folder)
    assert sorted(by_leaf) == ["compositional_skills/writing/haiku", "knowledge/science/tides"]
    tides = by_leaf["knowledge/science/tides"]
    assert [s.kind for s in tides] == ["knowledge"] * 5
    assert tides[0].length == "long" and tides[1].length == "short"
    records = [s.record for s in tides]
    again = load_samples({"knowledge/science/tides": records})
    assert [s.id for s in again["knowledge/science/tides"]] == [s.id for s in tides]


def test_bad_line_is_reported_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    good = {"id": "a", "messages": [{"role": "user", "content": "q"}], "metadata": {"leaf": "l"}}
    path.write_text(json.dumps(good) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"x\.jsonl:1: a sample needs"):
        load_samples(path)
    path.write_text("\n{not json\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"x\.jsonl:2: invalid JSON"):
        load_samples(path)


def test_heldout_split_is_by_id_persisted_and_stable(
    make_dataset: Callable[..., Path], tmp_path: Path
) -> None:
    store = tmp_path / "store"
    rule = HeldOut(fraction=0.2, min_per_leaf=2)
    first = load_samples(make_dataset(n=20))
    train, held = split_heldout(first, rule, store)
    for leaf in first:
        assert len(held[leaf]) >= 2
        assert {s.id for s in train[leaf]}.isdisjoint({s.id for s in held[leaf]})
        assert len(train[leaf]) + len(held[leaf]) == 20
    kept = heldout_ids(store)
    assert kept == {s.id for rows in held.values() for s in rows}
    # a later version with more data: what was held out stays held out, nothing else moves in
    bigger = load_samples(make_dataset(n=40))
    train2, held2 = split_heldout(bigger, rule, store)
    held2_ids = {s.id for rows in held2.values() for s in rows}
    assert kept <= held2_ids
    assert held2_ids.isdisjoint({s.id for rows in train2.values() for s in rows})
    # splitting the same data again gives the same split
    _, held3 = split_heldout(bigger, rule, store)
    assert {s.id for rows in held3.values() for s in rows} == held2_ids
