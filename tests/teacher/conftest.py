from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from seedtree.teacher.embedded import EmbeddedTeacher
from teacher.servers import seedtree_serve


@pytest.fixture(scope="session")
def tiny_teacher(tiny_model_dir: Path) -> Iterator[EmbeddedTeacher]:
    teacher = EmbeddedTeacher(tiny_model_dir, batch_size=4, dtype="float32")
    yield teacher
    teacher.close()


@pytest.fixture(scope="session")
def served(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``seedtree serve`` of the tiny model on a free port: its base URL."""
    workdir = tmp_path_factory.mktemp("serve")
    with seedtree_serve(tiny_model_dir, workdir, "--batch-size", "4") as url:
        yield url
