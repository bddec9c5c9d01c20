"""The repository's own ``.git`` is outside every boundary: its ``config`` holds the credential a
clone keeps (``actions/checkout`` leaves one there), so no symlink into it and no pattern naming it
may carry it into validation output, knowledge chunks, the preview or training data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from attacks import SECRET, document_block, files_containing, knowledge_leaf, run_cli

from helpers import git
from seedtree.errors import UsageError
from seedtree.taxonomy.documents import check_documents, load_documents
from seedtree.taxonomy.leaves import load_leaf
from seedtree.train.seeddata import seed_datasets

TOKEN = "ghp_" + "R" * 36  # the shape of a GitHub token: the secrets scan would report it
GIT_PATTERNS = [".git/config", ".GIT/config", ".gi?/config", "[.]git/*", "docs/.git/**/*"]


@pytest.fixture
def credentialed(repo: Path) -> Path:
    """``repo`` as a CI checkout leaves it: a credential in ``.git/config``."""
    git(repo, "config", "remote.origin.url", f"https://x-access-token:{SECRET}@github.com/o/r")
    git(repo, "config", "http.https://github.com/.extraheader", f"AUTHORIZATION: bearer {TOKEN}")
    assert SECRET in (repo / ".git" / "config").read_text()
    return repo


def _never_shown(output: str, *folders: Path) -> None:
    assert SECRET not in output and TOKEN not in output and "Traceback" not in output
    for folder in folders:
        assert files_containing(folder, SECRET) == []


def _leaf(repo: Path, name: str, block: str) -> Path:
    return knowledge_leaf(repo, f"attack/{name}", block) / "qna.yaml"


def test_patterns_naming_git_are_located_findings(credentialed: Path) -> None:
    qna = _leaf(credentialed, "patterns", document_block(".", *GIT_PATTERNS))
    run = run_cli(credentialed, "validate", "--documents", "taxonomy/knowledge/attack")
    assert run.code == 1
    _never_shown(run.output)
    for line, pattern in enumerate(GIT_PATTERNS, 11):
        column = 8 + pattern.lower().find(".gi") if "[" not in pattern else 8
        where = f"qna.yaml:{line}:{column}: error [document-pattern] pattern '{pattern}'"
        assert where in run.output, run.output
    assert run.output.count("reaches into '.git'") == len(GIT_PATTERNS)
    with pytest.raises(UsageError, match=r"reaches into '\.git'") as info:
        load_documents(load_leaf(qna, credentialed / "taxonomy"), credentialed)
    assert SECRET not in str(info.value)


def test_wildcards_never_enter_git(credentialed: Path, seedtree_env: Path) -> None:
    """``*/config`` and ``**/*`` are fine patterns; they simply never see ``.git``."""
    qna = _leaf(credentialed, "wild", document_block(".", "*/config", "**/HEAD"))
    leaf = load_leaf(qna, credentialed / "taxonomy")
    messages = [f.message for f in check_documents(leaf, credentialed)]
    assert messages == [
        "pattern '*/config' matches nothing in this repository",
        "pattern '**/HEAD' matches nothing in this repository",
    ]
    run = run_cli(credentialed, "generate", "--dry-run", "taxonomy/knowledge/attack/wild")
    assert run.code == 2
    _never_shown(run.output, seedtree_env)


def test_symlinks_into_git(credentialed: Path, seedtree_env: Path) -> None:
    (credentialed / "docs").mkdir()
    (credentialed / "docs" / "config.md").symlink_to("../.git/config")
    (credentialed / "gitdir").symlink_to(".git")
    folder = knowledge_leaf(credentialed, "attack/linked", document_block(".", "docs/*.md"))
    (folder / "notes.md").symlink_to("../../../../.git/config")
    _leaf(credentialed, "folder", document_block(".", "gitdir/config"))
    run = run_cli(credentialed, "validate", "taxonomy/knowledge/attack")
    assert run.code == 1
    _never_shown(run.output)
    assert "attack/linked/notes.md:1:1: error [symlink-outside]" in run.output
    assert "[symlink-outside] 'gitdir' (matched by 'gitdir/config')" in run.output
    (folder / "notes.md").unlink()
    run = run_cli(credentialed, "validate", "taxonomy/knowledge/attack/linked")
    assert "[symlink-outside] 'docs/config.md' (matched by 'docs/*.md')" in run.output
    for name in ("linked", "folder"):
        leaf = load_leaf(folder.parent / name / "qna.yaml", credentialed / "taxonomy")
        with pytest.raises(UsageError, match="symlink that leads outside") as info:
            load_documents(leaf, credentialed)
        assert SECRET not in str(info.value)
    for args in (["generate", "--dry-run"], ["validate", "--documents"]):
        run = run_cli(credentialed, *args)
        assert run.code != 0
        _never_shown(run.output, seedtree_env)


def test_committed_symlink_into_git_at_a_commit(credentialed: Path) -> None:
    (credentialed / "docs").mkdir()
    (credentialed / "docs" / "config.md").symlink_to("../.git/config")
    git(credentialed, "add", "-A")
    git(credentialed, "commit", "-q", "-m", "a symlink into .git")
    head = git(credentialed, "rev-parse", "HEAD").strip()
    qna = _leaf(credentialed, "pinned", document_block(".", "docs/*.md", commit=head))
    (finding,) = check_documents(load_leaf(qna, credentialed / "taxonomy"), credentialed)
    assert "'docs/config.md' is a symlink that leads outside this repository" in finding.message


def test_leaf_files_symlinked_into_git_when_the_taxonomy_is_the_root(
    make_repo: Callable[..., Path],
) -> None:
    """With the taxonomy at the repository root, ``.git`` is inside the taxonomy folder."""
    root = make_repo("flat", with_taxonomy=False)
    git(root, "config", "remote.origin.url", f"https://x:{SECRET}@github.com/o/r")
    folder = root / "knowledge" / "attack" / "attrib"
    folder.mkdir(parents=True)
    (folder / "qna.yaml").write_text("version: 3\n", encoding="utf-8")
    (folder / "attribution.txt").symlink_to("../../../.git/config")
    with pytest.raises(UsageError, match="a symlink that leads outside the taxonomy"):
        load_leaf(folder / "qna.yaml", root)
    run = run_cli(root, "validate", "knowledge/attack")
    assert "attack/attrib/attribution.txt:1:1: error [symlink-outside]" in run.output
    _never_shown(run.output)


def test_training_data_helpers_read_through_the_loader(credentialed: Path) -> None:
    """They globbed with pathlib, which follows symlinks and enters ``.git``."""
    taxonomy = credentialed / "taxonomy"
    _leaf(credentialed, "train", document_block(".", "**/config"))
    with pytest.raises(UsageError, match="'\\*\\*/config' matches nothing") as info:
        seed_datasets(taxonomy, credentialed)
    assert SECRET not in str(info.value)


def test_text_report_does_not_echo_a_secret_line(repo: Path) -> None:
    (repo / "docs").mkdir()
    (repo / "docs" / "keys.md").write_text(f"# keys\n\nthe deploy token is {TOKEN}\n")
    _leaf(repo, "keys", document_block(".", "docs/*.md"))
    run = run_cli(repo, "validate", "taxonomy/knowledge/attack")
    assert "docs/keys.md:3:21: error [secret] a GitHub token in the text" in run.output
    assert TOKEN not in run.output and "the deploy token is" not in run.output
    json_run = run_cli(repo, "validate", "--format", "json", "taxonomy/knowledge/attack")
    assert TOKEN not in json_run.output
