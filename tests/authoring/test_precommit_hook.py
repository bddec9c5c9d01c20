"""The published `seedtree-fmt` pre-commit hook fixes files and fails the commit once."""

from __future__ import annotations

import os
import re
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


# --- the published hooks as pre-commit installs them -------------------------------------------

# What `pip install` of a clone needs: the distribution's metadata and its package.
DISTRIBUTION = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "tooling")


def _publish(tmp_path: Path) -> tuple[Path, str]:
    """This worktree's code (committed or not) as a fresh git repository; returns (path, commit)."""
    listed = git(PROJECT_ROOT, "ls-files", "-co", "--exclude-standard", "-z", *DISTRIBUTION)
    clone = tmp_path / "seedtree-published"
    for rel in filter(None, listed.split("\0")):
        source = PROJECT_ROOT / rel
        if source.is_file():
            (clone / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / rel)
    git(tmp_path, "init", "-q", "-b", "main", str(clone))
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "published")
    return clone, git(clone, "rev-parse", "HEAD").strip()


def _installed_config(url: Path, rev: str) -> str:
    hooks = [{"id": "seedtree-fmt"}, {"id": "seedtree-validate"}]
    return yaml.safe_dump({"repos": [{"repo": str(url), "rev": rev, "hooks": hooks}]})


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """No trace of this environment: the hook must run on what pre-commit installed."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PRE_COMMIT_HOME"] = str(tmp_path / "pre-commit-home")
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if Path(p) != Path(sys.executable).parent
    )
    return env


@pytest.mark.slow
def test_published_hooks_install_from_a_clone_and_report_positions(tmp_path: Path) -> None:
    pre_commit = Path(sys.executable).parent / "pre-commit"
    if not pre_commit.exists():
        pytest.skip("pre-commit is not installed")
    url, rev = _publish(tmp_path)
    repo = tmp_path / "taxonomy-repo"
    shutil.copytree(SAMPLE_TAXONOMY, repo / "taxonomy")
    (repo / ".pre-commit-config.yaml").write_text(_installed_config(url, rev), encoding="utf-8")
    git(tmp_path, "init", "-q", str(repo))
    git(repo, "add", "-A")
    env = _clean_env(tmp_path)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(pre_commit), *args]
        return subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=900)

    installed = run("install-hooks")  # builds the hook's own virtualenv from pyproject.toml
    assert installed.returncode == 0, installed.stdout + installed.stderr
    good = run("run", "--files", f"taxonomy/{HAIKU}")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "ModuleNotFoundError" not in good.stdout
    leaf = repo / "taxonomy" / HAIKU
    text = leaf.read_text(encoding="utf-8")
    leaf.write_text(text.replace("created_by:", "created_by: a\ncreated_by:", 1), encoding="utf-8")
    bad = run("run", "--files", f"taxonomy/{HAIKU}")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert re.search(rf"taxonomy/{re.escape(HAIKU)}:\d+:\d+: error", bad.stdout), bad.stdout
