"""A pull request read as data: its git objects in a repository of their own, never a checkout.

The production preview runs the default branch's seedtree and configuration with a teacher key
in its environment, so nothing of the pull request may run there. Its head (``refs/pull/N/head``)
is fetched into a fresh repository beside the trusted checkout (no hooks, submodules or LFS
filters, bounded in bytes and time), and only what a preview reads is written out of the git
objects as plain files: the ``qna.yaml`` and ``attribution.txt`` of the leaves the pull request
touches, and the in-repository documents (``repo: .`` without ``commit``) their patterns match.
A symlink is never written (a symlinked leaf file becomes a ``leaf-symlink`` finding), nor a
submodule, nor a path that could leave the folder. The configuration written beside them is
the trusted checkout's: the pull request's ``seedtree.yaml``, locks, Makefile, workflows and
tooling are never written, read or run.

While the preview runs, :func:`ensure_current` asks the remote (``git ls-remote``) whether
``refs/pull/N/head`` is still the commit previewed; once it moved on, :class:`PullMovedOn` stops
the run before it spends more teacher tokens. A private repository's token (:class:`Remote`)
reaches git only through the environment of the one git process that talks to the remote, as an
HTTP header scoped to that remote's https origin (redirects are not followed): never on a command
line, never in a git configuration file, never in a message.
"""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from seedtree.config import CONFIG_FILE, DocumentsConfig
from seedtree.errors import EXIT_SUPERSEDED, GitError, SeedtreeError, UsageError
from seedtree.git import head_commit, run_git, run_git_bounded, run_git_bytes
from seedtree.project import Project
from seedtree.taxonomy.docfetch import FETCH_CONFIG
from seedtree.taxonomy.docpolicy import is_this_repository
from seedtree.taxonomy.documents import PDF_SUFFIXES, TEXT_SUFFIXES
from seedtree.taxonomy.gittree import Entries, TreeTooLarge, list_tree
from seedtree.taxonomy.globs import compile_glob, pattern_problem
from seedtree.taxonomy.leaves import ATTRIBUTION, QNA, TOPS, load_leaf

REGULAR = ("100644", "100755")
SYMLINK = "120000"
HEAD_REF = "refs/seedtree/head"
BASE_REF = "refs/seedtree/base"
AUTH_WORDS = ("could not read Username", "Authentication failed", " 401")
PRIVATE_HINT = (
    "a private repository: pass --remote-token-env NAME, NAME holding a token that reads it"
)


class PullMovedOn(SeedtreeError):
    """The pull request's head is no longer the commit previewed: a newer run previews it."""

    exit_code = EXIT_SUPERSEDED


@dataclass(frozen=True)
class Remote:
    """Where the pull request's ref is read, and the token (if any) git sends there."""

    url: str
    token: str | None = field(default=None, repr=False)

    def _origin(self) -> str | None:
        """``https://host[:port]/`` of an https URL (no user name), None for any other URL."""
        parts = urlsplit(self.url)
        host = parts.netloc.rpartition("@")[2]
        return f"https://{host}/" if parts.scheme.lower() == "https" and host else None

    def _header(self) -> str:
        basic = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
        return f"AUTHORIZATION: basic {basic}"

    def env(self) -> dict[str, str]:
        """The environment of one git process talking to the remote: the token, if any, as an
        HTTP header that git sends to the remote's https origin only."""
        origin = self._origin()
        if not self.token or origin is None:
            return {}
        return {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"http.{origin}.extraheader",
            "GIT_CONFIG_VALUE_0": self._header(),
            "GIT_TRACE_REDACT": "1",
        }

    def redact(self, text: str) -> str:
        """``text`` without the token or the header made of it (should git ever echo them)."""
        if not self.token:
            return text
        for secret in (self._header().partition(" basic ")[2], self.token):
            text = text.replace(secret, "***")
        return text


@dataclass(frozen=True)
class PullSnapshot:
    """The pull request's objects in ``root`` (whose work tree holds only what was written)."""

    root: Path
    number: int
    base_commit: str
    head_commit: str
    linked: tuple[str, ...] = ()  # leaf files that are symlinks at the head: never written
    remote: Remote | None = None  # where ``refs/pull/N/head`` was fetched from


def remote_url(project: Project, remote: str | None) -> str:
    """Where the pull request's ref is fetched from: ``remote``, else the checkout's ``origin``."""
    if remote:
        return remote
    try:
        return run_git(project.repo_root, "remote", "get-url", "origin").strip()
    except GitError:
        raise UsageError(
            "no --remote given and this checkout has no `origin`",
            hint="pass --remote with the repository's URL",
        ) from None


