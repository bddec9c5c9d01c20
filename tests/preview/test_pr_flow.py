"""A pull request end to end on a real git repository: diff, validate, preview, comment."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fake_github import FakeGitHub
from mdrender import render as commonmark

from helpers import PROJECT_ROOT, git
from seedtree.cli import run
from seedtree.preview.model import load_report

LEAF = "compositional_skills/linguistics/antonyms"
DEMO = PROJECT_ROOT / "tooling" / "seedtree" / "data" / "demo" / "antonyms"
HAIKU = "taxonomy/compositional_skills/writing/poetry/haiku/qna.yaml"
REPO = "octo/seeds"


def _branch_adding_a_leaf(repo: Path, config: str) -> None:
    (repo / "seedtree.yaml").write_text(config, encoding="utf-8")
    git(repo, "add", "seedtree.yaml")
    git(repo, "commit", "-q", "-m", "configuration")
    git(repo, "checkout", "-q", "-b", "add-antonyms")
    shutil.copytree(DEMO, repo / "taxonomy" / LEAF)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "add the antonyms skill")


def _preview(repo: Path, out: Path, *extra: str) -> int:
    args = ["preview", "-C", str(repo), "--base", "main", "--out", str(out), "--quiet"]
    return run([*args, *extra])


def _shown_text(markdown: str) -> str:
    out = commonmark(markdown)
    assert out.tags.count("details") == out.tags.count("/details")
    return "".join(out.text + out.code)


def test_preview_without_teacher_covers_added_invalid_and_deleted_leaves(
    make_repo: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo("seeds")
    _branch_adding_a_leaf(repo, "preview:\n  samples: 0\n")
    (repo / HAIKU).write_text("version: 3\ncreated_by: someone\n", encoding="utf-8")
    git(repo, "rm", "-r", "-q", "taxonomy/compositional_skills/math/unit_conversion")
    git(repo, "commit", "-q", "-a", "-m", "break haiku, drop unit conversion")
    out = tmp_path / "preview.md"
    assert _preview(repo, out) == 0
    assert "3 changed leaf(s) against main, " in capsys.readouterr().out
    report = load_report(out.with_suffix(".json").read_text(encoding="utf-8"), "preview.json")
    by_id = {leaf.id: leaf for leaf in report.leaves}
    added = by_id[LEAF]
    assert (added.change, added.kind, added.errors, len(added.seeds)) == ("added", "skill", 0, 5)
    broken = by_id["compositional_skills/writing/poetry/haiku"]
    assert broken.errors > 0 and broken.note and "validation errors" in broken.note
    assert all(f.file == HAIKU for f in broken.findings)
    dropped = by_id["compositional_skills/math/unit_conversion"].dropped
    assert dropped is not None and dropped.seeds > 0
    shown = _shown_text(out.read_text(encoding="utf-8"))
    assert "Retraining will drop" in shown and f"{HAIKU}:" in shown


def test_no_changed_leaf_still_gives_a_comment(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    repo = make_repo("seeds")
    git(repo, "checkout", "-q", "-b", "docs-only")
    out = tmp_path / "preview.md"
    assert _preview(repo, out) == 0
    assert "No taxonomy leaves changed." in out.read_text(encoding="utf-8")


@pytest.mark.slow
def test_pull_request_flow_with_the_tiny_teacher(
    make_repo: Callable[..., Path],
    tiny_model_dir: Path,
    github_env: FakeGitHub,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_repo("seeds")
    config = (
        f"teacher:\n  model: {tiny_model_dir}\n"
        "generate:\n  max_tokens: 24\n  max_attempts_factor: 1.0\n"
    )
    _branch_adding_a_leaf(repo, config)

    assert run(["diff", "-C", str(repo), "--base", "main", "--format", "json"]) == 0
    diff = json.loads(capsys.readouterr().out)
    assert [(leaf["id"], leaf["kind"]) for leaf in diff["leaves"]] == [(LEAF, "added")]
    assert run(["validate", "-C", str(repo), "--changed", "--base", "main"]) == 0

    out = tmp_path / "preview.md"
    assert _preview(repo, out, "--samples", "1") == 0
    report = load_report(out.with_suffix(".json").read_text(encoding="utf-8"), "preview.json")
    (leaf,) = report.leaves
    assert report.teacher is not None and report.samples_per_leaf == 1
    assert leaf.id == LEAF and leaf.funnel and leaf.estimate
    assert leaf.note is None
    body = out.with_suffix(".json")
    args = ["comment", "--repo", REPO, "--pr", "7", "--body", str(body)]
    assert run(args) == 0
    (comment,) = github_env.comments()
    first_id, first_body = comment["id"], comment["body"]
    assert LEAF in _shown_text(first_body)

    seed = repo / "taxonomy" / LEAF / "qna.yaml"
    seed.write_text(seed.read_text(encoding="utf-8").replace("ancient", "antique"), "utf-8")
    git(repo, "commit", "-q", "-a", "-m", "edit a seed")
    assert _preview(repo, out, "--samples", "0") == 0  # the seeds alone, no teacher
    assert run(args) == 0
    (edited,) = github_env.comments()
    assert edited["id"] == first_id and edited["body"] != first_body
    assert "antique" in _shown_text(edited["body"])
