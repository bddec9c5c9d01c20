"""Knowledge documents: resolving ``document: {repo, commit, patterns}`` to texts.

``repo`` is one of (:mod:`seedtree.taxonomy.docpolicy` decides, from the trusted configuration):

- ``.`` (or ``./``): this taxonomy repository (the folder holding ``seedtree.yaml``); ``patterns``
  are relative to it; without ``commit`` the working tree is read, with one (a full SHA: a branch,
  a stash or a reflog entry would read revisions never published) the files at that commit;
- an ``https://`` URL on ``documents.allowed_hosts``: fetched once at exactly ``commit`` (a full
  SHA) by :mod:`seedtree.taxonomy.docfetch` and reused by later runs;
- with ``documents.allowed_local``, a folder (or ``file://`` URL) inside one of those folders.

Anything else is refused here too, whether or not validation ran. Patterns are globs
(:mod:`seedtree.taxonomy.globs`), at most ``documents.max_patterns`` of them; malformed ones are
refused. Nothing under a ``.git`` folder is ever a document, and a symlink whose target resolves
outside the repository (or into its ``.git``) is never followed; a tree listing is capped
(``documents.max_entries``) and timed. Markdown and plain text are read as UTF-8; PDF through
pypdf; other formats are refused as unsupported.

Documents are de-duplicated by what they resolve to (a real path, a blob), and a leaf's and a
run's documents are capped in number and bytes before anything is read
(:mod:`seedtree.taxonomy.doclimits`); a refusal names the pattern that crossed the cap.
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from seedtree.config import DocumentsConfig
from seedtree.errors import GitError, SeedtreeError, UsageError
from seedtree.findings import Finding, shown_path
from seedtree.git import is_repository, resolve_commit, run_git, run_git_bytes, toplevel
from seedtree.taxonomy.docfetch import (
    BUDGET,
    FetchProblem,
    FetchUnreachable,
    fetched,
    time_allowed,
)
from seedtree.taxonomy.doclimits import LeafBudget, OverLimit
from seedtree.taxonomy.docpolicy import (
    LocalRepository,
    RemoteRepository,
    RepoRefused,
    classify,
    settings_for,
)
from seedtree.taxonomy.gittree import Entries, TreeTooLarge, list_tree
from seedtree.taxonomy.globs import compile_glob, in_git_dir, pattern_problem
from seedtree.taxonomy.leaves import DocumentRef, Leaf
from seedtree.taxonomy.safewalk import TooManyEntries, walk
from seedtree.yamlpos import ParsedYaml, Pos, parse_file

TEXT_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".text"})
PDF_SUFFIXES = frozenset({".pdf"})
_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_MAX_HOPS = 8


@dataclass(frozen=True)
class Document:
    """One resolved document: its path inside its repository, its text, and the sha256 of its
    bytes (the text of a PDF is extracted; the hash is of the file)."""

    path: str
    text: str
    sha256: str


class _Problem(Exception):
    """Why a document (or its repository) cannot be resolved; becomes a finding or an error
    (at the pattern numbered ``pattern`` when there is one)."""

    def __init__(self, message: str, pattern: int | None = None, rule: str = "documents") -> None:
        super().__init__(message)
        self.pattern = pattern
        self.rule = rule


class _Unreachable(_Problem):
    """A remote repository did not answer (network, server): an external failure, not the leaf's."""


class _Source(Protocol):
    @property
    def label(self) -> str: ...

    def match(self, pattern: str) -> list[str]: ...

    def size(self, path: str) -> int: ...

    def identity(self, path: str) -> str: ...

    def read(self, path: str) -> bytes: ...


# --- sources ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _WorkTree:
    """Files on disk under ``root``; symlinks leading outside ``root`` are refused unread."""

    root: Path
    label: str
    max_entries: int

    def match(self, pattern: str) -> list[str]:
        try:
            found = walk(self.root, pattern, max_entries=self.max_entries)
        except TooManyEntries as exc:
            raise _Problem(f"pattern '{pattern}' in {self.label}: {exc}") from None
        if found.escapes:
            raise _Problem(f"'{found.escapes[0]}' is a symlink that leads outside {self.label}")
        return list(found.files)

    def size(self, path: str) -> int:
        return (self.root / path).stat().st_size

    def identity(self, path: str) -> str:
        return "file:" + os.path.realpath(self.root / path)

    def read(self, path: str) -> bytes:
        return (self.root / path).read_bytes()


