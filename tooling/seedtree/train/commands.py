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
from seedtree.train.adapters import require_qlora_support
from seedtree.train.data import load_samples
from seedtree.train.devices import detect
from seedtree.train.general import Fetch, GeneralDraw, draw_lines, evaluation_questions
from seedtree.train.loop import load_tokenizer
from seedtree.train.memory import GB, ModelShape, Precision, layout_for, require_fit
from seedtree.train.recipe import Recipe
from seedtree.train.render import Renderer
from seedtree.train.run import train_run
from seedtree.train.settings import load_settings, taxonomy_seeds, where
from seedtree.train.strategy import (
    ORDER,
    Devices,
    Option,
    describe,
    folder_shape,
    options,
    strategies_of,
)


def _devices_for(
    world: int, gpus: int | None, gpu_memory: float | None, host_memory: float | None
) -> Devices:
    """The devices to estimate for: those given, else this machine's (its RAM without CUDA)."""
    machine = detect()
    count = gpus or world
    capacity = gpu_memory * GB if gpu_memory is not None else machine.capacity(count)
    host = host_memory * GB if host_memory is not None else float(machine.host_memory)
    return Devices(count, capacity, host, cuda=bool(machine.cuda) or gpu_memory is not None)


def _recipe_options(
    model_dir: Path,
    recipe: Recipe,
    ds: dict[str, Any] | None,
    devices: Devices,
    precision: Precision,
) -> tuple[ModelShape, list[Option]]:
    shape, adapter = folder_shape(model_dir, recipe.lora)
    base = layout_for(recipe, ds, devices.gpus, precision)
    return shape, options(shape, base, adapter, devices)


def _option(found: list[Option], strategy: str) -> Option:
    return next(o for o in found if o.name == strategy)


def run_train_estimate(
    model: str,
    project: Project,
    settings: TrainConfig,
    world: int | None,
    devices: tuple[int | None, float | None, float | None] = (None, None, None),
    fetch: Fetch | None = None,
) -> int:
    """``seedtree train --estimate``: the memory one rank needs, every strategy that fits, and
    what the recipe's general datasets add to each phase."""
    recipe, ds = load_settings(project, settings)
    gpus, gpu_memory, host_memory = devices
    ranks = gpus or world or int(os.environ.get("WORLD_SIZE", "0")) or len(detect().cuda) or 1
    target = _devices_for(ranks, gpus, gpu_memory, host_memory)
    model_dir = resolve_model(model)
    shape, found = _recipe_options(model_dir, recipe, ds, target, recipe.precision)
    used = strategies_of(recipe) - {"auto"} or {"full"}
    for strategy in sorted(used, key=ORDER.index):
        print("\n".join(_option(found, strategy).estimate.lines()))
    print("\n".join(describe(found, target, shape, ds is not None)))
    if recipe.general:
        with tempfile.TemporaryDirectory() as cache:
            print("\n".join(draw_lines(recipe, _renderer(model_dir, recipe), fetch, Path(cache))))
    return EXIT_OK


def _renderer(model_dir: Path, recipe: Recipe) -> Renderer:
    tokenizer = load_tokenizer(model_dir, recipe.template)
    return Renderer(tokenizer, recipe.template, recipe.system_prompt, recipe.max_seq_len)


def _check_fit(model_dir: Path, recipe: Recipe, ds: dict[str, Any] | None) -> None:
    """Refuse, before any model is loaded, a recipe whose strategies cannot run here."""
    machine = detect()
    if "qlora" in strategies_of(recipe):
        require_qlora_support(bool(machine.cuda))
    precision: Precision = recipe.precision if machine.cuda else "fp32"
    world = int(os.environ.get("WORLD_SIZE", "1"))
    devices = Devices(
        world, machine.capacity(world), float(machine.host_memory), bool(machine.cuda)
    )
    _, found = _recipe_options(model_dir, recipe, ds, devices, precision)
    for strategy in strategies_of(recipe) - {"auto"}:
        require_fit(_option(found, strategy).estimate, machine.capacity(world), where(machine))


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
