"""Planning a retrain: hashes against the lineage, cached documents, skipped leaves.

Versions are recorded here as seedtree records them (a ``model/vN`` tag with the plan's lineage
and an artifacts folder); nothing is trained: the plan is what is under test.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import git
from retrain.support import commit, record_release
from seedtree.errors import UsageError
from seedtree.home import documents_dir
from seedtree.project import open_project
from seedtree.retrain import plan as planner
from seedtree.retrain.plan import make_plan
from seedtree.retrain.run import retrain
from seedtree.retrain.state import Options, Plan
from seedtree.taxonomy.changes import ChangedLeaves

BICYCLE = "knowledge/history/technology/bicycle"
REMOTE = "knowledge/testing/remote_notes"
SHARED = "knowledge/testing/shared_notes"
HAIKU = "compositional_skills/writing/poetry/haiku"


def knowledge_leaf(repo: Path, leaf: str, document: dict[str, Any]) -> None:
    """A valid knowledge leaf (the sample bicycle leaf) reading the given ``document``."""
    source = repo / "taxonomy" / BICYCLE
    data = yaml.safe_load((source / "qna.yaml").read_text(encoding="utf-8"))
    data["document"] = document
    folder = repo / "taxonomy" / leaf
    folder.mkdir(parents=True)
    (folder / "qna.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    shutil.copy2(source / "attribution.txt", folder / "attribution.txt")


def doc_repo(folder: Path, text: str) -> str:
    """A git repository of one Markdown document; returns its commit."""
    folder.mkdir()
    git(folder, "init", "-q", "-b", "main")
    (folder / "notes.md").write_text(text, encoding="utf-8")
    return commit(folder, "notes")


def plan_of(repo: Path) -> Plan:
    return make_plan(open_project(repo), Options(dry_run=True))


@pytest.fixture
def repo(make_repo: Callable[..., Path], tmp_path: Path) -> Path:
    """The sample taxonomy plus a leaf on a remote document repository and one on documents
    this repository keeps outside the taxonomy; v1 released on that commit."""
    repo = make_repo()
    # the document repositories of these tests are local folders: allow them as mirrors
    (repo / "seedtree.yaml").write_text(f"documents:\n  allowed_local: ['{tmp_path}']\n")
    sha = doc_repo(tmp_path / "remote-docs", "# Notes\n\nFirst version of the notes.\n")
    remote = {"repo": f"file://{tmp_path / 'remote-docs'}", "commit": sha, "patterns": ["*.md"]}
    knowledge_leaf(repo, REMOTE, remote)
    (repo / "docs").mkdir()
    (repo / "docs/notes.md").write_text("# Shared\n\nThe first text.\n", encoding="utf-8")
    knowledge_leaf(repo, SHARED, {"repo": ".", "patterns": ["docs/*.md"]})
    commit(repo, "two knowledge leaves")
    first = plan_of(repo)
    assert first.skipped == {} and REMOTE in first.generate and SHARED in first.generate
    record_release(repo, first)
    return repo


def test_a_document_edit_is_regenerated(repo: Path) -> None:
    # a new document matching the leaf's pattern; its qna.yaml is untouched
    (repo / "docs/more.md").write_text("# More\n\nAnother text.\n", encoding="utf-8")
    head = commit(repo, "another shared document")
    plan = plan_of(repo)
    assert plan.commit == head and plan.version == "v2"
    assert plan.generate == {SHARED: "modified"}
    assert REMOTE in plan.unchanged and HAIKU in plan.unchanged


def test_a_hash_that_differs_from_the_lineage_is_regenerated_whatever_git_says(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Change detection that misses an edit (simulated: it reports nothing at all) does not
    make retrain record the old training as the new content's."""
    (repo / "docs/notes.md").write_text("# Shared\n\nAn edited text.\n", encoding="utf-8")
    (repo / "README.md").write_text("unrelated\n", encoding="utf-8")
    commit(repo, "edit a document")

    def sees_nothing(repo_root: Path, taxonomy_root: Path, base: str) -> ChangedLeaves:
        return ChangedLeaves(base, None, ())

    monkeypatch.setattr(planner, "changed_leaves", sees_nothing)
    plan = plan_of(repo)
    assert plan.generate == {SHARED: "modified"}
    assert plan.leaves[SHARED] != plan_of_v1_hash(repo, SHARED)


