"""Change detection in real git repositories: every kind of change, bases, shallow clones."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from diffutil import commit_all, knowledge_data, write_leaf

from helpers import git
from seedtree.cli import run
from seedtree.errors import GitError, UsageError
from seedtree.taxonomy.changes import ChangedLeaf, ChangedLeaves, changed_leaves, subtrees
from seedtree.taxonomy.leaves import iter_qna_files

HAIKU = "compositional_skills/writing/poetry/haiku"
BICYCLE = "knowledge/history/technology/bicycle"


@pytest.fixture
def repo(make_repo: Callable[..., Path]) -> Path:
    """The sample taxonomy committed on main, with a feature branch checked out."""
    path = make_repo()
    git(path, "checkout", "-q", "-b", "feature")
    return path


def changes(repo: Path, base: str | None = None, **kwargs: bool) -> ChangedLeaves:
    return changed_leaves(repo, repo / "taxonomy", base, **kwargs)


def by_id(changed: ChangedLeaves) -> dict[str, ChangedLeaf]:
    return {leaf.id: leaf for leaf in changed.leaves}


def edit(path: Path, old: str = "", new: str = " (edited)") -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(old, new, 1) if old else text + f"# {new}\n", encoding="utf-8")


def test_nothing_changed_names_the_base(repo: Path) -> None:
    changed = changes(repo)
    assert changed.leaves == ()
    assert changed.base_ref == "main"
    assert changed.base_commit == git(repo, "rev-parse", "main").strip()


def test_committed_staged_unstaged_and_untracked_changes(repo: Path) -> None:
    tax = repo / "taxonomy"
    edit(tax / HAIKU / "qna.yaml")
    commit_all(repo)
    edit(tax / "compositional_skills/math/unit_conversion/qna.yaml")
    git(repo, "add", "taxonomy/compositional_skills/math/unit_conversion/qna.yaml")
    edit(tax / "compositional_skills/grounded/summarize_meeting_notes/qna.yaml")
    shutil.copytree(tax / HAIKU, tax / "compositional_skills/writing/poetry/limerick")
    found = by_id(changes(repo))
    assert {k: v.kind for k, v in found.items()} == {
        HAIKU: "modified",
        "compositional_skills/math/unit_conversion": "modified",
        "compositional_skills/grounded/summarize_meeting_notes": "modified",
        "compositional_skills/writing/poetry/limerick": "added",
    }
    assert found[HAIKU].files == (f"taxonomy/{HAIKU}/qna.yaml",)
    assert "taxonomy/compositional_skills/writing/poetry/limerick/attribution.txt" in (
        found["compositional_skills/writing/poetry/limerick"].files
    )


def test_real_index_is_left_alone(repo: Path) -> None:
    shutil.copytree(repo / "taxonomy" / HAIKU, repo / "taxonomy/compositional_skills/new_leaf")
    before = git(repo, "status", "--porcelain")
    assert changes(repo).leaves
    assert git(repo, "status", "--porcelain") == before
    assert "??" in before


def test_deleted_leaf(repo: Path) -> None:
    git(repo, "rm", "-q", "-r", f"taxonomy/{HAIKU}")
    commit_all(repo)
    (leaf,) = changes(repo).leaves
    assert (leaf.id, leaf.kind) == (HAIKU, "deleted")
    assert f"taxonomy/{HAIKU}/qna.yaml" in leaf.files


@pytest.mark.parametrize("committed", [True, False])
def test_renamed_leaf_folder(repo: Path, committed: bool) -> None:
    new = "compositional_skills/writing/poetry/haiku_poems"
    if committed:
        git(repo, "mv", f"taxonomy/{HAIKU}", f"taxonomy/{new}")
        commit_all(repo)
    else:  # moved on disk only: untracked new folder, deleted old one
        shutil.move(repo / "taxonomy" / HAIKU, repo / "taxonomy" / new)
    (leaf,) = changes(repo).leaves
    assert (leaf.id, leaf.kind, leaf.renamed_from) == (new, "renamed", HAIKU)


def test_attribution_change_alone_modifies_the_leaf(repo: Path) -> None:
    edit(repo / "taxonomy" / HAIKU / "attribution.txt", new="Revision: 2")
    (leaf,) = changes(repo).leaves
    assert (leaf.id, leaf.kind, leaf.files) == (
        HAIKU,
        "modified",
        (f"taxonomy/{HAIKU}/attribution.txt",),
    )


def test_in_repo_document_change_modifies_its_leaf(repo: Path) -> None:
    edit(repo / "taxonomy" / BICYCLE / "bicycle_history.md", new="A new paragraph.")
    (leaf,) = changes(repo).leaves
    assert (leaf.id, leaf.kind) == (BICYCLE, "modified")
    assert leaf.files == (f"taxonomy/{BICYCLE}/bicycle_history.md",)


def test_document_outside_the_taxonomy_maps_through_patterns(repo: Path) -> None:
    (repo / "docs").mkdir()
    (repo / "docs/notes.md").write_text("# Notes\n\nFirst.\n", encoding="utf-8")
    (repo / "docs/other.md").write_text("# Other\n", encoding="utf-8")
    leaf = repo / "taxonomy/knowledge/testing/notes"
    write_leaf(leaf, knowledge_data({"repo": ".", "patterns": ["docs/n*.md"]}))
    commit_all(repo)
    git(repo, "branch", "-f", "main")  # the new leaf is part of the base now
    (repo / "docs/other.md").write_text("# Other, edited\n", encoding="utf-8")
    assert changes(repo).leaves == ()
    (repo / "docs/notes.md").write_text("# Notes\n\nSecond.\n", encoding="utf-8")
    (found,) = changes(repo).leaves
    assert (found.id, found.files) == ("knowledge/testing/notes", ("docs/notes.md",))


@pytest.mark.parametrize(
    "block",
    [
        "document: {repo: ., patterns: [docs/notes.md]}\n",
        "document:\n  repo: .   # this repository\n  patterns: [docs/notes.md]\n",
        "document:\n  repo: ./\n  patterns:\n    - docs/notes.md\n",
        "document:\n  patterns: ['docs/notes.md']\n  repo: \".\"\n",
    ],
    ids=["flow", "comment", "dot-slash", "quoted-after-patterns"],
)
def test_document_in_any_yaml_style_is_seen(repo: Path, block: str) -> None:
    (repo / "docs").mkdir()
    (repo / "docs/notes.md").write_text("# Notes\n", encoding="utf-8")
    qna = write_leaf(repo / "taxonomy/knowledge/testing/notes", knowledge_data({"repo": "x"}))
    text = qna.read_text(encoding="utf-8")
    start = text.index("document:")
    qna.write_text(text[:start] + block, encoding="utf-8")  # document is the last key
    commit_all(repo)
    git(repo, "branch", "-f", "main")
    (repo / "docs/notes.md").write_text("# Notes, edited\n", encoding="utf-8")
    (found,) = changes(repo).leaves
    assert (found.id, found.files) == ("knowledge/testing/notes", ("docs/notes.md",))


def test_changes_on_the_base_after_branching_are_not_ours(repo: Path) -> None:
    edit(repo / "taxonomy" / HAIKU / "qna.yaml")
    commit_all(repo, "feature edit")
    git(repo, "checkout", "-q", "main")
    edit(repo / "taxonomy" / BICYCLE / "qna.yaml")
    commit_all(repo, "main moves on")
    git(repo, "checkout", "-q", "feature")
    changed = changes(repo)
    assert [leaf.id for leaf in changed.leaves] == [HAIKU]
    assert changed.base_commit == git(repo, "merge-base", "main", "HEAD").strip()


def test_tag_base_that_is_an_ancestor(repo: Path) -> None:
    edit(repo / "taxonomy" / HAIKU / "qna.yaml")
    tagged = commit_all(repo)
    git(repo, "tag", "model/v1")
    edit(repo / "taxonomy" / BICYCLE / "qna.yaml")
    commit_all(repo)
    changed = changes(repo, "model/v1")
    assert (changed.base_ref, changed.base_commit) == ("model/v1", tagged)
    assert [leaf.id for leaf in changed.leaves] == [BICYCLE]


def test_empty_base_lists_every_leaf(repo: Path) -> None:
    changed = changes(repo, "empty")
    expected = sorted(
        p.parent.relative_to(repo / "taxonomy").as_posix()
        for p in iter_qna_files(repo / "taxonomy")
    )
    assert [leaf.id for leaf in changed.leaves] == expected
    assert {leaf.kind for leaf in changed.leaves} == {"added"}
    assert changed.base_commit is None
    assert subtrees(changed) == expected


def test_origin_main_is_preferred(repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", f"file://{repo}", str(clone))
    git(clone, "checkout", "-q", "-b", "topic")
    edit(clone / "taxonomy" / HAIKU / "qna.yaml")
    changed = changes(clone)
    assert changed.base_ref == "origin/main"
    assert [leaf.id for leaf in changed.leaves] == [HAIKU]


def test_subtrees_leave_out_deleted_leaves(repo: Path) -> None:
    git(repo, "rm", "-q", "-r", f"taxonomy/{HAIKU}")
    edit(repo / "taxonomy" / BICYCLE / "qna.yaml")
    changed = changes(repo)
    assert [leaf.kind for leaf in changed.leaves] == ["deleted", "modified"]
    assert subtrees(changed) == [BICYCLE]


def test_output_is_sorted_and_stable(repo: Path) -> None:
    for leaf in ("knowledge/z_last", "compositional_skills/a_first", "foundational_skills/m"):
        shutil.copytree(repo / "taxonomy" / HAIKU, repo / "taxonomy" / leaf)
    first, second = changes(repo), changes(repo)
    assert first == second
    assert [leaf.id for leaf in first.leaves] == sorted(leaf.id for leaf in first.leaves)


def _shallow_clone(repo: Path, tmp_path: Path) -> Path:
    """main and a feature branch two commits apart, cloned with depth 1."""
    edit(repo / "taxonomy" / HAIKU / "qna.yaml")
    commit_all(repo)
    git(repo, "checkout", "-q", "main")
    edit(repo / "taxonomy" / BICYCLE / "qna.yaml")
    commit_all(repo)
    git(repo, "checkout", "-q", "feature")
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth=1", "--no-single-branch", f"file://{repo}", str(clone))
    return clone


def test_shallow_clone_says_what_to_do(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clone = _shallow_clone(repo, tmp_path)
    with pytest.raises(GitError) as info:
        changes(clone)
    assert "fetch-depth: 0" in str(info.value)
    assert run(["diff", "-C", str(clone)]) == 3
    err = capsys.readouterr().err
    assert "fetch-depth: 0" in err and "Traceback" not in err


def test_shallow_clone_deepened_when_allowed(repo: Path, tmp_path: Path) -> None:
    clone = _shallow_clone(repo, tmp_path)
    changed = changes(clone, deepen=True)
    assert [leaf.id for leaf in changed.leaves] == [HAIKU]
    assert changed.base_ref == "origin/main"


def test_unknown_base_and_no_git(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--base nope"):
        changes(repo, "nope")
    plain = tmp_path / "plain"
    shutil.copytree(repo / "taxonomy", plain / "taxonomy")
    with pytest.raises(GitError, match="not inside a git repository"):
        changes(plain)


def test_repository_without_commits(tmp_path: Path) -> None:
    repo = tmp_path / "fresh"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write_leaf(repo / "taxonomy/compositional_skills/a", {"version": 3, "seed_examples": []})
    with pytest.raises(GitError, match="pass --base"):
        changes(repo)
    assert [leaf.id for leaf in changes(repo, "empty").leaves] == ["compositional_skills/a"]


def test_cli_json_for_workflows(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git(repo, "mv", f"taxonomy/{HAIKU}", "taxonomy/compositional_skills/writing/poetry/senryu")
    edit(repo / "taxonomy" / BICYCLE / "attribution.txt", new="Revision: 2")
    assert run(["diff", "-C", str(repo), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["format"] == 1 and data["base_ref"] == "main"
    assert [(x["id"], x["kind"], x["renamed_from"]) for x in data["leaves"]] == [
        ("compositional_skills/writing/poetry/senryu", "renamed", HAIKU),
        (BICYCLE, "modified", None),
    ]
    assert data["subtrees"] == [x["id"] for x in data["leaves"]]


def test_cli_text(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git(repo, "rm", "-q", "-r", f"taxonomy/{HAIKU}")
    assert run(["diff", "-C", str(repo)]) == 0
    out = capsys.readouterr().out
    assert "comparing with main (" in out
    assert f"{HAIKU}: deleted" in out and "1 changed leaf" in out


def test_taxonomy_repository_inside_a_larger_git_repository(tmp_path: Path) -> None:
    top = tmp_path / "mono"
    sub = top / "ml" / "tax"
    (sub / "docs").mkdir(parents=True)
    (sub / "seedtree.yaml").write_text("taxonomy_dir: taxonomy\n", encoding="utf-8")
    (sub / "docs/a.md").write_text("a\n", encoding="utf-8")
    write_leaf(sub / "taxonomy/knowledge/k", knowledge_data({"repo": ".", "patterns": ["docs/*"]}))
    git(top, "init", "-q", "-b", "main")
    commit_all(top)
    (sub / "docs/a.md").write_text("b\n", encoding="utf-8")
    write_leaf(sub / "taxonomy/compositional_skills/s", {"version": 3})
    changed = changed_leaves(sub, sub / "taxonomy", None)
    assert [(leaf.id, leaf.kind, leaf.files) for leaf in changed.leaves] == [
        (
            "compositional_skills/s",
            "added",
            (
                "taxonomy/compositional_skills/s/attribution.txt",
                "taxonomy/compositional_skills/s/qna.yaml",
            ),
        ),
        ("knowledge/k", "modified", ("docs/a.md",)),
    ]


def test_taxonomy_at_the_repository_root_and_all_of_it_removed(repo: Path) -> None:
    for part in ("knowledge", "compositional_skills"):
        git(repo, "mv", f"taxonomy/{part}", part)
    commit_all(repo)
    git(repo, "branch", "-f", "main")
    edit(repo / HAIKU / "qna.yaml")
    (leaf,) = changed_leaves(repo, repo, None).leaves
    assert (leaf.id, leaf.kind) == (HAIKU, "modified")
    shutil.rmtree(repo / "taxonomy")
    shutil.rmtree(repo / "knowledge")
    kinds = {leaf.kind for leaf in changed_leaves(repo, repo, None).leaves}
    assert kinds == {"deleted", "modified"}


def test_deepen_fetches_a_base_the_shallow_clone_lacks(repo: Path, tmp_path: Path) -> None:
    clone = _shallow_clone(repo, tmp_path)
    git(clone, "update-ref", "-d", "refs/remotes/origin/main")
    with pytest.raises(GitError, match="neither origin/main nor main"):
        changes(clone)
    changed = changes(clone, deepen=True)
    assert (changed.base_ref, [leaf.id for leaf in changed.leaves]) == ("origin/main", [HAIKU])
