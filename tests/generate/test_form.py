"""Form checks against the leaf's seeds, and the seeds given as conversation turns (few_shot)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from pydantic import ValidationError

from generate.conftest import GROUNDED, SKILL, leaves_of
from generate.scripted import ScriptedTeacher, request_stage, words
from seedtree.config import GenerateConfig
from seedtree.generate.form import FormCheck, own_likeness, repetition, seed_likeness
from seedtree.generate.limits import Limits
from seedtree.generate.run import generate_leaves
from seedtree.teacher.base import TeacherRequest, TeacherResponse


def test_seed_likeness_is_rouge_l_with_the_nearest_seed() -> None:
    seeds = [["what", "is", "the", "antonym", "of", "ancient"], ["name", "a", "colour"]]
    # LCS with the first seed: what is the antonym of (5 of 6 and 6 words): 2*5/12
    assert seed_likeness("What is the antonym of brave?", seeds) == pytest.approx(10 / 12)
    assert seed_likeness("Name a colour", seeds) == 1.0
    assert seed_likeness("How to make a glass of scotch", seeds) == pytest.approx(2 / 10)
    assert seed_likeness("anything", []) == 0.0


def test_own_likeness_is_the_least_typical_seeds() -> None:
    seeds = [["a", "b", "c", "d"], ["a", "b", "c", "e"], ["x", "y", "a", "z"]]
    # nearest other: 0.75, 0.75, and 2*1/8 for the third, the least typical
    assert own_likeness(seeds) == pytest.approx(0.25)
    assert own_likeness([["a", "b"]]) == 0.0  # one seed: nothing to measure against
    single = FormCheck(
        ["What is it?"], ["It is."], GenerateConfig(min_seed_likeness={"question": 1})
    )
    assert single.floor("question") == 0.0 and single.question("Unrelated words entirely") is None


def test_repetition_is_the_share_of_repeated_4_grams() -> None:
    loop = " ".join(["The example answer is"] * 5)  # 20 words, 17 4-grams, 4 distinct
    assert repetition(loop) == pytest.approx(1 - 4 / 17)
    plain = "The antonym of ancient is modern. Example: the museum has a modern wing."
    assert repetition(plain) == 0.0
    assert repetition("a a a a a a a a") == 0.0  # 5 4-grams: too short to tell


def test_form_check_reasons_and_what_turns_it_off() -> None:
    config = GenerateConfig(min_seed_likeness={"question": 0.5}, max_repetition=0.5)
    questions = [
        "What is the antonym of ancient?",
        "What is the antonym of scarce, with an example?",
    ]
    check = FormCheck(questions, ["The antonym is modern.", "It is plentiful."], config)
    # the seeds' own likeness: LCS 5 of 6 and 9 words, 10/15; the floor is half of it
    assert check.floor("question") == pytest.approx(0.5 * 10 / 15)
    assert check.question("What is the antonym of brave?") is None  # 10/12
    fault = check.question("Make lists of tasks.")  # "of" alone: 2/10
    assert fault is not None and fault.reason == "off the seeds' form: question"
    assert fault.detail == (
        "ROUGE-L 0.20 with the nearest seed question, below 0.33 (0.5 of the seeds' own 0.67)"
    )
    assert check.answer("Something else entirely, nothing alike.") is None  # answer check is off
    fault = check.answer(" ".join(["The example answer is"] * 5))
    assert fault is not None and fault.reason == "repetitive answer" and "76%" in fault.detail
    off = FormCheck(["q one two"], ["a"], GenerateConfig(max_repetition=1.0))
    assert off.question("unrelated words here") is None
    assert off.answer(" ".join(["The example answer is"] * 5)) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"answers": 0.3}, r"unknown part\(s\) \['answers'\]"),
        ({"question": 1.5}, "less than or equal to 1"),
    ],
)
def test_min_seed_likeness_is_validated(value: dict[str, float], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        GenerateConfig(min_seed_likeness=value)


def on_and_off_form(prompt: str, rng: random.Random) -> str:
    seed_like = f"Write a haiku about {words(rng, 2)} at dusk"
    return f"1. {seed_like}\n2. Make lists of {words(rng, 3)} tasks now\n3. {seed_like} again"


def looping_or_plain(prompt: str, rng: random.Random) -> str:
    if "again" in prompt.split("Task:\n")[-1]:
        return " ".join(["The example answer is"] * 5)
    return f"Copper light {words(rng, 3)}\nevening settles on the hills\n{words(rng, 4)}"


def test_skill_run_drops_what_leaves_the_seeds_form(repo: Path, tmp_path: Path) -> None:
    (leaf,) = leaves_of(repo, SKILL)
    teacher = ScriptedTeacher(writers={"questions": on_and_off_form, "answer": looping_or_plain})
    config = GenerateConfig(
        tokenizer="whitespace",
        samples_per_leaf=3,
        max_attempts_factor=2,
        questions_per_prompt=3,
        rouge_threshold=0.99,
        min_seed_likeness={"question": 0.3},
    )
    report = generate_leaves(
        [leaf], teacher, repo_root=repo, config=config, out_dir=tmp_path, quiet=True
    )
    result = report.leaves[SKILL]
    rejections = result.funnel.to_json()["rejections"]
    # 2 prompts, 3 questions each: the "Make lists" one is off form, the "again" one loops
    assert rejections == {"off the seeds' form: question": 2, "repetitive answer": 2}
    kept = [s["messages"][1]["content"] for s in result.samples]
    assert len(kept) == 2 and all(q.startswith("Write a haiku about") for q in kept)
    assert not any(q.endswith("again") for q in kept)
    verdicts = [o.verdict for o in result.outcomes if not o.kept]
    assert any("ROUGE-L" in v and "nearest seed question" in v for v in verdicts)


def test_preview_records_form_faults_without_dropping(repo: Path, tmp_path: Path) -> None:
    (leaf,) = leaves_of(repo, SKILL)
    teacher = ScriptedTeacher(writers={"questions": on_and_off_form})
    config = GenerateConfig(
        tokenizer="whitespace", min_seed_likeness={"question": 0.3}, rouge_threshold=0.99
    )
    report = generate_leaves(
        [leaf], teacher, repo_root=repo, config=config, out_dir=tmp_path, quiet=True,
        limits=Limits(candidates=3),
    )  # fmt: skip
    off = next(o for o in report.leaves[SKILL].outcomes if "Make lists" in o.question)
    assert off.verdict.startswith("rejected: off the seeds' form: question (ROUGE-L")
    assert off.answer is not None and "pair" in off.scores  # carried through every stage


class TurnsTeacher(ScriptedTeacher):
    """Keeps every completion request, to look at the turns it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[TeacherRequest] = []

    def _one(self, request: TeacherRequest) -> TeacherResponse:
        self.requests.append(request)
        return super()._one(request)


