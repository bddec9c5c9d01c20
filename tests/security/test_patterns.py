"""Hostile document patterns: ones that made a backtracking regex run for minutes against a
deep path, and malformed ones that raised exceptions. Each command answers with a located
finding (or an error naming the pattern) within the hang guard."""

from __future__ import annotations

from pathlib import Path

import pytest
from attacks import HANG_GUARD_S, document_block, knowledge_leaf, run_cli

from helpers import git
from seedtree.errors import UsageError
from seedtree.taxonomy.changes import changed_leaves
from seedtree.taxonomy.documents import load_documents
from seedtree.taxonomy.leaves import load_leaf

DEPTH = 120
# each was minutes of backtracking as a regex against a deep path that does not end as asked
HOSTILE = [f"**/{'a*' * (4 + i)}/**/{'*a' * (6 + i)}b/**/x.md" for i in range(12)]
# the former translation's worst case: many '**' (refused now, before any matching)
MANY_GLOBSTARS = ["**/" * 6 + f"x{i}.md" for i in range(12)]
MALFORMED = {
    "[z-a].md": (2, "bad range 'z-a'"),
    "a[!].md": (2, "'[' is never closed"),
    "docs/**.md": (6, "'**' must be a whole segment"),
    "**/**/**/**/x.md": (10, "more than 3 '**' segments"),
}


def _deep_tree(repo: Path) -> Path:
    folder = repo.joinpath("deep", *["a" * 8] * DEPTH)
    folder.mkdir(parents=True)
    (folder / "y.md").write_text("deep\n", encoding="utf-8")
    return folder


def test_backtracking_patterns_against_a_deep_tree(repo: Path) -> None:
    deep = _deep_tree(repo)
    knowledge_leaf(repo, "attack/slow", document_block(".", *HOSTILE))
    knowledge_leaf(repo, "attack/many", document_block(".", *MANY_GLOBSTARS))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "deep tree")
    (deep / "y.md").write_text("deep, edited\n", encoding="utf-8")
    runs = [
        run_cli(repo, *args)
        for args in (
            ["validate", "--documents", "taxonomy/knowledge/attack"],
            ["diff", "--base", "HEAD"],
            ["generate", "--dry-run", "taxonomy/knowledge/attack/slow"],
        )
    ]
    assert all(run.seconds < HANG_GUARD_S and "Traceback" not in run.output for run in runs)
    validate, diff, generate = runs
    assert f"pattern '{HOSTILE[0]}' matches nothing in this repository" in validate.output
    assert validate.output.count("more than 3 '**' segments") == len(MANY_GLOBSTARS)
    assert diff.code == 0 and generate.code == 2


def test_malformed_patterns_are_located_findings(repo: Path) -> None:
    knowledge_leaf(repo, "attack/bad", document_block(".", *MALFORMED))
    run = run_cli(repo, "validate", "taxonomy/knowledge/attack")
    assert run.code == 1 and "Traceback" not in run.output
    for line, (pattern, (column, problem)) in enumerate(MALFORMED.items(), 11):
        located = f"qna.yaml:{line}:{8 + column - 1}: error [document-pattern] pattern '{pattern}'"
        assert located in run.output and problem in run.output


def test_malformed_patterns_crash_no_later_stage(repo: Path) -> None:
    folder = knowledge_leaf(repo, "attack/bad", document_block(".", *MALFORMED))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "malformed patterns")
    (repo / "docs").mkdir()
    (repo / "docs" / "x.md").write_text("x\n", encoding="utf-8")
    changed = changed_leaves(repo, repo / "taxonomy", "HEAD")
    assert [leaf.id for leaf in changed.leaves] == []
    run = run_cli(repo, "diff", "--base", "HEAD")
    assert run.code == 0 and "Traceback" not in run.output
    leaf = load_leaf(folder / "qna.yaml", repo / "taxonomy")
    with pytest.raises(UsageError) as info:
        load_documents(leaf, repo)
    assert all(f"pattern '{p}'" in str(info.value) for p in MALFORMED)
