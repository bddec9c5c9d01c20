"""``seedtree train``: resolve the options, run :func:`seedtree.train.run.train_run`, summarise."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from seedtree.config import TrainConfig
from seedtree.errors import EXIT_OK, UsageError
from seedtree.models import resolve_model
from seedtree.project import Project
from seedtree.train.data import load_samples
from seedtree.train.devices import detect
from seedtree.train.general import Fetch, GeneralDraw, draw_lines, evaluation_questions
from seedtree.train.loop import load_tokenizer
from seedtree.train.memory import (
    Precision,
    require_fit,
)
from seedtree.train.recipe import Recipe
from seedtree.train.render import Renderer
from seedtree.train.run import train_run
from seedtree.train.settings import load_settings, recipe_estimate, taxonomy_seeds, where


def run_train_estimate(
    model: str,
    project: Project,
    settings: TrainConfig,
    world: int | None,
    fetch: Fetch | None = None,
) -> int:
    """``seedtree train --estimate``: the memory one rank needs, as the recipe's precision asks,
    and what the recipe's general datasets add to each phase."""
    recipe, ds = load_settings(project, settings)
    ranks = world or int(os.environ.get("WORLD_SIZE", "0")) or len(detect().cuda) or 1
    model_dir = resolve_model(model)
    estimate = recipe_estimate(model_dir, recipe, ds, ranks, recipe.precision)
    print("\n".join(estimate.lines()))
    if recipe.general:
        with tempfile.TemporaryDirectory() as cache:
            print("\n".join(draw_lines(recipe, _renderer(model_dir, recipe), fetch, Path(cache))))
    return EXIT_OK


def _renderer(model_dir: Path, recipe: Recipe) -> Renderer:
    tokenizer = load_tokenizer(model_dir, recipe.template)
    return Renderer(tokenizer, recipe.template, recipe.system_prompt, recipe.max_seq_len)


def _check_fit(model_dir: Path, recipe: Recipe, ds: dict[str, Any] | None) -> None:
    machine = detect()
    precision: Precision = recipe.precision if machine.cuda else "fp32"
    world = int(os.environ.get("WORLD_SIZE", "1"))
    estimate = recipe_estimate(model_dir, recipe, ds, world, precision)
    require_fit(estimate, machine.capacity(world), where(machine))


def _avoiding(draw: GeneralDraw, files: Sequence[Path]) -> GeneralDraw:
    return replace(draw, avoid=draw.avoid | evaluation_questions(files))


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
    general: GeneralDraw | None = None,
    heldout_questions: Sequence[Path] = (),
) -> int:
    """Train on the JSONL datasets in ``data`` from ``model``; results under ``out``.
    ``general``: the draw of the recipe's general datasets, which never holds a question of the
    multiple-choice item files ``heldout_questions``."""

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
        general=_avoiding(general or GeneralDraw(), heldout_questions),
    )
    print(f"model: {result.final_model}")
    print(f"metrics: {result.metrics_path}")
    print(f"evaluation: {result.eval_path}")
    for plot in result.plots:
        print(f"plot: {plot}")
    return EXIT_OK