@dataclass(frozen=True)
class _GitTree:
    """Files of a git tree: ``commit`` in the repository at ``git_dir``, under ``prefix``."""

    git_dir: Path
    commit: str
    prefix: str
    label: str
    settings: DocumentsConfig

    def entries(self) -> Entries:
        return _tree(self.git_dir, self.commit, self.prefix, self.settings)

    def match(self, pattern: str) -> list[str]:
        glob, entries = compile_glob(pattern), self.entries()
        found = (p for p in entries if glob.match(p) and not in_git_dir(p))
        return sorted({self._follow(p, entries) for p in found})

    def _follow(self, path: str, entries: Entries) -> str:
        for _hop in range(_MAX_HOPS):
            mode, _sha = entries.get(path, ("", ""))
            if mode != "120000":
                return path
            target = self.read(path).decode(errors="replace")
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
            if target.startswith("/") or joined.split("/", 1)[0] == ".." or in_git_dir(joined):
                raise _Problem(f"'{path}' is a symlink that leads outside {self.label}")
            path = joined
        raise _Problem(f"'{path}': too many levels of symlinks")

    def size(self, path: str) -> int:
        entry = self.entries().get(path)
        if entry is None:
            raise _Problem(f"'{path}' (a symlink target) does not exist in {self.label}")
        return int(run_git(self.git_dir, "cat-file", "-s", entry[1]).strip())

    def identity(self, path: str) -> str:
        entry = self.entries().get(path)
        return f"blob:{entry[1]}" if entry is not None else f"path:{path}"

    def read(self, path: str) -> bytes:
        return run_git_bytes(self.git_dir, "cat-file", "blob", f"{self.commit}:{self.prefix}{path}")


_TREES: dict[tuple[Path, str, str], Entries] = {}


def _tree(git_dir: Path, commit: str, prefix: str, settings: DocumentsConfig) -> Entries:
    """Every blob of ``commit:prefix`` as path -> (mode, object id), listed within the caps."""
    key = (git_dir, commit, prefix)
    if key not in _TREES:
        try:
            timeout = time_allowed(settings, settings.fetch_timeout_s)
            with BUDGET.timed():
                entries = list_tree(
                    git_dir, f"{commit}:{prefix}", max_entries=settings.max_entries, timeout=timeout
                )
        except FetchProblem as exc:
            raise _Problem(str(exc)) from None
        except TreeTooLarge as exc:
            raise _Problem(f"{exc} (documents.max_entries: {settings.max_entries:,})") from None
        if len(_TREES) >= 16:
            _TREES.clear()
        _TREES[key] = entries
    return _TREES[key]


def _source(ref: DocumentRef, repo_root: Path, settings: DocumentsConfig) -> _Source:
    try:
        kind = classify(ref.repo, settings)
    except RepoRefused as exc:
        raise _Problem(str(exc)) from None
    if isinstance(kind, RemoteRepository):
        return _remote(kind.url, ref.commit, settings)
    if isinstance(kind, LocalRepository):
        if not kind.folder.is_dir():
            raise _Unreachable(f"repository '{ref.repo}' is unreachable: no folder {kind.folder}")
        return _local(kind.folder, ref.commit, f"'{ref.repo}'", settings)
    return _local(repo_root, ref.commit, "this repository", settings)


def _local(folder: Path, commit: str | None, label: str, settings: DocumentsConfig) -> _Source:
    if commit is None:
        return _WorkTree(folder, label, settings.max_entries)
    if not _SHA.match(commit):
        raise _Problem(
            f"`commit` of {label} must be a full SHA, not '{commit}' (a branch, a stash or a "
            "reflog entry names revisions that were never published)"
        )
    if not is_repository(folder):
        raise _Problem(f"{label} ({folder}) is not a git repository, so `commit` cannot be read")
    try:
        sha = resolve_commit(folder, commit)
    except GitError:
        raise _Problem(f"commit {commit} is missing from {label}") from None
    top = toplevel(folder).resolve()
    prefix = folder.resolve().relative_to(top).as_posix()
    return _GitTree(top, sha, "" if prefix == "." else prefix + "/", label, settings)


def _remote(url: str, commit: str | None, settings: DocumentsConfig) -> _Source:
    label = f"'{url}'"
    if commit is None or not _SHA.match(commit):
        raise _Problem(f"{label} is a remote repository: `commit` must be its full SHA")
    try:
        dest = fetched(url, commit, settings)
    except FetchUnreachable as exc:
        raise _Unreachable(str(exc)) from None
    except FetchProblem as exc:
        raise _Problem(str(exc)) from None
    return _GitTree(dest, commit, "", f"{label} at {commit[:12]}", settings)


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


def _read(source: _Source, path: str, budget: LeafBudget, pattern: int) -> Document:
    cap = budget.settings.max_document_bytes
    try:
        size = source.size(path)
        if size > cap:
            raise _Problem(f"'{path}' is {size:,} bytes, over the {cap:,}-byte cap")
        budget.admit(source.identity(path), size, path, pattern)
        data = source.read(path)
    except (OSError, GitError) as exc:
        raise _Problem(f"'{path}' is unreadable: {exc}") from None
    return Document(path, _decode(path, data), hashlib.sha256(data).hexdigest())


