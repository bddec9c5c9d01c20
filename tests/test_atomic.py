"""Atomic writes keep a file's permissions: `seedtree fmt` leaves a contributor's 0644 leaf 0644."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import SAMPLE_TAXONOMY
from seedtree.atomic import current_umask, write_text
from seedtree.cli import run

HAIKU = SAMPLE_TAXONOMY / "compositional_skills/writing/poetry/haiku/qna.yaml"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(0o027)
    yield
    os.umask(old)


@pytest.mark.parametrize("mode", [0o644, 0o664, 0o600, 0o755])
def test_fmt_keeps_the_mode_of_the_file_it_rewrites(mode: int, tmp_path: Path) -> None:
    leaf = tmp_path / "qna.yaml"
    shutil.copy(HAIKU, leaf)
    leaf.write_text(leaf.read_text(encoding="utf-8").replace("version: 3\n", "version: 3  \n"))
    leaf.chmod(mode)
    before = leaf.stat().st_ino
    assert run(["fmt", str(leaf)]) == 0
    assert leaf.read_text(encoding="utf-8") == HAIKU.read_text(encoding="utf-8")
    assert leaf.stat().st_ino != before, "rewritten through a new file (atomically)"
    assert _mode(leaf) == mode


def test_a_new_file_gets_what_open_would_give_it(tmp_path: Path, umask_027: None) -> None:
    assert current_umask() == 0o027
    write_text(tmp_path / "new.txt", "x\n")
    with open(tmp_path / "reference.txt", "w") as f:
        f.write("x\n")
    assert _mode(tmp_path / "new.txt") == _mode(tmp_path / "reference.txt") == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