def test_chat_few_shot_gives_seeds_as_turns(repo: Path, tmp_path: Path) -> None:
    leaves = leaves_of(repo, SKILL, GROUNDED)
    teacher = TurnsTeacher()
    config = GenerateConfig(
        tokenizer="whitespace", samples_per_leaf=4, few_shot="chat", seeds_per_prompt=2
    )
    report = generate_leaves(
        leaves, teacher, repo_root=repo, config=config, out_dir=tmp_path, quiet=True
    )
    skill = next(leaf for leaf in leaves if leaf.id == SKILL)
    seed_questions = {s.question.strip() for s in skill.skill_seeds}
    seed_answers = {s.answer.strip() for s in skill.skill_seeds}
    asked = [r for r in teacher.requests if request_stage(r) == "chat_question"]
    assert asked and all(r.n == config.questions_per_prompt for r in asked)
    for request in asked:
        roles = [m.role for m in request.messages]
        assert roles == ["user", "assistant", "user", "assistant", "user"]
        assert {m.content for m in request.messages[1::2]} <= seed_questions
    answered = [r for r in teacher.requests if request_stage(r) == "chat_answer"]
    samples = report.leaves[SKILL].samples
    for request in answered:
        assert {m.content for m in request.messages[1:-1:2]} <= seed_answers
    questions = {s["messages"][1]["content"] for s in samples}
    assert questions <= {r.messages[-1].content for r in answered}
    assert len(samples) == 4 and not questions & seed_questions
    prompt_version = samples[0]["metadata"]["prompt_version"]
    assert prompt_version["chat_question"].startswith("chat_question@1#")
    assert prompt_version["answer"].startswith("chat_answer@1#")
    # a grounded skill keeps the listed prompts: its seeds' contexts do not fit a turn
    assert report.leaves[GROUNDED].samples and teacher.calls["grounded_questions"] > 0
