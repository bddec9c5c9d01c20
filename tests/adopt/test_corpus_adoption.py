"""Adopting seedtree on a real InstructLab taxonomy (the shared corpus, laid out at a root)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from helpers import PROJECT_ROOT, corpus_or_skip, git
from seedtree.cli import run


@pytest.fixture
def adopted(tmp_path: Path) -> Path:
    tree = corpus_or_skip("instructlab-taxonomy-2025-04")
    repo = tmp_path / "taxonomy"
    shutil.copytree(tree, repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "taxonomy")
    assert (
        run(["init", "-C", str(repo), "--source", str(PROJECT_ROOT), "--url", "https://x/s"]) == 0
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "adopt seedtree")
    return repo


def _hook_files(repo: Path, hook_id: str) -> list[str]:
    hooks = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    pattern = re.compile(next(h["files"] for h in hooks if h["id"] == hook_id))
    return [f for f in git(repo, "ls-files").splitlines() if pattern.search(f)]


def test_the_existing_tree_passes_with_its_baseline_and_a_new_finding_fails(
    adopted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert run(["validate", "-C", str(adopted), str(adopted)]) == 0
    assert "known in the baseline" in capsys.readouterr().out
    files = _hook_files(adopted, "seedtree-validate")
    assert files and run(["validate", "-C", str(adopted), *[str(adopted / f) for f in files]]) == 0
    leaf = next(p for p in (adopted / "compositional_skills").rglob("qna.yaml"))
    new = adopted / "compositional_skills" / "new_leaf" / "qna.yaml"
    new.parent.mkdir()
    new.write_text(leaf.read_text().replace("version:", "version: 99\nxversion:", 1))
    (new.parent / "attribution.txt").write_text((leaf.parent / "attribution.txt").read_text())
    capsys.readouterr()
    assert run(["validate", "-C", str(adopted), str(new)]) == 1
    out = capsys.readouterr().out
    assert re.search(r"new_leaf/qna\.yaml:\d+:\d+: error", out), out


def test_diff_works_in_the_adopted_repository(
    adopted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = git(adopted, "rev-parse", "HEAD").strip()
    leaf = next(p for p in (adopted / "knowledge").rglob("qna.yaml"))
    leaf.write_text(leaf.read_text() + "\n")
    git(adopted, "commit", "-q", "-am", "edit a leaf")
    capsys.readouterr()
    assert run(["diff", "-C", str(adopted), "--base", base]) == 0
    assert str(leaf.parent.relative_to(adopted)) in capsys.readouterr().out
