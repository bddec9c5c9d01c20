from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from seedtree.teacher.embedded import EmbeddedTeacher


@pytest.fixture(scope="session")
def tiny_teacher(tiny_model_dir: Path) -> Iterator[EmbeddedTeacher]:
    teacher = EmbeddedTeacher(tiny_model_dir, batch_size=4)
    yield teacher
    teacher.close()
