"""Rules on what a leaf may reach: its ``document`` repository and patterns, and symlinks.

- ``document-repo``: ``document.repo`` is not ``.`` or an allowed ``https://`` URL (the
  ``documents`` section of the trusted configuration decides; see
  :mod:`seedtree.taxonomy.docpolicy`);
- ``document-repo-ssh`` (a warning): an SSH form on an allowed host, read as its https URL;
- ``document-commit-ref``: ``repo: .`` (or a local folder) with a ``commit`` that is not a full
  SHA (a branch, a stash or a reflog entry reads revisions that were never published);
- ``document-pattern``: a pattern is empty, absolute, uses ``..``, reaches into ``.git`` or is
  malformed (a reversed range, an unclosed ``[``, ``**`` inside a name, too many ``**``), located
  at the character;
- ``document-patterns-count``: more patterns than ``documents.max_patterns``;
- ``symlink-outside``: a symlink in the leaf folder, or one a pattern of ``repo: .`` reaches,
  resolves outside the repository or into its ``.git``. When the leaf folder holds one, nothing
  of the leaf is read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from seedtree.config import DocumentsConfig
from seedtree.findings import Finding
from seedtree.taxonomy.docpolicy import (
    LocalRepository,
    RemoteRepository,
    RepoRefused,
    ThisRepository,
    classify,
    is_this_repository,
    settings_for,
)
from seedtree.taxonomy.globs import PatternError, compile_glob, pattern_problem
from seedtree.taxonomy.safewalk import EVERYTHING, TooManyEntries, walk
from seedtree.validate.context import FileCheck
from seedtree.yamlpos import Pos

RULE_REPO, RULE_PATTERN, RULE_SYMLINK = "document-repo", "document-pattern", "symlink-outside"
RULE_SSH, RULE_COMMIT_REF, RULE_COUNT = (
    "document-repo-ssh",
    "document-commit-ref",
    "document-patterns-count",
)
_DEFAULT = DocumentsConfig()
_FULL_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


def _settings(repo_root: Path | None) -> DocumentsConfig:
    return settings_for(repo_root) if repo_root is not None else _DEFAULT


def _document(check: FileCheck) -> dict[object, object]:
    data = check.data
    doc = data.get("document") if isinstance(data, dict) else None
    return doc if isinstance(doc, dict) else {}


def _patterns(check: FileCheck) -> list[tuple[int, str]]:
    patterns = _document(check).get("patterns")
    if not isinstance(patterns, list):
        return []
    return [(i, p) for i, p in enumerate(patterns) if isinstance(p, str)]


def _symlink_finding(file: str, line: int, column: int, what: str) -> Finding:
    message = f"{what} is a symlink that leads outside the repository (or into .git): never read"
    return Finding(file, line, column, "error", RULE_SYMLINK, f"{message}; replace it")


def target_symlinks(
    qna: Path, shown: str, repo_root: Path | None, root: Path | None
) -> list[Finding]:
    """``symlink-outside`` for each symlink in the leaf folder (``qna.yaml`` included) that leads
    outside the repository (the taxonomy when there is none), found before anything is read."""
    base = os.path.dirname(shown)
    try:
        found = walk(qna.parent, EVERYTHING, boundary=repo_root or root or qna.parent)
    except TooManyEntries as exc:
        return [_symlink_finding(shown, 1, 1, f"the leaf folder has {exc}; it")]
    shown_of = [(os.path.join(base, e).replace(os.sep, "/"), e) for e in found.escapes]
    return [_symlink_finding(file, 1, 1, f"'{name}'") for file, name in shown_of]


def document_repo(check: FileCheck, repo_root: Path | None) -> Iterator[Finding]:
    """``document-repo`` for a refused repository, ``document-repo-ssh`` for an SSH form read as
    https, ``document-commit-ref`` for a repository read in place at a commit that is not a SHA."""
    repo = _document(check).get("repo")
    if check.kind != "knowledge" or not isinstance(repo, str):
        return
    try:
        kind = classify(repo.strip(), _settings(repo_root))
    except RepoRefused as exc:
        yield check.at_key(("document", "repo"), RULE_REPO, str(exc))
        return
    if isinstance(kind, RemoteRepository) and kind.note is not None:
        yield check.at_key(("document", "repo"), RULE_SSH, kind.note)
    commit = _document(check).get("commit")
    in_place = isinstance(kind, ThisRepository | LocalRepository)
    if in_place and isinstance(commit, str) and not _FULL_SHA.match(commit):
        message = (
            f"commit '{commit}' is not a full SHA: a branch, a stash or a reflog entry names "
            "revisions that were never published; write the full SHA of a pushed commit"
        )
        yield check.at_path(("document", "commit"), RULE_COMMIT_REF, message)


def _pattern_pos(check: FileCheck, index: int, error: PatternError) -> Pos:
    pos = check.parsed.locate(("document", "patterns", index))
    rest = check.parsed.line_text(pos.line)[pos.column - 1 :]
    for quote in ("", "'", '"'):  # written out on its line: point at the character
        if rest.startswith(quote + error.pattern):
            return Pos(pos.line, pos.column + len(quote) + error.column - 1)
    return pos


def document_patterns(check: FileCheck, repo_root: Path | None = None) -> Iterator[Finding]:
    if check.kind != "knowledge":
        return
    patterns = _document(check).get("patterns")
    cap = _settings(repo_root).max_patterns
    if isinstance(patterns, list) and len(patterns) > cap:
        message = f"{len(patterns)} patterns, over the cap of {cap} (documents.max_patterns): "
        message += "name a folder with '**' instead of each file"
        yield check.at_key(("document", "patterns"), RULE_COUNT, message)
    for i, pattern in _patterns(check):
        error = pattern_problem(pattern)
        if error is not None:
            where = _pattern_pos(check, i, error)
            yield check.at(where, RULE_PATTERN, f"{error}: {_PATTERN_HINT}")


_PATTERN_HINT = "write a glob relative to the document repository, e.g. 'docs/**/*.md'"


def document_symlinks(check: FileCheck, repo_root: Path | None) -> Iterator[Finding]:
    """Symlinks leading outside the repository that a ``repo: .`` pattern reaches."""
    if repo_root is None or not is_this_repository(_document(check).get("repo")):
        return
    for i, pattern in _patterns(check):
        if pattern_problem(pattern) is not None:
            continue
        try:
            escapes = walk(repo_root, compile_glob(pattern)).escapes
        except TooManyEntries:
            continue  # resolving the documents reports it
        for escape in escapes:
            pos = check.parsed.locate(("document", "patterns", i))
            message = f"'{escape}' (matched by '{pattern}')"
            yield _symlink_finding(check.shown, pos.line, pos.column, message)


def references(check: FileCheck, repo_root: Path | None) -> Iterator[Finding]:
    """Every rule of this module on a parsed leaf."""
    yield from document_repo(check, repo_root)
    yield from document_patterns(check, repo_root)
    yield from document_symlinks(check, repo_root)
