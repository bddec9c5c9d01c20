"""Which files ``seedtree validate`` checks, in which order, and how it names them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from seedtree.config import ValidateConfig
from seedtree.findings import shown_path
from seedtree.validate import api
from seedtree.validate.api import discover, targets_for, validate_paths

HAIKU = "taxonomy/compositional_skills/writing/poetry/haiku/qna.yaml"


def test_found_in_path_order_with_hidden_and_vendored_folders_left_out(tmp_path: Path) -> None:
    top = tmp_path / "compositional_skills"
    names = ["a-b", "a/b", "a_b", "a.b", "a/b/c", "b", "A", ".git/x", "node_modules/y"]
    for name in names:
        (top / name).mkdir(parents=True, exist_ok=True)
        (top / name / "qna.yaml").write_text("x: 1\n")
    (top / "b" / "qna.yml").write_text("x: 1\n")  # misnamed: still found, to be reported
    found = discover(tmp_path)
    kept = [top / n / "qna.yaml" for n in names[:7]] + [top / "b" / "qna.yml"]
    assert found == sorted(kept)


def test_targets_are_named_relative_to_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    leaf = tmp_path / "knowledge" / "science" / "qna.yaml"
    leaf.parent.mkdir(parents=True)
    leaf.write_text("x: 1\n")
    monkeypatch.chdir(tmp_path / "knowledge")
    (target,) = targets_for([tmp_path])
    assert target.shown == "science/qna.yaml"
    assert target.root == tmp_path
    assert shown_path(leaf, cwd="/elsewhere") == leaf.as_posix()
    assert shown_path(Path("./science//qna.yaml")) == "science/qna.yaml"


def test_both_cores_find_what_one_finds(
    make_repo: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo()
    monkeypatch.chdir(root)
    (root / HAIKU).write_text((root / HAIKU).read_text().replace("version: 3\n", "version: x\n"))
    serial = validate_paths([Path("taxonomy")], config=ValidateConfig())
    monkeypatch.setattr(api, "PARALLEL_MIN_FILES", 2)
    monkeypatch.setattr(api.os, "cpu_count", lambda: 2)
    parallel = validate_paths([Path("taxonomy")], config=ValidateConfig())
    assert serial.findings and parallel == serial
