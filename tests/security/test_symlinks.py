"""Symlinks in a contribution that point at a file outside the repository are never followed:
not by validation (rules, secrets scan), document resolution, generation or change detection."""

from __future__ import annotations

from pathlib import Path

import pytest
from attacks import SECRET, document_block, files_containing, knowledge_leaf, run_cli

from helpers import git
from seedtree.errors import UsageError
from seedtree.taxonomy.documents import check_documents, load_documents
from seedtree.taxonomy.leaves import load_leaf

LEAF = "knowledge/attack/notes"
BIKE_DOC = "knowledge/history/technology/bicycle/bicycle_history.md"


def _commit(repo: Path) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "contribution")


def _assert_never_shown(run_output: str, *folders: Path) -> None:
    assert SECRET not in run_output
    assert "AKIA" not in run_output
    for folder in folders:
        assert files_containing(folder, SECRET) == []


def test_document_symlinked_in_the_leaf(repo: Path, secret_file: Path, seedtree_env: Path) -> None:
    folder = knowledge_leaf(repo, "attack/notes", document_block(".", f"taxonomy/{LEAF}/*.md"))
    (folder / "notes.md").symlink_to(secret_file)
    for args in (["validate"], ["validate", "--documents"], ["generate", "--dry-run"]):
        run = run_cli(repo, *args)
        assert run.code != 0, run.output
        assert "Traceback" not in run.output
        _assert_never_shown(run.output, repo, seedtree_env)
    run = run_cli(repo, "validate", f"taxonomy/{LEAF}")
    assert f"taxonomy/{LEAF}/notes.md:1:1: error [symlink-outside]" in run.output
    leaf = load_leaf(folder / "qna.yaml", repo / "taxonomy")
    with pytest.raises(UsageError, match="symlink that leads outside"):
        load_documents(leaf, repo)


def test_symlinked_folder_and_committed_symlink(repo: Path, secret_file: Path) -> None:
    (repo / "docs").symlink_to(secret_file.parent)
    knowledge_leaf(repo, "attack/folder", document_block(".", "docs/*.md"))
    (repo / "more").mkdir()
    (repo / "more" / "link.md").symlink_to(secret_file)
    _commit(repo)
    head = git(repo, "rev-parse", "HEAD").strip()
    knowledge_leaf(repo, "attack/pinned", document_block(".", "more/*.md", commit=head))
    for name in ("folder", "pinned"):
        leaf = load_leaf(repo / "taxonomy/knowledge/attack" / name / "qna.yaml", repo / "taxonomy")
        (finding,) = check_documents(leaf, repo)
        assert "symlink that leads outside" in finding.message
        assert SECRET not in finding.message
    run = run_cli(repo, "validate", "taxonomy/knowledge/attack/folder")
    assert "[symlink-outside] 'docs' (matched by 'docs/*.md')" in run.output
    _assert_never_shown(run.output)


def test_secrets_scan_does_not_follow(repo: Path, secret_file: Path) -> None:
    """The scan would report the outside file's access key (and show its line) if it followed."""
    (repo / "docs").mkdir()
    (repo / "docs" / "keys.md").symlink_to(secret_file)
    knowledge_leaf(repo, "attack/keys", document_block(".", "docs/*.md"))
    run = run_cli(repo, "validate", "taxonomy/knowledge/attack")
    assert "error [symlink-outside] 'docs/keys.md' (matched by 'docs/*.md')" in run.output
    assert "[secret]" not in run.output
    _assert_never_shown(run.output)


def test_qna_yaml_itself_a_symlink(repo: Path, secret_file: Path, seedtree_env: Path) -> None:
    folder = repo / "taxonomy/knowledge/attack/linked"
    folder.mkdir(parents=True)
    (folder / "qna.yaml").symlink_to(secret_file)
    run = run_cli(repo, "validate", "taxonomy/knowledge/attack/linked")
    assert "qna.yaml:1:1: error [symlink-outside]" in run.output
    _assert_never_shown(run.output)
    with pytest.raises(UsageError, match="leads outside the taxonomy"):
        load_leaf(folder / "qna.yaml", repo / "taxonomy")
    run = run_cli(repo, "generate", "--dry-run")
    assert run.code != 0 and "Traceback" not in run.output
    _assert_never_shown(run.output, repo, seedtree_env)


def test_change_detection_reads_no_symlinked_leaf(repo: Path, secret_file: Path) -> None:
    folder = repo / "taxonomy/knowledge/attack/linked"
    folder.mkdir(parents=True)
    (folder / "qna.yaml").symlink_to(secret_file)
    (repo / "docs").mkdir()
    (repo / "docs" / "a.md").write_text("a document\n", encoding="utf-8")
    run = run_cli(repo, "diff", "--base", "main")
    assert run.code == 0, run.output
    _assert_never_shown(run.output)


def test_attribution_symlinked_out(repo: Path, secret_file: Path, seedtree_env: Path) -> None:
    """Not even hashed into the leaf's identity: the leaf is refused."""
    folder = knowledge_leaf(repo, "attack/attrib", document_block(".", f"taxonomy/{BIKE_DOC}"))
    (folder / "attribution.txt").unlink()
    (folder / "attribution.txt").symlink_to(secret_file)
    run = run_cli(repo, "validate", "taxonomy/knowledge/attack/attrib")
    assert "attrib/attribution.txt:1:1: error [symlink-outside]" in run.output
    _assert_never_shown(run.output)
    with pytest.raises(UsageError, match=r"attribution\.txt: a symlink that leads outside"):
        load_leaf(folder / "qna.yaml", repo / "taxonomy")
