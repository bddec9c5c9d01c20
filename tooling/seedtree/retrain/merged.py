"""The commits a retrain run answers for: every merge on the main line since the previous version.

GitHub keeps one pending run per concurrency group, so when merges come faster than retrains
some runs never happen; the run that does happen trains on all of them, and its report belongs on
each of their pull requests. The previous version is the newest ``model/vN`` on an ancestor of
``HEAD`` other than ``HEAD`` itself (so the list is the same before and after this run tags
``HEAD``). Without one, only ``HEAD`` is listed (not the whole history).
"""

from __future__ import annotations

from pathlib import Path

from seedtree.errors import EXIT_OK, GitError
from seedtree.git import head_commit, run_git
from seedtree.versions.lineage import Release
from seedtree.versions.tags import releases


def _is_ancestor(repo_root: Path, commit: str, head: str) -> bool:
    try:
        run_git(repo_root, "merge-base", "--is-ancestor", commit, head)
    except GitError:
        return False
    return True


def previous_release(repo_root: Path) -> Release | None:
    """The newest release on an ancestor of ``HEAD`` (``HEAD``'s own release aside)."""
    head = head_commit(repo_root)
    known = releases(repo_root)
    earlier = [r for r in known if r.commit != head and _is_ancestor(repo_root, r.commit, head)]
    return earlier[-1] if earlier else None


def merged_commits(repo_root: Path) -> list[str]:
    """First-parent commits after the previous version up to ``HEAD``, oldest first: each is a
    merge, squash or rebase of one pull request onto the main line."""
    previous = previous_release(repo_root)
    if previous is None:
        return [head_commit(repo_root)]
    out = run_git(
        repo_root, "log", "--first-parent", "--reverse", "--format=%H", f"{previous.commit}..HEAD"
    )
    return out.split()


def merged_command(repo_root: Path) -> int:
    """``seedtree retrain --merged-commits``: one commit SHA a line."""
    for sha in merged_commits(repo_root):
        print(sha)
    return EXIT_OK
