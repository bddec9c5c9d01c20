"""A recipe's general dataset kept in the artifact store: read through the store's backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seedtree.errors import SeedtreeError
from seedtree.train.general import GeneralDraw, general_mix
from seedtree.train.recipe import recipe_from_dict
from seedtree.versions.store import fetch_url, open_store


def _url(store_url: str) -> str:
    return store_url if "://" in store_url else Path(store_url).as_uri()


def test_a_general_dataset_in_the_store_is_fetched_once_and_drawn(
    store_url: str, tmp_path: Path
) -> None:
    rows = [
        {"messages": [{"role": "user", "content": f"Q{i}?"}, {"role": "assistant", "content": "A"}]}
        for i in range(6)
    ]
    source = tmp_path / "chat.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    open_store(store_url).put_file("general/chat.jsonl", source)
    url = f"{_url(store_url)}/general/chat.jsonl"
    phase = {"name": "one", "select": {}, "lr": 1e-3, "effective_batch": 2}
    recipe = recipe_from_dict({"general": [{"path": url, "size": 4}], "phases": [phase]})
    mix = general_mix(recipe, GeneralDraw(label="v1", fetch=fetch_url), tmp_path / "out", [])
    assert len(mix.draw("one", n_new=1)) == 4
    assert {s.user for s in mix.sets[0].samples} == {f"Q{i}?" for i in range(6)}
    with pytest.raises(SeedtreeError, match=r"absent\.jsonl"):
        fetch_url(f"{_url(store_url)}/general/absent.jsonl", tmp_path / "absent.jsonl")
    assert not (tmp_path / "absent.jsonl").exists()  # nothing partial left
