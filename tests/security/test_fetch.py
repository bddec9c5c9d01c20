"""A fetched document repository built as a git bomb (a few KB of objects whose trees list
10^10 entries), a slow listing, a spent fetch budget, and the leftovers of a killed fetch."""

from __future__ import annotations

import subprocess
from pathlib import Path

from attacks import HANG_GUARD_S, document_block, knowledge_leaf, run_cli

from helpers import git
from seedtree.config import DocumentsConfig
from seedtree.home import documents_dir
from seedtree.taxonomy.docfetch import BUDGET, remove_stale_partials
from seedtree.taxonomy.documents import check_documents
from seedtree.taxonomy.leaves import load_leaf

LEVELS, FANOUT = 10, 10  # FANOUT ** LEVELS blobs listed by `git ls-tree -r`


def _mktree(bomb: Path, entries: str) -> str:
    done = subprocess.run(
        ["git", "mktree"], cwd=bomb, input=entries, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def git_bomb(folder: Path) -> tuple[Path, str]:
    """A bare repository whose one commit nests ``LEVELS`` trees of ``FANOUT`` entries each, all
    sharing one blob; returns (folder, commit)."""
    git(folder.parent, "init", "-q", "--bare", str(folder))
    blob = (
        subprocess.run(
            ["git", "hash-object", "-w", "--stdin"],
            cwd=folder,
            input=b"boom\n",
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    lines = "".join(f"100644 blob {blob}\tf{i}.md\n" for i in range(FANOUT))
    tree = _mktree(folder, lines)
    for _level in range(LEVELS - 1):
        tree = _mktree(folder, "".join(f"040000 tree {tree}\td{i}\n" for i in range(FANOUT)))
    commit = git(folder, "commit-tree", tree, "-m", "bomb").strip()
    git(folder, "update-ref", "refs/heads/main", commit)
    return folder, commit


def _bomb_leaf(repo: Path, tmp_path: Path) -> tuple[Path, DocumentsConfig]:
    mirrors = tmp_path / "mirrors"
    mirrors.mkdir()
    folder, commit = git_bomb(mirrors / "bomb.git")
    block = document_block(f"file://{folder}", "**/*.md", commit=commit)
    leaf_dir = knowledge_leaf(repo, "attack/bomb", block)
    return leaf_dir / "qna.yaml", DocumentsConfig(allowed_local=(str(mirrors),))


def test_git_bomb_is_stopped_at_the_entry_cap(repo: Path, tmp_path: Path) -> None:
    qna, settings = _bomb_leaf(repo, tmp_path)
    objects = sum(p.stat().st_size for p in (tmp_path / "mirrors").rglob("*") if p.is_file())
    assert objects < 100_000
    leaf = load_leaf(qna, repo / "taxonomy")
    (finding,) = check_documents(leaf, repo, settings=settings)
    assert "more than 100,000 entries" in finding.message
    small = settings.model_copy(update={"max_entries": 500})
    (finding,) = check_documents(leaf, repo, settings=small)
    assert "more than 500 entries (documents.max_entries: 500)" in finding.message
    config = repo / "seedtree.yaml"
    config.write_text(config.read_text() + f"documents:\n  allowed_local: [{tmp_path}/mirrors]\n")
    run = run_cli(repo, "validate", "--documents", "taxonomy/knowledge/attack")
    assert run.seconds < HANG_GUARD_S and "more than 100,000 entries" in run.output


def test_slow_listing_and_spent_budget(repo: Path, tmp_path: Path) -> None:
    qna, settings = _bomb_leaf(repo, tmp_path)
    leaf = load_leaf(qna, repo / "taxonomy")
    slow = settings.model_copy(update={"max_entries": 10**12, "fetch_timeout_s": 1.0})
    (finding,) = check_documents(leaf, repo, settings=slow)
    assert "listing the tree took too long" in finding.message
    spent = settings.model_copy(update={"fetch_budget_s": BUDGET.spent})
    (finding,) = check_documents(leaf, repo, settings=spent)
    assert "the fetch budget of this run" in finding.message


def test_partial_folders_of_killed_fetches_are_removed(repo: Path, tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    running = subprocess.Popen(["sleep", "30"])
    try:
        documents_dir().mkdir(parents=True)
        stale = documents_dir() / f".{'a' * 24}.{gone.pid}.partial"
        live = documents_dir() / f".{'b' * 24}.{running.pid}.partial"
        for folder in (stale, live):
            (folder / "objects").mkdir(parents=True)
        qna, settings = _bomb_leaf(repo, tmp_path)
        check_documents(load_leaf(qna, repo / "taxonomy"), repo, settings=settings)
        assert not stale.exists() and live.exists()
        assert remove_stale_partials(documents_dir()) == []
    finally:
        running.kill()
        running.wait()
