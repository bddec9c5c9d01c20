"""Which leaves a change touched: git-native change detection.

The change is everything between the merge-base of a base ref and the working tree: commits,
staged and unstaged edits, and untracked files (not ignored). The working tree is snapshotted into
a temporary index (``git add -A`` on the taxonomy, ``git add -u`` elsewhere; the real index is not
touched), and that snapshot is compared with the merge-base in one ``git diff --cached -M
--name-status -z``, so renames of untracked folders are seen too.

A leaf changed when its ``qna.yaml``, its ``attribution.txt`` or a document it keeps in this
repository (``document: {repo: ., patterns}``, read from the parsed leaf) changed. A changed
file more than :data:`~seedtree.taxonomy.safewalk.MAX_TREE_DEPTH` folders below the taxonomy root
belongs to no leaf (no walk goes there): its folder at that depth is listed in ``too_deep``, for
validation to report.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from seedtree.errors import GitError, UsageError
from seedtree.git import (
    is_shallow,
    merge_base,
    run_git,
    toplevel,
    try_resolve_commit,
)
from seedtree.taxonomy.docpolicy import is_this_repository
from seedtree.taxonomy.documents import PDF_SUFFIXES, TEXT_SUFFIXES
from seedtree.taxonomy.globs import Glob, compile_glob, pattern_problem
from seedtree.taxonomy.leaves import ATTRIBUTION, QNA, TOPS, DocumentRef, load_leaf, qna_files_under
from seedtree.taxonomy.safewalk import MAX_TREE_DEPTH

ChangeKind = Literal["added", "modified", "deleted", "renamed"]
DEFAULT_BASES = ("origin/main", "main")
EMPTY = "empty"
DEEPEN_STEP = 256
SHALLOW_HINT = (
    "this is a shallow clone: fetch the whole history (actions/checkout: `fetch-depth: 0`; "
    "locally: `git fetch --unshallow`), or let seedtree deepen it (`--deepen`)"
)


@dataclass(frozen=True, order=True)
class ChangedLeaf:
    """A changed leaf: ``id`` is its folder relative to the taxonomy root; ``files`` are the
    changed files that made it change, relative to the repository root."""

    id: str
    kind: ChangeKind
    renamed_from: str | None
    files: tuple[str, ...]


@dataclass(frozen=True)
class ChangedLeaves:
    """``base_ref`` as asked (or chosen); ``base_commit`` is the merge-base compared with
    (``None`` for ``empty``)."""

    base_ref: str
    base_commit: str | None
    leaves: tuple[ChangedLeaf, ...]
    too_deep: tuple[str, ...] = ()  # taxonomy-relative folders below which a change was made


@dataclass(frozen=True)
class _Status:
    """One line of ``git diff --name-status``: a status letter, the path, the old path."""

    code: str
    path: str
    old: str | None = None


# --- base --------------------------------------------------------------------------------------


def _pick_base(top: Path, base: str | None, deepen: bool) -> tuple[str, str]:
    """The base ref and its commit; ``--base`` wins, else the first default that exists."""
    candidates = [base] if base else list(DEFAULT_BASES)
    for ref in candidates:
        commit = try_resolve_commit(top, ref)
        if commit:
            return ref, commit
    shallow = _try_shallow(top)
    if deepen and shallow:
        for ref in candidates:
            commit = _fetch_base(top, ref)
            if commit:
                return ref, commit
    if base:
        raise UsageError(
            f"--base {base}: no such branch, tag or commit in {top}",
            hint=SHALLOW_HINT
            if shallow
            else "fetch it first (`git fetch origin`), or name another",
        )
    raise GitError(
        f"no base to compare with in {top}: neither origin/main nor main exists",
        hint=SHALLOW_HINT if shallow else "pass --base REF (or --base empty to list every leaf)",
    )


def _fetch_base(top: Path, ref: str) -> str | None:
    """Fetch a base a shallow clone lacks from ``origin``: ``origin/X`` as that remote branch,
    anything else (a sha, a tag, a branch) as named."""
    branch = ref.removeprefix("origin/")
    refspec = f"+refs/heads/{branch}:refs/remotes/origin/{branch}" if branch != ref else ref
    try:
        run_git(top, "fetch", "--quiet", f"--depth={DEEPEN_STEP}", "origin", refspec, timeout=600)
    except GitError:
        return None
    return try_resolve_commit(top, ref) or try_resolve_commit(top, "FETCH_HEAD")


def _try_shallow(top: Path) -> bool:
    try:
        return is_shallow(top)
    except GitError:
        return False


def _merge_base(top: Path, ref: str, commit: str, deepen: bool) -> str:
    if try_resolve_commit(top, "HEAD") is None:  # no commit yet: the working tree is the change
        return commit
    found = merge_base(top, commit, "HEAD")
    while found is None and deepen and is_shallow(top):
        run_git(top, "fetch", "--quiet", f"--deepen={DEEPEN_STEP}", "origin", timeout=600)
        found = merge_base(top, commit, "HEAD")
    if found is not None:
        return found
    if _try_shallow(top):
        raise GitError(f"{ref} and HEAD share no history in this clone", hint=SHALLOW_HINT)
    raise GitError(
        f"{ref} and HEAD share no history (unrelated branches)",
        hint="pass --base with a commit of this branch's history, or --base empty",
    )


# --- the working tree as a snapshot ------------------------------------------------------------


def _diff_against_worktree(top: Path, tax_rel: str, base_tree: str) -> list[_Status]:
    with tempfile.TemporaryDirectory(prefix="seedtree-index-") as tmp:
        index = Path(tmp) / "index"
        real = Path(top, run_git(top, "rev-parse", "--git-path", "index").strip())
        if real.is_file():
            # copy2 keeps the index's mtime: git's "racily clean" check compares a file's mtime
            # with the index's, and a fresh mtime would hide a same-size edit made in the second
            # of the last commit
            shutil.copy2(real, index)
        env = {"GIT_INDEX_FILE": str(index)}
        if tax_rel:  # tracked files elsewhere (documents); the taxonomy is refreshed next
            run_git(top, "add", "-u", "--", ".", f":(exclude){tax_rel}", env=env)
        if (top / tax_rel).is_dir():
            run_git(top, "add", "-A", "--", tax_rel or ".", env=env)
        out = run_git(
            top, "diff", "--cached", "--name-status", "-z", "-M", base_tree, "--", env=env
        )
    return list(parse_name_status(out))


def parse_name_status(out: str) -> Iterator[_Status]:
    """Entries of ``git diff --name-status -z`` output (``R100\\0old\\0new`` for renames)."""
    fields = out.split("\0")
    i = 0
    while i < len(fields) - 1:
        code = fields[i][:1]
        if code in "RC":
            yield _Status(code, fields[i + 2], fields[i + 1])
            i += 3
        else:
            yield _Status(code, fields[i + 1])
            i += 2


# --- mapping files to leaves -------------------------------------------------------------------


def _leaf_of(path: str, tax_prefix: str) -> str | None:
    """The leaf id of a ``qna.yaml`` or ``attribution.txt`` path (toplevel-relative)."""
    if not path.startswith(tax_prefix):
        return None
    rel = path[len(tax_prefix) :]
    folder, _, name = rel.rpartition("/")
    if name not in (QNA, ATTRIBUTION) or folder.split("/", 1)[0] not in TOPS:
        return None
    return None if folder.count("/") + 1 > MAX_TREE_DEPTH else folder


def _too_deep(statuses: list[_Status], tax_prefix: str) -> tuple[str, ...]:
    """The folders at the depth cap holding a changed (not deleted) file of the taxonomy."""
    found = set()
    for st in statuses:
        parts = st.path[len(tax_prefix) :].split("/")
        if st.code != "D" and st.path.startswith(tax_prefix) and len(parts) > MAX_TREE_DEPTH + 1:
            found.add("/".join(parts[: MAX_TREE_DEPTH + 1]))
    return tuple(sorted(found))


class _Collector:
    """Accumulates, per leaf id, its kind, what it was renamed from and its changed files."""

    def __init__(self) -> None:
        self.kinds: dict[str, ChangeKind] = {}
        self.renamed_from: dict[str, str] = {}
        self.files: dict[str, set[str]] = {}

    def touch(self, leaf: str, file: str) -> None:
        self.files.setdefault(leaf, set()).add(file)

    def qna(self, leaf: str, kind: ChangeKind, file: str, old: str | None = None) -> None:
        self.kinds[leaf] = kind
        if old is not None:
            self.renamed_from[leaf] = old
        self.touch(leaf, file)

    def result(self, is_live: Callable[[str], bool]) -> tuple[ChangedLeaf, ...]:
        """The leaves; one whose qna.yaml did not change counts when it still exists."""
        out = []
        for leaf, files in self.files.items():
            kind = self.kinds.get(leaf) or ("modified" if is_live(leaf) else None)
            if kind is not None:
                renamed = self.renamed_from.get(leaf)
                out.append(ChangedLeaf(leaf, kind, renamed, tuple(sorted(files))))
        return tuple(sorted(out))


_KINDS: dict[str, ChangeKind] = {"A": "added", "D": "deleted", "C": "added"}


def _collect(statuses: list[_Status], tax_prefix: str, shown: ShowPath) -> _Collector:
    found = _Collector()
    for st in statuses:
        leaf = _leaf_of(st.path, tax_prefix)
        if leaf is None:
            continue
        is_qna = st.path.endswith("/" + QNA)
        if not is_qna:
            found.touch(leaf, shown(st.path))
            continue
        old = _leaf_of(st.old, tax_prefix) if st.old else None
        if st.code == "R" and old is not None and old != leaf:
            found.qna(leaf, "renamed", shown(st.path), old)
        else:
            found.qna(leaf, _KINDS.get(st.code, "modified"), shown(st.path))
    return found


class ShowPath:
    """Turns a toplevel-relative path into a repository-root-relative one."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self, path: str) -> str:
        return path[len(self.prefix) :] if path.startswith(self.prefix) else path


