"""Knowledge documents: resolving ``document: {repo, commit, patterns}`` to texts.

``repo`` is one of:

- ``.``: this taxonomy repository (the folder holding ``seedtree.yaml``); ``patterns`` are
  relative to it; without ``commit`` the working tree is read, with one the files at that commit;
- a local path (absolute, or relative to the repository root): its working tree, or with
  ``commit`` the files of that git repository at that commit;
- a remote git URL: fetched once at exactly ``commit`` (a full SHA) into a bare repository under
  ``$SEEDTREE_HOME/documents/<key of repo+commit>`` and reused by later runs. The fetch runs no
  hooks, fetches no submodules, does no LFS smudging, only speaks https, http, ssh, git and file,
  and is stopped by a timeout and a size cap.

Patterns are globs inside that checkout (``*``, ``?``, ``[...]``, ``**`` for any folders).
Absolute patterns, ``..`` and symlinks that lead outside are refused. Markdown and plain text are
read as UTF-8; PDF through pypdf; other formats are refused as unsupported.
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import re
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from seedtree.errors import GitError, SeedtreeError, UsageError
from seedtree.findings import Finding
from seedtree.git import (
    is_repository,
    resolve_commit,
    run_git,
    run_git_bounded,
    run_git_bytes,
    toplevel,
)
from seedtree.home import documents_dir
from seedtree.taxonomy.leaves import DocumentRef, Leaf
from seedtree.validate.api import shown_path

TEXT_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".text"})
PDF_SUFFIXES = frozenset({".pdf"})
_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_SCP_URL = re.compile(r"^[\w.+-]+@[\w.-]+:")
_PROTOCOLS = ("https", "http", "ssh", "git", "file")
_FETCH_CONFIG = (
    "-c",
    "core.hooksPath=/dev/null",
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


@dataclass(frozen=True)
class Limits:
    """Bounds on resolving documents (the defaults are what every command uses)."""

    max_document_bytes: int = 10_000_000
    max_fetch_bytes: int = 500_000_000
    fetch_timeout_s: float = 120.0


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Document:
    """One resolved document: its path inside its repository, its text, and the sha256 of its
    bytes (the text of a PDF is extracted; the hash is of the file)."""

    path: str
    text: str
    sha256: str


class _Problem(Exception):
    """Why a document (or its repository) cannot be resolved; becomes a finding or an error."""


class _Unreachable(_Problem):
    """A remote repository did not answer (network, server): an external failure, not the leaf's."""


class _Source(Protocol):
    @property
    def label(self) -> str: ...

    def match(self, pattern: str) -> list[str]: ...

    def size(self, path: str) -> int: ...

    def read(self, path: str) -> bytes: ...


# --- patterns -------------------------------------------------------------------------------


def _pattern_problem(pattern: str) -> str | None:
    if not pattern:
        return "an empty pattern"
    if pattern.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", pattern):
        return f"pattern '{pattern}' is absolute: write it relative to the document repository"
    if ".." in re.split(r"[/\\]", pattern):
        return f"pattern '{pattern}' uses '..': patterns stay inside the document repository"
    return None


@lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regex for a glob over POSIX paths: ``**/`` any folders, ``*`` and ``?`` within one."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        else:
            out.append(_glob_atom(pattern, i))
            i += _atom_length(pattern, i)
    return re.compile("".join(out) + r"\Z")


def _atom_length(pattern: str, i: int) -> int:
    if pattern[i] == "[":
        end = pattern.find("]", i + 2)
        return end - i + 1 if end != -1 else 1
    return 1


def _glob_atom(pattern: str, i: int) -> str:
    char = pattern[i]
    if char == "*":
        return "[^/]*"
    if char == "?":
        return "[^/]"
    if char == "[" and _atom_length(pattern, i) > 1:
        body = pattern[i + 1 : i + _atom_length(pattern, i) - 1]
        return "[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]"
    return re.escape(char)


# --- sources ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _WorkTree:
    """Files on disk under ``root``."""

    root: Path
    label: str

    def match(self, pattern: str) -> list[str]:
        base = self.root.resolve()
        found = []
        for path in self.root.glob(pattern):
            rel = path.relative_to(self.root)
            if ".git" in rel.parts or not path.is_file():
                continue
            if not path.resolve().is_relative_to(base):
                raise _Problem(f"'{rel.as_posix()}' is a symlink that leads outside {self.label}")
            found.append(rel.as_posix())
        return sorted(found)

    def size(self, path: str) -> int:
        return (self.root / path).stat().st_size

    def read(self, path: str) -> bytes:
        return (self.root / path).read_bytes()


