"""The journal runs each step once across restarts; the lock serialises processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from seedtree.retrain.journal import Busy, Journal, exclusive


def test_a_finished_step_is_not_run_again(tmp_path: Path) -> None:
    calls: list[str] = []

    def work(name: str) -> dict[str, str]:
        calls.append(name)
        return {"done": name}

    journal = Journal(tmp_path / "j.json", "fp")
    assert journal.step("a", lambda: work("a"), dict) == {"done": "a"}
    again = Journal(tmp_path / "j.json", "fp")
    assert again.step("a", lambda: work("a2"), dict) == {"done": "a"}
    again.step("b", lambda: work("b"), dict)
    assert calls == ["a", "b"]
    assert again.steps == ["a", "b"] and again.seconds("a") is not None


def test_other_settings_start_a_fresh_journal(tmp_path: Path) -> None:
    Journal(tmp_path / "j.json", "one").record("a", 1)
    assert not Journal(tmp_path / "j.json", "two").done("a")
    assert Journal(tmp_path / "j.json", "one").done("a")


def test_forget_makes_a_step_run_again(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.json", "fp")
    journal.record("gate", {"passed": False})
    journal.forget("gate")
    assert not Journal(tmp_path / "j.json", "fp").done("gate")


def test_second_holder_waits_or_refuses(tmp_path: Path) -> None:
    lock = tmp_path / "run.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import fcntl, sys, time
                f = open({str(lock)!r}, "w")
                fcntl.flock(f, fcntl.LOCK_EX)
                print("locked", flush=True)
                time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with (
            pytest.raises(Busy, match="another retrain is running"),
            exclusive(lock, wait=False, what="retrain"),
        ):
            pass
    finally:
        holder.kill()  # the kernel releases the lock of a killed holder
        holder.wait()
    with exclusive(lock, wait=False, what="retrain"):
        assert lock.exists()