# --- documents kept in this repository ---------------------------------------------------------


def _document_users(taxonomy_root: Path) -> Iterator[tuple[str, tuple[Glob, ...]]]:
    """``(leaf id, patterns)`` of knowledge leaves whose documents live in this repository,
    decided from each parsed ``document`` (any YAML style); malformed patterns are left out
    (validation reports them)."""

    base = taxonomy_root / "knowledge"
    for qna in qna_files_under(base, 1) if base.is_dir() else ():
        try:
            ref = load_leaf(qna, taxonomy_root).document
        except UsageError:
            continue
        if ref is not None and is_this_repository(ref.repo):
            yield qna.parent.relative_to(taxonomy_root).as_posix(), _globs(ref)


def _globs(ref: DocumentRef) -> tuple[Glob, ...]:
    return tuple(compile_glob(p) for p in ref.patterns if pattern_problem(p) is None)


def _document_candidates(statuses: list[_Status], shown: ShowPath) -> list[str]:
    """Changed files that may be documents (repo-root paths, old and new names of renames)."""

    suffixes = tuple(TEXT_SUFFIXES | PDF_SUFFIXES)
    paths = [p for s in statuses for p in (s.path, s.old) if p]
    return sorted({shown(p) for p in paths if p.lower().endswith(suffixes)})


