"""CLI: ``seedtree train``: phased training."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seedtree.cli.app import ConfigOption, RepoOption, app


@app.command(rich_help_panel="Data and models")
def train(
    model: Annotated[
        str, typer.Option("--from", help="'default' (embedded SmolLM2) or an HF-format folder.")
    ],
    data: Annotated[
        list[Path] | None,
        typer.Option("--data", help="A JSONL dataset file or a folder of them (repeatable)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (a rerun resumes).")
    ] = None,
    recipe: Annotated[
        str | None, typer.Option(help="Training recipe (default: train.recipe in the config).")
    ] = None,
    deepspeed: Annotated[
        str | None, typer.Option(help="DeepSpeed ZeRO JSON, e.g. training/deepspeed/zero3.json.")
    ] = None,
    replay: Annotated[
        Path | None,
        typer.Option(help="Replay buffer folder kept across runs (default: OUT/replay)."),
    ] = None,
    earlier_heldout: Annotated[
        list[Path] | None,
        typer.Option(
            "--earlier-heldout",
            help="Held-out JSONL of leaves trained before, scored after each phase (repeatable).",
        ),
    ] = None,
    no_replay: Annotated[
        bool, typer.Option("--no-replay", help="Train on the new data alone, replaying nothing.")
    ] = False,
    general_label: Annotated[
        str,
        typer.Option(
            "--general-label",
            help="The version being made: seeds the draw from the recipe's general datasets.",
        ),
    ] = "",
    heldout_questions: Annotated[
        list[Path] | None,
        typer.Option(
            "--heldout-questions",
            help="Multiple-choice items (JSONL) whose questions no general draw holds "
            "(repeatable).",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Plain lines, no bars.")] = False,
    estimate: Annotated[
        bool,
        typer.Option(
            "--estimate", help="Print the memory one rank needs (no --data, --out); train nothing."
        ),
    ] = False,
    world_size: Annotated[
        int | None,
        typer.Option(
            "--world-size",
            min=1,
            help="Ranks for --estimate (default: $WORLD_SIZE, else the CUDA devices, else 1).",
        ),
    ] = None,
    gpus: Annotated[
        int | None,
        typer.Option(min=1, help="GPUs (ranks) for --estimate: list the strategies that fit them."),
    ] = None,
    gpu_memory: Annotated[
        float | None,
        typer.Option("--gpu-memory", min=1, help="GB of each GPU for --estimate."),
    ] = None,
    host_memory: Annotated[
        float | None,
        typer.Option(
            "--host-memory", min=1, help="GB of host RAM for --estimate (default: this machine's)."
        ),
    ] = None,
    local_rank: Annotated[
        int | None, typer.Option("--local_rank", hidden=True, help="Set by the deepspeed launcher.")
    ] = None,
    repo_root: RepoOption = None,
    config: ConfigOption = None,
) -> int:
    """Train the recipe's phases (knowledge, then skills) with replay; evaluate after each."""
    from seedtree.config import with_overrides
    from seedtree.project import open_project
    from seedtree.train.commands import run_train, run_train_estimate
    from seedtree.train.general import GeneralDraw
    from seedtree.versions.store import fetch_url

    project = open_project(repo_root, config)
    settings = with_overrides(project.config, "train", recipe=recipe, deepspeed=deepspeed)
    if estimate:
        devices = (gpus, gpu_memory, host_memory)
        return run_train_estimate(model, project, settings.train, world_size, devices, fetch_url)
    return run_train(
        data or [],
        model,
        out,
        project,
        settings.train,
        replay,
        quiet,
        earlier_heldout=earlier_heldout or [],
        use_replay=not no_replay,
        general=GeneralDraw(label=general_label, fetch=fetch_url),
        heldout_questions=heldout_questions or [],
    )
