"""The blobs of a git tree, listed as a stream with a deadline and an entry cap.

A repository of a few kilobytes can list 10^10 entries (nested trees that all share one blob, a
"git bomb"), so ``git ls-tree -r`` is never read whole: its output is read as it comes, and git
is killed (its whole process group) once the listing passes ``max_entries`` entries or its
deadline. Either is a :class:`TreeTooLarge` naming which.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from pathlib import Path

from seedtree.errors import GitError

Entries = dict[str, tuple[str, str]]
_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}


class TreeTooLarge(Exception):
    """The listing passed its entry cap or its deadline."""


def _parse(record: bytes, entries: Entries) -> None:
    meta, _, path = record.partition(b"\t")
    fields = meta.split()
    if len(fields) == 3 and fields[1] == b"blob":
        entries[path.decode(errors="replace")] = (fields[0].decode(), fields[2].decode())


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _read(proc: subprocess.Popen[bytes], max_entries: int, deadline: float) -> Entries:
    assert proc.stdout is not None
    entries: Entries = {}
    pending, count = b"", 0
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TreeTooLarge("listing the tree took too long (a repository bomb?)")
            if not selector.select(timeout=min(left, 1.0)):
                continue
            chunk = os.read(proc.stdout.fileno(), 1 << 16)
            if not chunk:
                return entries
            *records, pending = (pending + chunk).split(b"\0")
            count += len(records)
            if count > max_entries:
                raise TreeTooLarge(f"the tree lists more than {max_entries:,} entries")
            for record in records:
                _parse(record, entries)


def list_tree(git_dir: Path, treeish: str, *, max_entries: int, timeout: float) -> Entries:
    """Every blob under ``treeish`` as path -> (mode, object id); raises :class:`TreeTooLarge` past
    ``max_entries`` entries or ``timeout`` seconds, :class:`GitError` when git fails."""
    # no `-l`: git would read every listed blob for its size (40x slower on a bomb)
    command = ["git", "ls-tree", "-r", "-z", "--end-of-options", treeish]
    proc = subprocess.Popen(
        command,
        cwd=git_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **_ENV},
        start_new_session=True,
    )
    try:
        entries = _read(proc, max_entries, time.monotonic() + timeout)
    except BaseException:
        _kill(proc)
        raise
    _out, err = proc.communicate()
    if proc.returncode != 0:
        message = err.decode(errors="replace").strip() or "no message"
        raise GitError(f"`git ls-tree {treeish}` failed in {git_dir}: {message}")
    return entries
