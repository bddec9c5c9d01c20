"""Teacher backends behind one interface (see :mod:`seedtree.teacher.base`).

Each backend is a module exposing ``create(config: TeacherConfig) -> Teacher``. They are listed
here explicitly and imported only when chosen, so torch, httpx or vllm load only when needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from seedtree.errors import ConfigError
from seedtree.teacher.base import (
    Completion,
    LabelScores,
    Message,
    ScoreRequest,
    Teacher,
    TeacherRequest,
    TeacherResponse,
)

if TYPE_CHECKING:
    from seedtree.config import TeacherConfig

# backend name (``teacher.backend`` in seedtree.yaml) -> module providing ``create(config)``
BACKENDS: dict[str, str] = {
    "embedded": "seedtree.teacher.embedded",
    "openai": "seedtree.teacher.openai",
    "vllm": "seedtree.teacher.vllm",
}


def create_teacher(config: TeacherConfig) -> Teacher:
    """Build the teacher that ``config.backend`` names."""
    module_name = BACKENDS.get(config.backend)
    if module_name is None:
        known = ", ".join(sorted(BACKENDS))
        raise ConfigError(f"teacher.backend: unknown backend '{config.backend}' (known: {known})")
    module = importlib.import_module(module_name)
    teacher: Teacher = module.create(config)
    return teacher


__all__ = [
    "BACKENDS",
    "Completion",
    "LabelScores",
    "Message",
    "ScoreRequest",
    "Teacher",
    "TeacherRequest",
    "TeacherResponse",
    "create_teacher",
]
