"""Single-file verdicts on edge values, as InstructLab's validator decides them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from seedtree.validate.api import validate_leaf

HAIKU = "taxonomy/compositional_skills/writing/poetry/haiku/qna.yaml"


@pytest.fixture
def leaf(make_repo: Callable[..., Path]) -> Path:
    return make_repo() / HAIKU


@pytest.mark.parametrize(
    ("version", "errors"),
    [
        ("3", []),
        ("3.0", []),  # the number 3 (JSON Schema and the reference agree)
        ("'3'", ["schema"]),  # text, not a number
        ("true", ["schema-version"]),
        ("0", ["schema-version"]),
        ("4", ["schema-version"]),
    ],
)
def test_version_values(leaf: Path, version: str, errors: list[str]) -> None:
    leaf.write_text(leaf.read_text().replace("version: 3\n", f"version: {version}\n"))
    assert [f.rule for f in validate_leaf(leaf) if f.is_error] == errors


@pytest.mark.parametrize("text", ["", "{}\n", "[]\n", "# only a comment\n", "~\n"])
def test_empty_files_warn(leaf: Path, text: str) -> None:
    leaf.write_text(text)
    assert [(f.rule, f.severity) for f in validate_leaf(leaf)] == [("empty-file", "warning")]


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n", "42\n"])
def test_top_level_must_be_a_mapping(leaf: Path, text: str) -> None:
    leaf.write_text(text)
    (finding,) = validate_leaf(leaf)
    assert (finding.rule, finding.line, finding.column) == ("schema", 1, 1)
    assert "must be a mapping" in finding.message