@dataclass(frozen=True)
class _GitTree:
    """Files of a git tree: ``commit`` in the repository at ``git_dir``, under ``prefix``."""

    git_dir: Path
    commit: str
    prefix: str
    label: str

    def match(self, pattern: str) -> list[str]:
        regex = glob_regex(pattern)
        entries = _tree(self.git_dir, self.commit, self.prefix)
        return sorted(self._follow(p, entries) for p in entries if regex.match(p))

    def _follow(self, path: str, entries: dict[str, tuple[str, int]]) -> str:
        for _hop in range(8):
            mode, _size = entries.get(path, ("", 0))
            if mode != "120000":
                return path
            target = self.read_raw(path).decode(errors="replace")
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
            if target.startswith("/") or joined.startswith(".."):
                raise _Problem(f"'{path}' is a symlink that leads outside {self.label}")
            path = joined
        raise _Problem(f"'{path}': too many levels of symlinks")

    def size(self, path: str) -> int:
        entry = _tree(self.git_dir, self.commit, self.prefix).get(path)
        if entry is None:
            raise _Problem(f"'{path}' (a symlink target) does not exist in {self.label}")
        return entry[1]

    def read_raw(self, path: str) -> bytes:
        return run_git_bytes(self.git_dir, "cat-file", "blob", f"{self.commit}:{self.prefix}{path}")

    def read(self, path: str) -> bytes:
        return self.read_raw(path)


@lru_cache(maxsize=64)
def _tree(git_dir: Path, commit: str, prefix: str) -> dict[str, tuple[str, int]]:
    """Every blob of ``commit:prefix`` as path -> (mode, size)."""
    out = run_git(git_dir, "ls-tree", "-r", "-z", "-l", f"{commit}:{prefix}")
    entries: dict[str, tuple[str, int]] = {}
    for record in filter(None, out.split("\0")):
        meta, path = record.split("\t", 1)
        mode, kind, _sha, size = meta.split()
        if kind == "blob":
            entries[path] = (mode, int(size) if size.isdigit() else 0)
    return entries


def _is_remote(repo: str) -> bool:
    return "://" in repo or bool(_SCP_URL.match(repo))


def _source(ref: DocumentRef, repo_root: Path, limits: Limits) -> _Source:
    if ref.repo in (".", ""):
        return _local(repo_root, ref.commit, "this repository")
    if _is_remote(ref.repo):
        return _remote(ref.repo, ref.commit, limits)
    folder = Path(ref.repo).expanduser()
    folder = folder if folder.is_absolute() else repo_root / folder
    if not folder.is_dir():
        raise _Problem(f"repository '{ref.repo}' is unreachable: no folder {folder}")
    return _local(folder, ref.commit, f"'{ref.repo}'")


def _local(folder: Path, commit: str | None, label: str) -> _Source:
    if commit is None:
        return _WorkTree(folder, label)
    if not is_repository(folder):
        raise _Problem(f"{label} ({folder}) is not a git repository, so `commit` cannot be read")
    try:
        sha = resolve_commit(folder, commit)
    except GitError:
        raise _Problem(f"commit {commit} is missing from {label}") from None
    top = toplevel(folder).resolve()
    prefix = folder.resolve().relative_to(top).as_posix()
    return _GitTree(top, sha, "" if prefix == "." else prefix + "/", label)


# --- remote fetch ----------------------------------------------------------------------------


def cache_key(url: str, commit: str) -> str:
    """The folder name of a fetched repository under ``$SEEDTREE_HOME/documents``."""
    return hashlib.sha256(f"{url}\0{commit}".encode()).hexdigest()[:24]


def _has_commit(git_dir: Path, commit: str) -> bool:
    try:
        run_git(git_dir, "cat-file", "-e", f"{commit}^{{commit}}")
    except GitError:
        return False
    return True


def _remote(url: str, commit: str | None, limits: Limits) -> _Source:
    label = f"'{url}'"
    if url.startswith("-"):
        raise _Problem(f"repository {label} is not a git URL")
    if commit is None or not _SHA.match(commit):
        raise _Problem(f"{label} is a remote repository: `commit` must be its full SHA")
    dest = documents_dir() / cache_key(url, commit)
    if not (dest.is_dir() and _has_commit(dest, commit)):
        _fetch(url, commit, dest, limits)
    return _GitTree(dest, commit, "", f"{label} at {commit[:12]}")


def _fetch(url: str, commit: str, dest: Path, limits: Limits) -> None:
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        run_git(tmp, "init", "--bare", "-q")
        _transfer(tmp, url, commit, limits)
        if dest.exists():
            shutil.rmtree(dest, ignore_errors=True)
        try:
            os.replace(tmp, dest)
        except OSError:  # another process put it there first
            if not _has_commit(dest, commit):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _git_fetch(git_dir: Path, limits: Limits, *args: str) -> None:
    run_git_bounded(
        git_dir,
        *_FETCH_CONFIG,
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-recurse-submodules",
        *args,
        env=_FETCH_ENV,
        timeout=limits.fetch_timeout_s,
        max_bytes=limits.max_fetch_bytes,
    )


def _transfer(git_dir: Path, url: str, commit: str, limits: Limits) -> None:
    """Fetch exactly ``commit``; if the server refuses a SHA, its branches and tags instead."""
    try:
        _git_fetch(git_dir, limits, "--depth=1", url, commit)
        return
    except GitError as exc:
        if "more than" in exc.message:
            raise _Problem(f"fetching '{url}': {_tail(exc)}") from None
        if "timed out" in exc.message:
            raise _Unreachable(f"fetching '{url}': {_tail(exc)}") from None
    try:
        _git_fetch(git_dir, limits, url, "+refs/heads/*:refs/h/*", "+refs/tags/*:refs/t/*")
    except GitError as exc:
        raise _Unreachable(f"repository '{url}' is unreachable: {_tail(exc)}") from None
    if not _has_commit(git_dir, commit):
        raise _Problem(f"commit {commit} is missing from '{url}'")


