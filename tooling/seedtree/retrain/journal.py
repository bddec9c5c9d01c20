"""A journal that makes a long job resumable step by step, and the lock that serialises jobs.

A :class:`Journal` is one JSON file. Each step runs at most once: its result (a JSON value) is
written atomically when it finishes, so a job killed at any moment and started again skips the
finished steps and redoes only the one it was in (each step must therefore be safe to redo:
write into a temporary place and rename, or overwrite). A journal records the fingerprint of the
settings it was started with; different settings start a fresh journal.

:func:`exclusive` takes an ``fcntl.flock`` on a file. The kernel releases it when its holder
exits or is killed, so nothing is left behind to clean up (no PID files).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from seedtree.atomic import write_json
from seedtree.errors import SeedtreeError, UsageError

T = TypeVar("T")


class Busy(SeedtreeError):
    """Another process holds the lock and the caller chose not to wait."""


class Journal:
    """Finished steps and their results, persisted in ``path`` after each step."""

    def __init__(self, path: Path, fingerprint: str) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self._steps: dict[str, Any] = {}
        self._order: list[str] = []
        self._seconds: dict[str, float] = {}
        if path.is_file():
            self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            steps = data["steps"]
            same = data.get("fingerprint") == self.fingerprint
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(
                f"{self.path}: unreadable journal ({exc})",
                hint="delete it to start this job over",
            ) from None
        if same:
            self._steps = {str(s["name"]): s["result"] for s in steps}
            self._order = [str(s["name"]) for s in steps]
            self._seconds = {str(s["name"]): float(s.get("seconds") or 0) for s in steps}

    def done(self, name: str) -> bool:
        return name in self._steps

    def result(self, name: str) -> Any:
        return self._steps[name]

    @property
    def steps(self) -> list[str]:
        return list(self._order)

    def record(self, name: str, result: Any) -> None:
        if name not in self._steps:
            self._order.append(name)
        self._steps[name] = result
        self._save()

    def forget(self, name: str) -> None:
        """Make a finished step run again (e.g. a gate decision that is overridden)."""
        if name in self._steps:
            del self._steps[name]
            self._order.remove(name)
            self._save()

    def _save(self) -> None:
        steps = [
            {"name": n, "result": self._steps[n], "seconds": self._seconds.get(n)}
            for n in self._order
        ]
        write_json(self.path, {"fingerprint": self.fingerprint, "steps": steps})

    def step(self, name: str, run: Callable[[], T], encode: Callable[[T], Any]) -> Any:
        """The recorded result of ``name``, running ``run`` first when it has not finished.

        The time the step took is recorded beside it (``seconds(name)``)."""
        if name not in self._steps:
            started = time.monotonic()
            value = encode(run())
            self._seconds[name] = round(time.monotonic() - started, 3)
            self.record(name, value)
        return self._steps[name]

    def seconds(self, name: str) -> float | None:
        return self._seconds.get(name)


@contextlib.contextmanager
def exclusive(path: Path, *, wait: bool, what: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path``; wait for it, or raise :class:`Busy`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise Busy(
                    f"another {what} is running for this repository (lock {path})",
                    hint="wait for it to finish, or run again without --no-wait to queue",
                ) from None
            print(f"waiting for another {what} to finish (lock {path})", file=sys.stderr)
            started = time.monotonic()
            fcntl.flock(fd, fcntl.LOCK_EX)
            waited = time.monotonic() - started
            print(f"lock acquired after {waited:.1f} s", file=sys.stderr)
        yield
    finally:
        os.close(fd)
