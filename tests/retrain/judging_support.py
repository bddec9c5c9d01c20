"""A judge that always prefers the first answer shown (as small models tend to)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from seedtree.evaluation.teacher_calls import CachedTeacher
from seedtree.generate.store import AnswerStore


def first_position_judge(store: Path) -> Callable[[], CachedTeacher]:
    from retrain.test_judging import JudgeTeacher, _first_always

    return lambda: CachedTeacher(JudgeTeacher(_first_always), AnswerStore(store))
