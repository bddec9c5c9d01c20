"""The git module: errors users can read, the repository id, shallow clones, merge-bases."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from diffutil import commit_all

from helpers import git
from seedtree.errors import GitError
from seedtree.git import head_commit, is_shallow, merge_base, repository_id, run_git


def test_failures_name_the_command_and_gits_message(tmp_path: Path) -> None:
    with pytest.raises(GitError) as info:
        run_git(tmp_path, "log", "-1")
    message = str(info.value)
    assert "`git log -1` failed" in message and "not a git repository" in message


def test_repository_id_is_the_root_commit_in_every_clone(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    repo = make_repo()
    root = git(repo, "rev-list", "--max-parents=0", "HEAD").strip()
    (repo / "extra.txt").write_text("x\n", encoding="utf-8")
    commit_all(repo)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", f"file://{repo}", str(clone))
    assert repository_id(repo) == repository_id(clone) == root[:16]
    assert head_commit(clone) == git(repo, "rev-parse", "HEAD").strip()


def test_repository_id_without_commits_or_history(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    git(fresh, "init", "-q")
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    assert len(repository_id(fresh)) == 16
    assert repository_id(fresh) == repository_id(fresh) != repository_id(other)
    with pytest.raises(GitError):
        head_commit(fresh)
    repo = make_repo()
    (repo / "extra.txt").write_text("x\n", encoding="utf-8")
    commit_all(repo)
    shallow_a, shallow_b = tmp_path / "a", tmp_path / "b"
    for clone in (shallow_a, shallow_b):
        git(tmp_path, "clone", "-q", "--depth=1", f"file://{repo}", str(clone))
    assert is_shallow(shallow_a) and not is_shallow(repo)
    assert repository_id(shallow_a) == repository_id(shallow_b) != repository_id(repo)


def test_merge_base_of_an_ancestor_and_of_unrelated_history(
    make_repo: Callable[..., Path],
) -> None:
    repo = make_repo()
    first = head_commit(repo)
    (repo / "extra.txt").write_text("x\n", encoding="utf-8")
    commit_all(repo)
    assert merge_base(repo, first) == first
    git(repo, "checkout", "-q", "--orphan", "island")
    commit_all(repo, "unrelated")
    assert merge_base(repo, first) is None
