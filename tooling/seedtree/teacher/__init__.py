"""Teacher backends behind one interface (see :mod:`seedtree.teacher.base`)."""

from seedtree.teacher.base import (
    Completion,
    LabelScores,
    Message,
    ScoreRequest,
    Teacher,
    TeacherRequest,
    TeacherResponse,
)

__all__ = [
    "Completion",
    "LabelScores",
    "Message",
    "ScoreRequest",
    "Teacher",
    "TeacherRequest",
    "TeacherResponse",
]