def _tail(exc: GitError) -> str:
    return exc.message.split("): ", 1)[-1].strip().splitlines()[-1]


# --- reading ---------------------------------------------------------------------------------


def _decode(path: str, data: bytes) -> str:
    suffix = posixpath.splitext(path)[1].lower()
    if suffix in TEXT_SUFFIXES:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _Problem(f"'{path}' is not UTF-8 text (byte {exc.start})") from None
    if suffix in PDF_SUFFIXES:
        return _pdf_text(path, data)
    shown = suffix or "no extension"
    raise _Problem(f"'{path}': unsupported format ({shown}); use Markdown, plain text or PDF")


def _pdf_text(path: str, data: bytes) -> str:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError

        reader = PdfReader(io.BytesIO(data))
        return "\n\n".join((page.extract_text() or "").strip() for page in reader.pages)
    except ImportError:
        raise _Problem(f"'{path}': reading PDF needs pypdf (pip install pypdf)") from None
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise _Problem(f"'{path}' is an unreadable PDF: {exc}") from None


def _read(source: _Source, path: str, limits: Limits) -> Document:
    try:
        size = source.size(path)
        if size > limits.max_document_bytes:
            raise _Problem(
                f"'{path}' is {size:,} bytes, over the {limits.max_document_bytes:,}-byte cap"
            )
        data = source.read(path)
    except (OSError, GitError) as exc:
        raise _Problem(f"'{path}' is unreadable: {exc}") from None
    return Document(path, _decode(path, data), hashlib.sha256(data).hexdigest())


def _resolve(leaf: Leaf, repo_root: Path, limits: Limits) -> tuple[list[Document], list[str]]:
    ref = leaf.document
    if ref is None:
        return [], ([f"{leaf.id}: a knowledge leaf needs `document`"] if _knows(leaf) else [])
    bad = [p for p in map(_pattern_problem, ref.patterns or ("",)) if p]
    if bad:
        return [], bad
    try:
        source = _source(ref, repo_root, limits)
    except _Unreachable:
        raise  # the caller decides: a finding (validate) or an external failure (exit 3)
    except (_Problem, GitError) as exc:
        return [], [str(exc)]
    except OSError as exc:
        return [], [f"cannot resolve '{ref.repo}': {exc}"]
    return _read_all(source, ref.patterns, limits)


def _knows(leaf: Leaf) -> bool:
    return leaf.kind == "knowledge"


def _read_all(
    source: _Source, patterns: tuple[str, ...], limits: Limits
) -> tuple[list[Document], list[str]]:
    documents: dict[str, Document] = {}
    problems: list[str] = []
    for pattern in patterns:
        try:
            paths = source.match(pattern)
        except (_Problem, GitError, OSError) as exc:
            problems.append(str(exc))
            continue
        if not paths:
            problems.append(f"pattern '{pattern}' matches nothing in {source.label}")
        for path in paths:
            if path in documents:
                continue
            try:
                documents[path] = _read(source, path, limits)
            except _Problem as exc:
                problems.append(str(exc))
    return [documents[p] for p in sorted(documents)], problems


# --- API -------------------------------------------------------------------------------------


def load_documents(
    leaf: Leaf, repo_root: Path, *, limits: Limits = DEFAULT_LIMITS
) -> list[Document]:
    """The documents of a knowledge leaf, sorted by path (``[]`` for a skill).

    Raises :class:`UsageError` naming the leaf and every problem when one cannot be resolved,
    or :class:`SeedtreeError` (exit 3) when a remote repository does not answer.
    """
    try:
        documents, problems = _resolve(leaf, repo_root, limits)
    except _Unreachable as exc:
        raise SeedtreeError(
            f"{leaf.qna_path}: cannot resolve `document`: {exc}",
            hint="check the network and the repository URL, then run the command again",
        ) from None
    if problems:
        raise UsageError(
            f"{leaf.qna_path}: cannot resolve `document`: " + "; ".join(problems),
            hint=f"run `seedtree validate --documents {leaf.qna_path}`",
        )
    return documents


def check_documents(
    leaf: Leaf, repo_root: Path, *, limits: Limits = DEFAULT_LIMITS
) -> list[Finding]:
    """One ``documents`` finding per problem, positioned at the leaf's ``document:`` key."""
    try:
        _documents, problems = _resolve(leaf, repo_root, limits)
    except _Unreachable as exc:
        problems = [str(exc)]
    if not problems:
        return []

    shown, line = shown_path(leaf.qna_path), _document_line(leaf.qna_path)
    return [Finding(shown, line, 1, "error", "documents", message) for message in problems]


def _document_line(qna_path: Path) -> int:
    try:
        lines = qna_path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return 1
    return next((n for n, text in enumerate(lines, 1) if text.startswith("document:")), 1)
