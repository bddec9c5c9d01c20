"""Documents are counted by what they resolve to, and capped per leaf and per run.

Three hundred in-repository symlinks to one 1 MB document are one document, read once (before,
each path was read and chunked: ``generate --dry-run`` of that one leaf ran for more than half an
hour). Past ``documents.max_leaf_documents``, ``max_leaf_bytes``, ``max_run_documents`` or
``max_run_bytes`` nothing more is read: ``validate --documents`` reports ``document-limit`` at the
pattern that crossed the cap, and ``generate`` refuses the leaf with the same words."""

from __future__ import annotations

import subprocess
from pathlib import Path

from attacks import commit_all, document_block, knowledge_leaf, no_traceback, run_cli

from seedtree.config import DocumentsConfig
from seedtree.taxonomy import doclimits
from seedtree.taxonomy.documents import check_documents, load_documents
from seedtree.taxonomy.leaves import load_leaf

LINKS = 300
MEGABYTE = 1_000_000
PATTERN_LINE = 11  # `document:` is line 8 of the leaf; its first pattern three lines below


def _big_document(repo: Path) -> Path:
    path = repo / "docs" / "big.md"
    path.parent.mkdir()
    sentence = "The safety bicycle of 1885 had two wheels of equal size and a chain drive.\n"
    path.write_text((sentence * (MEGABYTE // len(sentence) + 1))[:MEGABYTE], encoding="utf-8")
    return path


def _links(repo: Path, target: Path) -> None:
    folder = repo / "docs" / "links"
    folder.mkdir()
    for n in range(LINKS):
        (folder / f"copy_{n:03}.md").symlink_to(Path("..") / target.name)


def _settings(repo: Path, **caps: int) -> None:
    lines = "".join(f"  {key}: {value}\n" for key, value in caps.items())
    with (repo / "seedtree.yaml").open("a", encoding="utf-8") as config:
        config.write(f"documents:\n{lines}")


def _documents(repo: Path, count: int, name: str) -> None:
    folder = repo / "docs" / name
    folder.mkdir(parents=True)
    for n in range(count):
        (folder / f"part_{n}.md").write_text(f"Part {n} of {name}: distinct text.\n")


def _two_leaves(repo: Path, documents: int) -> None:
    """``knowledge/attack/a_first`` and ``b_second``, each with its own ``documents``."""
    for name in ("first", "second"):
        _documents(repo, documents, name)
        block = document_block(".", f"docs/{name}/*.md")
        knowledge_leaf(repo, f"attack/{'a' if name == 'first' else 'b'}_{name}", block)


def test_symlinks_to_one_document_are_read_once(repo: Path) -> None:
    _links(repo, _big_document(repo))
    folder = knowledge_leaf(repo, "attack/links", document_block(".", "docs/links/*.md"))
    leaf = load_leaf(folder / "qna.yaml", repo / "taxonomy")
    before = doclimits.RUN.bytes
    (document,) = load_documents(leaf, repo)
    assert document.path == "docs/links/copy_000.md" and len(document.text) == MEGABYTE
    assert doclimits.RUN.bytes - before == MEGABYTE  # admitted (read) once
    assert check_documents(leaf, repo, settings=DocumentsConfig(max_leaf_bytes=MEGABYTE)) == []
    run = run_cli(repo, "generate", "--dry-run", "taxonomy/knowledge/attack/links")
    no_traceback(run)
    assert run.code == 0 and "knowledge/attack/links" in run.output


def test_copies_at_a_commit_are_one_blob(repo: Path) -> None:
    _documents(repo, 1, "one")
    for n in range(5):
        (repo / "docs" / "one" / f"copy_{n}.md").write_bytes(b"Part 0 of one: distinct text.\n")
    commit_all(repo, "documents")
    sha = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    folder = knowledge_leaf(repo, "attack/pinned", document_block(".", "docs/one/*.md", commit=sha))
    leaf = load_leaf(folder / "qna.yaml", repo / "taxonomy")
    settings = DocumentsConfig(max_leaf_documents=1)
    assert [d.path for d in load_documents(leaf, repo, settings=settings)] == ["docs/one/copy_0.md"]


def test_documents_per_leaf(repo: Path) -> None:
    _documents(repo, 5, "many")
    _settings(repo, max_leaf_documents=3)
    block = document_block(".", "docs/none/*.md", "docs/many/*.md")
    knowledge_leaf(repo, "attack/many", block)
    (repo / "docs" / "none").mkdir()
    leaf = "taxonomy/knowledge/attack/many"
    run = run_cli(repo, "validate", "--documents", leaf)
    no_traceback(run)
    assert run.code == 1
    flat = run.output.replace("\n", " ")
    message = (
        "'docs/many/part_3.md' is not read: this leaf's documents would be more than 3 "
        "(documents.max_leaf_documents)"
    )
    assert f"{leaf}/qna.yaml:{PATTERN_LINE + 1}:7: error [document-limit] {message}" in flat
    run = run_cli(repo, "generate", "--dry-run", leaf)
    no_traceback(run)
    assert run.code == 2 and message in run.output.replace("\n", "")


def test_bytes_per_leaf(repo: Path) -> None:
    _documents(repo, 3, "heavy")
    _settings(repo, max_leaf_bytes=60)
    knowledge_leaf(repo, "attack/heavy", document_block(".", "docs/heavy/*.md"))
    run = run_cli(repo, "validate", "--documents", "taxonomy/knowledge/attack/heavy")
    no_traceback(run)
    assert run.code == 1
    flat = run.output.replace("\n", " ")
    assert f"heavy/qna.yaml:{PATTERN_LINE}:7: error [document-limit] 'docs/heavy/part_1.md'" in flat
    assert "more than 60 (documents.max_leaf_bytes)" in flat


def test_documents_and_bytes_per_run(repo: Path) -> None:
    """Each leaf alone is within every cap; the second one read crosses the run's."""
    _two_leaves(repo, 2)
    _settings(repo, max_run_documents=3)
    run = run_cli(repo, "validate", "--documents", "taxonomy/knowledge/attack")
    no_traceback(run)
    assert run.code == 1
    flat = run.output.replace("\n", " ")
    assert "a_first/qna.yaml" not in flat
    assert (
        f"b_second/qna.yaml:{PATTERN_LINE}:7: error [document-limit] 'docs/second/part_1.md' is "
        "not read: this run's documents would be more than 3 (documents.max_run_documents)"
    ) in flat
    run = run_cli(repo, "generate", "--dry-run", "taxonomy/knowledge/attack")
    no_traceback(run)
    assert run.code == 2 and "documents.max_run_documents" in run.output.replace("\n", "")


def test_bytes_per_run(repo: Path) -> None:
    _two_leaves(repo, 1)
    _settings(repo, max_run_bytes=50)
    run = run_cli(repo, "validate", "--documents", "taxonomy/knowledge/attack")
    assert run.code == 1
    flat = run.output.replace("\n", " ")
    assert "b_second/qna.yaml:11:7: error [document-limit] 'docs/second/part_0.md'" in flat
    assert "(documents.max_run_bytes)" in flat and "a_first/qna.yaml" not in flat
