"""Small builders shared by the teacher tests (import as ``from teacher.support import ...``)."""

from __future__ import annotations

from seedtree.teacher.base import Message, TeacherRequest


def chat(text: str, **fields: object) -> TeacherRequest:
    """A one-message user chat."""
    return TeacherRequest(messages=(Message("user", text),), **fields)  # type: ignore[arg-type]
