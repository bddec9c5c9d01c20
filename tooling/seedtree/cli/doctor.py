"""CLI: ``seedtree doctor``: can this machine run a retrain."""

from __future__ import annotations

from typing import Annotated

import typer

from seedtree.cli.app import ConfigOption, RepoOption, app


@app.command(rich_help_panel="Merge")
def doctor(
    allow_cpu: Annotated[
        bool,
        typer.Option("--allow-cpu", help="Training on the CPU is intended (no GPU is required)."),
    ] = False,
    repo_root: RepoOption = None,
    config: ConfigOption = None,
) -> int:
    """Check GPUs, teacher, student, memory, disk, store and benchmarks before a retrain."""
    from seedtree.project import open_project
    from seedtree.retrain.commands import run_doctor as run

    return run(open_project(repo_root, config), allow_cpu)
