"""``seedtree train``: resolve the options, run :func:`seedtree.train.run.train_run`, summarise."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seedtree.config import TrainConfig
from seedtree.errors import EXIT_OK, UsageError
from seedtree.models import resolve_model
from seedtree.project import Project
from seedtree.train.data import load_samples
from seedtree.train.devices import detect
from seedtree.train.memory import (
    Precision,
    require_fit,
)
from seedtree.train.recipe import Recipe
from seedtree.train.run import train_run
from seedtree.train.settings import load_settings, recipe_estimate, taxonomy_seeds, where


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
