"""A 200 KB leaf that expands to about 180 MB: one anchored 180 KB scalar aliased a thousand times
(a thousand values, far under the cap on values). The parser weighs aliases in bytes and refuses
the leaf at the alias that crosses the cap, in validation and wherever the leaf is read again:
taxonomy loading (generate), the retrain plan (which skips and reports it), hashing."""

from __future__ import annotations

from pathlib import Path

import pytest
from attacks import commit_all, no_traceback, run_cli, with_recipe

from seedtree.errors import UsageError
from seedtree.taxonomy.identity import leaf_hash
from seedtree.taxonomy.leaves import load_leaf
from seedtree.yamlpos import MAX_ALIAS_BYTES

HAIKU = "taxonomy/compositional_skills/writing/poetry/haiku"
LEAF = "compositional_skills/writing/poetry/bomb"
ANCHOR = 180_000
ALIASES = 1_000
CAP = "aliases repeat more than 1,000,000 bytes of text"


def plant_bomb(repo: Path) -> tuple[Path, str]:
    """The sample haiku leaf with a 180 KB anchored note aliased 1,000 times; returns its
    ``qna.yaml`` and the ``line:col`` of the alias that crosses the cap."""
    folder = repo / "taxonomy" / LEAF
    folder.mkdir()
    source = repo / HAIKU
    (folder / "attribution.txt").write_bytes((source / "attribution.txt").read_bytes())
    text = (source / "qna.yaml").read_text(encoding="utf-8")
    lines = [*text.rstrip("\n").split("\n"), "notes: &note " + "w" * ANCHOR, "more:"]
    first = len(lines) + 1
    lines += ["  - *note"] * ALIASES
    qna = folder / "qna.yaml"
    qna.write_text("\n".join(lines) + "\n", encoding="utf-8")
    crossing = MAX_ALIAS_BYTES // ANCHOR  # the alias after this many is over the cap
    return qna, f"{first + crossing}:5"


def test_the_bomb_is_small_and_would_be_large(repo: Path) -> None:
    qna, _where = plant_bomb(repo)
    assert qna.stat().st_size < 200_000
    assert ANCHOR * ALIASES > 100 * 1_000_000  # what it would expand to


def test_validate_refuses_at_the_alias(repo: Path) -> None:
    _qna, where = plant_bomb(repo)
    run = run_cli(repo, "validate", f"taxonomy/{LEAF}")
    no_traceback(run)
    assert run.code == 1
    flat = run.output.replace("\n", " ")
    assert f"taxonomy/{LEAF}/qna.yaml:{where}: error [yaml-too-complex] {CAP}" in flat


def test_every_reader_refuses_it(repo: Path) -> None:
    qna, where = plant_bomb(repo)
    run = run_cli(repo, "generate", "--dry-run")
    no_traceback(run)
    assert run.code == 2
    flat = run.output.replace("\n", "")
    assert f"{LEAF}/qna.yaml:{where}: cannot load leaf: {CAP}" in flat
    with pytest.raises(UsageError, match=CAP):
        load_leaf(qna, repo / "taxonomy")


def test_retrain_plan_skips_and_reports_it(repo: Path) -> None:
    plant_bomb(repo)
    commit_all(repo, "a leaf that expands to 180 MB")
    with_recipe(repo)
    run = run_cli(repo, "retrain", "--dry-run")
    no_traceback(run)
    assert run.code == 0
    flat = run.output.replace("\n", "")
    assert f"skip      {LEAF}: cannot be loaded:" in flat and CAP in flat
    assert "generate  added     compositional_skills/writing/poetry/haiku" in run.output


def test_a_few_aliases_still_load(repo: Path) -> None:
    """The two public leaves that use an alias at all repeat a few short values."""
    qna = repo / HAIKU / "qna.yaml"
    text = qna.read_text(encoding="utf-8")
    qna.write_text(text + "notes: &n a short note\nsame: [*n, *n, *n]\n", encoding="utf-8")
    leaf = load_leaf(qna, repo / "taxonomy")
    assert leaf.data["same"] == ["a short note"] * 3
    assert len(leaf_hash(leaf, repo)) == 64
