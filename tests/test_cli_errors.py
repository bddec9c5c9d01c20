"""Usage errors through the real entry points: exit 2 and a short message, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from helpers import PROJECT_ROOT, git

BICYCLE = Path("taxonomy/knowledge/history/technology/bicycle")

USAGE_ERRORS = {
    "unknown command": (["doctr"], "No such command 'doctr'"),
    "unknown option": (["validate", "--nope"], "No such option: --nope"),
    "bad choice": (["validate", "--format", "xml", "."], "'xml' is not one of"),
    "missing argument": (["new"], "Missing argument"),
    "bad integer": (["serve", "--port", "eighty"], "Invalid value for '--port'"),
    "no command": ([], "Usage: seedtree"),
    "group without command": (["models"], "Usage: seedtree models"),
}


def _entry_points() -> dict[str, list[str]]:
    script = Path(sys.executable).parent / "seedtree"
    points = {"python -m seedtree": [sys.executable, "-m", "seedtree"]}
    if script.exists():
        points["seedtree script"] = [str(script)]
    return points


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI with this worktree's code first on the path (the script included)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT / "tooling"),
        "COLUMNS": "400",  # no wrapping: messages compare whole
        "SEEDTREE__GENERATE__TOKENIZER": "whitespace",  # a dry run without loading a model
    }
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("entry", sorted(_entry_points()))
@pytest.mark.parametrize("kind", sorted(USAGE_ERRORS))
def test_usage_errors_exit_2_with_a_short_message(kind: str, entry: str, tmp_path: Path) -> None:
    args, words = USAGE_ERRORS[kind]
    done = _run([*_entry_points()[entry], *args], tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    if kind in ("no command", "group without command"):  # the help screen, as `-h` shows it
        assert words in done.stdout + done.stderr
    else:  # one short message on stderr
        assert words in done.stderr and not done.stdout
        assert len(done.stderr.strip().splitlines()) <= 8, done.stderr


def test_the_console_script_runs_this_code() -> None:
    if "seedtree script" not in _entry_points():
        pytest.skip("the seedtree console script is not installed")
    done = _run([*_entry_points()["seedtree script"], "--version"], PROJECT_ROOT)
    assert done.returncode == 0 and done.stdout.startswith("seedtree ")


def test_help_and_version_exit_0(tmp_path: Path) -> None:
    for args in (["--help"], ["validate", "-h"], ["--version"]):
        done = _run([sys.executable, "-m", "seedtree", *args], tmp_path)
        assert done.returncode == 0, (args, done.stderr)
        assert done.stdout and not done.stderr


@pytest.mark.parametrize("entry", sorted(_entry_points()))
def test_a_launched_rank_leaves_with_its_exit_code_and_its_output_flushed(
    entry: str, make_repo: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a rank of torchrun skips the interpreter's teardown: what it printed must still arrive
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)  # stdout is block-buffered in a pipe
    repo = make_repo()
    done = _run([*_entry_points()[entry], "generate", "--changed", "--base", "HEAD"], repo)
    assert done.returncode == 0 and done.stdout == "generate: no leaf to generate\n", done.stderr
    done = _run([*_entry_points()[entry], "validate", "--nope"], tmp_path)
    assert done.returncode == 2 and "No such option: --nope" in done.stderr


def test_an_unreachable_document_repository_exits_3(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    repo = make_repo()
    qna = repo / BICYCLE / "qna.yaml"
    data = yaml.safe_load(qna.read_text(encoding="utf-8"))
    data["document"] = {
        "repo": f"file://{tmp_path}/no-such-repository",
        "commit": "1" * 40,
        "patterns": ["*.md"],
    }
    qna.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    # a local mirror the configuration allows, but which is not there (an unmounted share)
    (repo / "seedtree.yaml").write_text(f"documents:\n  allowed_local: ['{tmp_path}']\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "documents elsewhere")
    done = _run([sys.executable, "-m", "seedtree", "generate", "--dry-run", str(BICYCLE)], repo)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "is unreachable" in done.stderr and "Traceback" not in done.stderr
    assert str(BICYCLE / "qna.yaml") in done.stderr


def test_a_bad_document_reference_stays_a_usage_error(make_repo: Callable[..., Path]) -> None:
    repo = make_repo()
    (repo / BICYCLE / "bicycle_history.md").unlink()
    done = _run([sys.executable, "-m", "seedtree", "generate", "--dry-run", str(BICYCLE)], repo)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "matches nothing" in done.stderr and "Traceback" not in done.stderr
