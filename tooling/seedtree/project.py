"""The repository a command works on: its root, its taxonomy root and its configuration.

The repository root is the nearest folder at or above the start that holds ``seedtree.yaml`` or
``.git``. Commands receive a :class:`Project` instead of changing the working directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seedtree.config import CONFIG_FILE, Config, load_config

# the layout of a taxonomy: its top folders, and the files of a leaf
TOPS = ("knowledge", "compositional_skills", "foundational_skills")
QNA = "qna.yaml"
ATTRIBUTION = "attribution.txt"


@dataclass(frozen=True)
class Project:
    repo_root: Path
    taxonomy_root: Path
    config: Config


def find_repo_root(start: Path) -> Path:
    start = start.resolve()
    for folder in [start, *start.parents]:
        if (folder / CONFIG_FILE).is_file() or (folder / ".git").exists():
            return folder
    return start


def open_project(start: Path | None = None, config_file: Path | None = None) -> Project:
    repo_root = find_repo_root(start or Path.cwd())
    config = load_config(repo_root, config_file)
    taxonomy_root = (repo_root / config.taxonomy_dir).resolve()
    if not any((taxonomy_root / top).is_dir() for top in TOPS) and any(
        (repo_root / top).is_dir() for top in TOPS
    ):
        taxonomy_root = repo_root
    return Project(repo_root=repo_root, taxonomy_root=taxonomy_root, config=config)
