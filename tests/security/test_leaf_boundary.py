"""What validates is what every later stage can load.

Leaf files must be regular files: a leaf whose ``qna.yaml`` or ``attribution.txt`` is a symlink
(here, into another leaf of the same repository) is a ``leaf-symlink`` error in ``validate`` and
``validate --changed`` (and in the preview), refused by name where a leaf is loaded, and skipped
and reported by the retrain plan. A folder a thousand levels deep with no leaf in it is a
located ``folder-depth`` error, and no walk (validate, generate, diff, preview, the retrain plan)
crashes on it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from attacks import Run, commit_all, no_traceback, run_cli, with_recipe

from helpers import git
from seedtree.errors import UsageError
from seedtree.taxonomy.leaves import load_leaf
from seedtree.taxonomy.safewalk import MAX_TREE_DEPTH
from seedtree.validate.api import validate_leaf

WRITING = "taxonomy/compositional_skills/writing/poetry"
LEVELS = 1_000


def _linked_leaf(repo: Path, name: str, linked: str) -> Path:
    """A copy of the haiku leaf whose file ``linked`` is a symlink to the haiku's own."""
    folder = repo / WRITING / name
    folder.mkdir()
    for file in ("qna.yaml", "attribution.txt"):
        if file == linked:
            (folder / file).symlink_to(Path("..") / "haiku" / file)
        else:
            (folder / file).write_bytes((repo / WRITING / "haiku" / file).read_bytes())
    return folder


@pytest.mark.parametrize("linked", ["qna.yaml", "attribution.txt"])
def test_symlinked_leaf_file_is_refused_everywhere(repo: Path, tmp_path: Path, linked: str) -> None:
    git(repo, "branch", "base")
    folder = _linked_leaf(repo, "senryu", linked)
    shown = f"{WRITING}/senryu/{linked}"
    for args in (["validate"], ["validate", "--changed", "--base", "base"]):
        run = run_cli(repo, *args)
        no_traceback(run)
        assert run.code == 1 and f"{shown}:1:1: error [leaf-symlink]" in run.output
    with pytest.raises(UsageError, match="must be regular files"):
        load_leaf(folder / "qna.yaml", repo / "taxonomy")
    run = run_cli(repo, "generate", "--dry-run")
    no_traceback(run)
    assert run.code == 2 and f"{shown}:1:1: a symlink" in run.output.replace("\n", "")
    out = tmp_path / "preview.md"
    run = run_cli(repo, "preview", "--base", "base", "--out", str(out), "--quiet")
    no_traceback(run)
    assert run.code == 0 and f"`{shown}:1:1` `leaf-symlink`" in out.read_text(encoding="utf-8")
    commit_all(repo, "a leaf of symlinks")
    with_recipe(repo)
    run = run_cli(repo, "retrain", "--dry-run")
    no_traceback(run)
    assert run.code == 0
    assert "skip      compositional_skills/writing/poetry/senryu: cannot be loaded" in run.output


def test_no_leaf_validates_and_then_fails_to_load(repo: Path, tmp_path: Path) -> None:
    """Every way to make a leaf's files symlinks: either validation reports an error, or the leaf
    loads."""
    elsewhere = tmp_path / "outside.yaml"
    elsewhere.write_bytes((repo / WRITING / "haiku" / "qna.yaml").read_bytes())
    cases = {"inside": Path("..") / "haiku" / "qna.yaml", "outside": elsewhere}
    for name, target in cases.items():
        folder = _linked_leaf(repo, name, "attribution.txt")
        (folder / "qna.yaml").unlink()
        (folder / "qna.yaml").symlink_to(target)
        errors = [f for f in validate_leaf(folder / "qna.yaml") if f.is_error]
        assert errors, name
        with pytest.raises(UsageError):
            load_leaf(folder / "qna.yaml", repo / "taxonomy")


def _deep_folder(repo: Path) -> Path:
    """``taxonomy/knowledge/deep/d/d/...``, a thousand levels, made a hundred at a time, with one
    file at the bottom (git keeps no empty folder) and no leaf."""
    bottom = repo / "taxonomy" / "knowledge" / "deep"
    for _chunk in range(LEVELS // 100):
        bottom = bottom / os.path.join(*["d"] * 100)
        os.makedirs(bottom)
    (bottom / "notes.md").write_text("the bottom\n", encoding="utf-8")
    return bottom


def _first_too_deep() -> str:
    """The folder one level past the cap, as validation names it."""
    return "taxonomy/knowledge/deep/" + "/".join(["d"] * (MAX_TREE_DEPTH - 1))


def _reports_depth(run: Run) -> None:
    no_traceback(run)
    assert run.code == 1
    assert f"{_first_too_deep()}:1:1: error [folder-depth]" in run.output


def test_a_thousand_levels_deep(repo: Path, tmp_path: Path) -> None:
    git(repo, "branch", "base")
    _deep_folder(repo)
    commit_all(repo, "a folder a thousand levels deep")
    with_recipe(repo)
    _reports_depth(run_cli(repo, "validate", "--changed", "--base", "base"))
    _reports_depth(run_cli(repo, "validate"))
    out = tmp_path / "preview.md"
    for args in (
        ["generate", "--dry-run"],
        ["diff", "--base", "base"],
        ["preview", "--base", "base", "--out", str(out), "--quiet"],
        ["retrain", "--dry-run"],
        ["fmt", "--check", "taxonomy"],
    ):
        run = run_cli(repo, *args)
        no_traceback(run)
        assert run.code == 0, (args, run.output)
    assert "No taxonomy leaves changed" in out.read_text(encoding="utf-8")


def test_a_leaf_below_the_cap_is_reported_not_read(repo: Path) -> None:
    """A leaf planted at the bottom is no leaf to any stage: validate --changed names the
    folder past the cap, the other stages never reach it."""
    git(repo, "branch", "base")
    bottom = _deep_folder(repo)
    haiku = repo / WRITING / "haiku"
    for file in ("qna.yaml", "attribution.txt"):
        (bottom / file).write_bytes((haiku / file).read_bytes())
    commit_all(repo, "a leaf a thousand levels deep")
    _reports_depth(run_cli(repo, "validate", "--changed", "--base", "base"))
    run = run_cli(repo, "diff", "--base", "base")
    no_traceback(run)
    assert run.code == 0 and "0 changed leaves" in run.output
