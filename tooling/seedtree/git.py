"""The one small git module: every git command seedtree runs goes through :func:`run_git`.

Every command runs with :data:`SAFE_CONFIG`: no hook, fsmonitor, credential helper or signing
program that a repository's configuration names is ever run.

Commands run through GitPython's command wrapper (``git.Git(repo_root).execute``), so a failure
becomes a :class:`~seedtree.errors.GitError` that names the command and git's own message.
Plain git commands are used where they are faster than an object model (``diff -z``, ``status -z``).
GitPython is imported only when a git command actually runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from seedtree.errors import GitError

# never ask for credentials on a terminal, never run a pager, never use a system gitconfig's editor
_QUIET_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}

# A repository's own configuration (and a runner user's ~/.gitconfig) can name programs that git
# runs: hooks (``pre-push``, ``reference-transaction``, ``post-checkout``...), an fsmonitor that
# ``git status`` starts, a credential helper, a signing program for tags. Whatever an earlier job
# left in a reused workspace, seedtree's git commands run none of them.
SAFE_CONFIG = (
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "credential.helper=",
    "-c",
    "tag.gpgSign=false",
    "-c",
    "tag.forceSignAnnotated=false",
)


def _execute(
    repo_root: Path,
    args: tuple[str, ...],
    *,
    env: Mapping[str, str] | None,
    timeout: float | None,
    as_text: bool,
) -> Any:
    import git

    command = ["git", *args]  # as shown in errors; it runs with SAFE_CONFIG
    try:
        return git.Git(str(repo_root)).execute(
            ["git", *SAFE_CONFIG, *args],
            env={**_QUIET_ENV, **(env or {})},
            kill_after_timeout=timeout,
            stdout_as_string=as_text,
            strip_newline_in_stdout=False,
        )
    except git.GitCommandNotFound:
        raise GitError("git is not installed or not on PATH", hint="install git") from None
    except git.GitCommandError as exc:
        raise _error(command, repo_root, exc.stderr, exc.status) from None


def _error(command: list[str], repo_root: Path, stderr: object, status: object) -> GitError:
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else str(stderr or "")
    text = text.strip().removeprefix("stderr:").strip().strip("'").strip()
    shown = " ".join(command)
    return GitError(f"`{shown}` failed in {repo_root} (exit {status}): {text or 'no message'}")


def run_git(
    repo_root: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> str:
    """Run ``git <args>`` in ``repo_root`` and return its standard output (text, not stripped).

    Raises :class:`GitError` naming the command and git's message when git fails or times out.
    """
    return str(_execute(repo_root, args, env=env, timeout=timeout, as_text=True))


def run_git_bytes(
    repo_root: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> bytes:
    """Like :func:`run_git`, for binary output (``git show <commit>:<file>`` of a PDF)."""
    out = _execute(repo_root, args, env=env, timeout=timeout, as_text=False)
    return out if isinstance(out, bytes) else str(out).encode()


def is_repository(path: Path) -> bool:
    """Whether ``path`` is inside a git working tree."""
    try:
        return run_git(path, "rev-parse", "--is-inside-work-tree").strip() == "true"
    except GitError:
        return False


def toplevel(path: Path) -> Path:
    """The root of the git working tree that holds ``path``."""
    return Path(run_git(path, "rev-parse", "--show-toplevel").strip())


def head_commit(repo_root: Path) -> str:
    """The full sha of ``HEAD``; :class:`GitError` on a branch without commits."""
    return resolve_commit(repo_root, "HEAD")


def resolve_commit(repo_root: Path, ref: str) -> str:
    """The full sha of the commit ``ref`` names (a branch, tag, sha or any commit-ish)."""
    if ref.startswith("-"):
        raise GitError(f"'{ref}' is not a git revision")
    return run_git(repo_root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()


def try_resolve_commit(repo_root: Path, ref: str) -> str | None:
    """Like :func:`resolve_commit`, ``None`` when ``ref`` names no commit here."""
    try:
        return resolve_commit(repo_root, ref) or None
    except GitError:
        return None


def is_shallow(repo_root: Path) -> bool:
    """Whether the repository is a shallow clone (its history stops before the root commit)."""
    return run_git(repo_root, "rev-parse", "--is-shallow-repository").strip() == "true"


def merge_base(repo_root: Path, a: str, b: str = "HEAD") -> str | None:
    """The best common ancestor of ``a`` and ``b``, ``None`` when they share no history.

    When ``a`` is an ancestor of ``b`` (a release tag behind ``HEAD``) this is ``a`` itself.
    """
    try:
        return run_git(repo_root, "merge-base", a, b).strip() or None
    except GitError as exc:
        if "exit 1)" in exc.message:  # git says 1 with no output: no common ancestor
            return None
        raise


def _path_id(repo_root: Path) -> str:
    return hashlib.sha256(str(repo_root.resolve()).encode()).hexdigest()[:16]


def repository_id(repo_root: Path) -> str:
    """A stable id for the taxonomy repository, namespacing ``$SEEDTREE_HOME/repos/<id>``.

    It is the first 16 hex digits of the root commit reached by first parents from ``HEAD``:
    every clone of the repository, on any machine and any branch, gets the same id. A repository
    without commits (or a folder outside git) uses a hash of its absolute path instead. A shallow
    clone cannot see its root commit: it uses a hash of its ``origin`` URL when it has one (so
    shallow CI checkouts of one repository share an id), else the path hash.
    """
    if not is_repository(repo_root):
        return _path_id(repo_root)
    if try_resolve_commit(repo_root, "HEAD") is None:
        return _path_id(repo_root)
    if is_shallow(repo_root):
        return _shallow_id(repo_root)
    roots = run_git(repo_root, "rev-list", "--first-parent", "--max-parents=0", "HEAD").split()
    return roots[-1][:16] if roots else _path_id(repo_root)


def _shallow_id(repo_root: Path) -> str:
    try:
        url = run_git(repo_root, "config", "--get", "remote.origin.url").strip()
    except GitError:
        url = ""
    if not url:
        return _path_id(repo_root)
    return hashlib.sha256(f"url:{url}".encode()).hexdigest()[:16]


def _folder_bytes(folder: Path) -> int:
    total = 0
    for base, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(base, name)).st_size
            except OSError:
                continue
    return total


def run_git_bounded(
    repo_root: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float,
    max_bytes: int,
) -> None:
    """Run a transfer (``git fetch``) into ``repo_root``, killed past ``timeout`` seconds or
    once ``repo_root`` holds more than ``max_bytes``; either raises :class:`GitError`."""
    import git

    command = ["git", *args]
    handle = git.Git(str(repo_root)).execute(
        ["git", *SAFE_CONFIG, *args],
        env={**_QUIET_ENV, **(env or {})},
        as_process=True,
        start_new_session=True,
    )
    proc = handle.proc
    if proc is None:  # pragma: no cover - execute(as_process=True) always starts a process
        raise GitError(f"`{' '.join(command)}` did not start")
    deadline = time.monotonic() + timeout
    problem = None
    while proc.poll() is None and problem is None:
        time.sleep(0.05)
        if time.monotonic() > deadline:
            problem = f"timed out after {timeout:g} s"
        elif _folder_bytes(repo_root) > max_bytes:
            problem = f"stopped: more than {max_bytes:,} bytes"
    if problem is not None:  # git's helpers (git-remote-https) go too: the whole group
        with contextlib.suppress(ProcessLookupError):  # it may have ended since the last poll
            os.killpg(proc.pid, signal.SIGKILL)
    _out, err = proc.communicate()
    if problem is None and _folder_bytes(repo_root) > max_bytes:
        problem = f"stopped: more than {max_bytes:,} bytes"
    if problem is not None or proc.returncode != 0:
        raise _error(command, repo_root, problem or err, proc.returncode)