def _add_documents(found: _Collector, others: list[str], taxonomy_root: Path) -> None:
    """Mark the leaves whose ``repo: .`` patterns match one of ``others`` (repo-root paths)."""

    for leaf, globs in _document_users(taxonomy_root):
        for path in others:
            if any(g.match(path) for g in globs):
                found.touch(leaf, path)


# --- API ---------------------------------------------------------------------------------------


def _prefix(top: Path, folder: Path) -> str:
    if not folder.resolve().is_relative_to(top.resolve()):
        raise GitError(f"{folder} is not inside the git repository {top}")
    rel = folder.resolve().relative_to(top.resolve()).as_posix()
    return "" if rel == "." else rel + "/"


def _resolve_base(top: Path, base: str | None, deepen: bool) -> tuple[str, str | None, str]:
    """``(base_ref, base_commit, tree-ish to diff against)``."""
    if base == EMPTY:
        empty_tree = run_git(top, "hash-object", "-t", "tree", os.devnull).strip()
        return EMPTY, None, empty_tree
    ref, commit = _pick_base(top, base, deepen)
    found = _merge_base(top, ref, commit, deepen)
    return ref, found, found


def changed_leaves(
    repo_root: Path, taxonomy_root: Path, base: str | None, *, deepen: bool = False
) -> ChangedLeaves:
    """The leaves changed between the merge-base of ``base`` and the working tree, sorted by id.

    ``base`` is any commit-ish (a branch, a ``model/vN`` tag, a sha); ``None`` means
    ``origin/main``, else ``main``; ``"empty"`` lists every leaf as added. When ``base`` is an
    ancestor of ``HEAD`` (a release tag), the merge-base is ``base`` itself. Raises
    :class:`GitError` with what to do for a shallow clone without the base's history (or deepens
    it with ``deepen=True``) or a folder outside git, :class:`UsageError` for an unknown base.
    """
    try:
        top = toplevel(repo_root)
    except GitError:
        raise GitError(
            f"{repo_root} is not inside a git repository",
            hint="change detection compares git commits: run `git init` or pass leaf paths",
        ) from None
    tax_prefix, shown = _prefix(top, taxonomy_root), ShowPath(_prefix(top, repo_root))
    ref, commit, tree = _resolve_base(top, base, deepen)
    statuses = _diff_against_worktree(top, tax_prefix.rstrip("/"), tree)
    return _changes(statuses, taxonomy_root, tax_prefix, shown, (ref, commit))