def _fetch(root: Path, project: Project, source: Remote, refspec: str) -> None:
    settings = project.config.documents
    run_git_bounded(
        root, *FETCH_CONFIG, "fetch", "--quiet", "--no-tags", "--no-recurse-submodules",
        "--end-of-options", source.url, refspec,
        env={"GIT_LFS_SKIP_SMUDGE": "1", "GIT_TERMINAL_PROMPT": "0", **source.env()},
        timeout=settings.fetch_timeout_s, max_bytes=settings.max_fetch_bytes,
    )  # fmt: skip


def fetch_pull(
    project: Project, number: int, remote: str | None, workdir: Path, token: str | None = None
) -> PullSnapshot:
    """Fetch the default branch (from the trusted checkout) and ``refs/pull/N/head`` (from the
    remote, with ``token`` if given) into a new repository under ``workdir``; write the trusted
    configuration there."""
    if number <= 0:
        raise UsageError(f"--pull-request {number}: expected a pull request number")
    source = Remote(remote_url(project, remote), token)
    root = workdir / "pull"
    root.mkdir(parents=True)
    run_git(root, "init", "--quiet")
    _fetch(root, project, Remote(str(project.repo_root)), f"+HEAD:{BASE_REF}")
    try:
        _fetch(root, project, source, f"+refs/pull/{number}/head:{HEAD_REF}")
    except GitError as exc:
        said = source.redact(exc.message)
        hint = PRIVATE_HINT if any(w in said for w in AUTH_WORDS) else None
        message = f"cannot fetch pull request #{number} from {source.url}: {said}"
        raise GitError(message, hint=hint) from None
    head = run_git(root, "rev-parse", "--verify", f"{HEAD_REF}^{{commit}}").strip()
    _trusted_files(project, root)
    return PullSnapshot(root, number, head_commit(project.repo_root), head, remote=source)


def remote_head(project: Project, snapshot: PullSnapshot) -> str | None:
    """The commit ``refs/pull/N/head`` names on the remote now (one ``git ls-remote``, bounded
    in time, hook-free, with the fetch's token); None when the remote has no such ref."""
    assert snapshot.remote is not None, "a snapshot from fetch_pull knows its remote"
    source, ref = snapshot.remote, f"refs/pull/{snapshot.number}/head"
    try:
        out = run_git(
            snapshot.root, *FETCH_CONFIG, "ls-remote", "--end-of-options", source.url, ref,
            env={"GIT_TERMINAL_PROMPT": "0", **source.env()},
            timeout=project.config.documents.fetch_timeout_s,
        )  # fmt: skip
    except GitError as exc:
        said = source.redact(exc.message)
        raise GitError(
            f"cannot ask {source.url} for pull request #{snapshot.number}: {said}"
        ) from None
    found = (line.split("\t") for line in out.splitlines())
    return next((f[0] for f in found if len(f) == 2 and f[1] == ref), None)


def ensure_current(project: Project, snapshot: PullSnapshot) -> None:
    """Raise :class:`PullMovedOn` when the pull request's head moved on from the commit
    previewed (a :class:`GitError` when the remote no longer has it)."""
    now = remote_head(project, snapshot)
    if now is None:
        raise GitError(f"pull request #{snapshot.number} has no head on the remote any more")
    if now != snapshot.head_commit:
        raise PullMovedOn(
            f"pull request #{snapshot.number} moved on to {now[:12]}: a newer run previews it; "
            "nothing posted"
        )


def _trusted_files(project: Project, root: Path) -> None:
    """The default branch's configuration (and baseline), so that any reader finds it."""
    for rel in filter(None, (CONFIG_FILE, project.config.validate_.baseline)):
        source = project.repo_root / rel
        if source.is_file() and not source.is_symlink():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


# -- writing git objects out as plain files ------------------------------------------------------


def _safe_target(root: Path, rel: str) -> Path | None:
    """``root / rel`` when ``rel`` is a plain relative path with no ``.``, ``..`` or ``.git``."""
    parts = PurePosixPath(rel).parts
    if not parts or rel.startswith("/") or "\\" in rel:
        return None
    if any(p in ("", ".", "..") or p.lower() == ".git" for p in parts):
        return None
    return root.joinpath(*parts)


