"""The published `seedtree-fmt` pre-commit hook fixes files and fails the commit once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers import PROJECT_ROOT, SAMPLE_TAXONOMY, git

HOOKS = PROJECT_ROOT / ".pre-commit-hooks.yaml"
HAIKU = "compositional_skills/writing/poetry/haiku/qna.yaml"


def _local_config(hook: dict[str, object]) -> str:
    """The published hook as a `repo: local` hook run by this environment's seedtree."""
    local = {**hook, "language": "system"}
    local["entry"] = str(Path(sys.executable).parent / str(hook["entry"]))
    return yaml.safe_dump({"repos": [{"repo": "local", "hooks": [local]}]})


def test_seedtree_fmt_hook_fixes_then_passes(tmp_path: Path) -> None:
    pre_commit = Path(sys.executable).parent / "pre-commit"
    if not pre_commit.exists():
        pytest.skip("pre-commit is not installed")
    hooks = {h["id"]: h for h in yaml.safe_load(HOOKS.read_text(encoding="utf-8"))}
    hook = hooks["seedtree-fmt"]
    repo = tmp_path / "repo"
    shutil.copytree(SAMPLE_TAXONOMY, repo / "taxonomy")
    leaf = repo / "taxonomy" / HAIKU
    good = leaf.read_text(encoding="utf-8")
    leaf.write_text(good.replace("version: 3\n", "version: 3   \n"), encoding="utf-8")
    (repo / ".pre-commit-config.yaml").write_text(_local_config(hook), encoding="utf-8")
    git(tmp_path, "init", "-q", str(repo))
    git(repo, "add", "-A")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}

    def run_hooks() -> subprocess.CompletedProcess[str]:
        cmd = [str(pre_commit), "run", "--all-files"]
        return subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)

    first = run_hooks()
    assert first.returncode == 1, first.stdout
    assert "files were modified by this hook" in first.stdout
    assert leaf.read_text(encoding="utf-8") == good
    second = run_hooks()
    assert second.returncode == 0, second.stdout
