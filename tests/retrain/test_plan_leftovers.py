"""What interrupted runs leave behind: a tag released but never pushed (pruned by the next
checkout) is written again; a complete but untagged artifacts folder of another commit is set
aside instead of being released under the new commit's tag."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpers import git
from retrain.scripted import ScriptedTeacher
from retrain.support import commit, edit_task, record_release
from seedtree.home import RepoHome
from seedtree.project import open_project
from seedtree.retrain import steps
from seedtree.retrain.journal import Journal
from seedtree.retrain.leftovers import check_reused, restore_tags
from seedtree.retrain.plan import make_plan
from seedtree.retrain.run import retrain
from seedtree.retrain.state import Options
from seedtree.versions.artifacts import push_release
from seedtree.versions.tags import current_release, releases


def _released(repo: Path) -> dict[str, str]:
    lineage = record_release(repo, make_plan(open_project(repo), Options(dry_run=True)))
    return {"version": lineage.version, "commit": lineage.commit}


def _journal_tag(repo: Path, version: str, sha: str) -> None:
    """What the tag step of the run that released ``version`` recorded in its journal."""
    journal = Journal(
        RepoHome.of(open_project(repo).repo_root).retrain / f"{sha[:12]}-0123456789/journal.json",
        "f",
    )
    journal.record("tag", {"tag": f"model/{version}", "commit": sha})


def test_a_pruned_release_tag_is_written_again(
    make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo()
    v1 = _released(repo)
    before = releases(repo)
    _journal_tag(repo, "v1", v1["commit"])
    # the store holds the release (uploaded before its tag was written): the tag is restored
    store = repo.parent / "store"
    (repo / "seedtree.yaml").write_text(f"store: {store}\n", encoding="utf-8")
    push_release(repo, str(store), "v1", v1["commit"])
    git(repo, "tag", "-d", "model/v1")  # what `git fetch --prune --prune-tags` does to it
    assert releases(repo) == []
    # `seedtree retrain` restores it first; HEAD is then released: nothing else to do
    assert retrain(open_project(repo), Options(quiet=True)) == 0
    out = capsys.readouterr().out
    assert f"restored model/v1 on {v1['commit'][:12]}" in out and "nothing to do" in out
    assert releases(repo) == before


def test_an_untagged_folder_of_a_killed_run_is_not_restored(
    make_repo: Callable[..., Path],
) -> None:
    repo = make_repo()
    _released(repo)
    git(repo, "tag", "-d", "model/v1")  # no journal says it was ever tagged
    assert restore_tags(repo, RepoHome.of(open_project(repo).repo_root).retrain) == []
    assert releases(repo) == []


def test_a_reused_folder_must_be_this_plans(make_repo: Callable[..., Path]) -> None:
    repo = make_repo()
    v1 = _released(repo)
    folder = RepoHome.of(repo).version("v1")
    lineage = json.loads((folder / "lineage.json").read_text())
    same = {**v1, "data_hash": lineage["data_hash"], "recipe_hash": lineage["recipe_hash"]}
    assert check_reused(folder, same) is None and folder.is_dir()
    aside = check_reused(folder, {**same, "data_hash": "1" * 64})
    assert aside is not None and aside.name.startswith("v1.stale-") and not folder.exists()
    assert json.loads((aside / "lineage.json").read_text()) == lineage


class _Killed(Exception):
    """The run stops between writing its artifacts and tagging them."""


def _kill_at_tag(*_args: Any) -> Any:
    raise _Killed


@pytest.mark.slow  # two retrains of a tiny model
@pytest.mark.timeout(1500)  # a busy machine with two cores
def test_killed_then_resumed_on_a_new_commit(
    skills_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def run() -> int:
        options = Options(quiet=True)
        return retrain(open_project(skills_repo), options, lambda _c: ScriptedTeacher())

    killed = str(git(skills_repo, "rev-parse", "HEAD")).strip()
    with monkeypatch.context() as patch:
        patch.setattr(steps, "tag_release", _kill_at_tag)
        with pytest.raises(_Killed):
            run()
    left = json.loads((RepoHome.of(skills_repo).version("v1") / "lineage.json").read_text())
    assert left["commit"] == killed and releases(skills_repo) == []
    edit_task(skills_repo, "compositional_skills/writing/poetry/haiku", "Seasons matter.")
    head = commit(skills_repo, "edit haiku")
    assert run() == 0
    current = current_release(skills_repo)
    assert current is not None and (current.version, current.commit) == ("v1", head)
    released = json.loads((RepoHome.of(skills_repo).version("v1") / "lineage.json").read_text())
    assert released == current.lineage.model_dump(mode="json")
    assert released["data_hash"] != left["data_hash"]  # the haiku leaf's data is new
    [stale] = (RepoHome.of(skills_repo).versions).glob("v1.stale-*")
    assert json.loads((stale / "lineage.json").read_text()) == left
