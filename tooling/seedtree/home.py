"""Where large artifacts live: ``$SEEDTREE_HOME`` (default ``~/.cache/seedtree``).

Everything that belongs to one taxonomy repository lives under ``repos/<repository id>`` so that
several repositories, the tests and the demo can share one machine without colliding. Things that
are shared by content (the model store, document checkouts keyed by repo+commit) live at the top.
"""

from __future__ import annotations

import os
from pathlib import Path


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


def repo_home(repo_id: str) -> Path:
    """Artifacts of one taxonomy repository (generation cache, datasets, replay, models)."""
    return seedtree_home() / "repos" / repo_id
