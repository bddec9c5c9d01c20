"""A leaf names only allowed document repositories: ``.`` or ``https://`` on an allowed host
(or, opted in by the trusted configuration, a local mirror). Plain ``validate`` reports any other
at the ``repo`` key, and resolving documents refuses it again."""

from __future__ import annotations

from pathlib import Path

import pytest
from attacks import SECRET, document_block, knowledge_leaf, quoted, run_cli

from seedtree.config import DocumentsConfig
from seedtree.errors import UsageError
from seedtree.taxonomy.docpolicy import RepoRefused, classify
from seedtree.taxonomy.documents import load_documents
from seedtree.taxonomy.leaves import load_leaf

FORBIDDEN = [
    "..",
    "../runner-secrets",
    "~",
    "~/.ssh",
    "docs",
    "/etc",
    "file:///etc",
    "ssh://evil.example/a/b.git",
    "git@evil.example:a/b.git",
    "deploy@github.com:a/b.git",
    "ssh://git@github.com:2222/a/b.git",
    "git@github.com:../b.git",
    "http://github.com/a/b.git",
    "git://github.com/a/b.git",
    "https://evil.example/a/b.git",
    "https://user:token@github.com/a/b.git",
    "https://github.com:8443/a/b.git",
    "https://github.com",
    "-uhttps://github.com/a/b",
]
ALLOWED = [".", "./", "https://github.com/a/b.git", "https://huggingface.co/datasets/a/b"]
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_policy_of_each_form() -> None:
    settings = DocumentsConfig()
    for repo in FORBIDDEN:
        with pytest.raises(RepoRefused, match="is not allowed"):
            classify(repo, settings)
    for repo in ALLOWED:
        classify(repo, settings)


def test_plain_validate_reports_each_form_at_the_repo_key(repo: Path, secret_file: Path) -> None:
    for i, form in enumerate(FORBIDDEN):
        knowledge_leaf(repo, f"attack/r{i}", document_block(quoted(form), "*.md", commit=COMMIT))
    run = run_cli(repo, "validate", "taxonomy/knowledge/attack")
    assert run.code == 1 and "Traceback" not in run.output
    for i, _form in enumerate(FORBIDDEN):
        where = f"taxonomy/knowledge/attack/r{i}/qna.yaml:9:3: error [document-repo]"
        assert where in run.output
    assert SECRET not in run.output


def test_resolving_refuses_without_validation(repo: Path, secret_file: Path) -> None:
    (repo / "taxonomy/knowledge/attack").mkdir(parents=True)
    (repo / "taxonomy/knowledge/attack/token.md").symlink_to(secret_file)
    for i, form in enumerate(["..", str(secret_file.parent), f"file://{secret_file.parent}"]):
        folder = knowledge_leaf(repo, f"attack/r{i}", document_block(quoted(form), "*.md"))
        leaf = load_leaf(folder / "qna.yaml", repo / "taxonomy")
        with pytest.raises(UsageError, match="is not allowed") as info:
            load_documents(leaf, repo)
        assert SECRET not in str(info.value)


def test_local_mirrors_only_where_the_configuration_allows(repo: Path, tmp_path: Path) -> None:
    mirror = tmp_path / "mirrors" / "docs"
    mirror.mkdir(parents=True)
    (mirror / "a.md").write_text("mirrored\n", encoding="utf-8")
    folder = knowledge_leaf(repo, "mirror/a", document_block(str(mirror), "*.md"))
    leaf = load_leaf(folder / "qna.yaml", repo / "taxonomy")
    run = run_cli(repo, "validate", "taxonomy/knowledge/mirror")
    assert "[document-repo]" in run.output
    config = repo / "seedtree.yaml"
    config.write_text(
        config.read_text() + f"documents:\n  allowed_local: [{tmp_path / 'mirrors'}]\n"
    )
    assert [d.text for d in load_documents(leaf, repo)] == ["mirrored\n"]
    run = run_cli(repo, "validate", "--documents", "taxonomy/knowledge/mirror")
    assert "[document-repo]" not in run.output and "[documents]" not in run.output, run.output


def test_allowed_local_must_be_absolute(repo: Path) -> None:
    (repo / "seedtree.yaml").write_text("documents:\n  allowed_local: [mirrors]\n")
    run = run_cli(repo, "validate")
    assert run.code != 0 and "folders must be absolute paths" in run.output
    assert "Traceback" not in run.output