def _resolve(
    leaf: Leaf, repo_root: Path, settings: DocumentsConfig
) -> tuple[list[Document], list[_Problem]]:
    ref = leaf.document
    if ref is None:
        needed = [_Problem(f"{leaf.id}: a knowledge leaf needs `document`")] if _knows(leaf) else []
        return [], needed
    bad = [_Problem(str(p)) for p in map(pattern_problem, ref.patterns or ("",)) if p]
    if len(ref.patterns) > settings.max_patterns:
        cap = settings.max_patterns
        count = len(ref.patterns)
        bad.append(_Problem(f"{count} patterns, over the cap of {cap} (documents.max_patterns)"))
    if bad:
        return [], bad
    try:
        source = _source(ref, repo_root, settings)
    except _Unreachable:
        raise  # the caller decides: a finding (validate) or an external failure (exit 3)
    except (_Problem, GitError) as exc:
        return [], [_Problem(str(exc))]
    except OSError as exc:
        return [], [_Problem(f"cannot resolve '{ref.repo}': {exc}")]
    return _read_all(source, ref.patterns, LeafBudget(settings))


def _knows(leaf: Leaf) -> bool:
    return leaf.kind == "knowledge"


def _read_all(
    source: _Source, patterns: tuple[str, ...], budget: LeafBudget
) -> tuple[list[Document], list[_Problem]]:
    """Every document the patterns match, each read once whatever names it (by identity),
    within the budget: past a cap, nothing more is read."""
    documents: dict[str, Document] = {}
    problems: list[_Problem] = []
    for index, pattern in enumerate(patterns):
        try:
            paths = source.match(pattern)
        except (_Problem, GitError, OSError) as exc:
            problems.append(_Problem(str(exc), index))
            continue
        if not paths:
            problems.append(
                _Problem(f"pattern '{pattern}' matches nothing in {source.label}", index)
            )
        for path in paths:
            try:
                identity = source.identity(path)
                if identity not in documents:
                    documents[identity] = _read(source, path, budget, index)
            except _Problem as exc:
                problems.append(_Problem(str(exc), index))
            except OverLimit as exc:
                problems.append(_Problem(str(exc), exc.pattern, "document-limit"))
                return _sorted(documents), problems
    return _sorted(documents), problems


def _sorted(documents: dict[str, Document]) -> list[Document]:
    return sorted(documents.values(), key=lambda document: document.path)


# --- API -------------------------------------------------------------------------------------


def load_documents(
    leaf: Leaf, repo_root: Path, *, settings: DocumentsConfig | None = None
) -> list[Document]:
    """The documents of a knowledge leaf, sorted by path (``[]`` for a skill).

    ``settings`` default to the repository's ``documents`` configuration. Raises
    :class:`UsageError` naming the leaf and every problem when one cannot be resolved (a
    repository the configuration does not allow included), or :class:`SeedtreeError` (exit 3)
    when a remote repository does not answer.
    """
    try:
        documents, problems = _resolve(leaf, repo_root, settings or settings_for(repo_root))
    except _Unreachable as exc:
        raise SeedtreeError(
            f"{leaf.qna_path}: cannot resolve `document`: {exc}",
            hint="check the network and the repository URL, then run the command again",
        ) from None
    if problems:
        raise UsageError(
            f"{leaf.qna_path}: cannot resolve `document`: " + "; ".join(map(str, problems)),
            hint=f"run `seedtree validate --documents {leaf.qna_path}`",
        )
    return documents


def check_documents(
    leaf: Leaf, repo_root: Path, *, settings: DocumentsConfig | None = None
) -> list[Finding]:
    """One finding per problem: ``document-limit`` for a cap crossed, at the pattern that
    crossed it; ``documents`` for the rest, at the leaf's ``document:`` key."""
    chosen = settings or settings_for(repo_root)
    try:
        _documents, problems = _resolve(leaf, repo_root, chosen)
    except _Unreachable as exc:
        problems = [_Problem(str(exc))]
    if not problems:
        return []
    parsed = parse_file(leaf.qna_path)
    shown = shown_path(leaf.qna_path)
    return [_finding(shown, parsed, problem) for problem in problems]


def _finding(shown: str, parsed: ParsedYaml, problem: _Problem) -> Finding:
    if not parsed.ok:
        pos = Pos(1, 1)
    elif problem.rule == "document-limit" and problem.pattern is not None:
        pos = parsed.locate(("document", "patterns", problem.pattern))
    else:
        pos = Pos(parsed.locate_key(("document",)).line, 1)
    return Finding(shown, pos.line, pos.column, "error", problem.rule, str(problem))
