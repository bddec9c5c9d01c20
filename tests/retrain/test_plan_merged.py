"""The pull requests a retrain run answers for: merges on the main line since the previous
version (GitHub may cancel the pending runs of some of them)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from helpers import git
from retrain.support import commit, record_release
from seedtree.cli import run
from seedtree.project import open_project
from seedtree.retrain.merged import merged_commits
from seedtree.retrain.plan import make_plan
from seedtree.retrain.state import Options


def merge_branch(repo: Path, name: str, files: dict[str, str]) -> str:
    """A pull request: a branch with one commit, merged into main with a merge commit."""
    git(repo, "checkout", "-q", "-b", name)
    for rel, text in files.items():
        (repo / rel).write_text(text, encoding="utf-8")
    commit(repo, f"change on {name}")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", f"Merge {name}", name)
    return str(git(repo, "rev-parse", "HEAD")).strip()


def release_head(repo: Path) -> None:
    record_release(repo, make_plan(open_project(repo), Options(dry_run=True)))


def test_every_merge_since_the_previous_version(
    make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo()
    assert merged_commits(repo) == [str(git(repo, "rev-parse", "HEAD")).strip()]  # no version
    release_head(repo)
    first = merge_branch(repo, "one", {"one.txt": "1\n"})
    second = merge_branch(repo, "two", {"two.txt": "2\n"})
    (repo / "three.txt").write_text("3\n", encoding="utf-8")
    squashed = commit(repo, "a squash merge")  # one commit on the main line
    assert merged_commits(repo) == [first, second, squashed]  # the branches' commits are not
    release_head(repo)  # this run's own release on HEAD does not change the list
    assert merged_commits(repo) == [first, second, squashed]
    assert run(["retrain", "--merged-commits", "-C", str(repo)]) == 0
    assert capsys.readouterr().out.split() == [first, second, squashed]
    later = merge_branch(repo, "four", {"four.txt": "4\n"})
    assert merged_commits(repo) == [later]
