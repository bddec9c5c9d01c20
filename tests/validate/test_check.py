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


def _grounded(leaf: Path, seeds: list[tuple[str, str]]) -> Path:
    """A grounded skill beside ``leaf``'s folder with the given (context, question) seeds."""
    path = leaf.parents[2] / "grounded" / "asked" / "qna.yaml"
    path.parent.mkdir(parents=True)
    lines = ["version: 3", "created_by: someone", "task_description: Answer from the text."]
    lines.append("seed_examples:")
    for n, (context, question) in enumerate(seeds):
        lines += [f"  - context: {context!r}", f"    question: {question!r}", f"    answer: a{n}"]
    path.write_text("\n".join(lines) + "\n")
    (path.parent / "attribution.txt").write_text((leaf.parent / "attribution.txt").read_text())
    return path


def test_one_question_over_many_contexts_is_fine_but_not_over_the_same(leaf: Path) -> None:
    seeds = [(f"The report of day {n}.", "What happened?") for n in range(6)]
    seeds.append(("the  REPORT of day 0.", "what happened"))  # seed 0 again, but for case/space
    seeds.append(("The report of day 1.", "What happened?"))  # seed 1, with another answer
    found = [(f.rule, f.line, f.message) for f in validate_leaf(_grounded(leaf, seeds))]
    assert [(rule, line) for rule, line, _ in found] == [
        ("near-duplicate-question", 24),
        ("repeated-question", 27),
    ]
    assert "as seed_examples/0 over" in found[0][2]
    assert "as seed_examples/1 over the same context with another answer" in found[1][2]