def test_an_unchanged_taxonomy_plans_without_fetching(repo: Path, tmp_path: Path) -> None:
    # the document repository is gone, and so are the fetched copies: only digests remain
    shutil.rmtree(tmp_path / "remote-docs")
    for entry in documents_dir().iterdir():
        if entry.name != "digests":
            shutil.rmtree(entry)
    (repo / "README.md").write_text("unrelated\n", encoding="utf-8")
    commit(repo, "an unrelated change")
    plan = plan_of(repo)
    assert plan.generate == {} and plan.skipped == {} and REMOTE in plan.unchanged
    assert sorted(p.name for p in documents_dir().iterdir()) == ["digests"]


def _dead_remote_with_cold_cache(repo: Path, tmp_path: Path) -> None:
    shutil.rmtree(tmp_path / "remote-docs")
    shutil.rmtree(documents_dir())  # a new runner: nothing cached
    haiku = repo / "taxonomy" / HAIKU / "qna.yaml"
    haiku.write_text(haiku.read_text().replace("haiku", "haiku poem", 1), encoding="utf-8")
    commit(repo, "edit the haiku leaf")


def test_a_dead_document_repository_skips_its_leaf_only(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v1_hash = plan_of(repo).leaves[REMOTE]
    _dead_remote_with_cold_cache(repo, tmp_path)
    plan = plan_of(repo)
    assert plan.generate == {HAIKU: "modified"}
    assert list(plan.skipped) == [REMOTE]
    assert "documents unavailable" in plan.skipped[REMOTE]
    assert "remote-docs" in plan.skipped[REMOTE]
    # it keeps what v1 was trained on: data carried over, hash recorded as v1's
    assert plan.leaves[REMOTE] == v1_hash and REMOTE in plan.carried
    assert retrain(open_project(repo), Options(dry_run=True)) == 0
    out = capsys.readouterr().out
    assert "1 skipped" in out and f"skip      {REMOTE}: documents unavailable" in out


def test_strict_documents_restores_the_old_failure(repo: Path, tmp_path: Path) -> None:
    _dead_remote_with_cold_cache(repo, tmp_path)
    (repo / "seedtree.yaml").write_text("retrain:\n  strict_documents: true\n", encoding="utf-8")
    commit(repo, "strict documents")
    with pytest.raises(UsageError, match="cannot resolve `document`"):
        plan_of(repo)


def test_a_new_leaf_with_dead_documents_is_not_recorded(repo: Path, tmp_path: Path) -> None:
    sha = "1" * 40
    dead = {"repo": f"file://{tmp_path / 'never-there'}", "commit": sha, "patterns": ["*.md"]}
    knowledge_leaf(repo, "knowledge/testing/dead_notes", dead)
    commit(repo, "a leaf on a repository that does not exist")
    plan = plan_of(repo)
    assert list(plan.skipped) == ["knowledge/testing/dead_notes"]
    assert "knowledge/testing/dead_notes" not in plan.leaves
    assert plan.empty


def test_an_invalid_leaf_is_not_trained(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    haiku = repo / "taxonomy" / HAIKU / "qna.yaml"
    data = yaml.safe_load(haiku.read_text(encoding="utf-8"))
    data["seed_examples"] = data["seed_examples"][:1]  # the schema asks for more
    haiku.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    commit(repo, "an invalid haiku leaf")
    plan = plan_of(repo)
    assert plan.generate == {}
    why = plan.skipped[HAIKU]
    assert why.startswith("invalid: ") and f"{HAIKU}/qna.yaml:" in why
    assert plan.leaves[HAIKU] == plan_of_v1_hash(repo, HAIKU)
    assert retrain(open_project(repo), Options(dry_run=True)) == 0
    assert f"skip      {HAIKU}: invalid: " in capsys.readouterr().out


def plan_of_v1_hash(repo: Path, leaf: str) -> str:
    from seedtree.versions.tags import current_release

    current = current_release(repo)
    assert current is not None
    return current.lineage.leaves[leaf]
