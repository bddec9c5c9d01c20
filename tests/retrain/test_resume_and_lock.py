"""Killing a retrain and running it again continues it; concurrent runs wait on the lock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from retrain.support import LEAVES, fresh_generation_calls
from seedtree.home import RepoHome
from seedtree.project import open_project
from seedtree.versions.tags import releases

# trains models or runs retrain in subprocesses for minutes
pytestmark = pytest.mark.slow

RUNNER = Path(__file__).resolve().parent / "run_retrain.py"


def _start(repo: Path, log: Path, *extra: str, stall: int | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "SCRIPTED_TEACHER_LOG": str(log)}
    env.pop("SCRIPTED_TEACHER_STALL_AFTER", None)
    if stall is not None:
        env["SCRIPTED_TEACHER_STALL_AFTER"] = str(stall)
    return subprocess.Popen(
        [sys.executable, str(RUNNER), str(repo), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.is_file() else 0


def _wait_for(condition: object, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def test_kill_resume_lock_and_idempotence(
    skills_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    # a run that hangs inside generation after 5 answered teacher calls
    first = _start(skills_repo, first_log, stall=5)
    _wait_for(lambda: _lines(first_log) == 5)
    # a second run refuses at once with --no-wait ...
    busy = _start(skills_repo, tmp_path / "busy.log", "--no-wait")
    _, err = busy.communicate(timeout=120)
    assert busy.returncode == 3 and "another retrain is running" in err
    # ... or waits for the lock
    waiting = _start(skills_repo, second_log)
    assert waiting.stderr is not None
    note = waiting.stderr.readline()  # printed once it blocks on the lock
    assert "waiting for another retrain" in note and _lines(second_log) == 0
    first.send_signal(signal.SIGKILL)  # the kernel releases the lock
    first.wait()
    out, err = waiting.communicate(timeout=600)
    assert waiting.returncode == 0, err
    assert "lock acquired" in err and "released model/v1" in out
    [v1] = releases(skills_repo)
    # nothing answered before the kill is asked again: together the two runs made exactly the
    # calls the journal's generation summary counts for an uninterrupted run
    [journal] = RepoHome.of(open_project(skills_repo).repo_root).retrain.glob("*/journal.json")
    steps = {s["name"]: s["result"] for s in json.loads(journal.read_text())["steps"]}
    assert _lines(second_log) == steps["generate"]["teacher_calls"]
    uninterrupted = fresh_generation_calls(skills_repo, sorted(LEAVES), tmp_path, monkeypatch)
    assert _lines(first_log) + _lines(second_log) == sum(uninterrupted.values())
    # running again on the same commit does nothing
    again = _start(skills_repo, tmp_path / "again.log")
    out, _ = again.communicate(timeout=300)
    assert again.returncode == 0 and "nothing to do" in out and len(releases(skills_repo)) == 1
    assert _lines(tmp_path / "again.log") == 0 and v1.version == "v1"
