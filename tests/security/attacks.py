"""Helpers of the attack tests: the CLI as a user runs it (a subprocess with a hang guard), a
secret that must never show, and a search for it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from helpers import PROJECT_ROOT, git

SECRET = "SECRET-6f1c9e-the-runner-must-never-show-this"
HANG_GUARD_S = 30.0  # only catches a hang; the real figures are in bench/ and docs/security.md


@dataclass(frozen=True)
class Run:
    """One finished command: exit code, everything it printed, how long it took."""

    code: int
    output: str
    seconds: float


def run_cli(cwd: Path, *args: str, timeout: float = HANG_GUARD_S) -> Run:
    """``seedtree ARGS`` in ``cwd``, with this worktree's package first on the path."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "tooling"), "NO_COLOR": "1"}
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "seedtree", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Run(done.returncode, done.stdout + done.stderr, time.monotonic() - start)


def files_containing(folder: Path, needle: str) -> list[Path]:
    """Every regular file under ``folder`` (symlinks not followed) whose bytes hold ``needle``."""
    found = []
    for base, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(base, name)
            if not path.is_symlink() and path.is_file() and needle.encode() in path.read_bytes():
                found.append(path)
    return found


BICYCLE = "knowledge/history/technology/bicycle"
_DOCUMENT_BLOCK = (
    "document:\n  repo: .\n  patterns:\n    - taxonomy/knowledge/history/technology/bicycle/"
    "bicycle_history.md\n"
)


def knowledge_leaf(repo: Path, name: str, document: str) -> Path:
    """A copy of the sample knowledge leaf at ``knowledge/<name>`` whose ``document:`` block is
    ``document`` (YAML text, written as given); returns its folder."""
    source = repo / "taxonomy" / BICYCLE
    folder = repo / "taxonomy" / "knowledge" / name
    folder.mkdir(parents=True)
    text = (source / "qna.yaml").read_text(encoding="utf-8")
    assert _DOCUMENT_BLOCK in text
    (folder / "qna.yaml").write_text(text.replace(_DOCUMENT_BLOCK, document), encoding="utf-8")
    (folder / "attribution.txt").write_bytes((source / "attribution.txt").read_bytes())
    return folder


def document_block(repo: str, *patterns: str, commit: str | None = None) -> str:
    lines = ["document:", f"  repo: {repo}"]
    if commit is not None:
        lines.append(f"  commit: {commit}")
    lines += ["  patterns:", *(f"    - {quoted(p)}" for p in patterns)]
    return "\n".join(lines) + "\n"


def quoted(text: str) -> str:
    """``text`` as a single-quoted YAML scalar."""
    return "'" + text.replace("'", "''") + "'"


def no_traceback(run: Run) -> None:
    """The command ended by itself, without a traceback (a located error, if any)."""
    assert run.code >= 0, f"killed by signal {-run.code}"
    assert "Traceback" not in run.output and "RecursionError" not in run.output, run.output


def with_recipe(repo: Path) -> None:
    """The project's training recipe in ``repo``, committed with everything else, so that
    ``retrain --dry-run`` can plan."""
    shutil.copytree(PROJECT_ROOT / "training", repo / "training")
    commit_all(repo, "recipe")


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
