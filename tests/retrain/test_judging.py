"""Judged answers: pairwise in both orders, graded by label probabilities, cached in the store."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from seedtree.evaluation.judging import LOSS, TIE, WIN, Answered, compare, expected_grade, grade
from seedtree.evaluation.teacher_calls import CachedTeacher
from seedtree.generate.prompts import Prompts
from seedtree.generate.store import AnswerStore
from seedtree.teacher.base import (
    LabelScores,
    OnResult,
    ScoreRequest,
    TeacherRequest,
    TeacherResponse,
)


class JudgeTeacher:
    """A teacher whose label scores come from a rule over the prompt; every request counted."""

    def __init__(self, rule: Callable[[str, tuple[str, ...]], dict[str, float]]) -> None:
        self.rule = rule
        self.scored: list[str] = []

    @property
    def id(self) -> str:
        return "judge:test"

    def complete(
        self, requests: Sequence[TeacherRequest], on_result: OnResult | None = None
    ) -> list[TeacherResponse]:
        raise AssertionError("judging only scores labels")

    def score_labels(self, requests: Sequence[ScoreRequest]) -> list[LabelScores]:
        out = []
        for request in requests:
            text = request.messages[-1].content
            self.scored.append(text)
            out.append(LabelScores(self.rule(text, request.labels)))
        return out

    def close(self) -> None:
        return None


ITEMS = [
    Answered("h1", "What pulls the tides?", "The moon.", "The wind does.", "The moon's gravity."),
    Answered("h1", "How many tides a day?", "Two.", "Two high tides.", "Seven, I think."),
]


def _first_always(_text: str, labels: tuple[str, ...]) -> dict[str, float]:
    return {"A": 0.9, "B": 0.1} if "A" in labels else {label: 0.2 for label in labels}


def _knows_the_moon(text: str, labels: tuple[str, ...]) -> dict[str, float]:
    """Prefers the answer that mentions the moon, or 'Two' over 'Seven', in either position."""
    if "A" in labels:
        first = text.split("Answer A: ")[1].split("\n")[0]
        good = "moon" in first or first.startswith("Two")
        return {"A": 0.8, "B": 0.2} if good else {"A": 0.2, "B": 0.8}
    answer = text.split("Answer to grade: ")[1].split("\n")[0]
    good = "moon" in answer or answer.startswith("Two")
    return (
        {"1": 0.0, "2": 0.0, "3": 0.0, "4": 0.0, "5": 1.0}
        if good
        else {"1": 1.0, "2": 0.0, "3": 0.0, "4": 0.0, "5": 0.0}
    )


def _cached(teacher: JudgeTeacher, tmp_path: Path) -> CachedTeacher:
    return CachedTeacher(teacher, AnswerStore(tmp_path / "answers.sqlite"))


def test_a_judge_that_prefers_the_first_position_gives_ties_not_wins(tmp_path: Path) -> None:
    teacher = JudgeTeacher(_first_always)
    verdicts = compare(_cached(teacher, tmp_path), Prompts(), ITEMS)
    assert verdicts == [TIE, TIE]
    # each question was asked twice, once with each answer first
    first = teacher.scored[0].split("Answer A: ")[1].split("\n")[0]
    second = teacher.scored[1].split("Answer A: ")[1].split("\n")[0]
    assert (first, second) == ("The moon's gravity.", "The wind does.")


def test_a_judge_that_knows_picks_the_better_answer_in_both_orders(tmp_path: Path) -> None:
    verdicts = compare(_cached(JudgeTeacher(_knows_the_moon), tmp_path), Prompts(), ITEMS)
    assert verdicts == [WIN, LOSS]


def test_grades_are_expected_values_and_verdicts_are_cached(tmp_path: Path) -> None:
    teacher = JudgeTeacher(_knows_the_moon)
    before, after = grade(_cached(teacher, tmp_path), Prompts(), ITEMS)
    assert (before, after) == ([0.0, 1.0], [1.0, 0.0])
    asked = len(teacher.scored)
    again = _cached(teacher, tmp_path)
    assert grade(again, Prompts(), ITEMS) == (before, after)
    assert len(teacher.scored) == asked and again.asked == 0  # answered by the store
    spread = LabelScores({"1": 0.5, "2": 0.0, "3": 0.0, "4": 0.0, "5": 0.5})
    assert expected_grade(spread) == 0.5


class WritingTeacher(JudgeTeacher):
    """Writes two multiple-choice questions per chunk (one repeats a training question)."""

    def complete(
        self, requests: Sequence[TeacherRequest], on_result: OnResult | None = None
    ) -> list[TeacherResponse]:
        from seedtree.teacher.base import Completion

        text = (
            "Question: What pulls the ocean tides on Earth?\nA. The moon\nB. The wind\n"
            "C. Fish\nD. Salt\nAnswer: A\n\n"
            "Question: Which bay has the largest tides in the world?\nA) Biscay\nB) Fundy\n"
            "C) Bengal\nD) Hudson\nAnswer: B\n"
        )
        return [TeacherResponse((Completion(text, "stop", 40),), 10) for _ in requests]


def test_teacher_items_are_judged_held_out_and_asked_once(tmp_path: Path) -> None:
    from seedtree.config import GenerateConfig
    from seedtree.evaluation.choices import read_choices, write_choices
    from seedtree.evaluation.mcq import LeafSource, write_mcqs
    from seedtree.generate.chunking import Chunk

    teacher = WritingTeacher(lambda _t, labels: {label: 1.0 / len(labels) for label in labels})
    teacher.rule = lambda _t, labels: {"yes": 0.9, "no": 0.1}
    chunk = Chunk("doc.md#0", "doc.md", 0, "The moon pulls the tides; Fundy has the largest.", 9)
    trained = ("Which bay has the largest tides in the world?",)  # a training sample's question
    source = LeafSource("knowledge/tides", "h1", (chunk,), trained)
    items = write_mcqs(_cached(teacher, tmp_path), Prompts(), GenerateConfig(), source, 5)
    assert [i.question for i in items] == ["What pulls the ocean tides on Earth?"]
    assert items[0].options[items[0].answer] == "The moon" and items[0].chunk == "doc.md#0"
    write_choices(tmp_path / "evaluation" / "knowledge" / "tides.jsonl", items)
    assert read_choices(tmp_path / "evaluation" / "knowledge" / "tides.jsonl") == items
    asked = len(teacher.scored)
    again = _cached(teacher, tmp_path)
    assert write_mcqs(again, Prompts(), GenerateConfig(), source, 5) == items
    assert again.asked == 0 and len(teacher.scored) == asked  # the leaf did not change
    other = LeafSource("knowledge/tides", "h2", (chunk,), trained)  # its content changed
    changed = _cached(teacher, tmp_path)
    write_mcqs(changed, Prompts(), GenerateConfig(), other, 5)
    assert changed.asked > 0
