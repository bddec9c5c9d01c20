"""A job that ran before on the GPU runner planted hooks and an fsmonitor in the reused
workspace's ``.git``: none of them runs when seedtree (or the retrain workflow's push) tags,
pushes, fetches, checks out or asks for the status. Real repositories, a real bare remote."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from helpers import PROJECT_ROOT, git
from seedtree.git import run_git

HOOKS = ("pre-push", "reference-transaction", "post-checkout", "pre-commit", "post-merge")


def _script(path: Path, marker: Path) -> None:
    path.write_text(f"#!/bin/sh\necho ran >> '{marker}'\n", encoding="utf-8")
    path.chmod(0o755)


def _plant(repo: Path, markers: Path) -> None:
    """What a fork's job leaves: hooks, a hooks path of its own, an fsmonitor program."""
    markers.mkdir()
    for name in HOOKS:
        _script(repo / ".git" / "hooks" / name, markers / name)
    elsewhere = repo.parent / "more-hooks"
    elsewhere.mkdir()
    _script(elsewhere / "pre-push", markers / "hooks-path")
    _script(repo.parent / "fsmonitor.sh", markers / "fsmonitor")
    git(repo, "config", "core.fsmonitor", str(repo.parent / "fsmonitor.sh"))


@pytest.fixture
def planted(make_repo: Callable[..., Path], tmp_path: Path) -> tuple[Path, Path, Path]:
    """A repository with planted hooks, its bare remote, and where the hooks would write."""
    repo = make_repo()
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    _plant(repo, tmp_path / "markers")
    return repo, remote, tmp_path / "markers"


def _ran(markers: Path) -> list[str]:
    return sorted(p.name for p in markers.iterdir())


def test_the_planted_hooks_do_run_for_plain_git(planted: tuple[Path, Path, Path]) -> None:
    """The attack is real: git without seedtree's settings runs every one of them."""
    repo, _remote, markers = planted
    git(repo, "tag", "-a", "-m", "x", "model/v1")
    git(repo, "status", "--porcelain")
    git(repo, "push", "-q", "origin", "refs/tags/model/*:refs/tags/model/*")
    git(repo, "checkout", "-q", "-b", "elsewhere")
    assert {"reference-transaction", "pre-push", "post-checkout", "fsmonitor"} <= set(_ran(markers))


def test_seedtree_git_commands_run_no_planted_hook(planted: tuple[Path, Path, Path]) -> None:
    repo, remote, markers = planted
    git(repo, "config", "core.hooksPath", str(repo.parent / "more-hooks"))
    run_git(repo, "tag", "--annotate", "--message", "lineage", "model/v1", "HEAD")
    run_git(repo, "status", "--porcelain")
    run_git(repo, "push", "-q", "origin", "refs/tags/model/*:refs/tags/model/*")
    run_git(repo, "fetch", "-q", "--tags", "origin")
    run_git(repo, "checkout", "-q", "-b", "elsewhere")
    assert _ran(markers) == []
    assert "model/v1" in git(remote, "tag", "--list")  # the push itself happened


def _push_step() -> tuple[str, dict[str, str]]:
    workflow = yaml.safe_load((PROJECT_ROOT / ".github/workflows/retrain.yml").read_text())
    (job,) = workflow["jobs"].values()
    step = next(s for s in job["steps"] if s.get("name") == "Push model tags")
    env = {k: str(v) for k, v in step["env"].items() if not str(v).startswith("${{")}
    return str(step["run"]), env


def test_the_workflows_push_runs_no_planted_hook(planted: tuple[Path, Path, Path]) -> None:
    """The retrain workflow's own `git push`, run as the workflow runs it (bash -e)."""
    repo, remote, markers = planted
    git(repo, "tag", "-a", "-m", "lineage", "model/v1")
    assert _ran(markers) == ["reference-transaction"]  # plain git, as a control
    (markers / "reference-transaction").unlink()
    script, step_env = _push_step()
    env = {**os.environ, **step_env, "GITHUB_TOKEN": "not-a-token"}
    done = subprocess.run(
        ["bash", "-e", "-c", script], cwd=repo, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert _ran(markers) == []
    assert "model/v1" in git(remote, "tag", "--list")