def _changes(
    statuses: list[_Status],
    taxonomy_root: Path,
    tax_prefix: str,
    shown: ShowPath,
    base: tuple[str, str | None],
) -> ChangedLeaves:
    """The changed leaves of ``statuses`` (leaf files read from ``taxonomy_root``)."""
    found = _collect(statuses, tax_prefix, shown)
    others = _document_candidates(statuses, shown)
    if others:
        _add_documents(found, others, taxonomy_root)
    live = found.result(lambda i: (taxonomy_root / i / QNA).is_file())
    return ChangedLeaves(base[0], base[1], live, _too_deep(statuses, tax_prefix))


def subtrees(changed: ChangedLeaves) -> list[str]:
    """The leaf folders (ids) to regenerate: every changed leaf still in the working tree (added,
    modified, renamed), sorted. Deleted leaves and the old names of renamed ones are not listed:
    their data is dropped, not regenerated (they are in ``changed.leaves``)."""
    return sorted({leaf.id for leaf in changed.leaves if leaf.kind != "deleted"})


def changed_between(repo_root: Path, taxonomy_root: Path, base: str, head: str) -> ChangedLeaves:
    """The leaves changed between the merge-base of two commits, ``base`` and ``head``, sorted.

    Only committed trees are compared (a pull request read from its git objects, never checked
    out); the leaves are read from ``taxonomy_root`` on disk, where the caller wrote the head's
    leaf files as data. Raises :class:`GitError` when the commits share no history.
    """
    top = toplevel(repo_root)
    tax_prefix, shown = _prefix(top, taxonomy_root), ShowPath(_prefix(top, repo_root))
    found_base = merge_base(top, base, head)
    if found_base is None:
        raise GitError(f"{base} and {head} share no history (unrelated branches)")
    out = run_git(top, "diff", "--name-status", "-z", "-M", found_base, head, "--")
    return _changes(
        list(parse_name_status(out)), taxonomy_root, tax_prefix, shown, (base, found_base)
    )
