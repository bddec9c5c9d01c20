"""A job that ran before on the GPU runner poisoned ``$SEEDTREE_HOME``: forged weights, a planted
file, a forged ``lineage.json``, a folder and a journal claiming a release that never happened,
a journal with another plan. The real retrain planning finds each, sets it aside (renamed, kept
for inspection) and uses what the tags and the artifact store record."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers import git
from seedtree.errors import UsageError
from seedtree.home import RepoHome
from seedtree.project import open_project
from seedtree.retrain.journal import Journal
from seedtree.retrain.leftovers import restore_tags
from seedtree.retrain.plan import make_plan
from seedtree.retrain.run import plan_run
from seedtree.retrain.state import Options
from seedtree.versions.artifacts import artifact_hashes, push_release
from seedtree.versions.lineage import GateDecision, Lineage, now
from seedtree.versions.tags import releases, tag_release

WEIGHTS = b"the weights v1 was released with"
GATE = GateDecision(
    passed=True, reasons=(), learned={}, forgotten={}, min_learning=0.0, max_forgetting=1.0
)


def _lineage(repo: Path, version: str) -> Lineage:
    plan = make_plan(open_project(repo), Options(dry_run=True))
    lineage = plan.lineage(
        data_hash="0" * 64, recipe_hash="0" * 64, metrics={}, gate=GATE, created_at=now()
    )
    return lineage.model_copy(update={"version": version})


def _fill(folder: Path, lineage: Lineage) -> Lineage:
    (folder / "model").mkdir(parents=True)
    (folder / "model" / "config.json").write_text("{}", encoding="utf-8")
    (folder / "model" / "model.safetensors").write_bytes(WEIGHTS)
    lineage = lineage.model_copy(update={"files": artifact_hashes(folder)})
    (folder / "lineage.json").write_text(json.dumps(lineage.model_dump(mode="json")))
    return lineage


@pytest.fixture
def released(make_repo: Callable[..., Path], tmp_path: Path) -> Path:
    """v1 released the way retrain releases it: artifacts, uploaded to the store, then tagged."""
    repo = make_repo()
    store = tmp_path / "store"
    (repo / "seedtree.yaml").write_text(f"store: {store}\n", encoding="utf-8")
    lineage = _fill(RepoHome.of(repo).version("v1"), _lineage(repo, "v1"))
    push_release(repo, str(store), "v1", lineage.commit)
    tag_release(repo, lineage)
    return repo


def _start_weights(repo: Path) -> bytes:
    plan = make_plan(open_project(repo), Options())  # the real planning of `seedtree retrain`
    return (Path(plan.start_model) / "model.safetensors").read_bytes()


def _aside(repo: Path) -> Path:
    [folder] = RepoHome.of(repo).version("v1").parent.glob("v1.stale-*")
    return folder


def test_forged_weights_are_set_aside_and_restored_from_the_store(released: Path) -> None:
    model = RepoHome.of(released).version("v1") / "model" / "model.safetensors"
    model.write_bytes(b"weights a stranger trained")
    assert _start_weights(released) == WEIGHTS
    assert (_aside(released) / "model" / "model.safetensors").read_bytes().startswith(b"weights a")


def test_a_planted_file_in_the_model_folder_is_set_aside(released: Path) -> None:
    (RepoHome.of(released).version("v1") / "model" / "modeling_evil.py").write_text("import os\n")
    assert _start_weights(released) == WEIGHTS
    assert not (RepoHome.of(released).version("v1") / "model" / "modeling_evil.py").exists()
    assert (_aside(released) / "model" / "modeling_evil.py").is_file()


def test_a_forged_lineage_file_is_set_aside(released: Path) -> None:
    path = RepoHome.of(released).version("v1") / "lineage.json"
    forged = json.loads(path.read_text())
    forged["leaves"] = {leaf: "f" * 64 for leaf in forged["leaves"]}
    path.write_text(json.dumps(forged))
    assert _start_weights(released) == WEIGHTS
    assert json.loads((RepoHome.of(released).version("v1") / "lineage.json").read_text()) != forged
    assert json.loads((_aside(released) / "lineage.json").read_text()) == forged


def test_without_a_store_forged_weights_stop_the_run(released: Path) -> None:
    (released / "seedtree.yaml").write_text("{}\n", encoding="utf-8")
    (RepoHome.of(released).version("v1") / "model" / "model.safetensors").write_bytes(b"forged")
    with pytest.raises(UsageError, match="not on this machine"):
        make_plan(open_project(released), Options())
    assert (_aside(released) / "model" / "model.safetensors").read_bytes() == b"forged"


def _claim(repo: Path, lineage: Lineage) -> None:
    """What a stranger plants to get a tag pushed: a folder and a journal saying it was tagged."""
    _fill(RepoHome.of(repo).version(lineage.version), lineage)
    journal = Journal(
        RepoHome.of(open_project(repo).repo_root).retrain / f"{lineage.commit[:12]}-x/journal.json",
        "f",
    )
    tag = f"model/{lineage.version}"
    journal.record("tag", {"tag": tag, "commit": lineage.commit})


def test_a_planted_release_never_becomes_a_tag(
    released: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forged = _lineage(released, "v2")
    _claim(released, forged)
    store = open_project(released).config.store
    assert (
        restore_tags(released, RepoHome.of(open_project(released).repo_root).retrain, store) == []
    )
    assert [r.version for r in releases(released)] == ["v1"]
    assert "does not hold" in capsys.readouterr().err


def test_a_pruned_tag_whose_lineage_was_forged_is_not_written_again(released: Path) -> None:
    git(released, "tag", "-d", "model/v1")  # what the next checkout's prune does
    path = RepoHome.of(released).version("v1") / "lineage.json"
    forged = json.loads(path.read_text())
    forged["gate"]["passed"] = False
    forged["leaves"] = {}
    path.write_text(json.dumps(forged))
    project = open_project(released)
    assert (
        restore_tags(released, RepoHome.of(project.repo_root).retrain, project.config.store) == []
    )
    assert releases(released) == []


def test_a_journal_with_another_plan_is_set_aside(released: Path) -> None:
    project = open_project(released)
    work = RepoHome.of(project.repo_root).retrain / "run"
    journal = Journal(work / "journal.json", "fp")
    journal.record("plan", {"version": "v9", "generate": {"planted": "added"}})
    journal.record("gate", {"passed": True})
    journal, plan = plan_run(project, Options(), work, "fp")
    assert plan.version == "v2" and not journal.done("gate")
    [aside] = work.parent.glob("run.stale-*")
    assert json.loads((aside / "journal.json").read_text())["steps"][0]["result"]["version"] == "v9"
