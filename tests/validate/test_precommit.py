"""pre-commit, offline: the published hook and this repository's configuration, run with
``pre-commit run --all-files`` on a temporary taxonomy git repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from helpers import PROJECT_ROOT, git

BIN = Path(sys.executable).parent
HAIKU = "taxonomy/compositional_skills/writing/poetry/haiku/qna.yaml"


def _pre_commit(repo: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "PRE_COMMIT_HOME": str(repo.parent / "pre-commit-home"),
    }
    return subprocess.run(
        [str(BIN / "pre-commit"), "run", "--all-files", "--color", "never"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _published_hook_as_local() -> dict[str, object]:
    hooks = yaml.safe_load((PROJECT_ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = [h for h in hooks if h["id"] == "seedtree-validate"]
    return {**hook, "language": "system"}  # offline: the installed seedtree, no fresh venv


@pytest.fixture
def repo(make_repo: Callable[..., Path]) -> Path:
    if not (BIN / "pre-commit").exists():
        pytest.skip("pre-commit is not installed")
    return make_repo()


def _break(repo: Path) -> None:
    path = repo / HAIKU
    path.write_text(path.read_text().replace("version: 3\n", "version: 3\nversion: 3\n"))
    git(repo, "add", HAIKU)


def test_published_hook(repo: Path) -> None:
    config = {"repos": [{"repo": "local", "hooks": [_published_hook_as_local()]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    git(repo, "add", ".pre-commit-config.yaml")
    good = _pre_commit(repo)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "seedtree validate" in good.stdout and "Passed" in good.stdout
    _break(repo)
    bad = _pre_commit(repo)
    assert bad.returncode == 1
    assert f"{HAIKU}:3:1: error [duplicate-key]" in bad.stdout


def test_this_repository_config(repo: Path) -> None:
    shutil.copy(PROJECT_ROOT / ".pre-commit-config.yaml", repo)
    workflows = sorted((PROJECT_ROOT / ".github" / "workflows").glob("*.yml"))
    if workflows:
        (repo / ".github" / "workflows").mkdir(parents=True)
        shutil.copy(workflows[0], repo / ".github" / "workflows")
    git(repo, "add", "-A")
    good = _pre_commit(repo)
    assert good.returncode == 0, good.stdout + good.stderr
    _break(repo)
    assert _pre_commit(repo).returncode == 1
