"""Restoring released versions from the artifact store: by hand, on rollback, on a new machine.

The new machine is a clone of the taxonomy repository (tags come with it) and an empty
``$SEEDTREE_HOME``: retrain restores the current version and trains the next one from it, and
chat restores the version it is asked for.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from helpers import git
from retrain.scripted import factory
from retrain.support import LEAVES, commit, edit_task
from retrain.test_release import _fake_model, _lineage
from seedtree.cli import run
from seedtree.git import repository_id
from seedtree.home import RepoHome
from seedtree.project import open_project
from seedtree.retrain.run import retrain
from seedtree.retrain.state import Options
from seedtree.versions.artifacts import push_release
from seedtree.versions.store import open_store, read_manifest
from seedtree.versions.tags import releases, tag_release


def _use_store(repo: Path, url: str) -> None:
    path = repo / "seedtree.yaml"
    settings = yaml.safe_load(path.read_text()) if path.is_file() else {}
    path.write_text(yaml.safe_dump({**(settings or {}), "store": url}, sort_keys=False))


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


@pytest.fixture
def stored_versions(make_repo: Callable[..., Path], store_url: str) -> Path:
    """v1 and v2 tagged, their (small) artifacts in the store and no longer on this machine."""
    repo = make_repo()
    _use_store(repo, store_url)
    head = git(repo, "rev-parse", "HEAD").strip()
    for version, previous in (("v1", None), ("v2", "v1")):
        tag_release(repo, _lineage(version, head, previous, {"a": "1", "b": "2"}))
        _fake_model(repo, version)
        (RepoHome.of(repo).version(version) / "report.md").write_text(f"report of {version}\n")
        push_release(repo, store_url, version, head)
        (RepoHome.of(repo).version(version) / "model" / "config.json").unlink()
        (RepoHome.of(repo).version(version) / "report.md").unlink()
    return repo


def test_pull_rollback_and_promote_restore_from_the_store(
    stored_versions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = stored_versions
    assert run(["models", "pull", "v2", "-C", str(repo)]) == 0
    assert "pulled v2: 2 files" in capsys.readouterr().out
    assert (RepoHome.of(repo).version("v2") / "report.md").read_text() == "report of v2\n"
    assert run(["models", "pull", "v2", "-C", str(repo)]) == 0
    assert "already on this machine" in capsys.readouterr().out
    assert run(["models", "rollback", "--reason", "bad", "-C", str(repo)]) == 0
    assert "v1: not on this machine, restoring it" in capsys.readouterr().err
    assert (RepoHome.of(repo).version("v1") / "model" / "config.json").read_text() == "{}"


def test_without_a_store_or_a_stored_version_the_error_says_what_to_do(
    stored_versions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = stored_versions
    settings = yaml.safe_load((repo / "seedtree.yaml").read_text())
    _use_store(repo, str(repo.parent / "empty-store"))
    assert run(["models", "promote", "v1", "-C", str(repo)]) == 2
    err = capsys.readouterr().err
    assert "v1: not on this machine" in err and "nor in the store" in err
    (repo / "seedtree.yaml").write_text(yaml.safe_dump({**settings, "store": None}))
    assert run(["models", "pull", "v1", "-C", str(repo)]) == 2
    err = capsys.readouterr().err
    assert "no artifact store is configured" in err and "set `store:` in seedtree.yaml" in err
    assert "Traceback" not in err


@pytest.fixture
def retrain_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The S3 server when boto3 and moto are installed, else a folder (one backend: it trains).

    Both backends' uploads, kills and restores are tested in test_store.py."""
    if importlib.util.find_spec("boto3") and importlib.util.find_spec("moto"):
        return str(request.getfixturevalue("s3_store_url"))
    return str(tmp_path / "artifact-store")


# trains two tiny versions (about two minutes on 2 cores)
@pytest.mark.slow
def test_a_new_machine_restores_and_retrains(
    skills_repo: Path,
    retrain_store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store_url = retrain_store_url
    _use_store(skills_repo, store_url)
    commit(skills_repo, "store")
    assert retrain(open_project(skills_repo), Options(quiet=True), teacher_factory=factory) == 0
    [v1] = releases(skills_repo)
    manifest = read_manifest(open_store(store_url), repository_id(skills_repo), "v1")
    assert manifest is not None and manifest.commit == v1.commit
    names = set(manifest.files)
    for expected in ("model/README.md", "model/config.json", "lineage.json", "report.md"):
        assert expected in names
    for folder in ("data/", "heldout/", "replay/", "train/", "plots/", "cache/"):
        assert any(n.startswith(folder) for n in names), folder
    original = _tree(RepoHome.of(skills_repo).version("v1"))

    # a rebuilt machine: a fresh clone (tags included) and an empty $SEEDTREE_HOME
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(skills_repo), str(clone))
    monkeypatch.setenv("SEEDTREE_HOME", str(tmp_path / "new-home"))
    edit_task(clone, sorted(LEAVES)[1], "Give the result with two decimals.")
    commit(clone, "edit a leaf")
    capsys.readouterr()
    assert retrain(open_project(clone), Options(quiet=True), teacher_factory=factory) == 0
    assert "v1: not on this machine, restoring it from the store" in capsys.readouterr().err
    assert _tree(RepoHome.of(clone).version("v1")) == original
    assert (RepoHome.of(clone).answers).is_file()  # the generation cache came back too
    v2 = releases(clone)[-1]
    assert (v2.version, v2.lineage.previous) == ("v2", "v1")
    assert read_manifest(open_store(store_url), repository_id(clone), "v2") is not None

    # chat brings back a version whose local copy is gone
    (RepoHome.of(clone).version("v2") / "model" / "config.json").unlink()
    prompt = ["chat", "--model", "v2", "--prompt", "Hi", "--max-tokens", "4", "-C", str(clone)]
    assert run(prompt) == 0
    chat = capsys.readouterr()
    assert "v2: not on this machine, restoring it" in chat.err
    assert "restoring" not in chat.out  # stdout holds the answer alone
