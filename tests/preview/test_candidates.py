"""The preview shows every candidate the teacher wrote, with its scores and verdict, even when the
judges reject them all; the seeds come after, collapsed."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from mdrender import render as commonmark

from generate.scripted import ScriptedTeacher, no, words
from helpers import PROJECT_ROOT, git
from seedtree.cli import run
from seedtree.config import Config, TeacherConfig
from seedtree.preview import build
from seedtree.preview.model import load_report

LEAF = "compositional_skills/linguistics/antonyms"
DEMO = PROJECT_ROOT / "tooling" / "seedtree" / "data" / "demo" / "antonyms"
EVIL = "</summary></details><img src=x onerror=alert(1)> @octocat #12 ```"


def hostile_questions(prompt: str, rng: random.Random) -> str:
    return "\n".join(f"{i}. {words(rng, 12)}? {EVIL}" for i in range(1, 6))


def hostile_answer(prompt: str, rng: random.Random) -> str:
    return f"The opposite is {words(rng, 3)}. {EVIL}"


@pytest.fixture
def low_scoring_teacher(monkeypatch: pytest.MonkeyPatch) -> ScriptedTeacher:
    """Writes hostile candidates and scores every one of them low; stands in for the model."""
    teacher = ScriptedTeacher(
        writers={"questions": hostile_questions, "answer": hostile_answer},
        scorers={"judge_question": no, "judge_pair": no},
    )
    monkeypatch.setattr(build, "create_teacher", lambda config: teacher)
    return teacher


def _branch_adding_antonyms(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "add-antonyms")
    shutil.copytree(DEMO, repo / "taxonomy" / LEAF)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "add the antonyms skill")


def test_rejected_candidates_are_shown_with_scores_and_reasons(
    make_repo: Callable[..., Path], tmp_path: Path, low_scoring_teacher: ScriptedTeacher
) -> None:
    repo = make_repo("seeds")
    _branch_adding_antonyms(repo)
    out = tmp_path / "preview.md"
    args = ["preview", "-C", str(repo), "--base", "main", "--out", str(out), "--quiet"]
    assert run(args) == 0

    report = load_report(out.with_suffix(".json").read_text(encoding="utf-8"), "preview.json")
    (leaf,) = report.leaves
    assert (leaf.candidates, len(leaf.samples)) == (10, 3)  # 2 prompts of 5 questions
    for sample in leaf.samples:
        assert not sample.kept and EVIL in sample.question and EVIL in sample.answer
        assert sample.scores == {"question": 0.1, "pair": 0.1, "pair_rating": 1.15}
        assert sample.verdict == "rejected: judge question: 0.10 < threshold 0.5"
    assert low_scoring_teacher.calls["answer"] == 3  # rejected questions are answered too

    markdown = out.read_text(encoding="utf-8")
    shown = commonmark(markdown)
    assert not {"img", "script"} & set(shown.tags) and shown.linkable() == []
    assert shown.tags.count("details") == shown.tags.count("/details") == 2  # leaf, seeds
    text = "".join(shown.text)
    assert "Generated candidates: 3 of 10 shown, 0 kept" in text
    for i in (1, 2, 3):
        assert f"Candidate {i}: ❌ rejected: judge question: 0.10 < threshold 0.5" in text
    assert text.count("Judge scores: question 0.10 · pair 0.10 · pair rating 1.15") == 3
    assert text.count(EVIL.replace("@", "@\u200b").replace("#", "#\u200b")) == 6
    assert "small embedded model" in text and "judgement is not the production teacher" in text
    assert markdown.index("Candidate 1") < markdown.index("<summary>Seeds (5), as in the diff")
    assert "| 0/3 |" in markdown


def unparsable(prompt: str, rng: random.Random) -> str:
    return f"I cannot help with that.\n\n```\n{EVIL}\n````"


def test_a_teacher_text_that_parses_to_nothing_is_shown_as_written(
    make_repo: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    teacher = ScriptedTeacher(writers={"questions": unparsable})
    monkeypatch.setattr(build, "create_teacher", lambda config: teacher)
    repo = make_repo("seeds")
    _branch_adding_antonyms(repo)
    out = tmp_path / "preview.md"
    args = ["preview", "-C", str(repo), "--base", "main", "--out", str(out), "--quiet"]
    assert run(args) == 0  # 3 candidates wanted: 2 prompts (the attempt cap), both unparsable
    report = load_report(out.with_suffix(".json").read_text(encoding="utf-8"), "preview.json")
    (leaf,) = report.leaves
    assert [s.verdict for s in leaf.samples] == ["rejected: parse failure: no question found"] * 2
    shown = commonmark(out.read_text(encoding="utf-8"))
    assert not {"img", "script"} & set(shown.tags)
    assert "".join(shown.code).count(EVIL) == 2  # inside code blocks, whose fences held
    assert shown.tags.count("details") == shown.tags.count("/details") == 2


def test_the_note_on_the_teachers_judgement_names_the_embedded_default_only() -> None:
    assert build.teacher_note(Config()) == build.EMBEDDED_NOTE
    served = Config(teacher=TeacherConfig(backend="openai", model="mixtral"))
    assert build.teacher_note(served) is None
    assert build.teacher_note(Config(teacher=TeacherConfig(model="/srv/tiny"))) is None
