"""``--changed`` (leaves changed since a base, held to the latest version) and ``--documents``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from seedtree.cli import run

HAIKU = Path("taxonomy/compositional_skills/writing/poetry/haiku/qna.yaml")
BICYCLE = Path("taxonomy/knowledge/history/technology/bicycle/qna.yaml")


@pytest.fixture
def repo(make_repo: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_repo()
    (root / "seedtree.yaml").write_text("taxonomy_dir: taxonomy\n")
    monkeypatch.chdir(root)
    return root


def test_only_changed_leaves_at_the_latest_version(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = HAIKU.read_text().replace("version: 3\n", "version: 2\n")
    HAIKU.write_text(text)
    assert run(["validate", str(HAIKU)]) == 0  # its own version 2 is valid
    capsys.readouterr()
    assert run(["validate", "--changed", "--base", "main"]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("comparing with main (")
    assert f"{HAIKU.as_posix()}:2:1: error [version-outdated]" in captured.out
    assert captured.out.splitlines()[-1].startswith("1 file checked: 1 error")


def test_nothing_changed(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["validate", "--changed", "--base", "main"]) == 0
    assert capsys.readouterr().out.strip() == "0 files checked: no problems"


def test_documents_are_resolved_on_request(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["validate", "--documents"]) == 0
    text = BICYCLE.read_text().replace("bicycle_history.md", "missing_history.md")
    BICYCLE.write_text(text)
    capsys.readouterr()
    assert run(["validate", str(BICYCLE)]) == 0
    assert run(["validate", "--documents", str(BICYCLE)]) == 1
    out = capsys.readouterr().out
    assert "error [documents]" in out and "missing_history.md" in out


def test_changed_within_given_paths(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    HAIKU.write_text(HAIKU.read_text().replace("version: 3\n", "version: 2\n"))
    assert run(["validate", "--changed", "--base", "main", "taxonomy/knowledge"]) == 0
    assert capsys.readouterr().out.strip() == "0 files checked: no problems"
    assert run(["validate", "--changed", "--base", "main", str(HAIKU.parent)]) == 1
