"""What training reads from a project: the recipe and DeepSpeed configuration named in its
settings, the seed Q&A of its leaves, and the machine it runs on, in words."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seedtree.config import TrainConfig
from seedtree.errors import ConfigError
from seedtree.project import Project
from seedtree.taxonomy.leaves import QNA, load_leaf
from seedtree.train.devices import Machine
from seedtree.train.engine import read_ds_config
from seedtree.train.memory import (
    GB,
)
from seedtree.train.recipe import Recipe, load_recipe


def resolve_file(name: str, project: Project, what: str) -> Path:
    """``name`` as given (absolute or from the working folder), else from the repository root."""
    path = Path(name).expanduser()
    for candidate in (path, project.repo_root / path):
        if candidate.is_file():
            return candidate.resolve()
    raise ConfigError(
        f"{what} {name}: no such file (looked in the working folder and in {project.repo_root})",
        hint=f"pass --{what.split()[-1]} with the path of an existing file",
    )


def taxonomy_seeds(taxonomy_root: Path, leaves: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """The seed Q&A of each leaf still present in the taxonomy (scored after each phase)."""
    seeds = {}
    for leaf in leaves:
        qna = taxonomy_root / leaf / QNA
        if qna.is_file():
            seeds[leaf] = [
                (qa.question, qa.answer) for qa in load_leaf(qna, taxonomy_root).seed_questions
            ]
    return seeds


def load_settings(project: Project, settings: TrainConfig) -> tuple[Recipe, dict[str, Any] | None]:
    """The recipe and the DeepSpeed config (None: the plain engine) named by the settings."""
    recipe = load_recipe(resolve_file(settings.recipe, project, "recipe"))
    ds = None
    if settings.deepspeed:
        ds = read_ds_config(resolve_file(settings.deepspeed, project, "deepspeed config"))
    return recipe, ds


def where(machine: Machine) -> str:
    """The device a rank trains on, as the fit check names it."""
    device = machine.smallest
    if device is None:
        return f"this machine's RAM ({machine.host_memory / GB:.0f} GB, no CUDA device)"
    return f"one {device.name} ({device.memory / GB:.0f} GB)"
