"""The repository a command works on: its root, its taxonomy root and its configuration.

The repository root is found from the start upwards. In a git work tree it is the top of the
work tree, or a folder below it holding ``seedtree.yaml`` (a project inside a larger repository);
but a ``seedtree.yaml`` inside the taxonomy of the project around it (``taxonomy/seedtree.yaml``,
a nested ``knowledge/`` folder) is a contribution like any leaf file and is ignored: configuration
and baseline, the validator's policy, come from the repository root only. Outside git it is the
nearest folder holding ``seedtree.yaml``. Commands receive a :class:`Project` instead of changing
the working directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seedtree.config import CONFIG_FILE, Config, load_config
from seedtree.errors import SeedtreeError

# the layout of a taxonomy: its top folders, and the files of a leaf
TOPS = ("knowledge", "compositional_skills", "foundational_skills")
QNA = "qna.yaml"
ATTRIBUTION = "attribution.txt"


@dataclass(frozen=True)
class Project:
    repo_root: Path
    taxonomy_root: Path
    config: Config


def _in_taxonomy(folder: Path, root: Path) -> bool:
    """Whether ``folder`` lies inside the taxonomy of the project at ``root``."""
    try:
        taxonomy = (root / load_config(root).taxonomy_dir).resolve()
    except SeedtreeError:
        taxonomy = (root / Config.model_fields["taxonomy_dir"].default).resolve()
    inner = folder.relative_to(root).parts
    return folder.is_relative_to(taxonomy) or any(part in TOPS for part in inner)


def find_repo_root(start: Path) -> Path:
    start = start.resolve()
    chain = [start, *start.parents]
    top = next((i for i, folder in enumerate(chain) if (folder / ".git").exists()), None)
    if top is None:
        return next((f for f in chain if (f / CONFIG_FILE).is_file()), start)
    root = chain[top]
    for folder in reversed(chain[:top]):
        if (folder / CONFIG_FILE).is_file() and not _in_taxonomy(folder, root):
            root = folder
    return root


def open_project(start: Path | None = None, config_file: Path | None = None) -> Project:
    repo_root = find_repo_root(start or Path.cwd())
    config = load_config(repo_root, config_file)
    taxonomy_root = (repo_root / config.taxonomy_dir).resolve()
    if not any((taxonomy_root / top).is_dir() for top in TOPS) and any(
        (repo_root / top).is_dir() for top in TOPS
    ):
        taxonomy_root = repo_root
    return Project(repo_root=repo_root, taxonomy_root=taxonomy_root, config=config)
