"""Data-driven cases: each folder under cases/valid and cases/invalid is a small taxonomy
repository; its expected.yaml lists every finding (rule, file, line, column, severity)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from seedtree.config import ValidateConfig
from seedtree.validate.api import validate_paths
from seedtree.validate.rules import RULES

CASES = Path(__file__).parent / "cases"
ALL = sorted(p for p in CASES.glob("*/*") if p.is_dir())


def _expected(case: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((case / "expected.yaml").read_text())
    return data


def _run(case: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    monkeypatch.chdir(case)
    latest = _expected(case).get("schema_version") == "latest"
    result = validate_paths(
        [Path(".")], config=ValidateConfig(), latest_for=(lambda p: True) if latest else None
    )
    return sorted((f.rule, f.file, f.line, f.column, f.severity) for f in result.findings)


@pytest.mark.parametrize("case", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_case(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = sorted(
        (e["rule"], e["file"], e["line"], e["column"], e["severity"])
        for e in _expected(case)["findings"]
    )
    found = _run(case, monkeypatch)
    assert found == expected
    if case.parent.name == "valid":
        assert not [f for f in found if f[4] == "error"]


def test_every_rule_has_an_invalid_case() -> None:
    covered = {e["rule"] for case in ALL for e in _expected(case)["findings"]}
    # these need conditions a static folder cannot hold; each has its own test
    elsewhere = {"file-too-large", "documents", "document-limit"}
    assert set(RULES) - covered - elsewhere == set()


def test_cases_are_real_files() -> None:
    assert len(ALL) > 40
    assert all(os.path.isfile(case / "expected.yaml") for case in ALL)


def test_documented_rules_table_is_the_rules_table() -> None:
    """docs/validate.md's table is :data:`RULES` rendered row by row, in order (regenerate it
    from there when a rule changes)."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "validate.md").read_text()
    table = page.split("## Rules\n")[1].split("\n## ")[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert rows == [f"| `{r.id}` | {r.severity} | {r.what} | {r.fix} |" for r in RULES.values()]
