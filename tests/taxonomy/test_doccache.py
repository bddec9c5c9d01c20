"""Document digests cached by (repository, commit): hashing a leaf again fetches nothing."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from diffutil import commit_all, knowledge_data, write_leaf

from seedtree.errors import SeedtreeError
from seedtree.home import documents_dir
from seedtree.taxonomy.doccache import cached_leaf_hash, document_digests, entry_path
from seedtree.taxonomy.docpolicy import settings_for
from seedtree.taxonomy.identity import leaf_hash
from seedtree.taxonomy.leaves import Leaf, load_leaf

DocRepo = Callable[..., tuple[Path, str]]


def leaf_on(repo: Path, document: dict[str, object]) -> Leaf:
    # the document repositories of these tests are local folders next to the repository
    (repo / "seedtree.yaml").write_text(f"documents:\n  allowed_local: ['{repo.parent}']\n")
    qna = write_leaf(repo / "taxonomy/knowledge/testing/notes", knowledge_data(document))
    return load_leaf(qna, repo / "taxonomy")


def fetched() -> list[Path]:
    """The fetched repositories under $SEEDTREE_HOME/documents (the digests aside)."""
    folder = documents_dir()
    return [p for p in folder.iterdir() if p.name != "digests"] if folder.is_dir() else []


def test_a_remote_at_a_commit_is_fetched_once_then_read_from_digests(
    make_repo: Callable[..., Path], doc_repo: DocRepo
) -> None:
    repo = make_repo()
    folder, sha = doc_repo({"a.md": b"# A\n\nfirst\n", "b.md": b"# B\n"})
    leaf = leaf_on(repo, {"repo": f"file://{folder}", "commit": sha, "patterns": ["*.md"]})
    expected = leaf_hash(leaf, repo)
    assert cached_leaf_hash(leaf, repo) == expected
    entry = entry_path(leaf.document, repo, settings_for(repo))
    assert entry is not None and entry.is_file()
    # the remote and the fetched copy are gone: the digests answer
    shutil.rmtree(folder)
    for path in fetched():
        shutil.rmtree(path)
    assert cached_leaf_hash(leaf, repo) == expected
    assert [p for p, _sha in document_digests(leaf, repo)] == ["a.md", "b.md"]
    assert fetched() == []


def test_a_working_tree_is_read_each_time(make_repo: Callable[..., Path]) -> None:
    repo = make_repo()
    (repo / "docs").mkdir()
    (repo / "docs/a.md").write_text("first\n", encoding="utf-8")
    leaf = leaf_on(repo, {"repo": ".", "patterns": ["docs/*.md"]})
    before = cached_leaf_hash(leaf, repo)
    assert entry_path(leaf.document, repo, settings_for(repo)) is None
    (repo / "docs/a.md").write_text("second\n", encoding="utf-8")
    after = cached_leaf_hash(leaf, repo)
    assert after != before and after == leaf_hash(leaf, repo)


def test_a_damaged_entry_is_resolved_again(
    make_repo: Callable[..., Path], doc_repo: DocRepo
) -> None:
    repo = make_repo()
    folder, sha = doc_repo({"a.md": b"a\n"})
    leaf = leaf_on(repo, {"repo": f"file://{folder}", "commit": sha, "patterns": ["*.md"]})
    expected = cached_leaf_hash(leaf, repo)
    entry = entry_path(leaf.document, repo, settings_for(repo))
    assert entry is not None
    entry.write_text('{"documents": [[', encoding="utf-8")
    assert cached_leaf_hash(leaf, repo) == expected
    assert '"a.md"' in entry.read_text(encoding="utf-8")


def test_a_failure_is_not_cached(make_repo: Callable[..., Path], tmp_path: Path) -> None:
    repo = make_repo()
    gone = {"repo": f"file://{tmp_path / 'gone'}", "commit": "2" * 40, "patterns": ["*.md"]}
    leaf = leaf_on(repo, gone)
    with pytest.raises(SeedtreeError, match="cannot resolve `document`"):  # unreachable: exit 3
        cached_leaf_hash(leaf, repo)
    entry = entry_path(leaf.document, repo, settings_for(repo))
    assert entry is not None and not entry.exists()


def test_a_commit_is_part_of_the_key(make_repo: Callable[..., Path], doc_repo: DocRepo) -> None:
    repo = make_repo()
    folder, first = doc_repo({"a.md": b"first\n"})
    (folder / "a.md").write_text("second\n", encoding="utf-8")
    second = commit_all(folder)
    one = leaf_on(repo, {"repo": f"file://{folder}", "commit": first, "patterns": ["*.md"]})
    hash_one = cached_leaf_hash(one, repo)
    two = leaf_on(repo, {"repo": f"file://{folder}", "commit": second, "patterns": ["*.md"]})
    assert cached_leaf_hash(two, repo) != hash_one
    assert cached_leaf_hash(two, repo) == leaf_hash(two, repo)
