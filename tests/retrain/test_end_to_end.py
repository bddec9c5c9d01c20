"""Merge to model on a real git repository with tiny models and a scripted teacher.

Commit 1 (three leaves) -> v1; commit 2 adds a leaf and edits another -> v2 generates only for
those two and replays the others; commit 3 deletes a leaf and edits one -> v3 no longer has the
deleted leaf in its data, its replay buffer or the samples it trained on.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from helpers import git
from retrain.scripted import ScriptedTeacher
from retrain.support import LEAVES, commit, edit_task, fresh_generation_calls, write_settings
from seedtree.cli import run
from seedtree.home import RepoHome
from seedtree.project import open_project
from seedtree.retrain.run import retrain
from seedtree.retrain.state import Options
from seedtree.train.settings import taxonomy_seeds
from seedtree.versions.tags import current_release, releases

# trains models or runs retrain in subprocesses for minutes
pytestmark = pytest.mark.slow

A, B, C = sorted(LEAVES)  # antonyms, unit_conversion, haiku (sorted ids)
D = "compositional_skills/writing/poetry/limerick"


class Teachers:
    """Hands out scripted teachers and remembers every call they answered."""

    def __init__(self) -> None:
        self.made: list[ScriptedTeacher] = []

    def __call__(self, _config: Any) -> ScriptedTeacher:
        self.made.append(ScriptedTeacher())
        return self.made[-1]

    def calls(self) -> int:
        return sum(len(t.calls) for t in self.made)


def _retrain(repo: Path, teachers: Teachers, **options: Any) -> int:
    return retrain(open_project(repo), Options(quiet=True, **options), teacher_factory=teachers)


def _journal(repo: Path, commit_sha: str) -> dict[str, Any]:
    [path] = sorted(
        RepoHome.of(open_project(repo).repo_root).retrain.glob(f"{commit_sha[:12]}-*/journal.json")
    )
    steps = json.loads(path.read_text())["steps"]
    return {s["name"]: s["result"] for s in steps}


def _trained_ids(repo: Path, commit_sha: str) -> set[str]:
    [folder] = sorted(
        RepoHome.of(open_project(repo).repo_root).retrain.glob(f"{commit_sha[:12]}-*/train")
    )
    rows = [json.loads(line) for line in (folder / "samples.jsonl").read_text().splitlines()]
    return {i for row in rows for i in row["ids"]}


def _trained_texts(repo: Path, commit_sha: str) -> set[str]:
    """The user turns of every sample the run on ``commit_sha`` trained on."""
    ids = _trained_ids(repo, commit_sha)
    [folder] = sorted(
        RepoHome.of(open_project(repo).repo_root).retrain.glob(f"{commit_sha[:12]}-*/prepared")
    )
    texts = set()
    for path in [*(folder / "data").rglob("*.jsonl"), *(folder / "replay").rglob("*.jsonl")]:
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if row["id"] in ids:
                texts |= {m["content"] for m in row["messages"] if m["role"] == "user"}
    return texts


def _ids_by_leaf(version_dir: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in [
        *(version_dir / "data").rglob("*.jsonl"),
        *(version_dir / "replay").rglob("*.jsonl"),
    ]:
        for line in path.read_text().splitlines():
            row = json.loads(line)
            found.setdefault(row["metadata"]["leaf"], set()).add(row["id"])
    return found


def _check_evidence(repo: Path, v2: Any, commit_id: str) -> None:
    """v2 shows every leaf it knows with intervals, the full matrix, and answers."""
    changes = v2.lineage.gate.changes
    assert set(changes) == {A, B, C, D}
    assert all(c.items["seeds"] >= 5 and "both" in c.change for c in changes.values())
    v2_dir = RepoHome.of(repo).version("v2")
    matrix = json.loads((v2_dir / "train" / "eval.json").read_text())["heldout_loss"]
    assert all({A, C} <= set(row) for row in matrix.values())  # earlier leaves in every phase
    report = (v2_dir / "report.md").read_text()
    assert f"| `{A}` | earlier | " in report and "% [" in report
    seed_table = report.split("Loss on each leaf's seed Q&A")[1].split("\n\n")[1]
    assert all(f"`{leaf}`" in seed_table for leaf in (A, B, C, D))
    assert "## Answers side by side" in report and f"### `{D}`" in report
    assert "% [" in (v2_dir / "summary.md").read_text()
    seeds = {q for leaf in (B, D) for q, _ in taxonomy_seeds(repo / "taxonomy", [leaf])[leaf]}
    trained = _trained_texts(repo, commit_id)
    assert trained and not (seeds & trained)  # seed questions are evaluation, never training


def test_three_commits_three_versions(
    skills_repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = skills_repo
    teachers = Teachers()
    first = git(repo, "rev-parse", "HEAD").strip()

    # --- v1: every leaf generated and trained
    assert _retrain(repo, teachers) == 0
    journal = _journal(repo, first)
    assert set(journal["plan"]["generate"]) == {A, B, C}
    per_leaf = {k: v["teacher_calls"] for k, v in journal["generate"]["leaves"].items()}
    assert all(n > 0 for n in per_leaf.values()) and sum(per_leaf.values()) == teachers.calls()
    [v1] = releases(repo)
    assert (v1.version, v1.commit, v1.lineage.previous) == ("v1", first, None)
    assert set(v1.lineage.trained) == {A, B, C} and v1.lineage.gate.passed
    v1_dir = RepoHome.of(repo).version("v1")
    assert (v1_dir / "model" / "config.json").is_file() and (v1_dir / "report.md").is_file()
    assert set(json.loads((v1_dir / "replay" / "manifest.json").read_text())["leaves"]) == {A, B, C}

    # --- the same commit again: nothing to do, no teacher call
    before = teachers.calls()
    assert _retrain(repo, teachers) == 0
    assert teachers.calls() == before and len(releases(repo)) == 1

    # --- v2: add D, edit B; only those two are generated, A and C are replayed
    shutil.copytree(repo / "taxonomy" / C, repo / "taxonomy" / D)
    edit_task(repo, D, "Write a limerick instead of a haiku.")
    edit_task(repo, B, "Always give the result with two decimals.")
    second = commit(repo, "add limerick, edit unit conversion")
    before = teachers.calls()
    assert _retrain(repo, teachers) == 0
    journal = _journal(repo, second)
    assert journal["plan"]["generate"] == {B: "modified", D: "added"}
    v2_calls = {k: v["teacher_calls"] for k, v in journal["generate"]["leaves"].items()}
    assert set(v2_calls) == {B, D} and sum(v2_calls.values()) == teachers.calls() - before
    assert v2_calls == fresh_generation_calls(repo, [B, D], tmp_path, monkeypatch)
    v2 = releases(repo)[-1]
    assert (v2.version, v2.lineage.previous, set(v2.lineage.trained)) == ("v2", "v1", {B, D})
    v2_ids = _ids_by_leaf(RepoHome.of(repo).version("v2"))
    trained = _trained_ids(repo, second)
    replayed = {leaf for leaf, ids in v2_ids.items() if ids & trained} - {B, D}
    assert replayed == {A, C}
    _check_evidence(repo, v2, second)

    # --- v3: delete C, edit D; C leaves datasets, replay and training
    shutil.rmtree(repo / "taxonomy" / C)
    edit_task(repo, D, "Keep it funny.")
    third = commit(repo, "drop haiku, edit limerick")
    assert _retrain(repo, teachers) == 0
    journal = _journal(repo, third)
    assert journal["plan"]["removed"] == [C] and list(journal["plan"]["generate"]) == [D]
    v3 = releases(repo)[-1]
    assert v3.lineage.removed == (C,) and C not in v3.lineage.leaves
    v3_dir = RepoHome.of(repo).version("v3")
    manifest = json.loads((v3_dir / "replay" / "manifest.json").read_text())["leaves"]
    assert C not in manifest and {A, B, D} <= set(manifest)
    assert not (v3_dir / "data" / f"{C}.jsonl").exists()
    assert not (v2_ids[C] & _trained_ids(repo, third))
    assert v2_ids[A] & _trained_ids(repo, third)  # the others are still replayed
    current = current_release(repo)
    assert current is not None and current.version == "v3"
    report = (v3_dir / "report.md").read_text()
    assert "Released v3" in report and "deleted: dropped" in report
    assert (v3_dir / "plots" / "heldout.png").is_file()


def test_learning_rate_zero_is_refused_without_a_tag(
    skills_repo: Path, tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # training runs as `python -m seedtree train ...`, the way torchrun launches it on GPUs
    write_settings(skills_repo, tiny_model_dir, lr=0.0, launcher=[sys.executable])
    commit(skills_repo, "learning rate 0")
    teachers = Teachers()
    assert _retrain(skills_repo, teachers) == 1
    captured = capsys.readouterr()
    assert "did not learn" in captured.err and releases(skills_repo) == []
    report = Path(captured.out.strip().splitlines()[-1])
    assert report.is_file() and "Refused v1" in report.read_text()
    assert not RepoHome.of(skills_repo).version("v1").exists()
    # again: nothing is redone, same refusal
    calls = teachers.calls()
    assert _retrain(skills_repo, teachers) == 1 and teachers.calls() == calls
    # an explicit, recorded override releases it
    assert _retrain(skills_repo, teachers, override_reason="known tiny-model run") == 0
    [v1] = releases(skills_repo)
    assert v1.lineage.override is not None and v1.lineage.override.why == "known tiny-model run"
    assert not v1.lineage.gate.passed and teachers.calls() == calls
    # chat answers with the released version, the same answer each time (greedy)
    capsys.readouterr()
    ask = ["chat", "--prompt", "Name a colour.", "--max-tokens", "6", "-C", str(skills_repo)]
    assert run(ask) == 0
    first = capsys.readouterr().out
    assert run([*ask[:-2], "--model", "v1", "-C", str(skills_repo)]) == 0
    assert capsys.readouterr().out == first
    # the workflow collects the report of the run on HEAD
    out_dir = tmp_path / "collected"
    assert run(["retrain", "--report-dir", str(out_dir), "-C", str(skills_repo)]) == 0
    assert "override" in (out_dir / "summary.md").read_text() and (out_dir / "report.md").is_file()


def test_override_needs_a_reason(skills_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["retrain", "--override-gate", "-C", str(skills_repo)]) == 2
    assert "--reason" in capsys.readouterr().err


def test_dry_run_prints_plan_and_cost(
    skills_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    teachers = Teachers()
    assert _retrain(skills_repo, teachers, dry_run=True) == 0
    out = capsys.readouterr().out
    assert "3 to generate" in out and "expected generation cost" in out and "total:" in out
    assert teachers.calls() == 0 and releases(skills_repo) == []
