"""Where large artifacts live: ``$SEEDTREE_HOME`` (default ``~/.cache/seedtree``).

Everything that belongs to one taxonomy repository lives under ``repos/<repository id>`` so that
several repositories, the tests and the demo can share one machine without colliding. Things that
are shared by content (the model store, document checkouts keyed by repo+commit) live at the top.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from seedtree.git import repository_id


def seedtree_home() -> Path:
    """The root of seedtree's artifact store."""
    env = os.environ.get("SEEDTREE_HOME")
    base = Path(env).expanduser() if env else Path.home() / ".cache" / "seedtree"
    return base.resolve()


def models_dir() -> Path:
    """Shared model store (the embedded default's safetensors copy lives here).

    ``SEEDTREE_MODELS_DIR`` moves it, e.g. to share one converted copy between test runs.
    """
    env = os.environ.get("SEEDTREE_MODELS_DIR")
    return Path(env).expanduser().resolve() if env else seedtree_home() / "models"


def documents_dir() -> Path:
    """Checkouts of knowledge document repositories, keyed by repo URL and commit."""
    return seedtree_home() / "documents"


@dataclass(frozen=True)
class RepoHome:
    """Every place seedtree keeps for one taxonomy repository, under
    ``$SEEDTREE_HOME/repos/<repository id>``: the one object that names them."""

    root: Path

    @classmethod
    def of(cls, repo_root: Path) -> RepoHome:
        return cls(seedtree_home() / "repos" / repository_id(repo_root))

    @property
    def answers(self) -> Path:
        """The store of teacher answers (SQLite), keyed by content hash."""
        return self.root / "generate" / "answers.sqlite"

    @property
    def datasets(self) -> Path:
        """Generated datasets, one folder per leaf (``seedtree generate``'s default output)."""
        return self.root / "generate" / "datasets"

    @property
    def versions(self) -> Path:
        """Released versions' artifacts (model, data, replay, held-out, report, lineage)."""
        return self.root / "models"

    def version(self, name: str) -> Path:
        """The artifacts folder of the version ``name`` (``v3``)."""
        return self.versions / name

    @property
    def retrain(self) -> Path:
        """Retrain runs in progress, one folder per commit and settings (with its journal)."""
        return self.root / "retrain"

    @property
    def lock(self) -> Path:
        """The lock that serialises retrain runs of this repository."""
        return self.root / "retrain.lock"
