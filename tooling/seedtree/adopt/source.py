"""Where the seedtree that ``seedtree init`` pins comes from: a checkout, a URL and a commit.

The generated workflows install seedtree from ``git+URL@COMMIT`` and its dependencies from the
hashed locks of that same commit, read from a local checkout with ``git show COMMIT:PATH``, so
the locks, the hooks file and the code always belong together.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import seedtree
from seedtree.errors import GitError, UsageError
from seedtree.git import run_git


@dataclass(frozen=True)
class Source:
    checkout: Path
    url: str
    rev: str  # a full commit id

    def read(self, rel: str) -> str:
        try:
            return run_git(self.checkout, "show", f"{self.rev}:{rel}")
        except GitError:
            raise UsageError(
                f"{self.checkout}: {rel} is not in commit {self.rev[:12]}",
                hint="pin a seedtree commit that has it (--rev)",
            ) from None


def _own_checkout() -> Path:
    """The checkout this seedtree runs from (an editable install), if it is one."""
    root = Path(seedtree.__file__).resolve().parents[2]
    if not (root / ".git").exists() or not (root / "pyproject.toml").is_file():
        raise UsageError(
            "seedtree does not run from a git checkout here",
            hint="pass --source PATH (a seedtree checkout) and --url URL",
        )
    return root


def _origin(checkout: Path) -> str:
    try:
        url = run_git(checkout, "remote", "get-url", "origin").strip()
    except GitError:
        url = ""
    return url or checkout.as_uri()


def find_source(checkout: Path | None, url: str | None, rev: str | None) -> Source:
    root = (checkout or _own_checkout()).resolve()
    if not (root / ".pre-commit-hooks.yaml").is_file():
        raise UsageError(f"{root}: not a seedtree checkout (no .pre-commit-hooks.yaml)")
    try:
        commit = run_git(root, "rev-parse", "--verify", f"{rev or 'HEAD'}^{{commit}}").strip()
    except GitError:
        raise UsageError(
            f"{root}: no commit {rev or 'HEAD'}", hint="--rev names a commit"
        ) from None
    return Source(root, url or _origin(root), commit)
