"""Retrain test support: a small skills taxonomy, settings for the tiny model, commits."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import PROJECT_ROOT, SAMPLE_TAXONOMY, git
from seedtree.home import RepoHome
from seedtree.retrain.state import Plan
from seedtree.versions.lineage import GateDecision, Lineage, now
from seedtree.versions.tags import tag_release

LEAVES = {
    "compositional_skills/math/unit_conversion": SAMPLE_TAXONOMY
    / "compositional_skills/math/unit_conversion",
    "compositional_skills/writing/poetry/haiku": SAMPLE_TAXONOMY
    / "compositional_skills/writing/poetry/haiku",
    "compositional_skills/linguistics/antonyms": PROJECT_ROOT
    / "tooling/seedtree/data/demo/antonyms",
}
RECIPE: dict[str, Any] = {
    "seed": 7,
    "template": "chat",
    "system_prompt": "You are a helpful assistant.",
    "max_seq_len": 256,
    "token_budget": 512,
    "precision": "fp32",
    "checkpoint_every": 0,
    "replay_per_leaf": 20,
    "heldout": {"fraction": 0.2, "min_per_leaf": 2},
    "phases": [
        {
            "name": "skills",
            "select": {"kinds": ["skill"]},
            "min_steps": 8,
            "max_steps": 12,
            "lr": 3.0e-3,
            "warmup_steps": 1,
            "effective_batch": 4,
            "replay": [{"select": {"kinds": ["skill"]}, "ratio": 1.0}],
        }
    ],
}


def write_settings(
    repo: Path, model: Path, lr: float = 3.0e-3, launcher: list[str] | None = None
) -> None:
    recipe = {**RECIPE, "phases": [{**RECIPE["phases"][0], "lr": lr}]}
    (repo / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    config = {
        "student": {"model": str(model)},
        "generate": {
            "samples_per_leaf": 6,
            "questions_per_prompt": 3,
            "max_attempts_factor": 2.0,
            "tokenizer": "whitespace",
            "quiet": True,
        },
        "train": {"recipe": "recipe.yaml"},
        "retrain": {
            "min_learning": 0.01,
            "max_forgetting": 0.5,
            # tiny random models on a handful of items: 50% intervals, so that a run that learns
            # a few percent is released (the gate's own rule is tested in test_gate.py)
            "confidence": 0.5,
            "benchmarks": [],
            "launcher": launcher or [],
        },
    }
    (repo / "seedtree.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def record_release(repo: Path, plan: Plan, data_hash: str = "0" * 64) -> Lineage:
    """Record ``plan`` as released without training: its tag (the lineage it would have) and
    an artifacts folder with a model config (tests of planning and releasing train nothing)."""
    gate = GateDecision(
        passed=True, reasons=(), learned={}, forgotten={}, min_learning=0.0, max_forgetting=1.0
    )
    lineage = plan.lineage(
        data_hash=data_hash,
        recipe_hash="0" * 64,
        metrics={},
        gate=gate,
        created_at=now(),
    )
    folder = RepoHome.of(repo).version(plan.version)
    (folder / "model").mkdir(parents=True)
    (folder / "model" / "config.json").write_text("{}", encoding="utf-8")
    (folder / "lineage.json").write_text(lineage.model_dump_json(), encoding="utf-8")
    tag_release(repo, lineage)
    return lineage


def edit_task(repo: Path, leaf: str, extra: str) -> None:
    qna = repo / "taxonomy" / leaf / "qna.yaml"
    text = qna.read_text()
    qna.write_text(text.replace("task_description: |\n", f"task_description: |\n  {extra}\n", 1))


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return str(git(repo, "rev-parse", "HEAD")).strip()


def fresh_generation_calls(
    repo: Path, leaves: list[str], tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, int]:
    """Teacher calls of generating ``leaves`` alone with an empty cache (a separate home)."""
    from retrain.scripted import ScriptedTeacher
    from seedtree.generate.run import generate_leaves
    from seedtree.project import open_project
    from seedtree.taxonomy.leaves import load_leaf

    project = open_project(repo)
    home = os.environ["SEEDTREE_HOME"]
    monkeypatch.setenv("SEEDTREE_HOME", str(tmp / "fresh-home"))
    teacher = ScriptedTeacher()
    loaded = [
        load_leaf(project.taxonomy_root / i / "qna.yaml", project.taxonomy_root) for i in leaves
    ]
    report = generate_leaves(
        loaded,
        teacher,
        repo_root=repo,
        config=project.config.generate,
        out_dir=tmp / "fresh",
        quiet=True,
    )
    monkeypatch.setenv("SEEDTREE_HOME", home)
    return {i: r.funnel.teacher_calls for i, r in report.leaves.items()}
