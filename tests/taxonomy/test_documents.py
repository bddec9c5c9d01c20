"""Resolving knowledge documents: this repository, local paths, fetched remotes, limits."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from diffutil import commit_all, knowledge_data, pdf_bytes, write_leaf

from helpers import corpus_or_skip, git
from seedtree.config import DocumentsConfig
from seedtree.errors import GitError, UsageError
from seedtree.git import run_git_bounded
from seedtree.home import documents_dir
from seedtree.taxonomy.documents import check_documents, load_documents
from seedtree.taxonomy.globs import compile_glob
from seedtree.taxonomy.leaves import Leaf, load_leaf

BICYCLE = "knowledge/history/technology/bicycle"
DocRepo = Callable[..., tuple[Path, str]]


@pytest.fixture
def repo(make_repo: Callable[..., Path]) -> Path:
    return make_repo()


def leaf_with(repo: Path, document: dict[str, Any], name: str = "notes") -> Leaf:
    qna = write_leaf(repo / "taxonomy/knowledge/testing" / name, knowledge_data(document))
    return load_leaf(qna, repo / "taxonomy")


def messages(leaf: Leaf, repo: Path, settings: DocumentsConfig | None = None) -> list[str]:
    return [f.message for f in check_documents(leaf, repo, settings=settings)]


@pytest.fixture
def mirrors(tmp_path: Path) -> DocumentsConfig:
    """Settings of a private deployment whose local mirrors live under ``tmp_path``."""
    return DocumentsConfig(allowed_local=(str(tmp_path),))


def test_sample_leaf_reads_its_markdown_from_the_working_tree(repo: Path) -> None:
    leaf = load_leaf(repo / "taxonomy" / BICYCLE / "qna.yaml", repo / "taxonomy")
    doc_path = repo / "taxonomy" / BICYCLE / "bicycle_history.md"
    (doc,) = load_documents(leaf, repo)
    assert doc.path == f"taxonomy/{BICYCLE}/bicycle_history.md"
    assert doc.text == doc_path.read_text(encoding="utf-8")
    assert check_documents(leaf, repo) == []


def test_this_repository_at_a_commit(repo: Path) -> None:
    (repo / "docs").mkdir()
    (repo / "docs/a.md").write_text("first\n", encoding="utf-8")
    first = commit_all(repo)
    (repo / "docs/a.md").write_text("second\n", encoding="utf-8")
    pinned = leaf_with(repo, {"repo": ".", "commit": first, "patterns": ["docs/*.md"]})
    live = leaf_with(repo, {"repo": ".", "patterns": ["docs/*.md"]}, "live")
    assert [d.text for d in load_documents(pinned, repo)] == ["first\n"]
    assert [d.text for d in load_documents(live, repo)] == ["second\n"]
    missing = leaf_with(repo, {"repo": ".", "commit": "0" * 40, "patterns": ["*.md"]}, "gone")
    assert messages(missing, repo) == [f"commit {'0' * 40} is missing from this repository"]


def test_local_path_with_and_without_commit(
    repo: Path, doc_repo: DocRepo, mirrors: DocumentsConfig
) -> None:
    folder, commit = doc_repo({"guide/one.md": b"one\n", "guide/two.txt": b"two\n"})
    (folder / "guide/one.md").write_text("one, edited\n", encoding="utf-8")
    live = leaf_with(repo, {"repo": str(folder), "patterns": ["guide/*"]})
    pinned = leaf_with(repo, {"repo": str(folder), "commit": commit, "patterns": ["**/*.md"]}, "p")
    assert [(d.path, d.text) for d in load_documents(live, repo, settings=mirrors)] == [
        ("guide/one.md", "one, edited\n"),
        ("guide/two.txt", "two\n"),
    ]
    found = load_documents(pinned, repo, settings=mirrors)
    assert [(d.path, d.text) for d in found] == [("guide/one.md", "one\n")]
    nowhere = leaf_with(repo, {"repo": str(folder.parent / "absent"), "patterns": ["*.md"]}, "n")
    assert "unreachable" in messages(nowhere, repo, mirrors)[0]
    assert "not allowed" in messages(live, repo)[0]  # without the opt-in


def test_remote_fetched_once_at_the_commit_and_reused(
    repo: Path, doc_repo: DocRepo, mirrors: DocumentsConfig
) -> None:
    folder, commit = doc_repo({"a.md": b"# A\n\nfirst\n"})
    (folder / "a.md").write_text("later\n", encoding="utf-8")
    commit_all(folder)
    leaf = leaf_with(repo, {"repo": f"file://{folder}", "commit": commit, "patterns": ["*.md"]})
    (doc,) = load_documents(leaf, repo, settings=mirrors)
    assert doc.text == "# A\n\nfirst\n"
    assert [p.name for p in documents_dir().iterdir()] != []
    git(folder, "checkout", "-q", "--detach")
    (folder / ".git").rename(folder / "moved-away")  # the remote is gone: the cache answers
    assert load_documents(leaf, repo, settings=mirrors) == [doc]


def test_remote_problems_are_findings(
    repo: Path, doc_repo: DocRepo, tmp_path: Path, mirrors: DocumentsConfig
) -> None:
    folder, commit = doc_repo({"a.md": b"a\n"})
    url = f"file://{folder}"
    cases: dict[str, dict[str, Any]] = {
        "unreachable": {"repo": f"file://{tmp_path}/absent", "commit": commit},
        "missing": {"repo": url, "commit": "1" * 40},
        "full SHA": {"repo": url},
        "matches nothing": {"repo": url, "commit": commit, "patterns": ["*.pdf"]},
    }
    for expected, document in cases.items():
        leaf = leaf_with(repo, {"patterns": ["*.md"], **document}, expected.replace(" ", "_"))
        (finding,) = check_documents(leaf, repo, settings=mirrors)
        assert expected in finding.message
        assert finding.rule == "documents" and finding.severity == "error"
        lines = leaf.qna_path.read_text(encoding="utf-8").splitlines()
        assert lines[finding.line - 1].startswith("document:")


def test_fetch_runs_no_hooks(
    repo: Path,
    doc_repo: DocRepo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mirrors: DocumentsConfig,
) -> None:
    folder, commit = doc_repo({"a.md": b"a\n"})
    hooks, marker = tmp_path / "hooks", tmp_path / "hook-ran"
    hooks.mkdir()
    hook = hooks / "reference-transaction"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n", encoding="utf-8")
    hook.chmod(0o755)
    config = tmp_path / "gitconfig"
    config.write_text(f"[core]\n\thooksPath = {hooks}\n", encoding="utf-8")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    probe = tmp_path / "probe"
    git(tmp_path, "init", "-q", "--bare", str(probe))
    git(probe, "fetch", "-q", f"file://{folder}", "main:refs/heads/main")
    assert marker.exists()  # the hook does run for an ordinary fetch
    marker.unlink()
    leaf = leaf_with(repo, {"repo": f"file://{folder}", "commit": commit, "patterns": ["*"]})
    assert [d.path for d in load_documents(leaf, repo, settings=mirrors)] == ["a.md"]
    assert not marker.exists()


def test_escapes_are_refused(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.md"
    outside.write_text("secret\n", encoding="utf-8")
    (repo / "docs").mkdir()
    (repo / "docs/link.md").symlink_to(outside)
    cases: dict[str, list[str]] = {
        "'..'": ["../secret.md"],
        "absolute": [str(outside)],
        "symlink that leads outside": ["docs/*.md"],
    }
    for expected, patterns in cases.items():
        leaf = leaf_with(repo, {"repo": ".", "patterns": patterns}, "x")
        (message,) = messages(leaf, repo)
        assert expected in message
    pinned = {"repo": ".", "commit": commit_all(repo), "patterns": ["docs/*.md"]}
    assert "leads outside" in messages(leaf_with(repo, pinned, "y"), repo)[0]


def test_symlink_inside_a_committed_tree_is_followed(repo: Path) -> None:
    (repo / "docs").mkdir()
    (repo / "docs/real.md").write_text("real\n", encoding="utf-8")
    (repo / "docs/alias.md").symlink_to("real.md")
    head = commit_all(repo)
    leaf = leaf_with(repo, {"repo": ".", "commit": head, "patterns": ["docs/alias.md"]})
    assert [(d.path, d.text) for d in load_documents(leaf, repo)] == [("docs/real.md", "real\n")]


def test_formats_and_size_cap(repo: Path) -> None:
    (repo / "docs").mkdir()
    files = {
        "a.pdf": pdf_bytes("Chickadees cache seeds"),
        "b.docx": b"PK\x03\x04",
        "c.txt": b"\xff\xfe not utf-8",
        "d.md": b"x" * 2000,
        "e.pdf": b"%PDF-1.4 truncated",
    }
    for name, data in files.items():
        (repo / "docs" / name).write_bytes(data)

    def one(name: str, settings: DocumentsConfig | None = None) -> list[str]:
        leaf = leaf_with(repo, {"repo": ".", "patterns": [f"docs/{name}"]}, name.replace(".", "_"))
        return messages(leaf, repo, settings)

    leaf = leaf_with(repo, {"repo": ".", "patterns": ["docs/a.pdf"]}, "pdf")
    assert "Chickadees cache seeds" in load_documents(leaf, repo)[0].text
    assert "unsupported format (.docx)" in one("b.docx")[0]
    assert "not UTF-8" in one("c.txt")[0]
    assert one("d.md") == []
    assert "over the 1,000-byte cap" in one("d.md", DocumentsConfig(max_document_bytes=1000))[0]
    assert "unreadable PDF" in one("e.pdf")[0]


def test_fetch_size_cap_and_timeout(repo: Path, doc_repo: DocRepo, tmp_path: Path) -> None:
    folder, commit = doc_repo({"big.md": os.urandom(300_000).hex().encode()})
    leaf = leaf_with(repo, {"repo": f"file://{folder}", "commit": commit, "patterns": ["*.md"]})
    capped = DocumentsConfig(allowed_local=(str(tmp_path),), max_fetch_bytes=50_000)
    (message,) = messages(leaf, repo, capped)
    assert "more than 50,000 bytes" in message
    assert [p for p in documents_dir().iterdir() if not p.name.startswith(".")] == []
    with pytest.raises(GitError, match="timed out"):
        run_git_bounded(folder, "-c", "alias.slow=!sleep 5", "slow", timeout=0.3, max_bytes=10**9)


def test_load_documents_raises_what_and_where(repo: Path) -> None:
    leaf = leaf_with(repo, {"repo": ".", "patterns": ["docs/none.md"]})
    with pytest.raises(UsageError) as info:
        load_documents(leaf, repo)
    assert str(leaf.qna_path) in str(info.value)
    assert "pattern 'docs/none.md' matches nothing in this repository" in str(info.value)


def test_glob_semantics() -> None:
    glob = compile_glob
    assert glob("*.md").match("a.md") and not glob("*.md").match("d/a.md")
    assert glob("**/*.md").match("a.md") and glob("**/*.md").match("d/e/a.md")
    assert glob("doc[0-9].txt").match("doc3.txt")
    assert not glob("doc[!0-9].txt").match("doc3.txt")
    assert not glob("a?.md").match("a/.md")
    assert glob("docs/**").match("docs/a/b.md") and not glob("docs/**").match("other/b.md")
    assert glob("a/**/b/**/c.md").match("a/x/b/y/z/c.md")
    assert not glob("a/**/b/**/c.md").match("a/x/y/c.md")
    assert glob("[]x].md").match("].md") and glob("[a-c-].md").match("-.md")


def test_corpus_remotes_unreachable_here_are_findings() -> None:
    root = corpus_or_skip("instructlab-taxonomy-2025-04")
    qnas = sorted((root / "knowledge").rglob("qna.yaml"))[:4]
    leaves = [load_leaf(q, root) for q in qnas]
    leaves = [leaf for leaf in leaves if leaf.version == 3 and leaf.document is not None]
    assert leaves
    for leaf in leaves:
        findings = check_documents(leaf, root, settings=DocumentsConfig(fetch_timeout_s=20))
        assert findings and all("unreachable" in f.message for f in findings)
        assert all(f.line > 1 for f in findings)
