"""``seedtree train``: resolve the options, run :func:`seedtree.train.run.train_run`, summarise."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seedtree.config import TrainConfig
from seedtree.errors import EXIT_OK, ConfigError, UsageError
from seedtree.models import resolve_model
from seedtree.project import Project
from seedtree.taxonomy.leaves import QNA, load_leaf
from seedtree.train.data import load_samples
from seedtree.train.devices import Machine, detect
from seedtree.train.engine import read_ds_config
from seedtree.train.memory import (
    GB,
    MemoryEstimate,
    Precision,
    estimate_memory,
    layout_for,
    model_shape,
    require_fit,
)
from seedtree.train.recipe import Recipe, load_recipe
from seedtree.train.run import train_run


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


def recipe_estimate(
    model_dir: Path,
    recipe: Recipe,
    ds: dict[str, Any] | None,
    world: int,
    precision: Precision,
) -> MemoryEstimate:
    return estimate_memory(model_shape(model_dir), layout_for(recipe, ds, world, precision))


def where(machine: Machine) -> str:
    """The device a rank trains on, as the fit check names it."""
    device = machine.smallest
    if device is None:
        return f"this machine's RAM ({machine.host_memory / GB:.0f} GB, no CUDA device)"
    return f"one {device.name} ({device.memory / GB:.0f} GB)"


def run_train_estimate(
    model: str, project: Project, settings: TrainConfig, world: int | None
) -> int:
    """``seedtree train --estimate``: the memory one rank needs, as the recipe's precision asks."""
    recipe, ds = load_settings(project, settings)
    ranks = world or int(os.environ.get("WORLD_SIZE", "0")) or len(detect().cuda) or 1
    estimate = recipe_estimate(resolve_model(model), recipe, ds, ranks, recipe.precision)
    print("\n".join(estimate.lines()))
    return EXIT_OK


def _check_fit(model_dir: Path, recipe: Recipe, ds: dict[str, Any] | None) -> None:
    machine = detect()
    precision: Precision = recipe.precision if machine.cuda else "fp32"
    world = int(os.environ.get("WORLD_SIZE", "1"))
    estimate = recipe_estimate(model_dir, recipe, ds, world, precision)
    require_fit(estimate, machine.capacity(world), where(machine))


def run_train(
    data: Sequence[Path],
    model: str,
    out: Path | None,
    project: Project,
    settings: TrainConfig,
    replay: Path | None,
    quiet: bool,
    earlier_heldout: Sequence[Path] = (),
    use_replay: bool = True,
) -> int:
    """Train on the JSONL datasets in ``data`` from ``model``; results under ``out``."""

    # everything the user wrote is checked before any model is loaded
    if not data or out is None:
        raise UsageError("seedtree train needs --data and --out (or --estimate alone)")
    recipe, ds = load_settings(project, settings)
    leaves = list(load_samples(list(data)))
    model_dir = resolve_model(model)
    _check_fit(model_dir, recipe, ds)
    earlier = list(earlier_heldout)
    result = train_run(
        list(data),
        model_dir,
        out,
        recipe,
        replay_dir=replay,
        deepspeed_config=ds,
        progress=not quiet,
        seeds=taxonomy_seeds(project.taxonomy_root, leaves + list(load_samples(earlier))),
        earlier_heldout=earlier,
        replay=use_replay,
    )
    print(f"model: {result.final_model}")
    print(f"metrics: {result.metrics_path}")
    print(f"evaluation: {result.eval_path}")
    for plot in result.plots:
        print(f"plot: {plot}")
    return EXIT_OK
