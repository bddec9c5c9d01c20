"""200,000 nested ``[`` (400 KB, under the size cap) crash PyYAML's recursive composer with a
segfault. Every command that parses a leaf before validation answers with a located error
instead: fmt, migrate, taxonomy loading (generate) and the document lookup of
``validate --changed``."""

from __future__ import annotations

import signal
from pathlib import Path

from attacks import run_cli

from helpers import git

BOMB = "version: 3\ntask_description: " + "[" * 200_000 + "\n"
LEAF = "taxonomy/knowledge/attack/deep"
WHERE = f"{LEAF}/qna.yaml:2:"


def _plant(repo: Path) -> Path:
    folder = repo / LEAF
    folder.mkdir(parents=True)
    (folder / "qna.yaml").write_text(BOMB, encoding="utf-8")
    return folder / "qna.yaml"


def _no_crash(code: int, output: str) -> None:
    assert code >= 0, f"killed by signal {signal.Signals(-code).name}"
    assert "Traceback" not in output and "Segmentation" not in output


def test_fmt_and_migrate(repo: Path) -> None:
    qna = _plant(repo)
    for command in ("fmt", "migrate"):
        run = run_cli(repo, command, str(qna.relative_to(repo)))
        _no_crash(run.code, run.output)
        assert run.code == 1 and WHERE in run.output
        assert "nesting deeper than 64 levels" in run.output
    assert qna.read_text(encoding="utf-8") == BOMB


def test_taxonomy_loading(repo: Path) -> None:
    _plant(repo)
    run = run_cli(repo, "generate", "--dry-run")
    _no_crash(run.code, run.output)
    assert run.code == 2
    flat = run.output.replace("\n", "")
    assert "qna.yaml:2:" in flat and "nesting deeper than 64 levels" in flat


def test_validate_changed_document_lookup(repo: Path) -> None:
    git(repo, "branch", "base")
    _plant(repo)
    (repo / "docs").mkdir()
    (repo / "docs" / "a.md").write_text("a changed document\n", encoding="utf-8")
    run = run_cli(repo, "validate", "--changed", "--base", "base")
    _no_crash(run.code, run.output)
    assert run.code == 1
    assert f"{WHERE}82: error [yaml-too-complex] nesting deeper than 64 levels" in run.output
