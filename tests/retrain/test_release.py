"""Model versions as git tags: lineage round trip, current pointer, history, promote, rollback."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers import git
from seedtree.cli import run
from seedtree.errors import UsageError
from seedtree.home import RepoHome
from seedtree.versions.lineage import GateDecision, Lineage
from seedtree.versions.tags import current_release, pointer_moves, releases, tag_release


def _lineage(version: str, commit: str, previous: str | None, leaves: dict[str, str]) -> Lineage:
    gate = GateDecision(
        passed=True,
        reasons=(),
        learned={"a": 0.2},
        forgotten={},
        min_learning=0.01,
        max_forgetting=0.05,
    )
    return Lineage(
        version=version,
        commit=commit,
        previous=previous,
        base_model="default",
        leaves=leaves,
        trained=leaves if previous is None else {"b": leaves["b"]},
        removed=(),
        renamed={},
        data_hash="d" * 64,
        recipe_hash="r" * 16,
        metrics={"mean_learning": 0.2},
        gate=gate,
        created_at="2026-01-01T00:00:00+00:00",
    )


def _fake_model(repo: Path, version: str) -> None:
    folder = RepoHome.of(repo).version(version) / "model"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")


@pytest.fixture
def two_versions(make_repo: Callable[..., Path]) -> Path:
    repo = make_repo()
    first = git(repo, "rev-parse", "HEAD").strip()
    tag_release(repo, _lineage("v1", first, None, {"a": "1"}))
    (repo / "note.txt").write_text("x")
    git(repo, "add", "note.txt")
    git(repo, "commit", "-q", "-m", "second")
    second = git(repo, "rev-parse", "HEAD").strip()
    tag_release(repo, _lineage("v2", second, "v1", {"a": "1", "b": "2"}))
    for version in ("v1", "v2"):
        _fake_model(repo, version)
    return repo


def test_lineage_round_trips_through_annotated_tags(two_versions: Path) -> None:
    found = releases(two_versions)
    assert [r.version for r in found] == ["v1", "v2"]
    assert found[1].lineage.previous == "v1"
    assert found[1].commit == git(two_versions, "rev-parse", "HEAD").strip()
    kind = git(two_versions, "cat-file", "-t", "model/v2").strip()
    assert kind == "tag"  # annotated, not lightweight
    message = git(two_versions, "tag", "-l", "--format=%(contents)", "model/v2")
    assert json.loads(message)["leaves"] == {"a": "1", "b": "2"}


def test_tagging_again_is_idempotent_and_conflicts_are_refused(two_versions: Path) -> None:
    again = releases(two_versions)[1].lineage
    assert tag_release(two_versions, again).number == 2
    changed = again.model_copy(update={"data_hash": "e" * 64})
    with pytest.raises(UsageError, match="already exists"):
        tag_release(two_versions, changed)


def test_newest_release_is_current_until_a_rollback(
    two_versions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    current = current_release(two_versions)
    assert current is not None and current.version == "v2"
    assert run(["models", "rollback", "--reason", "bad answers", "-C", str(two_versions)]) == 0
    current = current_release(two_versions)
    assert current is not None and current.version == "v1"
    move = pointer_moves(two_versions)[-1]
    assert (move.action, move.version, move.why) == ("rollback", "v1", "bad answers")
    assert move.newest == 2
    assert run(["models", "promote", "v2", "--reason", "fixed", "-C", str(two_versions)]) == 0
    current = current_release(two_versions)
    assert current is not None and current.version == "v2"
    capsys.readouterr()
    assert run(["models", "history", "-C", str(two_versions)]) == 0
    out = capsys.readouterr().out
    assert out.index("v2  ") < out.index("v1  ")
    assert "+ b" in out and "(current)" in out.split("\n")[0]
    assert "rollback to v1" in out and "promote to v2" in out


def test_rollback_of_the_first_version_and_unknown_versions_are_usage_errors(
    two_versions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["models", "promote", "v9", "-C", str(two_versions)]) == 2
    assert "no model version v9" in capsys.readouterr().err
    assert run(["models", "rollback", "-C", str(two_versions)]) == 0
    assert run(["models", "rollback", "-C", str(two_versions)]) == 2
    assert "first version" in capsys.readouterr().err


def test_history_json_lists_changes(two_versions: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["models", "history", "--json", "-C", str(two_versions)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["version"] for r in rows] == ["v2", "v1"]
    assert rows[0]["changes"]["added"] == ["b"] and rows[0]["current"] is True
    assert rows[1]["changes"]["added"] == ["a"]


def test_a_foreign_tag_under_model_is_reported(make_repo: Callable[..., Path]) -> None:
    repo = make_repo()
    git(repo, "tag", "-a", "-m", "not json", "model/v1")
    with pytest.raises(UsageError, match="not a seedtree lineage"):
        releases(repo)


def test_the_lineage_of_a_large_taxonomy_fits_in_its_tag(make_repo: Callable[..., Path]) -> None:
    """5,000 leaves make a message of about 1 MB, over one command-line argument's limit."""
    repo = make_repo()
    head = git(repo, "rev-parse", "HEAD").strip()
    leaves = {f"knowledge/group_{i // 100:03d}/leaf_{i:05d}": f"{i:064x}" for i in range(5000)}
    lineage = _lineage("v1", head, None, leaves)
    assert len(lineage.model_dump_json()) > 2 * 128 * 1024
    tag_release(repo, lineage)
    [release] = releases(repo)
    assert release.lineage == lineage and release.commit == head
