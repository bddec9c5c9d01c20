"""Fetching a document repository at one commit into ``$SEEDTREE_HOME/documents``.

A repository is fetched once at exactly ``commit`` (a full SHA) into a bare repository under
``documents/<key of url+commit>`` and reused by later runs. The fetch runs no hooks, fetches no
submodules, does no LFS smudging, speaks only https (and file, for the allowed local mirrors),
follows no HTTP redirect (an allowed host cannot send it elsewhere), and is stopped by a timeout
and a size cap. All the fetching and tree listing of one process (a run)
shares one time budget, ``documents.fetch_budget_s``. A fetch works in a ``.partial`` folder
named after its process; folders left by processes that no longer run are removed.
``seedtree cache gc`` removes the fetched repositories no current leaf names (:func:`prune`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from seedtree.config import DocumentsConfig
from seedtree.errors import GitError
from seedtree.git import run_git, run_git_bounded
from seedtree.home import documents_dir

_PROTOCOLS = ("https", "file")
FETCH_CONFIG = (
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "http.followRedirects=false",
    "-c",
    "protocol.allow=never",
    *(x for p in _PROTOCOLS for x in ("-c", f"protocol.{p}.allow=always")),
    "-c",
    "fetch.recurseSubmodules=false",
    "-c",
    "submodule.recurse=false",
    "-c",
    "filter.lfs.smudge=",
    "-c",
    "filter.lfs.process=",
    "-c",
    "filter.lfs.required=false",
)
_FETCH_ENV = {"GIT_LFS_SKIP_SMUDGE": "1", "GIT_TERMINAL_PROMPT": "0"}
_PARTIAL = re.compile(r"^\.[0-9a-f]+\.(\d+)\.partial$")
_FETCHED = re.compile(r"^[0-9a-f]{24}$")


class FetchProblem(Exception):
    """Why a repository could not be fetched (becomes a finding or an error)."""


class FetchUnreachable(FetchProblem):
    """The repository did not answer (network, time-out): an external failure, not the leaf's."""


class _Budget:
    """Seconds of fetching and listing this process has spent."""

    def __init__(self) -> None:
        self.spent = 0.0

    def left(self, settings: DocumentsConfig) -> float:
        return settings.fetch_budget_s - self.spent

    @contextlib.contextmanager
    def timed(self) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            self.spent += time.monotonic() - start


BUDGET = _Budget()


def time_allowed(settings: DocumentsConfig, limit: float) -> float:
    """``limit`` within what is left of the run's budget; :class:`FetchProblem` when spent."""
    left = BUDGET.left(settings)
    if left <= 0:
        raise FetchProblem(
            f"the fetch budget of this run ({settings.fetch_budget_s:g} s, "
            "documents.fetch_budget_s) is spent"
        )
    return min(limit, left)


def cache_key(url: str, commit: str) -> str:
    """The folder name of a fetched repository under ``$SEEDTREE_HOME/documents``."""
    return hashlib.sha256(f"{url}\0{commit}".encode()).hexdigest()[:24]


def has_commit(git_dir: Path, commit: str) -> bool:
    try:
        run_git(git_dir, "cat-file", "-e", f"{commit}^{{commit}}")
    except GitError:
        return False
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_partials(folder: Path) -> list[Path]:
    """Remove the ``.partial`` folders of fetches whose process is gone; return them."""
    removed = []
    for entry in folder.iterdir() if folder.is_dir() else ():
        match = _PARTIAL.match(entry.name)
        if match and int(match.group(1)) != os.getpid() and not _alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def fetched(url: str, commit: str, settings: DocumentsConfig) -> Path:
    """The bare repository holding ``commit`` of ``url``, fetched now unless cached."""
    dest = documents_dir() / cache_key(url, commit)
    if dest.is_dir() and has_commit(dest, commit):
        return dest
    remove_stale_partials(dest.parent)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        run_git(tmp, "init", "--bare", "-q")
        with BUDGET.timed():
            _transfer(tmp, url, commit, settings)
        _publish(tmp, dest, commit)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _publish(tmp: Path, dest: Path, commit: str) -> None:
    if dest.exists():
        shutil.rmtree(dest, ignore_errors=True)
    try:
        os.replace(tmp, dest)
    except OSError:  # another process put it there first
        if not has_commit(dest, commit):
            raise


def _git_fetch(git_dir: Path, settings: DocumentsConfig, *args: str) -> None:
    run_git_bounded(
        git_dir,
        *FETCH_CONFIG,
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-recurse-submodules",
        *args,
        env=_FETCH_ENV,
        timeout=time_allowed(settings, settings.fetch_timeout_s),
        max_bytes=settings.max_fetch_bytes,
    )


def _transfer(git_dir: Path, url: str, commit: str, settings: DocumentsConfig) -> None:
    """Fetch exactly ``commit``; if the server refuses a SHA, its branches and tags instead."""
    try:
        _git_fetch(git_dir, settings, "--depth=1", url, commit)
        return
    except GitError as exc:
        if "more than" in exc.message:
            raise FetchProblem(f"fetching '{url}': {_tail(exc)}") from None
        if "timed out" in exc.message:
            raise FetchUnreachable(f"fetching '{url}': {_tail(exc)}") from None
    try:
        _git_fetch(git_dir, settings, url, "+refs/heads/*:refs/h/*", "+refs/tags/*:refs/t/*")
    except GitError as exc:
        raise FetchUnreachable(f"repository '{url}' is unreachable: {_tail(exc)}") from None
    if not has_commit(git_dir, commit):
        raise FetchProblem(f"commit {commit} is missing from '{url}'")


def _tail(exc: GitError) -> str:
    return exc.message.split("): ", 1)[-1].strip().splitlines()[-1]


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def prune(keep: set[str]) -> tuple[int, int]:
    """Remove every fetched repository whose key (:func:`cache_key`) is not in ``keep``, and the
    ``.partial`` folders of fetches whose process is gone; returns (repositories, bytes) freed."""
    folder = documents_dir()
    removed, freed = 0, 0
    for entry in sorted(folder.iterdir()) if folder.is_dir() else ():
        if _FETCHED.match(entry.name) and entry.name not in keep and not entry.is_symlink():
            freed += _size(entry)
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    remove_stale_partials(folder)
    return removed, freed