def _entry(root: Path, commit: str, rel: str) -> tuple[str, str] | None:
    """``(mode, object id)`` of ``rel`` at ``commit``, None when absent."""
    out = run_git(root, "ls-tree", "-z", "--end-of-options", commit, "--", rel)
    meta, _, path = out.rstrip("\0").partition("\t")
    fields = meta.split()
    return (fields[0], fields[2]) if path == rel and len(fields) == 3 else None


def write_blob(root: Path, rel: str, sha: str, cap: int) -> bool:
    """Write the blob ``sha`` at ``rel``; one larger than ``cap`` is written as a sparse file of
    its size (what the validator refuses unread). False when ``rel`` could leave ``root``."""
    target = _safe_target(root, rel)
    if target is None:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    size = int(run_git(root, "cat-file", "-s", sha).strip())
    with open(target, "wb") as f:
        if size > cap:
            f.truncate(size)
        else:
            f.write(run_git_bytes(root, "cat-file", "blob", sha))
    return True


def _leaf_folders(root: Path, snapshot: PullSnapshot, tax_prefix: str) -> tuple[set[str], bool]:
    """Repository-relative folders of touched leaf files, and whether other files changed."""
    base, head = snapshot.base_commit, snapshot.head_commit
    out = run_git(root, "diff", "--name-only", "-z", "--no-renames", f"{base}...{head}", "--")
    folders, others = set(), False
    for path in filter(None, out.split("\0")):
        folder, _, name = path.rpartition("/")
        inside = path.startswith(tax_prefix) and path[len(tax_prefix) :].split("/")[0] in TOPS
        if inside and name in (QNA, ATTRIBUTION):
            folders.add(folder)
        else:
            others = True
    return folders, others


def _listing(root: Path, tree: str, settings: DocumentsConfig) -> Entries:
    return list_tree(root, tree, max_entries=settings.max_entries, timeout=settings.fetch_timeout_s)


def _knowledge_folders(project: Project, snapshot: PullSnapshot, tax_prefix: str) -> set[str]:
    """Every knowledge leaf folder at the head (their documents may be what changed)."""
    settings = project.config.documents
    tree = f"{snapshot.head_commit}:{tax_prefix}knowledge"
    try:
        entries = _listing(snapshot.root, tree, settings)
    except (GitError, TreeTooLarge):
        return set()
    return {f"{tax_prefix}knowledge/{p.rpartition('/')[0]}" for p in entries if p.endswith(QNA)}


def write_leaves(project: Project, snapshot: PullSnapshot, tax_prefix: str) -> PullSnapshot:
    """Write the head's leaf files of every touched leaf; symlinked ones are listed instead."""
    folders, others = _leaf_folders(snapshot.root, snapshot, tax_prefix)
    if others:
        folders |= _knowledge_folders(project, snapshot, tax_prefix)
    linked = []
    cap = project.config.validate_.max_file_bytes
    for folder in sorted(folders):
        for name in (QNA, ATTRIBUTION):
            found = _entry(snapshot.root, snapshot.head_commit, f"{folder}/{name}")
            if found is None:
                continue
            if found[0] == SYMLINK:
                linked.append(f"{folder}/{name}")
            elif found[0] in REGULAR:
                write_blob(snapshot.root, f"{folder}/{name}", found[1], cap)
    return replace(snapshot, linked=tuple(linked))


def write_documents(project: Project, snapshot: PullSnapshot, leaf_dirs: Iterable[Path]) -> None:
    """Write the in-repository documents (``repo: .``, no ``commit``) the given leaves name."""
    settings = project.config.documents
    wanted = []
    for folder in leaf_dirs:
        try:
            ref = load_leaf(folder / QNA, project.taxonomy_root).document
        except UsageError:
            continue
        if ref is not None and ref.commit is None and is_this_repository(ref.repo):
            wanted += [compile_glob(p) for p in ref.patterns if pattern_problem(p) is None]
    if not wanted:
        return
    try:
        entries = _listing(snapshot.root, snapshot.head_commit, settings)
    except TreeTooLarge:
        return  # the loader then finds no document and says so
    suffixes = tuple(TEXT_SUFFIXES | PDF_SUFFIXES)
    for path, (mode, sha) in entries.items():
        document = mode in REGULAR and path.lower().endswith(suffixes)
        if document and any(g.match(path) for g in wanted):
            write_blob(snapshot.root, path, sha, settings.max_document_bytes)
