"""Evaluation items never reach training data, checked on the files a retrain trains from.

A retrain of a taxonomy with a knowledge leaf (so that the teacher writes multiple-choice items
from its document) and a recipe that draws general data, whose general dataset holds a seed
question and one of the teacher's multiple-choice questions on purpose: the prepared data, the
replay buffer and the general-data draws hold no seed question, no multiple-choice question, and
no held-out sample (by id or question), and nothing held out was trained on. The run's last phase
saves two candidates and the report says which was released.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import SAMPLE_TAXONOMY
from retrain.scripted import WORDS, ScriptedTeacher
from retrain.support import RECIPE, commit
from seedtree.home import RepoHome
from seedtree.project import open_project
from seedtree.retrain.run import retrain
from seedtree.retrain.state import Options
from seedtree.teacher.base import TeacherRequest
from seedtree.train.general import question_key
from seedtree.train.settings import taxonomy_seeds
from seedtree.versions.history import print_history
from seedtree.versions.tags import releases

pytestmark = pytest.mark.slow  # a whole retrain on the tiny model (about a minute)

BICYCLE = "knowledge/history/technology/bicycle"
MCQ_QUESTION = "Which statement about the document is right, number {n}?"
_WANTED = re.compile(r"Write (\d+) (new|multiple-choice) questions")


class KnowledgeTeacher(ScriptedTeacher):
    """The retrain tests' teacher, also writing knowledge Q&A and multiple-choice items."""

    def _text(self, request: TeacherRequest, index: int) -> str:
        prompt = request.messages[-1].content
        found = _WANTED.search(prompt)
        if found is None or "Example task:" in prompt:
            return super()._text(request, index)
        rng = random.Random(f"{request.key()}:{index}")
        count = int(found.group(1))
        if found.group(2) == "new":
            return "\n".join(
                f"Question: What about {' '.join(rng.sample(WORDS, 6))}?\n"
                f"Answer: It is {' '.join(rng.sample(WORDS, 8))}."
                for _ in range(count)
            )
        return "\n\n".join(
            f"Question: {MCQ_QUESTION.format(n=rng.randrange(10**6))}\n"
            + "".join(f"{letter}. {' '.join(rng.sample(WORDS, 4))}\n" for letter in "ABCD")
            + "Answer: B"
            for _ in range(count)
        )


def _rows(folder: Path) -> Iterator[dict[str, Any]]:
    for path in sorted(folder.rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield json.loads(line)


def _questions(rows: Iterator[dict[str, Any]]) -> set[str]:
    """The user turns of chat rows (document chunks are plain text, with no question)."""
    return {
        question_key(m["content"])
        for r in rows
        for m in r.get("messages", ())
        if m["role"] == "user"
    }


def _general_file(path: Path, extra: list[str]) -> None:
    questions = [f"How do I say hello number {n}?" for n in range(12)] + extra
    rows = [
        {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": "Hi."}]}
        for q in questions
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _settings(repo: Path) -> None:
    skills = {**RECIPE["phases"][0], "checkpoints": 2}
    knowledge = {**skills, "name": "knowledge", "select": {"kinds": ["knowledge"]}, "replay": []}
    knowledge.pop("checkpoints")
    recipe = {**RECIPE, "phases": [knowledge, skills]}
    recipe["general"] = [{"path": "general.jsonl", "size": 40}]
    (repo / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    config = yaml.safe_load((repo / "seedtree.yaml").read_text())
    config["retrain"].update(mcq_per_leaf=4, judge_questions=0)
    (repo / "seedtree.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def test_evaluation_items_never_reach_the_files_trained_from(
    skills_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(SAMPLE_TAXONOMY / BICYCLE, skills_repo / "taxonomy" / BICYCLE)
    _settings(skills_repo)
    seeds = taxonomy_seeds(skills_repo / "taxonomy", [BICYCLE])[BICYCLE]
    # the general dataset holds a seed question (spaced otherwise) and a teacher's item's question
    planted_mcq = MCQ_QUESTION.format(n=0)
    _general_file(skills_repo / "general.jsonl", [f"  {seeds[0][0].upper()} ", planted_mcq])
    commit(skills_repo, "a knowledge leaf, general data")
    project = open_project(skills_repo)
    # released whatever the gate says (its lineage is read below): the files trained from are
    # the run's either way
    options = Options(quiet=True, override_reason="the test reads the release's lineage")
    code = retrain(project, options, teacher_factory=lambda _c: KnowledgeTeacher())
    assert code == 0
    [work] = sorted(RepoHome.of(project.repo_root).retrain.glob("*-*"))
    prepared = work / "prepared"

    items = [r["question"] for r in _rows(prepared / "evaluation")]
    assert items and all(r.startswith("Which statement") for r in items)
    mcq = {question_key(q) for q in items}
    all_seeds = taxonomy_seeds(skills_repo / "taxonomy", _leaf_ids(skills_repo))
    seed_qs = {question_key(q) for pairs in all_seeds.values() for q, _ in pairs}
    held = list(_rows(prepared / "heldout"))
    held_ids, held_qs = {r["id"] for r in held}, _questions(iter(held))
    assert held and seed_qs and len(all_seeds) == 4

    drawn = list(_rows(work / "train" / "general"))
    assert len(drawn) >= 10  # every phase drew from the general dataset...
    general_qs = _questions(iter(drawn))
    assert not general_qs & (seed_qs | mcq | held_qs)  # ...but not the planted questions
    replay = list(_rows(prepared / "replay"))
    assert replay and not {r["id"] for r in replay} & held_ids
    assert not _questions(iter(replay)) & (seed_qs | mcq | held_qs)
    assert not _questions(_rows(prepared / "data")) & (seed_qs | mcq)
    trained = {
        i
        for line in (work / "train" / "samples.jsonl").read_text().splitlines()
        for i in json.loads(line)["ids"]
    }
    assert {r["id"] for r in drawn} & trained and not trained & held_ids

    report = (work / "report" / "report.md").read_text(encoding="utf-8")
    assert "## Checkpoint: the best candidate of the last phase" in report
    assert "| **released** |" in report
    assert (work / "report" / "plots" / "trend.png").is_file()
    assert "![scores across versions](plots/trend.png)" in report
    # the lineage records the same choice, and models history shows it
    journal = json.loads((work / "journal.json").read_text(encoding="utf-8"))
    (choice,) = [s["result"] for s in journal["steps"] if s["name"] == "choose"]
    steps = [c["step"] for c in choice["candidates"]]
    chosen = steps[choice["chosen"]]
    (release,) = releases(skills_repo)
    assert release.lineage.metrics["checkpoint"] == {
        "step": chosen,
        "steps": steps,
        "why": choice["why"],
    }
    assert print_history(skills_repo) == 0
    assert (
        f"released the checkpoint after step {chosen} (of {steps[0]}, {steps[1]})"
        in capsys.readouterr().out
    )


def _leaf_ids(repo: Path) -> list[str]:
    root = repo / "taxonomy"
    return sorted(str(p.parent.relative_to(root)) for p in root.rglob("qna.yaml"))
